"""Treatment planning: at the painful structure the dose a cited source delivered there, the skin safe."""
