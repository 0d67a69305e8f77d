import math

import numpy as np
import pytest

from laserdose.transport.tables import disk_factors


@pytest.mark.parametrize("radius_mm", [3.0, 8.0, 56.4])
def test_disk_integral_of_gaussian_kernel_matches_closed_form(radius_mm):
    # phi = exp(-r^2/w^2) exp(-mu z) / (pi w^2): 2 pi int_0^R phi r dr = (1 - exp(-R^2/w^2)) exp(-mu z).
    width_mm, mu_per_mm = 5.0, 0.2
    r_edges = np.arange(0, 60.05, 0.05)
    z = np.array([5.0, 20.0, 31.5])
    r = 0.5 * (r_edges[1:] + r_edges[:-1])
    phi = np.exp(-(r[:, None] ** 2) / width_mm**2) * np.exp(-mu_per_mm * z[None, :]) / (math.pi * width_mm**2)
    expected = (1 - math.exp(-(radius_mm**2) / width_mm**2)) * np.exp(-mu_per_mm * z)
    assert disk_factors(r_edges, phi, np.array([radius_mm]))[0] == pytest.approx(expected, rel=2e-3)
