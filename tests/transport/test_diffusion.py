"""Monte Carlo against analytic diffusion theory far from the source (Farrell, Patterson & Wilson 1992)."""

import numpy as np
import pytest
from scipy.integrate import quad

from laserdose.transport import Grid, Layer, PencilBeam, Stack, simulate
from laserdose.transport.diffusion import fluence_rate_pencil, planar_fluence_rate


def test_planar_fluence_is_the_lateral_integral_of_the_pencil_solution():
    # Analytic identity: integral of exp(-mu r1)/(4 pi D r1) over the plane = exp(-mu |z - z0|) / (2 D mu).
    for depth_mm in (2.0, 5.0):
        integral, _ = quad(
            lambda r, z=depth_mm: 2 * np.pi * r * fluence_rate_pencil(r, z, 0.02, 1.0, 1.4), 0, 400
        )
        assert integral == pytest.approx(float(planar_fluence_rate(depth_mm, 0.02, 1.0, 1.4)), rel=1e-6)


@pytest.mark.parametrize("n", [1.0, 1.4])
def test_deep_fluence_matches_diffusion_theory(backend, n):
    # mua / mus' = 0.01 and depths of 4 to 18 transport mean free paths: diffusion theory with the
    # extrapolated boundary is accurate to a few per cent there (Farrell et al. 1992, figs. 2-3);
    # 2-mm depth averages of 50,000 photons carry ~1.5 % Monte Carlo noise. Tolerance 6 %.
    mua, musp = 0.01, 1.0
    stack = Stack((Layer(None, mua, musp, 0.0, n),))
    grid = Grid(dr_mm=1.0, nr=100, dz_mm=0.5, nz=40)
    result = simulate(stack, PencilBeam(), photons=50_000, seed=17, grid=grid, backend=backend)
    ring_area = np.pi * np.diff(result.r_edges_mm**2)
    planar_mc = (result.fluence_rate_per_mm2 * ring_area[:, None]).sum(axis=0)
    theory = planar_fluence_rate(result.z_centres_mm, mua, musp, n) * (1.0 - result.specular_reflectance)
    deep = slice(8, 36)  # 4 to 18 mm
    ratio = planar_mc[deep].reshape(-1, 4).mean(axis=1) / theory[deep].reshape(-1, 4).mean(axis=1)
    np.testing.assert_allclose(ratio, 1.0, atol=0.06)
