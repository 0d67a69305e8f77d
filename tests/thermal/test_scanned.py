"""The 3-D scanned-beam solver: cross-check with the r-z solver, energy balance, scan paths."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laserdose.errors import InputError
from laserdose.thermal.bioheat import StationaryCase, solve_stationary
from laserdose.thermal.boundary import Boundaries
from laserdose.thermal.grid import LayeredMedium, graded_edges
from laserdose.thermal.properties import tissue
from laserdose.thermal.scan import ScanPath
from laserdose.thermal.scanned import ScannedCase, scanned_z_edges, solve_scanned
from laserdose.thermal.source import Emission, analytic_kernel

BACK = LayeredMedium((2.0, 6.0), (tissue("skin"), tissue("fat"), tissue("muscle")), ("skin", "fat", "muscle"))
KERNEL = analytic_kernel(
    graded_edges(20.0, 0.1, 0.5), graded_edges(20.0, 0.02, 0.5), 6.0, "gaussian", 0.4, 0.7
)


def _scanned(pattern="stationary", duration=10.0, **scan):
    path = ScanPath(pattern, **({"width_mm": 30.0, "height_mm": 30.0} | scan))
    return ScannedCase(
        BACK, KERNEL, Emission(5.0), Boundaries(), path, duration, dt_s=0.1, dx_mm=1.0, depth_mm=20.0
    )


def test_stationary_3d_agrees_with_axisymmetric():
    # Two independent discretisations (Cartesian ADI vs r-z finite volumes) of the same problem.
    scanned = solve_scanned(_scanned())
    rz = StationaryCase(
        BACK,
        KERNEL,
        Emission(5.0),
        Boundaries(),
        graded_edges(40.0, 0.1, 1.0),
        scanned_z_edges(BACK, 20.0),
        10.0,
        0.1,
        theta=1.0,
    )
    axisym = solve_stationary(rz)
    rise_3d = scanned.peak_surface_c[-1] - scanned.baseline_surface_c
    assert rise_3d == pytest.approx(axisym.peak_surface_rise_k[-1], rel=0.02)
    assert scanned.baseline_surface_c == pytest.approx(axisym.baseline_surface_c, abs=1e-9)


def test_scanned_energy_balance():
    # heat in = stored + conducted out + carried away by blood, for a moving beam.
    result = solve_scanned(_scanned("zigzag", duration=5.0, line_spacing_mm=10.0, speed_mm_per_s=40.0))
    ledger = result.energy
    assert ledger.absorbed_j == pytest.approx(5.0 * 5.0 * KERNEL.absorbed_fraction(), rel=0.02)
    assert ledger.stored_j + ledger.boundary_j + ledger.blood_j == pytest.approx(ledger.absorbed_j, rel=1e-9)


def test_moving_the_beam_lowers_the_peak():
    # Spreading the same energy over an area (scanning) heats less than holding the beam still.
    still = solve_scanned(_scanned(duration=10.0))
    moving = solve_scanned(_scanned("zigzag", duration=10.0, line_spacing_mm=10.0, speed_mm_per_s=50.0))
    assert moving.peak_surface_c.max() < still.peak_surface_c.max()


@settings(max_examples=25, deadline=None)
@given(
    pattern=st.sampled_from(["raster", "zigzag", "circles"]),
    t=st.floats(0.0, 500.0),
    speed=st.floats(25.0, 75.0),
)
def test_paths_stay_in_the_area_and_move_at_hand_speed(pattern, t, speed):
    # Geometry: positions lie in the area; away from corners and raster jumps, |dp/dt| equals the speed.
    path = ScanPath(pattern, 100.0, 150.0, speed, 10.0, 15.0)
    x, y = path.position_mm(t)
    assert abs(x) <= 50.0 + 1e-9 and abs(y) <= 75.0 + 1e-9
    dt = 1e-4
    x2, y2 = path.position_mm(t + dt)
    step = math.hypot(x2 - x, y2 - y)
    assert step <= speed * dt * (1 + 1e-6) or pattern == "raster"


def test_zigzag_visits_the_whole_area():
    path = ScanPath("zigzag", 100.0, 150.0, 50.0, 10.0)
    points = np.array([path.position_mm(t) for t in np.arange(0.0, 40.0, 0.05)])
    assert points[:, 0].min() == pytest.approx(-50.0, abs=3) and points[:, 0].max() == pytest.approx(
        50.0, abs=3
    )
    assert points[:, 1].min() == pytest.approx(-75.0, abs=3) and points[:, 1].max() == pytest.approx(
        75.0, abs=3
    )


def test_bad_scan_is_rejected():
    with pytest.raises(InputError, match="scan.speed_mm_per_s must be > 0"):
        ScanPath("zigzag", speed_mm_per_s=0.0)
    with pytest.raises(InputError, match="unknown scan.pattern"):
        ScanPath("spiral")


def test_pulsed_scanned_beam_absorbs_duty_times_the_energy():
    # Square pulse train at 10 Hz, 30 % duty, 5 s (50 whole periods): energy = P x 0.3 x t x fraction.
    path = ScanPath("circles", 40.0, 40.0, 30.0, 5.0, 10.0)
    case = ScannedCase(BACK, KERNEL, Emission(5.0, 10.0, 0.3), Boundaries(), path, 5.0, dt_s=0.1, dx_mm=1.0)
    ledger = solve_scanned(case).energy
    assert ledger.absorbed_j == pytest.approx(5.0 * 0.3 * 5.0 * KERNEL.absorbed_fraction(), rel=0.02)
    assert ledger.stored_j + ledger.boundary_j + ledger.blood_j == pytest.approx(ledger.absorbed_j, rel=1e-9)
