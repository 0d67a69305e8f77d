"""Clinical layer: screening, treatment protocols and outcome measures (docs/design.md)."""
