"""Clinical rules: contraindication screening, treatment protocols and outcome scoring."""
