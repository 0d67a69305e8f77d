"""The fast skin heating model: its column against analytic heat conduction, its scan geometry against
chord lengths, its closed-form periods against plain time stepping, and its monotonicity (Hypothesis).

Time budget: < 20 s (the comparison with the 3-D solver is test_skin_vs_solver.py, marked slow).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laserdose.errors import InputError
from laserdose.machines.profile import Handpiece, load_profile
from laserdose.thermal.boundary import Boundaries
from laserdose.thermal.grid import LayeredMedium, column_properties, graded_edges
from laserdose.thermal.properties import ThermalTissue
from laserdose.thermal.surrogate import model as skin
from laserdose.thermal.surrogate.model import (
    column_modes,
    skin_rise_curve_k_per_w,
    skin_rise_k_per_w,
)
from laserdose.thermal.surrogate.profiles import load_profiles
from laserdose.thermal.surrogate.scan import Scan

# Skin k, rho, c [ComsolBioheat], SI -> mm units.
K_W_PER_MM_K = 0.37e-3
RHO_C_J_PER_MM3_K = 1109.0 * 3391.0e-9
WIDE = Handpiece("wide", 30.0, False, 50.0, 0.0, "flat")


def _homogeneous_column(perfusion_per_s: float):
    tissue = ThermalTissue(0.37, 1109.0, 3391.0, perfusion_per_s=perfusion_per_s)
    medium = LayeredMedium((), (tissue,))
    return column_properties(medium, graded_edges(30.0, 0.01, 1.0, ratio=1.1)), tissue


def test_surface_flux_on_a_semi_infinite_solid_rises_as_root_time():
    # Carslaw & Jaeger 1959, Conduction of Heat in Solids, s. 2.9: constant flux q into an insulated
    # half-space, surface rise 2 q sqrt(t / (pi k rho c)). All power into the 10 um top cell.
    column, _ = _homogeneous_column(0.0)
    absorbed = np.zeros(column.dz_mm.size)
    absorbed[0] = 1.0
    modes = column_modes(column, absorbed, Boundaries(surface="insulated"))
    times = np.array([1.0, 10.0, 60.0])
    exact = 2 * np.sqrt(times / (math.pi * K_W_PER_MM_K * RHO_C_J_PER_MM3_K))
    assert modes.step_response(times) == pytest.approx(exact, rel=0.02)


def test_steady_surface_flux_with_perfusion_matches_the_pennes_fin():
    # Steady Pennes column, flux q at an insulated top, temperature held at depth L (Pennes 1948 form):
    # T(0) = q tanh(m L) / (k m), m = sqrt(w rho_b c_b / k).
    column, tissue = _homogeneous_column(2e-3)
    absorbed = np.zeros(column.dz_mm.size)
    absorbed[0] = 1.0
    modes = column_modes(column, absorbed, Boundaries(surface="insulated"))
    m = math.sqrt(tissue.perfusion_w_per_mm3_k / K_W_PER_MM_K)
    exact = math.tanh(m * 30.0) / (K_W_PER_MM_K * m)
    assert float(modes.step_response(np.array([1e6]))[0]) == pytest.approx(exact, rel=0.02)


def test_beam_profiles_hold_one_watt():
    # Analytic: irradiance per watt integrates to 1 over the plane (trapezoid rule on rings).
    rho = np.linspace(0.0, 60.0, 60001)
    for profile, diameter in (("flat", 30.0), ("flat", 8.0), ("gaussian", 25.0)):
        scan = Scan(diameter, profile, 50.0, 100.0)
        assert np.trapezoid(2 * np.pi * rho * scan.profile_per_mm2(rho), rho) == pytest.approx(1.0, rel=1e-4)


def test_mean_irradiance_at_the_centre_follows_the_chord_lengths():
    # Geometry: a flat beam of radius r over a point at distance y from a line leaves energy
    # chord / (v pi r^2) per pass, chord = 2 sqrt(r^2 - y^2); each line passes twice per period.
    scan = Scan(30.0, "flat", 50.0, 100.0)
    ys = scan.vertices_mm()[::2, 1]
    r = 15.0
    chords = sum(2 * math.sqrt(r * r - y * y) for y in ys if abs(y) < r)
    expected = 2 * chords / (50.0 * math.pi * r * r) / scan.period_s()
    irradiance, _ = scan.irradiance_per_w(np.array([0.0]), np.array([0.0]))
    assert float(irradiance.mean()) == pytest.approx(expected, rel=0.03)


def test_closed_form_periods_match_stepping_through_the_whole_session():
    # Independent of the geometric sums: the exact per-sample recursion x <- a x + g E over every period.
    scan = Scan(20.0, "flat", 40.0, 50.0)
    modes = skin.surface_modes(4, 10.0, 810.0, False)
    px, py = np.array([0.0, 12.0, -20.0]), np.array([3.0, -21.0, 20.0])
    exposure = skin._exposure(scan, px, py)
    response = skin._response(exposure, modes)
    step, rate = exposure.step_s, modes.rate_per_s
    decay, gain = np.exp(-rate * step), -np.expm1(-rate * step) / rate
    duration = 3.4 * response.period_s
    samples = int(round(duration / step))
    state = np.zeros((rate.size, px.size))
    peak = np.zeros(px.size)
    for index in range(samples):
        state = (
            decay[:, None] * state
            + gain[:, None] * exposure.irradiance[:, index % exposure.irradiance.shape[1]]
        )
        peak = np.maximum(peak, modes.weight_k_mm2_per_j @ state)
    assert response.point_peaks_until(samples * step) == pytest.approx(peak, rel=1e-9)


@pytest.mark.parametrize(
    ("diameter", "profile", "speed", "area", "duration"),
    [
        (30.0, "flat", 50.0, 100.0, 300.0),
        (25.0, "gaussian", 25.0, 150.0, 60.0),
        (8.0, "gaussian", 20.0, 20.0, 60.0),
    ],
)
def test_the_search_finds_the_hottest_grid_point(diameter, profile, speed, area, duration):
    # The pruning and the coarse ranking only save time: the peak found is at least the exact rise at
    # every point of the grid (it may be higher: the search refines around the hottest points).
    scan = Scan(diameter, profile, speed, math.sqrt(area) * 10)
    modes = skin.surface_modes(6, 10.0, 980.0, False)
    px, py = scan.skin_points_mm()
    everywhere = skin._response(skin._exposure(scan, px, py), modes).point_peaks_until(duration).max()
    found = skin._session_response(scan, modes, duration).point_peaks_until(duration).max()
    assert found >= everywhere * (1 - 1e-9)


def test_profiles_file_is_physical():
    # Energy: absorbed <= incident less the Fresnel reflection; melanin (epidermis) grows with skin type
    # (optics/tissues.py melanin fractions), so the epidermal absorption does too at every wavelength.
    profiles = load_profiles()
    assert np.all(np.diff(profiles.cumulative, axis=-1) >= 0)
    assert np.all(profiles.cumulative[..., -1] <= 1 - profiles.specular_reflectance)
    epidermis = int(np.searchsorted(profiles.z_edges_mm, 0.1 - 1e-9))
    assert np.all(np.diff(profiles.cumulative[:, :, epidermis], axis=1) > 0)


HANDPIECES = [
    hp for name in ("15w-dual", "30w-quad", "class3b-probe") for hp in load_profile(name).handpieces
]
settings_fast = settings(max_examples=8, deadline=None)


@settings_fast
@given(
    wavelength=st.sampled_from([650.0, 810.0, 900.0, 980.0, 1064.0]),
    fat=st.sampled_from([3.0, 12.0, 40.0]),
    handpiece=st.sampled_from(HANDPIECES),
    speed=st.sampled_from([25.0, 50.0]),
    area=st.sampled_from([50.0, 150.0]),
    duration=st.sampled_from([60.0, 600.0]),
)
def test_darker_skin_never_lowers_the_peak(wavelength, fat, handpiece, speed, area, duration):
    rises = [skin_rise_k_per_w(t, fat, wavelength, handpiece, speed, area, duration) for t in range(1, 7)]
    assert all(b >= a for a, b in zip(rises, rises[1:], strict=False)), rises


@settings_fast
@given(
    skin_type=st.integers(1, 6),
    wavelength=st.sampled_from([650.0, 810.0, 980.0]),
    handpiece=st.sampled_from(HANDPIECES),
    area=st.sampled_from([50.0, 150.0]),
    duration=st.floats(5.0, 900.0),
)
def test_longer_sessions_and_more_power_never_lower_the_peak(
    skin_type, wavelength, handpiece, area, duration
):
    times, rises = skin_rise_curve_k_per_w(
        skin_type, 10.0, wavelength, handpiece, 50.0, area, duration, points=12
    )
    assert np.all(np.diff(rises) >= 0)
    assert times[-1] == pytest.approx(duration)
    # Linear in power: the rise at P watts is P times a per-watt rise that is positive.
    assert rises[-1] == pytest.approx(
        skin_rise_k_per_w(skin_type, 10.0, wavelength, handpiece, 50.0, area, duration)
    )
    assert rises[0] > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"skin_type": 7}, "Fitzpatrick skin type must be between 1 and 6, got 7"),
        ({"skin_type": True}, "Fitzpatrick skin type must be a number between 1 and 6, got True"),
        ({"fat_mm": -1.0}, "fat thickness"),
        ({"wavelength_nm": 532.0}, "wavelength"),
        ({"wavelength_nm": 1100.0}, "wavelength_nm must be between 650 and 1064"),
        ({"scan_speed_mm_per_s": 0.0}, "scan speed"),
        ({"area_cm2": 0.0}, "treatment area"),
        ({"duration_s": float("nan")}, "session duration"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(change, message):
    args = {
        "skin_type": 3,
        "fat_mm": 10.0,
        "wavelength_nm": 810.0,
        "handpiece": WIDE,
        "scan_speed_mm_per_s": 50.0,
        "area_cm2": 100.0,
        "duration_s": 300.0,
    } | change
    with pytest.raises(InputError, match=message):
        skin_rise_k_per_w(**args)
