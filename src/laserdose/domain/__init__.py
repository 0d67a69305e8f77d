"""The typed vocabulary every layer shares: units, valid ranges, and the plan document.

The bottom layer: it imports nothing from the rest of laserdose but the shared error type.
"""
