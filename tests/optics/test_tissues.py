"""Tissue optical properties against compiled literature values and physical invariants.

Tolerances. The references are other people's tissue samples, not our tissue model run elsewhere, so we
ask for agreement within the spread the references show among themselves:
- Absorption within a factor 3. Cassano 2019's skin mua falls from 0.045 (810 nm) to 0.028 mm^-1 (980 nm)
  although skin is >= 65 % water and water absorbs ~20x more at 980 than at 810 nm (test_spectra): its
  values come from different samples and sources, and that spread exceeds any chromophore model. Simpson
  1998's dermis at 633 nm (0.033) and Cassano's skin at 670 nm (0.056) differ by 1.7x at neighbouring
  wavelengths; our blood and water fractions are [U] starting values.
- Skin reduced scattering within 30 %: Cassano's skin mus' rises from 980 to 1064 nm (1.85 -> 2.03), which
  no single power law does; Jacques 2013's skin fit (a = 46.0 cm^-1, b = 1.421) is an average over studies.
- Fat reduced scattering within 15 %: our amplitude is Simpson's 633 nm sample; the power 0.68 [U].
- Muscle reduced scattering: our power law passes through Cassano's 810 and 980 nm values by construction
  (tissues.py), so those two rows only guard against a typo (1 %); the real check is Cassano's 850 nm value,
  which the fit does not use, within 2 % (the table gives three digits, and a power law through 810 and
  980 nm can bend from the data between them by about a percent). Cassano's own muscle values are not one
  sample (mus' 0.54 at 670 nm < 0.70 at 810 nm); at 670 nm we only bound it (factor 2.5).
"""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from laserdose.errors import InputError
from laserdose.optics import spectra
from laserdose.optics.tissues import (
    EPIDERMIS_MM,
    TISSUES,
    optical_properties,
    reduced_scattering_per_mm,
    tissue_spectrum,
)

WAVELENGTHS = st.floats(min_value=600.0, max_value=1100.0)
SKIN_TYPES = st.integers(min_value=1, max_value=6)
ABSORPTION_FACTOR = 3.0

# Cassano 2019 (Neurophotonics 6:015004) Table 1, [mua, mus'] in mm^-1; our tissue for their "skin" is dermis.
CASSANO = {
    ("dermis", 670): (0.056, 2.42),
    ("dermis", 810): (0.045, 2.18),
    ("dermis", 980): (0.028, 1.85),
    ("dermis", 1064): (0.017, 2.03),
    ("fat", 670): (None, 1.21),
    ("fat", 810): (None, 1.09),
    ("fat", 980): (None, 0.99),
    ("fat", 1064): (None, 0.945),
    ("muscle", 810): (0.028, 0.704),
    ("muscle", 850): (0.03, 0.667),
    ("muscle", 980): (0.049, 0.58),
}
# Simpson 1998 (PMB 43:2465), 633 nm: Caucasian dermis and subdermal fat, [mua, mus'] mm^-1.
SIMPSON_633 = {"dermis": (0.033, 2.73), "fat": (0.013, 1.26)}
MUSP_TOLERANCE = {"dermis": 0.30, "fat": 0.15, "muscle": 0.01}
MUSP_TOLERANCE_AT = {("muscle", 850): 0.02}  # the one muscle value the fit does not use


def _within_factor(value, reference, factor):
    return reference / factor <= value <= reference * factor


@pytest.mark.parametrize(("tissue", "wavelength_nm"), list(CASSANO))
def test_matches_cassano_2019(tissue, wavelength_nm):
    mua_ref, musp_ref = CASSANO[(tissue, wavelength_nm)]
    props = optical_properties(tissue, wavelength_nm)
    if mua_ref is not None:  # Cassano's fat mua is pure lipid: compared in test_spectra
        assert _within_factor(props.mua_per_mm, mua_ref, ABSORPTION_FACTOR)
    tolerance = MUSP_TOLERANCE_AT.get((tissue, wavelength_nm), MUSP_TOLERANCE[tissue])
    assert props.musp_per_mm == pytest.approx(musp_ref, rel=tolerance)


def test_muscle_at_670_nm_bounded_by_cassano_2019():
    # Cassano 2019 Table 1, muscle 670 nm: mua 0.054, mus 7.65, g 0.93 -> mus' 0.5355 mm^-1.
    props = optical_properties("muscle", 670.0)
    assert _within_factor(props.mua_per_mm, 0.054, ABSORPTION_FACTOR)
    assert _within_factor(props.musp_per_mm, 7.65 * (1 - 0.93), 2.5)


@pytest.mark.parametrize("tissue", list(SIMPSON_633))
def test_matches_simpson_1998_at_633_nm(tissue):
    mua_ref, musp_ref = SIMPSON_633[tissue]
    props = optical_properties(tissue, 633.0)
    assert _within_factor(props.mua_per_mm, mua_ref, ABSORPTION_FACTOR)
    # fat's mus' amplitude IS Simpson's value (see tissues.py), so only dermis scattering is a real check
    assert props.musp_per_mm == pytest.approx(musp_ref, rel=MUSP_TOLERANCE[tissue])


def test_fat_absorbs_more_than_pure_lipid():
    # van Veen's pure lipid underestimates adipose tissue, which also holds blood and water (PROVENANCE.md).
    for wavelength_nm in (670, 810, 980, 1064):
        assert optical_properties("fat", wavelength_nm).mua_per_mm > spectra.mua_lipid_per_mm(wavelength_nm)


def test_skin_refractive_index_ding_2006():
    # Ding 2006: n = 1.3549 + 17.899/l - 3.5938e6/l^3.5, ~1.377 at 810 nm [Ding2006].
    assert optical_properties("dermis", 810.0).n == pytest.approx(1.377, abs=5e-4)


@given(WAVELENGTHS, st.integers(min_value=1, max_value=5))
def test_epidermal_absorption_rises_with_skin_type(wavelength_nm, skin_type):
    lighter = optical_properties("epidermis", wavelength_nm, skin_type).mua_per_mm
    darker = optical_properties("epidermis", wavelength_nm, skin_type + 1).mua_per_mm
    assert darker > lighter


# Melanosome volume fraction ranges of a 60 um epidermis [Jacques1998] [Jacques2013]: light-skinned adults
# 1.3-6.3 %, moderately pigmented 11-16 %, darkly pigmented 18-43 %; types I-II, III-IV, V-VI. The ranges
# are [U] (that part of the sources was not re-read); the 60 um is [S] (the review's data page).
JACQUES_MELANIN_RANGE = {1: (0.013, 0.063), 3: (0.11, 0.16), 5: (0.18, 0.43)}
JACQUES_EPIDERMIS_MM = 0.060  # the thickness those fractions are defined for [Jacques2013] data page


@pytest.mark.parametrize("skin_type", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("wavelength_nm", [650.0, 810.0, 1064.0])
def test_melanin_optical_depth_matches_jacques_60_um_epidermis(skin_type, wavelength_nm):
    # Unmix M from mua_epi = M mua_mel + (1 - M) mua_baseline, then compare the melanin optical depth
    # M t (t our epidermis layer) with Jacques' range of M times his 60 um. A 100 um layer carrying the
    # unscaled fractions would put type III (0.11 x 0.1 mm) above the whole moderate range (<= 0.0096 mm).
    low, high = JACQUES_MELANIN_RANGE[skin_type - (skin_type + 1) % 2]
    mua = optical_properties("epidermis", wavelength_nm, skin_type).mua_per_mm
    mel = spectra.mua_melanosome_per_mm(wavelength_nm)
    base = spectra.mua_skin_baseline_per_mm(wavelength_nm)
    melanin = (mua - base) / (mel - base)
    depth_mm = melanin * EPIDERMIS_MM
    rounding = 1e-9  # type III sits on the range's lower end, 0.11
    lowest, highest = low * JACQUES_EPIDERMIS_MM, high * JACQUES_EPIDERMIS_MM
    assert lowest * (1 - rounding) <= depth_mm <= highest * (1 + rounding)


@given(WAVELENGTHS, SKIN_TYPES)
def test_skin_type_changes_only_the_epidermis(wavelength_nm, skin_type):
    for tissue in TISSUES[1:]:
        assert optical_properties(tissue, wavelength_nm, skin_type) == optical_properties(
            tissue, wavelength_nm, 1
        )


@given(st.floats(min_value=965.0, max_value=975.0), st.floats(min_value=890.0, max_value=905.0))
def test_water_band_near_970_nm_shows_in_fat_and_muscle(band_nm, off_band_nm):
    # Water absorbs ~7x more at 970 than at 900 nm (Kou 1993); fat and muscle are 15-75 % water.
    for tissue in ("fat", "muscle"):
        assert (
            optical_properties(tissue, band_nm).mua_per_mm
            > optical_properties(tissue, off_band_nm).mua_per_mm
        )


@given(WAVELENGTHS, WAVELENGTHS)
def test_reduced_scattering_falls_with_wavelength(first_nm, second_nm):
    assume(abs(first_nm - second_nm) > 1e-6)  # below that, float rounding can make both equal
    short_nm, long_nm = sorted((first_nm, second_nm))
    for tissue in TISSUES:
        assert reduced_scattering_per_mm(tissue, short_nm) > reduced_scattering_per_mm(tissue, long_nm)


@given(WAVELENGTHS, SKIN_TYPES)
def test_properties_positive_and_finite(wavelength_nm, skin_type):
    for tissue in TISSUES:
        props = optical_properties(tissue, wavelength_nm, skin_type)
        for value in (props.mua_per_mm, props.mus_per_mm, props.g, props.n):
            assert math.isfinite(value) and value > 0
        assert props.g < 1 and props.n > 1


def test_bad_input_is_rejected():
    with pytest.raises(InputError, match="unknown tissue 'liver'; allowed: epidermis, dermis, fat, muscle"):
        optical_properties("liver", 810.0)
    with pytest.raises(InputError, match="between 600 and 1100 nm, got 532 nm"):
        optical_properties("fat", 532.0)
    for skin_type in (0, 7):
        with pytest.raises(
            InputError, match=f"Fitzpatrick skin type must be between 1 and 6, got {skin_type}"
        ):
            optical_properties("dermis", 810.0, skin_type)


def test_spectrum_covers_both_ends():
    points = tissue_spectrum("fat", 600.0, 1100.0, 30.0)
    assert [nm for nm, _ in points][:2] == [600.0, 630.0]
    assert points[-1][0] == 1100.0 and len(points) == 18  # 600..1080 by 30 nm, then 1100
    for bad in ((700.0, 650.0, 10.0), (600.0, 1100.0, 0.0), (600.0, 1100.0, 0.01), (550.0, 700.0, 10.0)):
        with pytest.raises(InputError):
            tissue_spectrum("fat", *bad)
