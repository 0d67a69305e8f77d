"""Table checks on tables with known answers: precision where the planner reads, and the fat order."""

import numpy as np
import pytest

from laserdose.errors import InputError
from laserdose.planning.table_checks import entry_precision, fat_order
from laserdose.transport.tables import FluenceTable

Z = np.arange(100) + 0.5
MU_FAT, MU_MUSCLE = 0.12, 0.3  # [1/mm]


def _table(fats, log_f, se=None):
    factors = np.exp(log_f).reshape(1, 1, len(fats), 1, Z.size)
    return FluenceTable(
        wavelengths_nm=np.array([810.0]),
        skin_types=np.array([3]),
        fat_mm=np.array(fats, dtype=float),
        radii_mm=np.array([50.0]),
        z_centres_mm=Z,
        factors=factors,
        photons=1,
        se=None if se is None else np.broadcast_to(se, np.shape(log_f)).reshape(factors.shape) * factors,
    )


def _two_layer(fats):
    # Fat over muscle, each attenuating exponentially: log F = -mu_f min(z, fat) - mu_m max(z - fat, 0).
    return np.array([-MU_FAT * np.minimum(Z, f) - MU_MUSCLE * np.maximum(Z - f, 0.0) for f in fats])


def test_fat_order_of_a_two_layer_table_is_minus_the_fat_attenuation():
    # A structure 30 mm below the top of the fat is read 30 mm below it in each entry: log F = -mu_f fat
    # - mu_m (30 - fat) there... relative to the entry's own fat, so L_b - L_a = -mu_f (b - a) exactly.
    fats = (2.0, 5.0, 10.0)
    order = fat_order(_table(fats, _two_layer(fats)), {"deep": 30.0})
    assert order.largest_per_mm == pytest.approx(-MU_FAT, rel=1e-9)
    assert order.standard_errors == np.inf


def test_fat_order_finds_a_noise_bump_and_its_margin_in_standard_errors():
    fats = (2.0, 5.0, 10.0)
    log_f = _two_layer(fats)
    log_f[1, 34:36] += 0.5  # the 5 mm entry 65 % high at 34.5 and 35.5 mm, where it is read (30 + 5 mm)
    order = fat_order(_table(fats, log_f, se=0.02), {"deep": 30.0})
    # Between 2 and 5 mm of fat: (L_5(35) - L_2(32)) / 3 = (-0.12 x 3 + 0.5) / 3 per mm (by hand), and
    # its SE with 2 % on each entry: sqrt(2) 0.02 / 3.
    assert order.largest_per_mm == pytest.approx((0.5 - 3 * MU_FAT) / 3, rel=1e-9)
    assert order.where == ("deep", 810.0, 3, 2.0, 50.0)
    assert order.standard_errors == pytest.approx(-(0.5 - 3 * MU_FAT) / (np.sqrt(2) * 0.02), rel=1e-9)


def test_entry_precision_reports_the_worst_read_bin_and_ignores_deeper_ones():
    fats = (2.0, 5.0)
    se = np.full(Z.size, 0.01)
    se[30] = 0.03  # read (the 2 mm entry is read to 40 mm)
    se[60] = 0.5  # deeper than either entry is read
    table = _table(fats, _two_layer(fats), se=np.array([se, se * 0.5]))
    rows = entry_precision(table, {2.0: 40.0, 5.0: 45.0})
    assert [r.fat_mm for r in rows] == [2.0, 5.0]
    assert rows[0].relative_se == pytest.approx(0.03) and rows[0].depth_mm == 30.5
    assert rows[1].relative_se == pytest.approx(0.015)


def test_entry_precision_needs_standard_errors():
    with pytest.raises(InputError, match="no standard errors"):
        entry_precision(_table((2.0,), _two_layer((2.0,))), {2.0: 40.0})
