"""A fast surrogate of the scanned bioheat solver: peak skin rise per watt of a hand-scanned handpiece.

The planner needs the peak skin surface temperature of a session thousands of times per plan; the 3-D
scanned solver (thermal/scanned.py) takes minutes. This surrogate answers in milliseconds by treating each
skin point as a 1-D Pennes column driven by its own irradiance history (model.py), from broad-beam depth
profiles precomputed by Monte Carlo on the optics back model (profiles.py) and the handpiece's path over
the area (scan.py). tests/thermal/test_skin_surrogate_vs_solver.py states its agreement with the solver.
"""

from laserdose.thermal.surrogate.model import skin_rise_curve_k_per_w, skin_rise_k_per_w
from laserdose.thermal.surrogate.scan import Scan

__all__ = ["Scan", "skin_rise_curve_k_per_w", "skin_rise_k_per_w"]
