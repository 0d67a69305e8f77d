"""Heat in tissue: Pennes bioheat solvers (axisymmetric and scanned 3-D) and thermal damage."""
