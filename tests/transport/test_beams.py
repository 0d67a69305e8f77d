"""Beam sampling checked against closed-form profiles, in media where nothing scatters."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from laserdose.transport import FibreBeam, FlatBeam, GaussianBeam, Grid, Layer, PencilBeam, Stack, simulate

# Matched, purely absorbing medium: every photon is absorbed where it enters (mean depth 1 um at mua
# 1000/mm, so oblique rays move sideways by under 1 um before absorption).
ABSORBER = Stack((Layer(None, 1000.0, 0.0, 0.0, 1.0),))
GRID = Grid(dr_mm=0.5, nr=12, dz_mm=0.5, nz=8)
PHOTONS = 40_000


def _ring_fractions(result):
    volume = np.pi * np.diff(result.r_edges_mm**2)[:, None] * GRID.dz_mm
    return (result.absorbed_density_per_mm3 * volume).sum(axis=1)


def _assert_profile(result, expected):
    # Multinomial counts: SE of a ring fraction p is sqrt(p (1 - p) / N).
    measured = _ring_fractions(result)
    se = np.sqrt(expected * (1 - expected) / PHOTONS)
    assert np.all(np.abs(measured - expected) <= 4 * se + 1e-12)


@pytest.mark.parametrize("diameter_mm", [2.0, 5.0])
def test_flat_beam_irradiance_is_uniform(backend, diameter_mm):
    # Uniform disk of radius R: fraction in [r1, r2) = (r2^2 - r1^2) / R^2 (clipped at R).
    result = simulate(ABSORBER, FlatBeam(diameter_mm), PHOTONS, seed=2, grid=GRID, backend=backend)
    edges = np.minimum(result.r_edges_mm, diameter_mm / 2)
    _assert_profile(result, np.diff(edges**2) / (diameter_mm / 2) ** 2)


def test_gaussian_beam_irradiance(backend):
    # I(r) ~ exp(-2 r^2 / w^2), w = D/2: fraction in [r1, r2) = exp(-2 r1^2 / w^2) - exp(-2 r2^2 / w^2).
    w = 4.0 / 2
    result = simulate(ABSORBER, GaussianBeam(4.0), PHOTONS, seed=3, grid=GRID, backend=backend)
    outer = np.exp(-2 * result.r_edges_mm**2 / w**2)
    _assert_profile(result, outer[:-1] - outer[1:])


def test_fibre_at_standoff_spreads_over_its_cone(backend):
    # Point source (core 0), cone uniform in solid angle up to asin(NA), at stand-off h: a ray at polar
    # angle t lands at r = h tan t, so P(r < h tan t) = (1 - cos t) / (1 - cos t_max).
    na, standoff = 0.3, 5.0
    result = simulate(ABSORBER, FibreBeam(na, standoff, 0.0), PHOTONS, seed=4, grid=GRID, backend=backend)
    cos_max = math.sqrt(1 - na**2)
    cos_t = np.cos(np.arctan(result.r_edges_mm / standoff))
    cumulative = np.clip((1 - cos_t) / (1 - cos_max), 0, 1)
    _assert_profile(result, np.diff(cumulative))


def test_fibre_specular_reflection_is_the_cone_average_of_fresnel(backend):
    # Unpolarised Fresnel reflectance (Born & Wolf) averaged over a cone uniform in solid angle.
    na, n = 0.5, 1.4

    def fresnel(theta_i):
        theta_t = math.asin(math.sin(theta_i) / n)
        if theta_i == 0:
            return ((n - 1) / (n + 1)) ** 2
        rs = math.sin(theta_i - theta_t) ** 2 / math.sin(theta_i + theta_t) ** 2
        rp = math.tan(theta_i - theta_t) ** 2 / math.tan(theta_i + theta_t) ** 2
        return 0.5 * (rs + rp)

    t_max = math.asin(na)
    expected = quad(lambda t: fresnel(t) * math.sin(t), 0, t_max)[0] / (1 - math.cos(t_max))
    stack = Stack((Layer(None, 10.0, 0.0, 0.0, n),))
    result = simulate(stack, FibreBeam(na, 0.0, 0.2), PHOTONS, seed=5, grid=GRID, backend=backend)
    # Rsp is tallied from the exact Fresnel value of each sampled angle; its spread over the cone is small.
    spread = fresnel(t_max) - fresnel(0.0)
    assert result.specular_reflectance == pytest.approx(expected, abs=4 * spread / math.sqrt(PHOTONS))


def test_pencil_beam_lands_on_the_axis(backend):
    result = simulate(ABSORBER, PencilBeam(), 1000, seed=6, grid=GRID, backend=backend)
    fractions = _ring_fractions(result)
    assert fractions[0] == pytest.approx(1.0, rel=1e-12)  # no scattering: every photon stays at r = 0
