"""Laser safety per IEC 60825-1:2014: exposure limits, classes, hazard distances, eyewear, summaries."""
