import math

import numpy as np
import pytest

from laserdose.errors import InputError
from laserdose.planning.dose import area_fluence_factor, disk_radius_mm


def gaussian_kernel(width_mm=5.0, mu_per_mm=0.2, dr=0.05, dz=0.1):
    r_edges = np.arange(0, 60 + dr, dr)
    z_edges = np.arange(0, 40 + dz, dz)
    r = 0.5 * (r_edges[1:] + r_edges[:-1])
    z = 0.5 * (z_edges[1:] + z_edges[:-1])
    phi = np.exp(-(r[:, None] ** 2) / width_mm**2) * np.exp(-mu_per_mm * z[None, :]) / (math.pi * width_mm**2)
    return r_edges, z_edges, phi


@pytest.mark.parametrize(("depth_mm", "radius_mm"), [(5.0, 3.0), (20.0, 8.0), (31.5, 56.4)])
def test_disk_integral_of_gaussian_kernel_matches_closed_form(depth_mm, radius_mm):
    # phi = exp(-r^2/w^2) exp(-mu z) / (pi w^2): 2 pi int_0^R phi r dr = (1 - exp(-R^2/w^2)) exp(-mu z).
    r_edges, z_edges, phi = gaussian_kernel()
    expected = (1 - math.exp(-(radius_mm**2) / 25.0)) * math.exp(-0.2 * depth_mm)
    assert area_fluence_factor(r_edges, z_edges, phi, depth_mm, radius_mm) == pytest.approx(
        expected, rel=2e-3
    )


def test_disk_radius_has_the_area():
    assert math.pi * disk_radius_mm(150.0) ** 2 == pytest.approx(15000.0)
    with pytest.raises(InputError):
        disk_radius_mm(0.0)


def test_depth_outside_kernel_is_rejected():
    r_edges, z_edges, phi = gaussian_kernel()
    with pytest.raises(InputError, match="outside"):
        area_fluence_factor(r_edges, z_edges, phi, 80.0, 10.0)
