"""The one function for Monte Carlo fluence at a target under a lit disk, against Beer-Lambert."""

import math

import numpy as np
import pytest

from laserdose.transport.geometry import Layer, Stack
from laserdose.transport.tables import disk_fluences, target_fluence

MUA_PER_MM = 0.1
# No scattering and matched indices: a pencil beam stays on the axis and only absorption removes light.
CLEAR = Stack(layers=(Layer(None, MUA_PER_MM, 0.0, 0.0, 1.0),), n_above=1.0, n_below=1.0)
PHOTONS = 200_000


def _beer_lambert_bin_mean(depth_mm: float, dz_mm: float = 1.0) -> float:
    # Mean of exp(-mua z) over a 1 mm bin centred on depth_mm: exp(-mua z) sinh(x) / x, x = mua dz / 2.
    x = MUA_PER_MM * dz_mm / 2
    return math.exp(-MUA_PER_MM * depth_mm) * math.sinh(x) / x


@pytest.mark.parametrize("radius_mm", [2.0, 10.0])
def test_target_fluence_in_a_clear_absorber_follows_beer_lambert(radius_mm):
    # Log-linear interpolation between bin means of an exponential is exact, so the only error is the
    # Monte Carlo one: ~10^4 collisions per bin here, about 1 % relative; 4 % is 4 standard errors.
    for depth_mm in (3.0, 7.3, 15.6):
        value = target_fluence(CLEAR, radius_mm, depth_mm, PHOTONS, seed=11)
        assert value == pytest.approx(_beer_lambert_bin_mean(depth_mm), rel=0.04), depth_mm


def test_target_fluence_is_the_disk_profile_of_the_same_run_at_a_bin_centre():
    z_mm, [factors] = disk_fluences([CLEAR], np.array([5.0]), 20_000, seed=3)
    assert target_fluence(CLEAR, 5.0, float(z_mm[12]), 20_000, seed=3) == pytest.approx(
        factors[0, 12], rel=1e-12
    )
