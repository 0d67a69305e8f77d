import math

import pytest

from laserdose.errors import InputError
from laserdose.planning.dose import disk_radius_mm


def test_disk_radius_has_the_area():
    assert math.pi * disk_radius_mm(150.0) ** 2 == pytest.approx(15000.0)
    with pytest.raises(InputError):
        disk_radius_mm(0.0)
