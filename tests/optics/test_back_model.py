import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.domain.quantities import BMI, FAT_THICKNESS
from laserdose.errors import InputError
from laserdose.optics.back import back_model, dose_upper_bound_reason, target_depths
from laserdose.optics.tissues import optical_properties

BMIS = st.floats(min_value=BMI.low, max_value=BMI.high)
FATS = st.floats(min_value=FAT_THICKNESS.low, max_value=FAT_THICKNESS.high)
TARGETS = {"facet_joint", "multifidus", "nerve_root", "sacroiliac_joint"}


@given(BMIS)
def test_epidural_depth_follows_the_published_regression(bmi):
    # Skin to epidural space [mm] = 17.8 + 0.978 x BMI [EpiduralDepth].
    model = back_model(3, 810.0, bmi=bmi)
    assert model.targets["nerve_root"].depth_mm == pytest.approx(17.8 + 0.978 * bmi, abs=1e-9)


def test_facet_depth_at_typical_bmi_within_galiano_2005():
    # Galiano 2005, cadavers: lumbar facet joint 31.5 +/- 5 mm below the skin.
    facet = back_model(2, 810.0, bmi=25.0).targets["facet_joint"]
    assert abs(facet.depth_mm - 31.5) <= 5.0
    assert facet.sd_mm >= 5.0  # the model's spread is at least the cadaver spread


def test_layers_in_order_with_semi_infinite_bone():
    model = back_model(4, 980.0, fat_mm=12.0)
    assert [layer.name for layer in model.layers] == ["epidermis", "dermis", "fat", "muscle", "bone"]
    assert model.layers[2].thickness_mm == 12.0 and model.fat_mm == 12.0
    assert model.layers[-1].thickness_mm is None
    assert all(layer.thickness_mm > 0 for layer in model.layers[:-1])
    # each layer carries its tissue's properties at this wavelength and skin type
    for layer in model.layers:
        props = optical_properties(layer.name, 980.0, 4)
        assert (layer.mua_per_mm, layer.mus_per_mm, layer.g, layer.n) == (
            props.mua_per_mm,
            props.mus_per_mm,
            props.g,
            props.n,
        )


def test_facet_joint_lies_on_the_bone():
    # The muscle layer ends at the posterior elements, where the facet joints are.
    model = back_model(3, 810.0, fat_mm=20.0)
    depth_to_bone = sum(layer.thickness_mm for layer in model.layers[:-1])
    assert model.targets["facet_joint"].depth_mm == pytest.approx(depth_to_bone)


@given(FATS, FATS)
def test_targets_move_with_the_fat(fat_a, fat_b):
    a, b = back_model(3, 810.0, fat_mm=fat_a), back_model(3, 810.0, fat_mm=fat_b)
    for name in TARGETS:
        assert b.targets[name].depth_mm - a.targets[name].depth_mm == pytest.approx(fat_b - fat_a, abs=1e-9)


@given(BMIS)
def test_depth_order_and_uncertainty(bmi):
    estimated = back_model(3, 810.0, bmi=bmi)
    measured = back_model(3, 810.0, fat_mm=estimated.fat_mm)
    t = estimated.targets
    assert set(t) == TARGETS
    assert t["multifidus"].depth_mm < t["facet_joint"].depth_mm < t["nerve_root"].depth_mm
    for name in TARGETS:
        assert t[name].sd_mm > measured.targets[name].sd_mm > 0  # BMI knows fat less well than ultrasound
        assert t[name].depth_mm == pytest.approx(measured.targets[name].depth_mm)


def test_to_dict_is_the_documented_json():
    data = json.loads(json.dumps(back_model(3, 980.0, bmi=27.0).to_dict()))
    assert data["wavelength_nm"] == 980.0
    assert [set(layer) for layer in data["layers"]] == [
        {"name", "thickness_mm", "mua_per_mm", "mus_per_mm", "g", "n"}
    ] * 5
    assert data["layers"][-1]["thickness_mm"] is None
    assert set(data["targets"]) == TARGETS
    assert all(set(target) == {"depth_mm", "sd_mm"} for target in data["targets"].values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fat_mm": 10.0, "bmi": 25.0}, "exactly one of"),
        ({}, "exactly one of"),
        ({"bmi": 12.0}, "BMI must be between 18 and 50"),
        ({"bmi": float("nan")}, "BMI must be between 18 and 50"),
        ({"fat_mm": -3.0}, "fat thickness must be between 2 and 45 mm, got -3 mm"),
        ({"fat_mm": 400.0}, "fat thickness must be between 2 and 45 mm, got 400 mm"),
    ],
)
def test_bad_fat_or_bmi_is_rejected(kwargs, message):
    with pytest.raises(InputError, match=message):
        back_model(3, 810.0, **kwargs)


def test_bad_skin_type_or_wavelength_is_rejected():
    with pytest.raises(InputError, match="Fitzpatrick"):
        back_model(0, 810.0, bmi=25.0)
    with pytest.raises(InputError, match="wavelength"):
        back_model(3, 1300.0, bmi=25.0)


def test_the_doses_among_the_posterior_elements_are_upper_bounds_with_their_sources():
    # The facet joint and the nerve root lie among or behind the marrow-filled posterior elements
    # [Lisle2012] [Witek2019], the sacroiliac joint between sacrum and ilium (inside the model's bone
    # layer); the multifidus lies in the muscle above them.
    depths = target_depths(10.0, 1.0)
    assert {name for name in depths if dose_upper_bound_reason(name)} == {
        "facet_joint",
        "nerve_root",
        "sacroiliac_joint",
    }
    bone_top_mm = depths["facet_joint"].depth_mm  # the bone layer starts at the facet joint's depth
    assert depths["sacroiliac_joint"].depth_mm > bone_top_mm and depths["multifidus"].depth_mm < bone_top_mm
    for name in ("facet_joint", "nerve_root", "sacroiliac_joint"):
        reason = dose_upper_bound_reason(name)
        assert reason is not None and "red marrow [Lisle2012] [MarrowConversion]" in reason
        assert reason.endswith("so the dose shown is an upper bound.")
    assert "lamina" in dose_upper_bound_reason("nerve_root")
