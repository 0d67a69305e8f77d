"""patient.toml: the documented example loads; every missing or impossible field is named in the error."""

import pytest

from laserdose.clinical.patient import load_patient, parse_patient
from laserdose.errors import InputError

# The documented example patient (examples/patient.toml), apart from the comments.
EXAMPLE_PATIENT = """
skin_type = 3
bmi = 27.0
area_cm2 = 150
[screening]
diagnosis = "chronic-nonspecific-lbp"
red_flags = []
contraindications = []
precautions = []
"""


def _good() -> dict:
    return {
        "skin_type": 3,
        "bmi": 27.0,
        "area_cm2": 150,
        "screening": {"diagnosis": "chronic-nonspecific-lbp", "red_flags": [], "precautions": []},
    }


def test_the_example_patient_loads(tmp_path):
    path = tmp_path / "patient.toml"
    path.write_text(EXAMPLE_PATIENT)
    patient = load_patient(path)
    assert (patient.skin_type, patient.bmi, patient.fat_mm, patient.area_cm2) == (3, 27.0, None, 150.0)
    assert patient.screening.diagnosis == "chronic-nonspecific-lbp"
    assert patient.screening.skin_type == 3 and patient.age_years is None
    with pytest.raises(AttributeError):
        patient.skin_type = 4  # frozen


def test_optional_fields_and_fat_instead_of_bmi():
    data = _good() | {"age": 45, "sex": "female", "name": "P-001"}
    del data["bmi"]
    data["fat_mm"] = 14.0
    data["screening"] = data["screening"] | {"medical_clearance": True, "contraindications": []}
    patient = parse_patient(data)
    assert (patient.bmi, patient.fat_mm, patient.age_years, patient.sex) == (None, 14.0, 45, "female")
    assert patient.screening.medical_clearance is True and patient.screening.age_years == 45


def _without(key: str) -> dict:
    data = _good()
    del data[key]
    return data


def _with(**changes) -> dict:
    return _good() | changes


def _screening(**changes) -> dict:
    data = _good()
    data["screening"] = data["screening"] | changes
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(skin_type=7), "patient.toml: skin_type: Fitzpatrick skin type must be between 1 and 6, got 7"),
        (_with(skin_type=0), "patient.toml: skin_type: Fitzpatrick skin type must be between 1 and 6, got 0"),
        (
            _with(skin_type=3.5),
            "patient.toml: skin_type: Fitzpatrick skin type must be a whole number between 1 and 6, got 3.5",
        ),
        (
            _with(skin_type=True),
            "patient.toml: skin_type: Fitzpatrick skin type must be a number between 1 and 6, got True",
        ),
        (_without("skin_type"), "patient.toml: missing field skin_type"),
        (_without("area_cm2"), "patient.toml: missing field area_cm2"),
        (_without("screening"), "patient.toml: missing field screening"),
        (_without("bmi"), "patient.toml: give exactly one of bmi or fat_mm, got neither"),
        (_with(fat_mm=10.0), "patient.toml: give exactly one of bmi or fat_mm, got both"),
        (_with(bmi=270.0), "patient.toml: bmi: BMI must be between 18 and 50 kg/m2, got 270 kg/m2"),
        (_with(bmi="27"), "patient.toml: bmi: BMI must be a number between 18 and 50 kg/m2, got '27'"),
        (_with(bmi=float("nan")), "patient.toml: bmi: BMI must be between 18 and 50 kg/m2, got nan kg/m2"),
        (
            _without("bmi") | {"fat_mm": 60.0},
            "patient.toml: fat_mm: fat thickness must be between 2 and 45 mm, got 60 mm",
        ),
        (
            _with(area_cm2=0),
            "patient.toml: area_cm2: treatment area must be between 1 and 3500 cm2, got 0 cm2",
        ),
        (
            _with(area_cm2=-150),
            "patient.toml: area_cm2: treatment area must be between 1 and 3500 cm2, got -150 cm2",
        ),
        (_with(age=150), "patient.toml: age: age must be between 0 and 120 years, got 150 years"),
        (_with(sex="x"), "patient.toml: sex must be one of female, male, got 'x'"),
        (_with(skin_typ=3), "patient.toml: unknown field 'skin_typ'; allowed: skin_type"),
        (_with(screening="none"), "patient.toml: screening must be a table"),
        (_screening(diagnosis=None), "patient.toml: [screening] diagnosis must be a string"),
        (_screening(red_flag=[]), "patient.toml: unknown field [screening] 'red_flag'"),
        (_screening(red_flags="fever"), "patient.toml: [screening] red_flags must be a list of strings"),
        (
            _screening(red_flags=["feverish"]),
            "patient.toml: [screening] unknown red flag 'feverish'; allowed:",
        ),
        (_screening(diagnosis="back-ache"), "patient.toml: [screening] unknown diagnosis 'back-ache'"),
    ],
)
def test_bad_fields_are_named(data, message):
    with pytest.raises(InputError) as info:
        parse_patient(data)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_missing_diagnosis_is_named():
    data = _good()
    del data["screening"]["diagnosis"]
    with pytest.raises(InputError, match=r"^patient.toml: missing field \[screening\] diagnosis$"):
        parse_patient(data)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(InputError, match="cannot read the patient file"):
        load_patient(tmp_path / "absent.toml")
    path = tmp_path / "bad.toml"
    path.write_text("skin_type = = 3")
    with pytest.raises(InputError, match="bad.toml: not valid TOML"):
        load_patient(path)


def test_first_line_reason_is_read_and_must_be_text():
    data = _good()
    data["screening"] = {
        "diagnosis": "acute-nonspecific-lbp",
        "first_line_reason": "6 weeks of exercise failed",
    }
    assert parse_patient(data).screening.first_line_reason == "6 weeks of exercise failed"
    data["screening"]["first_line_reason"] = 3
    with pytest.raises(InputError, match=r"\[screening\] first_line_reason must be text"):
        parse_patient(data)
