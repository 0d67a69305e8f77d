"""Clinical layer: screening, treatment protocols and outcome measures (DESIGN.md)."""
