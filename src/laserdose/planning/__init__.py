"""Treatment planning: the dose at the painful structure inside its window while the skin stays safe."""
