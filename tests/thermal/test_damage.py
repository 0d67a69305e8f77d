"""Thermal dose (CEM43) and Arrhenius damage against their defining formulas."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.thermal.damage import FAT, SKIN_HENRIQUES_MORITZ, cem43_minutes, omega


def test_cem43_definition_points():
    # Sapareto & Dewey 1984: 1 min at 43 C is 1 CEM43 min; R = 0.5 above 43 C, 0.25 below.
    assert cem43_minutes(np.full(60, 43.0), 1.0) == pytest.approx(1.0)
    assert cem43_minutes(np.full(60, 44.0), 1.0) == pytest.approx(2.0)
    assert cem43_minutes(np.full(60, 42.0), 1.0) == pytest.approx(0.25)
    assert cem43_minutes(np.full(600, 41.0), 1.0) == pytest.approx(10 * 0.0625)


def test_arrhenius_skin_constant_temperature():
    # Omega = t A exp(-Ea/(R T)); skin A = 3.1e98 1/s, Ea = 6.28e5 J/mol [HenriquesMoritz1947].
    t_s, kelvin = 10.0, 60.0 + 273.15
    expected = t_s * 3.1e98 * math.exp(-6.28e5 / (8.314462618 * kelvin))
    assert omega(np.full(100, 60.0), 0.1) == pytest.approx(expected, rel=1e-9)
    fat_expected = t_s * 4.43e16 * math.exp(-1.3e5 / (8.314462618 * kelvin))
    assert omega(np.full(100, 60.0), 0.1, FAT) == pytest.approx(fat_expected, rel=1e-9)


@given(low=st.floats(30.0, 80.0), delta=st.floats(0.01, 10.0))
def test_dose_and_damage_grow_with_temperature(low, delta):
    # Both rates are strictly increasing in temperature (R > 1 per degree; Ea > 0).
    assert cem43_minutes(np.array([low + delta]), 1.0) > cem43_minutes(np.array([low]), 1.0)
    assert omega(np.array([low + delta]), 1.0, SKIN_HENRIQUES_MORITZ) > omega(np.array([low]), 1.0)
