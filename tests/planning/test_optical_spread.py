"""The tissues' inter-subject optical spread: its cited numbers, its propagation, and its monotony."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laserdose.clinical.patient import parse_patient
from laserdose.errors import InputError
from laserdose.optics import spectra
from laserdose.optics.back import BackModel, TissueLayer, back_model
from laserdose.optics.spread import (
    ADIPOSE_LIPID_SD_FRACTION,
    ADIPOSE_WATER_SD_FRACTION,
    DERMAL_BLOOD_SD_FRACTION,
    MUSCLE_BLOOD_SD_FRACTION,
    OPTICAL_SPREADS,
    SKIN_MUSP_SD_FRACTION,
    OpticalSpread,
    chromophore_mua_sd_fraction,
    optical_spread,
)
from laserdose.optics.tissues import RECIPES, TISSUES, absorption_parts_per_mm, optical_properties
from laserdose.planning.optical_spread import log_fluence_sd
from laserdose.planning.physics import SPREAD_SD, TablePhysics, default_physics
from laserdose.transport.diffusion import planar_fluence_rate

PHYSICS = default_physics()
WAVELENGTHS = [float(w) for w in PHYSICS.table.wavelengths_nm]
STRUCTURES = ("multifidus", "facet_joint", "nerve_root", "sacroiliac_joint")
G = 0.9
PHYSICS_BACK = {w: back_model(3, w, bmi=27.0) for w in WAVELENGTHS}


def _layer(name, thickness_mm, mua_per_mm, musp_per_mm):
    return TissueLayer(name, thickness_mm, mua_per_mm, musp_per_mm / (1 - G), G, 1.4)


def _back(*layers):
    return BackModel(810.0, tuple(layers), {}, 10.0, 1.0, 3)


def _spreads(mua_sd, musp_sd):
    return {name: OpticalSpread(mua_sd, musp_sd, "test") for name in TISSUES}


def test_the_skin_spread_is_the_cited_one_and_every_tissue_has_a_marked_spread():
    # [Jonasson2018]: skin mus' 1.13 +/- 0.27 mm^-1 at 850 nm and 3.16 +/- 0.72 at 475 nm (mean +/- SD).
    assert SKIN_MUSP_SD_FRACTION == pytest.approx(0.27 / 1.13) == pytest.approx(0.2389, abs=1e-4)
    assert abs(0.72 / 3.16 - 0.27 / 1.13) < 0.015  # one fraction serves both ends of its range
    for skin in ("epidermis", "dermis"):
        assert optical_spread(skin).musp_sd_fraction == 0.27 / 1.13
        assert "[Jonasson2018] [S]" in optical_spread(skin).source
    assert set(OPTICAL_SPREADS) == set(TISSUES)
    for name, spread in OPTICAL_SPREADS.items():
        assert "[U]" in spread.source or "[S]" in spread.source, name
        assert 0 < spread.mua_sd_fraction < 1 and 0 < spread.musp_sd_fraction < 1


def test_the_chromophore_spreads_are_the_cited_ones():
    # [DermalHaemoglobin]: skin haemoglobin at the abdomen 0.56 +/- 0.12 (mean +/- SD, 11 people).
    assert DERMAL_BLOOD_SD_FRACTION == pytest.approx(0.12 / 0.56) == pytest.approx(0.2143, abs=1e-4)
    # [MuscleCapillaries]: 585 +/- 40 capillaries per mm2 (mean +/- SE, 12 untrained men): SD = SE sqrt(n).
    assert (
        MUSCLE_BLOOD_SD_FRACTION == pytest.approx(40 * math.sqrt(12) / 585) == pytest.approx(0.2369, abs=1e-4)
    )
    # [Franz2018]: gluteal fat fraction 89.7 +/- 2.9 % (mean +/- SD, 61 adults); water the other 10.3 %.
    assert ADIPOSE_WATER_SD_FRACTION == pytest.approx(2.9 / 10.3)
    assert ADIPOSE_LIPID_SD_FRACTION == pytest.approx(2.9 / 89.7)
    assert "[DermalHaemoglobin] [S]" in optical_spread("dermis").source
    assert "[MuscleCapillaries] [S]" in optical_spread("muscle").source
    assert "[Franz2018] [S]" in optical_spread("fat").source
    # Tissues whose absorption spread was not found keep the starting value, marked unverified.
    for name in ("epidermis", "fascia", "bone"):
        assert optical_spread(name).mua_sd_fraction == 0.30 and "mua [U]" in optical_spread(name).source


def test_a_single_varying_chromophore_carries_its_share_of_mua():
    # Muscle at 810 nm: blood (saturation S) is B [S mua_oxy + (1 - S) mua_deoxy] of the tissue's mua,
    # computed here from the spectra and the recipe, independently of the function under test.
    recipe = RECIPES["muscle"]
    blood = recipe.saturation * spectra.mua_oxy_blood_per_mm(810.0)
    blood += (1 - recipe.saturation) * spectra.mua_deoxy_blood_per_mm(810.0)
    share = recipe.blood * blood / optical_properties("muscle", 810.0).mua_per_mm
    assert 0.5 < share < 1
    assert chromophore_mua_sd_fraction("muscle", 810.0, {"blood": 0.2}) == pytest.approx(0.2 * share)
    assert optical_spread("muscle").mua_sd_fraction_at("muscle", 810.0) == pytest.approx(
        MUSCLE_BLOOD_SD_FRACTION * share
    )


def test_independent_chromophores_add_in_quadrature_and_the_parts_add_up_to_mua():
    for tissue in TISSUES:
        parts = absorption_parts_per_mm(tissue, 980.0, skin_type=3)
        assert sum(parts.values()) == pytest.approx(
            optical_properties(tissue, 980.0, 3).mua_per_mm, rel=1e-12
        )
    parts = absorption_parts_per_mm("fat", 980.0)
    total = sum(parts.values())
    expected = math.hypot(parts["water"] / total * 0.3, parts["lipid"] / total * 0.1)
    assert chromophore_mua_sd_fraction("fat", 980.0, {"water": 0.3, "lipid": 0.1}) == pytest.approx(expected)
    # A tissue whose every absorber varies by the same fraction has that fraction's spread, or less
    # when they vary independently.
    everything = dict.fromkeys(parts, 0.25)
    assert chromophore_mua_sd_fraction("fat", 980.0, everything) <= 0.25


def test_the_absorption_spread_follows_the_wavelength_and_is_reported_at_its_largest():
    muscle = optical_spread("muscle")
    # Water, held fixed, carries more of muscle's absorption near its 970 nm band than at 810 nm.
    assert muscle.mua_sd_fraction_at("muscle", 980.0) < 0.6 * muscle.mua_sd_fraction_at("muscle", 810.0)
    for name in ("dermis", "fat", "muscle"):
        spread = optical_spread(name)
        at = [spread.mua_sd_fraction_at(name, nm) for nm in (650.0, 810.0, 915.0, 980.0, 1064.0)]
        assert max(at) <= spread.mua_sd_fraction + 1e-12
        assert spread.mua_sd_fraction <= max(spread.chromophore_sd_fractions.values())
    # A directly given spread does not depend on the wavelength.
    assert optical_spread("bone").mua_sd_fraction_at("bone", 980.0) == 0.30


def test_bad_chromophore_spreads_are_refused():
    with pytest.raises(InputError, match="unknown chromophore"):
        chromophore_mua_sd_fraction("fat", 810.0, {"collagen": 0.1})
    with pytest.raises(InputError, match=">= 0"):
        chromophore_mua_sd_fraction("fat", 810.0, {"water": -0.1})


def test_one_layer_matches_the_hand_computed_diffusion_propagation():
    # mua 0.02, mus' 1.0 mm^-1: mu_eff = sqrt(3 x 0.02 x 1.02) = 0.247386 mm^-1;
    # k_a = (0.04 + 1) / 2.04 = 0.509804, k_s = 1 / 2.04 = 0.490196. With SDs 30 % and 20 %:
    # relative SD of mu_eff = hypot(0.152941, 0.098039) = 0.181667; at 30 mm SD(ln F) = 1.34825.
    back = _back(_layer("muscle", None, 0.02, 1.0))
    assert log_fluence_sd(back, 30.0, _spreads(0.3, 0.2)) == pytest.approx(1.34825, rel=1e-4)
    assert log_fluence_sd(back, 0.0, _spreads(0.3, 0.2)) == 0.0


def test_two_layers_add_in_quadrature_over_the_path_through_each():
    # Fat 10 mm (mua 0.005, mus' 1.1) over muscle (mua 0.03, mus' 0.8); target 25 mm deep.
    fat_mueff = math.sqrt(3 * 0.005 * 1.105)  # 0.128744 mm^-1
    muscle_mueff = math.sqrt(3 * 0.03 * 0.83)  # 0.273313 mm^-1
    fat_rel = math.hypot(0.4 * (0.01 + 1.1) / (2 * 1.105), 0.1 * 1.1 / (2 * 1.105))
    muscle_rel = math.hypot(0.4 * (0.06 + 0.8) / (2 * 0.83), 0.1 * 0.8 / (2 * 0.83))
    expected = math.hypot(fat_mueff * 10 * fat_rel, muscle_mueff * 15 * muscle_rel)
    back = _back(_layer("fat", 10.0, 0.005, 1.1), _layer("muscle", None, 0.03, 0.8))
    assert log_fluence_sd(back, 25.0, _spreads(0.4, 0.1)) == pytest.approx(expected, rel=1e-12)
    # Above the muscle only the fat counts.
    assert log_fluence_sd(back, 8.0, _spreads(0.4, 0.1)) == pytest.approx(fat_mueff * 8 * fat_rel)


def test_the_sensitivities_agree_with_the_diffusion_fluence_of_a_half_space():
    # Farrell's planar fluence in a half-space (transport/diffusion.py), an independent formula,
    # perturbed by finite differences: its log-derivatives also hold the prefactor's, which the
    # propagation leaves out; at mu_eff z ~ 7 the two SDs agree within 5 % (1.348 against 1.376).
    mua, musp, depth, sd_a, sd_s = 0.02, 1.0, 30.0, 0.3, 0.2

    def ln_phi(a, s):
        return math.log(float(planar_fluence_rate(depth, a, s, 1.4)))

    step = 1e-4
    d_a = (ln_phi(mua * (1 + step), musp) - ln_phi(mua * (1 - step), musp)) / (2 * step)
    d_s = (ln_phi(mua, musp * (1 + step)) - ln_phi(mua, musp * (1 - step))) / (2 * step)
    by_finite_differences = math.hypot(d_a * sd_a, d_s * sd_s)
    back = _back(_layer("muscle", None, mua, musp))
    assert log_fluence_sd(back, depth, _spreads(sd_a, sd_s)) == pytest.approx(by_finite_differences, rel=0.05)


def _light(spreads, skin_type, bmi, wavelength, structure):
    patient = parse_patient(
        {"skin_type": skin_type, "bmi": bmi, "area_cm2": 150.0, "screening": {"diagnosis": "facet-pain"}}
    )
    return TablePhysics(PHYSICS.table, spreads).target_light(patient, wavelength, structure, 150.0)[1]


@settings(max_examples=40, deadline=None)
@given(
    skin_type=st.integers(1, 6),
    bmi=st.floats(18.0, 40.0),
    wavelength=st.sampled_from(WAVELENGTHS),
    structure=st.sampled_from(STRUCTURES),
    sd=st.lists(st.floats(0.0, 0.6), min_size=4, max_size=4),
)
def test_more_optical_spread_never_narrows_the_interval(skin_type, bmi, wavelength, structure, sd):
    mua_low, mua_high = sorted(sd[:2])
    musp_low, musp_high = sorted(sd[2:])
    narrow = _light(_spreads(mua_low, musp_low), skin_type, bmi, wavelength, structure)
    wide = _light(_spreads(mua_high, musp_high), skin_type, bmi, wavelength, structure)
    assert wide.nominal == narrow.nominal
    assert wide.low <= narrow.low * (1 + 1e-12) and wide.high >= narrow.high * (1 - 1e-12)
    assert wide.optics_log_shift >= narrow.optics_log_shift


@settings(max_examples=40, deadline=None)
@given(
    tissue=st.sampled_from(TISSUES),
    extra=st.floats(0.0, 1.0),
    depth_mm=st.floats(0.0, 80.0),
    wavelength=st.sampled_from(WAVELENGTHS),
)
def test_widening_one_tissue_never_narrows_the_log_fluence_spread(tissue, extra, depth_mm, wavelength):
    back = PHYSICS_BACK[wavelength]
    wider = dict(OPTICAL_SPREADS)
    base = wider[tissue]
    wider[tissue] = OpticalSpread(base.mua_sd_fraction + extra, base.musp_sd_fraction + extra, "test")
    assert log_fluence_sd(back, depth_mm, wider) >= log_fluence_sd(back, depth_mm)


def test_the_physics_uses_two_sd_of_the_tissue_spread_and_none_leaves_the_anatomy_alone():
    args = (3, 27.0, 810.0, "facet_joint")
    light = _light(OPTICAL_SPREADS, *args)
    back = back_model(3, 810.0, bmi=27.0)
    expected = SPREAD_SD * log_fluence_sd(back, back.targets["facet_joint"].depth_mm)
    assert light.optics_log_shift == pytest.approx(expected)
    anatomy_only = _light(_spreads(0.0, 0.0), *args)
    assert anatomy_only.optics_log_shift == 0.0
    # The two add in quadrature: ln(high / nominal)^2 = anatomy^2 + optics^2.
    anatomy = math.log(anatomy_only.high / anatomy_only.nominal)
    assert math.log(light.high / light.nominal) == pytest.approx(math.hypot(anatomy, expected))
