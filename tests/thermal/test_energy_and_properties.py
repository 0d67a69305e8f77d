"""Energy balance and physical invariants of the bioheat solvers (Hypothesis properties)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laserdose.thermal.bioheat import StationaryCase, solve_stationary
from laserdose.thermal.boundary import Boundaries, baseline_column
from laserdose.thermal.grid import LayeredMedium, column_properties, graded_edges
from laserdose.thermal.properties import ThermalTissue, tissue
from laserdose.thermal.source import Emission, analytic_kernel

R_EDGES = graded_edges(12.0, 0.1, 1.0, 1.2)
Z_EDGES = graded_edges(15.0, 0.02, 1.0, 1.25)
BACK = LayeredMedium((2.0, 6.0), (tissue("skin"), tissue("fat"), tissue("muscle")), ("skin", "fat", "muscle"))


def _case(
    medium=BACK,
    power=5.0,
    boundaries=None,
    duration=20.0,
    dt=0.5,
    mua=0.5,
    emission=None,
    theta=0.5,
    base=True,
):
    kernel = analytic_kernel(R_EDGES, Z_EDGES, 3.0, "gaussian", mua, 0.7)
    return StationaryCase(
        medium,
        kernel,
        emission or Emission(power),
        boundaries or Boundaries(),
        R_EDGES,
        Z_EDGES,
        duration,
        dt,
        theta=theta,
        with_baseline=base,
    )


def test_insulated_medium_stores_all_absorbed_energy():
    # First law: with every boundary insulated and no perfusion, stored = absorbed = P * t * fraction.
    # The stored energy is recomputed here from the field and rho c V, independently of the solver.
    plain = LayeredMedium((), (ThermalTissue(0.37, 1109.0, 3391.0),))
    case = _case(medium=plain, boundaries=Boundaries("insulated", core_c=None), base=False)
    result = solve_stationary(case)
    rise = result.fields[case.duration_s]
    volume = np.outer(np.pi * np.diff(R_EDGES**2), np.diff(Z_EDGES))
    stored = float(np.sum(rise * volume * 1109.0 * 3391.0e-9))
    expected = 5.0 * 20.0 * case.kernel.absorbed_fraction()
    assert stored == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("surface", ["convective", "contact"])
def test_energy_balance_with_blood_and_boundaries(surface):
    # heat in = stored + conducted out (surface, core) + carried away by blood (Pennes 1948 terms).
    result = solve_stationary(_case(boundaries=Boundaries(surface, h_w_per_m2_k=30.0)))
    ledger = result.energy
    assert ledger.blood_j > 0 and ledger.boundary_j > 0
    assert ledger.absorbed_j == pytest.approx(5.0 * 20.0 * 0.7, rel=1e-3)
    assert ledger.stored_j + ledger.boundary_j + ledger.blood_j == pytest.approx(ledger.absorbed_j, rel=1e-10)


def test_baseline_matches_linear_conduction_profile():
    # Homogeneous slab, no perfusion or metabolism: steady flux k (T_core - T_s)/L = h (T_s - T_air), so
    # T_s = (k/L T_core + h T_air)/(k/L + h) (Fourier's law in series with Newton cooling).
    slab = LayeredMedium((), (ThermalTissue(0.37, 1109.0, 3391.0),))
    column = column_properties(slab, graded_edges(20.0, 0.05, 1.0))
    boundaries = Boundaries("convective", h_w_per_m2_k=10.0, ambient_c=25.0, core_c=37.0)
    baseline = baseline_column(column, boundaries)
    conductance = 0.37 / 0.020  # W/(m^2 K)
    surface = (conductance * 37.0 + 10.0 * 25.0) / (conductance + 10.0)
    expected = surface + (37.0 - surface) * column.z_centres_mm / 20.0
    assert baseline == pytest.approx(expected, abs=1e-9)


@settings(max_examples=10, deadline=None)
@given(scale=st.floats(0.1, 20.0))
def test_rise_scales_linearly_with_power(scale):
    # The Pennes equation is linear in the source: dT(a P) = a dT(P).
    base = solve_stationary(_case(power=1.0, duration=5.0))
    scaled = solve_stationary(_case(power=scale, duration=5.0))
    assert scaled.center_surface_rise_k == pytest.approx(
        scale * base.center_surface_rise_k, rel=1e-9, abs=1e-12
    )


@settings(max_examples=10, deadline=None)
@given(w1=st.floats(0.0, 5e-3), extra=st.floats(1e-5, 5e-3))
def test_more_perfusion_never_raises_temperature(w1, extra):
    # Blood at arterial temperature is a heat sink for any rise (Pennes 1948): more of it cannot warm.
    def rises(w):
        medium = LayeredMedium((), (ThermalTissue(0.37, 1109.0, 3391.0, perfusion_per_s=w),))
        return solve_stationary(_case(medium=medium, duration=30.0, dt=1.0, theta=1.0)).peak_surface_rise_k

    assert np.all(rises(w1 + extra) <= rises(w1) + 1e-12)


@settings(max_examples=10, deadline=None)
@given(h1=st.floats(1.0, 100.0), factor=st.floats(1.01, 10.0))
def test_stronger_surface_cooling_never_raises_peak(h1, factor):
    # A larger Newton coefficient removes more heat at every surface temperature above ambient.
    def peak(h):
        return solve_stationary(
            _case(boundaries=Boundaries("convective", h_w_per_m2_k=h), theta=1.0)
        ).peak_surface_rise_k

    assert np.all(peak(h1 * factor) <= peak(h1) + 1e-12)


@settings(max_examples=10, deadline=None)
@given(frequency=st.floats(0.3, 50.0), duty=st.floats(0.05, 1.0))
def test_pulsed_emission_delivers_duty_times_the_energy(frequency, duty):
    # Energy of a square pulse train = peak power x duty cycle x whole periods (+ the partial period).
    emission = Emission(4.0, frequency, duty)
    result = solve_stationary(_case(emission=emission, duration=7.0, dt=0.1))
    period = 1.0 / frequency
    whole, rest = divmod(7.0, period)
    on_time = whole * duty * period + min(rest, duty * period)
    assert result.energy.absorbed_j == pytest.approx(4.0 * on_time * 0.7, rel=1e-3)


def test_contact_handpiece_holds_the_surface():
    # Dirichlet surface (a contact window at 30 C): the surface stays at the window temperature and the
    # rise there is zero; the heat leaves through the window (Carslaw & Jaeger: fixed-temperature boundary).
    result = solve_stationary(_case(boundaries=Boundaries("contact", contact_c=30.0)))
    assert result.baseline_surface_c == 30.0
    assert np.all(result.peak_surface_rise_k == 0.0)
    assert result.peak_basal_rise_k[-1] > 0.0
