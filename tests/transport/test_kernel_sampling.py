"""The kernel's sampling functions against their analytic distributions (no transport, no tallies)."""

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats

from laserdose.transport import kernel_cpu
from laserdose.transport.backend import seed_states

DRAWS = 40_000


@njit
def _azimuths(state, count):
    rng = (state[0], state[1], state[2], state[3])
    out = np.empty((count, 2))
    for i in range(count):
        out[i, 0], out[i, 1], rng = kernel_cpu._azimuth(rng)
    return out


@njit
def _scattered_cosines(state, g, count):
    # From the z axis, the new direction's z component is the scattering angle's cosine.
    rng = (state[0], state[1], state[2], state[3])
    out = np.empty(count)
    for i in range(count):
        _, _, out[i], rng = kernel_cpu._scatter(0.0, 0.0, 1.0, g, rng)
    return out


def test_azimuth_is_a_unit_vector_at_a_uniform_angle():
    cos_sin = _azimuths(seed_states(1, 0, 1)[0], DRAWS)
    np.testing.assert_allclose(np.hypot(cos_sin[:, 0], cos_sin[:, 1]), 1.0, rtol=1e-14)
    angles = np.mod(np.arctan2(cos_sin[:, 1], cos_sin[:, 0]), 2 * math.pi) / (2 * math.pi)
    # Kolmogorov-Smirnov against the uniform law on [0, 2 pi): a fixed seed, so a fixed verdict; the
    # threshold would reject a uniform sample once in 10,000 seeds.
    assert stats.kstest(angles, "uniform").pvalue > 1e-4
    # Each quadrant a quarter: the signs of cos and sin carry no bias (binomial SE 0.0022).
    quadrants = np.bincount((cos_sin[:, 0] < 0) * 2 + (cos_sin[:, 1] < 0), minlength=4) / DRAWS
    np.testing.assert_allclose(quadrants, 0.25, atol=4 * math.sqrt(0.25 * 0.75 / DRAWS))


@pytest.mark.parametrize("g", [-0.5, 0.0, 0.7, 0.9])
def test_scattering_cosine_follows_henyey_greenstein(g):
    cosines = _scattered_cosines(seed_states(2, 0, 1)[0], g, DRAWS)
    assert np.all(np.abs(cosines) <= 1.0)
    # Henyey & Greenstein (1941): the mean cosine is g, and the CDF of mu is
    # F(mu) = (1 - g^2) / (2 g) * (1 / sqrt(1 + g^2 - 2 g mu) - 1 / (1 + g)) (uniform in mu for g = 0).
    mean_se = np.std(cosines) / math.sqrt(DRAWS)
    assert abs(np.mean(cosines) - g) < 4 * mean_se

    def cdf(mu):
        if g == 0.0:
            return (np.asarray(mu) + 1.0) / 2.0
        return (1 - g * g) / (2 * g) * (1 / np.sqrt(1 + g * g - 2 * g * np.asarray(mu)) - 1 / (1 + g))

    assert stats.kstest(cosines, cdf).pvalue > 1e-4


@pytest.mark.parametrize("g", [5e-324, 1.2e-38, -1e-20])
def test_scattering_with_a_vanishing_anisotropy_is_isotropic(g):
    # Henyey-Greenstein's inversion cancels to cos = 0 (every scattering at right angles) for |g| < 1e-16
    # (found by Hypothesis at g = 5e-324); HG differs from isotropic by O(g) (kernel_cpu.G_ISOTROPIC).
    cosines = _scattered_cosines(seed_states(3, 0, 1)[0], g, DRAWS)
    assert stats.kstest(cosines, "uniform", args=(-1.0, 2.0)).pvalue > 1e-4
