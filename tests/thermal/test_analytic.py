"""The r-z solver against the analytic rises of [CarslawJaeger1959] (within 2 % after convergence)."""

import math

import pytest
from tests.thermal import analytic

from laserdose.thermal.bioheat import solve_stationary
from laserdose.thermal.config import idealised_case

# Skin properties [ComsolBioheat].
SKIN = {"k_w_per_m_k": 0.37, "rho_kg_per_m3": 1109.0, "c_j_per_kg_k": 3391.0}
K = 0.37e-3  # W/(mm K)
KAPPA = 0.37e-3 / (1109.0 * 3391.0e-9)  # mm^2/s
TIMES = (1.0, 4.0, 10.0)


def _rise_at(config, times):
    result = solve_stationary(idealised_case(config))
    out = []
    for t in times:
        index = int(round(t / result.t_s[1]))
        assert result.t_s[index] == pytest.approx(t)
        out.append(result.center_surface_rise_k[index])
    return out


def _config(source, duration, perfusion=0.0):
    return {
        "medium": {**SKIN, "perfusion_per_s": perfusion},
        "source": source,
        "time": {"duration_s": duration},
    }


def _check(numeric, exact):
    for got, want in zip(numeric, exact, strict=True):
        assert got == pytest.approx(want, rel=0.02)


def test_uniform_flux():
    # dT = 2 q0 sqrt(kappa t / pi) / k [CarslawJaeger1959].
    q0 = 1000.0e-6  # W/mm^2
    numeric = _rise_at(_config({"kind": "surface-uniform", "flux_w_per_m2": 1000.0}, 10.0), TIMES)
    _check(numeric, [analytic.uniform_flux(q0, K, KAPPA, t) for t in TIMES])


def test_disk_centre():
    # dT = (2 q0 sqrt(kappa t)/k)[1/sqrt(pi) - ierfc(a/(2 sqrt(kappa t)))] [CarslawJaeger1959].
    power, a = 0.12566, 2.0
    numeric = _rise_at(_config({"kind": "surface-disk", "power_w": power, "radius_mm": a}, 10.0), TIMES)
    _check(numeric, [analytic.disk_centre(power / (math.pi * a * a), a, K, KAPPA, t) for t in TIMES])


def test_disk_approaches_steady_q0_a_over_k():
    # Steady disk centre: dT = q0 a / k [CarslawJaeger1959]; at t = 2000 s the transient formula is within
    # 1 - 1/sqrt(pi) * a / sqrt(pi kappa t) ~ 9 % of it, so compare with the transient and check the trend.
    power, a = 0.12566, 2.0
    q0 = power / (math.pi * a * a)
    (numeric,) = _rise_at(
        _config({"kind": "surface-disk", "power_w": power, "radius_mm": a}, 2000.0), (2000.0,)
    )
    assert numeric == pytest.approx(analytic.disk_centre(q0, a, K, KAPPA, 2000.0), rel=0.02)
    assert numeric < q0 * a / K


def test_gaussian_centre():
    # dT(0, t) = P / (pi^1.5 k r0) arctan(2 sqrt(kappa t) / r0) [CarslawJaeger1959].
    power, r0 = 0.12566, 2.0
    numeric = _rise_at(_config({"kind": "surface-gaussian", "power_w": power, "radius_mm": r0}, 10.0), TIMES)
    _check(numeric, [analytic.gaussian_centre(power, r0, K, KAPPA, t) for t in TIMES])


@pytest.mark.parametrize("mua", [0.3, 1.0, 5.0])
def test_absorption_in_depth(mua):
    # dT = q0/(k mua)[2x/sqrt(pi) - 1 + exp(x^2) erfc(x)], x = mua sqrt(kappa t) [CarslawJaeger1959].
    source = {"kind": "depth-exponential", "flux_w_per_m2": 1000.0, "mua_per_mm": mua}
    numeric = _rise_at(_config(source, 10.0), TIMES)
    _check(numeric, [analytic.exponential_depth(1e-3, mua, K, KAPPA, t) for t in TIMES])


def test_pennes_with_perfusion():
    # dT = (q0/k) sqrt(kappa/beta) erf(sqrt(beta t)), beta = w rho_b c_b/(rho c) [Pennes1948],
    # blood rho_b 1050 kg/m^3, c_b 3617 J/(kg K); skin perfusion 2e-3 1/s [U].
    w = 2e-3
    beta = w * 1050.0 * 3617.0 / (1109.0 * 3391.0)
    times = (60.0, 300.0, 600.0)
    config = _config({"kind": "surface-uniform", "flux_w_per_m2": 1000.0}, 600.0, perfusion=w)
    _check(_rise_at(config, times), [analytic.pennes_uniform_flux(1e-3, K, KAPPA, beta, t) for t in times])


def test_grid_convergence_is_second_order():
    # Pennes uniform-flux solution as the exact answer; halving the cells should cut the error ~4x
    # (second-order finite volumes with Crank-Nicolson); we require at least 3x per refinement.
    w = 2e-3
    beta = w * 1050.0 * 3617.0 / (1109.0 * 3391.0)
    config = _config({"kind": "surface-uniform", "flux_w_per_m2": 1000.0}, 600.0, perfusion=w)
    exact = analytic.pennes_uniform_flux(1e-3, K, KAPPA, beta, 600.0)
    errors = []
    for refine in (0.5, 1.0, 2.0):
        result = solve_stationary(idealised_case(config, refine))
        errors.append(abs(result.center_surface_rise_k[-1] - exact))
    assert errors[0] > 3 * errors[1] > 9 * errors[2]
    assert errors[2] / exact < 1e-3
