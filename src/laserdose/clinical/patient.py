"""The patient file (patient.toml): what screening and planning need to know about one patient.

    skin_type = 3                 # Fitzpatrick I-VI as 1-6
    bmi = 27.0                    # or fat_mm = 14.0 (measured by ultrasound); exactly one of them
    area_cm2 = 150                # the treatment area on the back
    age = 45                      # optional [years]
    sex = "female"                # optional: "female" or "male"
    [screening]
    diagnosis = "chronic-nonspecific-lbp"
    red_flags = []
    contraindications = []
    precautions = []
    medical_clearance = false     # optional: a doctor agreed to laser as an adjunct (disc, stenosis)

Every field is checked against its domain quantity (domain/quantities.py); a missing, unknown or
impossible one raises InputError naming the file and the quantity's range.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from laserdose.clinical.screening import ScreeningAnswers
from laserdose.domain.quantities import AGE, BMI, FAT_THICKNESS, SKIN_TYPE, TREATMENT_AREA, Quantity
from laserdose.errors import InputError
from laserdose.files import read_toml

SEXES = ("female", "male")
_TOP_KEYS = ("skin_type", "bmi", "fat_mm", "area_cm2", "age", "sex", "name", "screening")
_SCREENING_KEYS = (
    "diagnosis",
    "red_flags",
    "contraindications",
    "precautions",
    "medical_clearance",
    "first_line_reason",
)


@dataclass(frozen=True)
class Patient:
    """One patient as read from patient.toml.

    Attributes:
        skin_type: Fitzpatrick skin type 1-6 [-].
        area_cm2: treatment area on the back [cm^2].
        screening: the screening questionnaire (validated).
        bmi: body mass index [kg/m^2], or None when fat_mm is given.
        fat_mm: subcutaneous fat thickness measured by ultrasound [mm], or None when bmi is given.
        age_years: age [years], if given.
        sex: "female" or "male", if given.
        name: a label for reports, if given.
    """

    skin_type: int
    area_cm2: float
    screening: ScreeningAnswers
    bmi: float | None = None
    fat_mm: float | None = None
    age_years: int | None = None
    sex: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        """Refuse a patient the planner cannot plan for, whoever builds it (a file, the clinic, a study)."""
        SKIN_TYPE.check_whole(self.skin_type)
        TREATMENT_AREA.check(self.area_cm2)
        if (self.bmi is None) == (self.fat_mm is None):
            raise InputError("give exactly one of fat thickness (mm, measured) or BMI (kg/m2)")
        if self.fat_mm is not None:
            FAT_THICKNESS.check(self.fat_mm)
        if self.bmi is not None:
            BMI.check(self.bmi)
        if self.age_years is not None:
            AGE.check_whole(self.age_years)


def load_patient(path: str | Path) -> Patient:
    """Read and validate a patient.toml file.

    Args:
        path: the file to read.

    Raises:
        InputError: the file is missing, is not TOML, or a field is missing or impossible.
    """
    return parse_patient(read_toml(path, "patient file"), str(path))


def parse_patient(data: Mapping[str, Any], source: str = "patient.toml") -> Patient:
    """Validate the contents of a patient file already parsed into a mapping.

    Args:
        data: the parsed TOML tables.
        source: the file name shown in error messages.
    """
    _reject_unknown(data, _TOP_KEYS, source, "")
    has_bmi, has_fat = "bmi" in data, "fat_mm" in data
    if has_bmi == has_fat:
        given = "both" if has_bmi else "neither"
        raise InputError(f"{source}: give exactly one of bmi or fat_mm, got {given}")
    age = int(_number(data, "age", AGE, source)) if "age" in data else None
    skin_type = int(_number(data, "skin_type", SKIN_TYPE, source))
    return Patient(
        skin_type=skin_type,
        area_cm2=_number(data, "area_cm2", TREATMENT_AREA, source),
        screening=_screening(data, source, skin_type, age),
        bmi=_number(data, "bmi", BMI, source) if has_bmi else None,
        fat_mm=_number(data, "fat_mm", FAT_THICKNESS, source) if has_fat else None,
        age_years=age,
        sex=_optional_choice(data, "sex", SEXES, source),
        name=_optional_str(data, "name", source),
    )


def _reject_unknown(data: Mapping[str, Any], allowed: tuple[str, ...], source: str, table: str) -> None:
    for key in data:
        if key not in allowed:
            where = f"[{table}] " if table else ""
            raise InputError(f"{source}: unknown field {where}{key!r}; allowed: {', '.join(allowed)}")


def _required(data: Mapping[str, Any], key: str, source: str, table: str = "") -> Any:
    if key not in data:
        where = f"[{table}] " if table else ""
        raise InputError(f"{source}: missing field {where}{key}")
    return data[key]


def _number(data: Mapping[str, Any], key: str, quantity: Quantity, source: str) -> float:
    """The field `key`, checked as `quantity`; the message names the file and the field."""
    value = _required(data, key, source)
    try:
        return quantity.check(value)
    except InputError as exc:
        raise InputError(f"{source}: {key}: {exc}") from None


def _optional_str(data: Mapping[str, Any], key: str, source: str) -> str | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{source}: {key} must be a non-empty string, got {value!r}")
    return value


def _optional_choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...], source: str) -> str | None:
    value = _optional_str(data, key, source)
    if value is not None and value not in allowed:
        raise InputError(f"{source}: {key} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _screening(data: Mapping[str, Any], source: str, skin_type: int, age: int | None) -> ScreeningAnswers:
    table = _required(data, "screening", source)
    if not isinstance(table, Mapping):
        raise InputError(f"{source}: screening must be a table ([screening]), got {table!r}")
    _reject_unknown(table, _SCREENING_KEYS, source, "screening")
    diagnosis = _required(table, "diagnosis", source, "screening")
    if not isinstance(diagnosis, str):
        raise InputError(f"{source}: [screening] diagnosis must be a string, got {diagnosis!r}")
    lists: dict[str, tuple[Any, ...]] = {}
    for key in ("red_flags", "contraindications", "precautions"):
        value = table.get(key, [])
        if not isinstance(value, list):
            raise InputError(f"{source}: [screening] {key} must be a list of strings, got {value!r}")
        lists[key] = tuple(value)
    try:
        return ScreeningAnswers(
            diagnosis=diagnosis,
            medical_clearance=table.get("medical_clearance", False),
            first_line_reason=table.get("first_line_reason", ""),
            skin_type=skin_type,
            age_years=age,
            red_flags=lists["red_flags"],
            contraindications=lists["contraindications"],
            precautions=lists["precautions"],
        )
    except InputError as exc:
        raise InputError(f"{source}: [screening] {exc}") from None
