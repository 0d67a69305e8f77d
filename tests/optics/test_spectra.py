import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.errors import InputError
from laserdose.optics import spectra

WAVELENGTHS = st.floats(min_value=600.0, max_value=1100.0)


def test_prahl_conversion_to_whole_blood_per_mm():
    # Prahl's table (Gratzer, Kollias): eps_HbO2(800 nm) = 816 cm^-1/M, decadic. Whole blood, 150 g/L Hb
    # (Jacques 2013): mua = ln(10) * 816 * 150 / 64500 cm^-1 = 0.4370 mm^-1.
    expected = math.log(10) * 816 * 150 / 64500 / 10
    assert spectra.mua_oxy_blood_per_mm(800.0) == pytest.approx(expected, rel=1e-9)
    # Same table, Hb at 800 nm: 761.72 cm^-1/M.
    assert spectra.mua_deoxy_blood_per_mm(800.0) == pytest.approx(math.log(10) * 761.72 * 150 / 64500 / 10)


def test_blood_above_1000_nm_is_bosschaart_less_its_water():
    # Bosschaart 2014 (Lasers Med Sci 29:453), whole blood Hct 45 %, 1065 nm: mua 0.45 (SO2 > 98 %) and
    # 0.20 (SO2 = 0 %) mm^-1 including water; our blood spectra leave out the blood's water (0.80 [U]).
    water = spectra.mua_water_per_mm(1065.0)
    assert spectra.mua_oxy_blood_per_mm(1065.0) + 0.80 * water == pytest.approx(0.45, rel=1e-9)
    assert spectra.mua_deoxy_blood_per_mm(1065.0) + 0.80 * water == pytest.approx(0.20, rel=1e-9)


def test_water_at_980_nm_agrees_with_independent_measurements():
    # [Kou1993] (used) vs [HaleQuerry1973], 980 nm: 0.43 cm^-1 and [Segelstein1981]: 0.4385 cm^-1.
    # Independent measurements of the same band differ by ~10 %; allow 15 %.
    assert spectra.mua_water_per_mm(980.0) == pytest.approx(0.043, rel=0.15)
    assert spectra.mua_water_per_mm(980.0) == pytest.approx(0.04385, rel=0.15)


@pytest.mark.parametrize(
    ("wavelength_nm", "cassano_per_mm"), [(670, 0.00045), (810, 0.00054), (980, 0.0014), (1064, 0.0054)]
)
def test_pure_lipid_matches_cassano_2019(wavelength_nm, cassano_per_mm):
    # Cassano 2019 (Neurophotonics 6:015004) Table 1, fat mua = pure lipid, 2 significant digits: allow 5 %
    # (rounding of the published values, 0.00054 vs the 0.000527 of van Veen's table at 810 nm).
    assert spectra.mua_lipid_per_mm(wavelength_nm) == pytest.approx(cassano_per_mm, rel=0.05)


def test_melanosome_formula():
    # Jacques 2013: 519 (l/500)^-3 cm^-1; at 1000 nm 519 / 8 = 64.875 cm^-1 = 6.4875 mm^-1.
    assert spectra.mua_melanosome_per_mm(1000.0) == pytest.approx(6.4875)


def test_skin_baseline_formula():
    # Jacques 1998: 0.244 + 85.3 exp(-(l - 154)/66.2) cm^-1; at 700 nm 0.244 + 85.3 e^-8.2477 = 0.2662 cm^-1.
    assert spectra.mua_skin_baseline_per_mm(700.0) == pytest.approx(0.02662, rel=1e-3)


@pytest.mark.parametrize("chromophore", spectra.CHROMOPHORES)
@pytest.mark.parametrize("wavelength_nm", [599.9, 1100.1, float("nan")])
def test_wavelength_outside_data_is_rejected(chromophore, wavelength_nm):
    with pytest.raises(InputError, match="wavelength must be between 600 and 1100 nm"):
        spectra.chromophore_mua_per_mm(chromophore, wavelength_nm)


def test_unknown_chromophore_is_rejected():
    with pytest.raises(InputError, match="allowed: oxy_blood"):
        spectra.chromophore_mua_per_mm("bilirubin", 800.0)


@given(WAVELENGTHS)
def test_every_chromophore_positive_and_finite(wavelength_nm):
    for chromophore in spectra.CHROMOPHORES:
        value = spectra.chromophore_mua_per_mm(chromophore, wavelength_nm)
        assert math.isfinite(value) and value > 0, chromophore


@given(st.floats(min_value=600.0, max_value=1000.0))
def test_oxy_blood_above_deoxy_only_past_the_isosbestic_point(wavelength_nm):
    # Haemoglobin's NIR isosbestic point is near 800 nm (Prahl's table: 816 vs 761.72 at 800 nm, 290 vs
    # 1794 at 700 nm): deoxy absorbs more below ~797 nm, oxy more above ~803 nm.
    oxy, deoxy = spectra.mua_oxy_blood_per_mm(wavelength_nm), spectra.mua_deoxy_blood_per_mm(wavelength_nm)
    if wavelength_nm < 790:
        assert deoxy > oxy
    elif wavelength_nm > 810:
        assert oxy > deoxy
