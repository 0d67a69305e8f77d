"""The fast skin model against the 3-D scanned bioheat solver (thermal/scanned.py, Monte Carlo kernel).

The solver is an independent program in this repository, validated by its own analytic tests
(tests/thermal/test_analytic.py, test_scanned.py): a 3-D Douglas ADI finite-volume Pennes solver with the
absorbed power of the actual beam traced by Monte Carlo and moved along thermal/scan.py's zig-zag. The
model shares only the tissue layers and the scan path with it.

Measured agreement (model / solver peak skin surface rise over the session; solver at dx 2.5 mm,
dt 0.1 s, 40 000 photons, within 1.1 % of dx 1.25 mm, dt 0.05 s, 100 000 photons in the first case;
docs/guide/plan.md "Skin heating model"):
    type II, 810 nm, 30 mm flat, 50 mm/s, 100 cm^2, 120 s     1.09
    type VI, 980 nm, 30 mm flat, 50 mm/s, 100 cm^2, 120 s     1.07
    type VI, 980 nm, 30 mm flat, 50 mm/s, 100 cm^2, 300 s     1.12
    type II, 980 nm, 25 mm Gaussian, 25 mm/s, 150 cm^2, 180 s 1.05
    type VI, 810 nm, 40 mm flat, 75 mm/s, 200 cm^2, 240 s     1.06
The model is conservative (it leaves out sideways conduction, which only smooths hot spots) and within
20 %. Asserted: 0.97 <= model / solver <= 1.20 (the lower margin covers the solver's Monte Carlo noise).

Time budget: the solver comparison < 90 s (three cases, the shortest sessions above); the fat check
< 20 s.
"""

import math

import numpy as np
import pytest

from laserdose.machines.profile import Handpiece
from laserdose.optics.back import back_model
from laserdose.thermal.boundary import Boundaries
from laserdose.thermal.mc_kernel import monte_carlo_kernel
from laserdose.thermal.scan import ScanPath
from laserdose.thermal.scanned import ScannedCase, solve_scanned
from laserdose.thermal.source import Emission
from laserdose.thermal.surrogate.model import skin_rise_k_per_w
from laserdose.thermal.surrogate.profiles import PROFILE_GRID, load_profiles
from laserdose.transport.engine import simulate
from laserdose.transport.geometry import PencilBeam, Stack

CASES = [
    # skin type, fat [mm], wavelength [nm], beam diameter [mm], profile, speed [mm/s], area [cm^2], time [s]
    (2, 10.0, 810.0, 30.0, "flat", 50.0, 100.0, 120.0),
    (6, 10.0, 980.0, 30.0, "flat", 50.0, 100.0, 120.0),
    (2, 15.0, 980.0, 25.0, "gaussian", 25.0, 150.0, 180.0),
]


def solver_peak_rise_k_per_w(skin_type, fat_mm, wavelength_nm, diameter_mm, profile, speed, area_cm2, time_s):
    """The 3-D solver's peak skin surface rise over the session, for 1 W [K/W]."""
    beam = f"flat:{diameter_mm:g}" if profile == "flat" else f"gauss:{diameter_mm:g}"
    table = {"kind": "monte-carlo", "skin_type": skin_type, "fat_mm": fat_mm, "beam": beam}
    mc = monte_carlo_kernel(table | {"photons": 30_000, "seed": 7, "threads": 1}, wavelength_nm)
    side_mm = math.sqrt(area_cm2) * 10
    # The model's path: a square area, lines half a beam diameter apart.
    scan = ScanPath("zigzag", side_mm, side_mm, speed, diameter_mm / 2)
    case = ScannedCase(mc.medium, mc.kernel, Emission(1.0), Boundaries(), scan, time_s, dt_s=0.1, dx_mm=2.5)
    result = solve_scanned(case)
    return float((result.peak_surface_c - result.baseline_surface_c).max())


@pytest.mark.slow
def test_model_is_conservative_and_within_20_percent_of_the_3d_solver():
    ratios = []
    for skin_type, fat, wavelength, diameter, profile, speed, area, time_s in CASES:
        handpiece = Handpiece("test", diameter, False, 50.0, 0.0, profile)
        model = skin_rise_k_per_w(skin_type, fat, wavelength, handpiece, speed, area, time_s)
        solver = solver_peak_rise_k_per_w(skin_type, fat, wavelength, diameter, profile, speed, area, time_s)
        ratios.append(model / solver)
    assert all(0.97 <= ratio <= 1.20 for ratio in ratios), ratios


@pytest.mark.slow
@pytest.mark.parametrize(("skin_type", "wavelength_nm"), [(2, 810.0), (6, 980.0)])
def test_fat_thickness_barely_changes_the_light_absorbed_in_the_top_2_mm(skin_type, wavelength_nm):
    # The shipped profiles are traced at one fat thickness: fresh Monte Carlo runs with 3 and 30 mm of fat
    # absorb within 5 % of the same power above 2.1 mm (epidermis and dermis).
    shipped = load_profiles()
    edges = np.array([0.0, 2.1])
    reference = float(shipped.absorbed_per_cell(wavelength_nm, skin_type, edges)[0])
    for fat_mm in (3.0, 30.0):
        result = simulate(
            Stack.from_layers(back_model(skin_type, wavelength_nm, fat_mm=fat_mm).layers),
            PencilBeam(),
            20_000,
            3,
            PROFILE_GRID,
        )
        per_mm = result.absorbed_density_per_mm3[0] * np.pi * PROFILE_GRID.dr_mm**2
        top = float(np.sum(per_mm[result.z_edges_mm[1:] <= 2.1 + 1e-9]) * PROFILE_GRID.dz_mm)
        assert top == pytest.approx(reference, rel=0.05)
