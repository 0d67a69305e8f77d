"""Form parsing of the screening questionnaire and the plan editor: one error per field, values kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData

from laserdose.clinic.models import Screening
from laserdose.clinic.plans import MAX_TEXT_CHARS, PlanInputs
from laserdose.clinic.screenings import MAX_REASON_CHARS, QUESTIONNAIRE_LISTS
from laserdose.clinical import screening_rules as vocabulary
from laserdose.clinical.protocols import load_protocols
from laserdose.domain.plan import PRESCRIPTION_MODES
from laserdose.domain.quantities import BMI, FAT_THICKNESS, SKIN_LIMIT, TREATMENT_AREA, Quantity
from laserdose.errors import InputError
from laserdose.machines.profile import shipped_profiles
from laserdose.planning.plan import DEFAULT_MODE

PLAN_FIELDS = ("protocol", "device", "template", "mode", "area_cm2", "skin_limit_c", "fat_mm", "bmi")
_LIST_TERMS = {
    "red_flags": vocabulary.RED_FLAGS,
    "contraindications": vocabulary.CONTRAINDICATIONS,
    "precautions": vocabulary.PRECAUTIONS,
}


def parse_screening_form(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The questionnaire's answers as typed, and an error per field missing or not in the vocabulary."""
    values: dict[str, Any] = {"diagnosis": str(form.get("diagnosis", ""))}
    values |= {key: [str(term) for term in form.getlist(key)] for key in QUESTIONNAIRE_LISTS}
    values["medical_clearance"] = bool(form.get("medical_clearance"))
    errors: dict[str, str] = {}
    for key in ("first_line_reason", "drop_reason"):
        values[key] = str(form.get(key, "")).strip()
        if len(values[key]) > MAX_REASON_CHARS:
            errors[key] = f"at most {MAX_REASON_CHARS} characters"
    if not values["diagnosis"]:
        errors["diagnosis"] = "choose the working diagnosis"
    elif values["diagnosis"] not in vocabulary.DIAGNOSES:
        errors["diagnosis"] = f"unknown diagnosis {values['diagnosis']!r}"
    for key, allowed in _LIST_TERMS.items():
        unknown = [term for term in values[key] if term not in allowed]
        if unknown:
            errors[key] = f"unknown term {unknown[0]!r}"
    return values, errors


def _number(raw: str, quantity: Quantity) -> float:
    """The typed text as a number, checked as `quantity` (the message is the domain's)."""
    try:
        number = float(raw)
    except ValueError:
        return quantity.check(raw)  # not a number: refused, naming what was typed
    return quantity.check(number)


def _protocol(raw: str, diagnosis: str) -> str:
    protocols = load_protocols()
    if raw not in protocols:
        raise InputError("choose a protocol")
    if protocols[raw].diagnosis != diagnosis:
        raise InputError(f"{raw} treats {protocols[raw].diagnosis}; the screening's diagnosis is {diagnosis}")
    return raw


def _template(raw: str, protocol: str) -> str | None:
    """The chosen template of the protocol, None for its default ("" typed)."""
    if not raw:
        return None
    protocols = load_protocols()
    if protocol in protocols and raw not in {t.id for t in protocols[protocol].templates}:
        allowed = ", ".join(t.id for t in protocols[protocol].templates)
        raise InputError(f"{protocol} has no template {raw!r}; choose one of {allowed}")
    return raw


def _mode(raw: str) -> str:
    if raw == "":
        return DEFAULT_MODE
    if raw not in PRESCRIPTION_MODES:
        raise InputError(f"choose {' or '.join(PRESCRIPTION_MODES)}")
    return raw


def _device(raw: str) -> str:
    if raw not in shipped_profiles():
        raise InputError("choose a device")
    return raw


def _text(raw: str) -> str:
    if len(raw) > MAX_TEXT_CHARS:
        raise InputError(f"at most {MAX_TEXT_CHARS} characters")
    return raw


def parse_plan_form(values: dict[str, str], screening: Screening) -> tuple[PlanInputs | None, dict[str, str]]:
    """The editor's inputs for `screening`, or None and an error per bad field.

    Fat thickness, when given, is used and the BMI ignored; without it the BMI is needed.
    """
    diagnosis = str(screening.answers.get("diagnosis", ""))
    checks: dict[str, Callable[[str], Any]] = {
        "protocol": lambda raw: _protocol(raw, diagnosis),
        "device": _device,
        "template": lambda raw: _template(raw, values.get("protocol", "")),
        "mode": _mode,
        "area_cm2": lambda raw: _number(raw, TREATMENT_AREA),
        "skin_limit_c": lambda raw: _number(raw, SKIN_LIMIT),
        "fat_mm": lambda raw: _number(raw, FAT_THICKNESS) if raw else None,
        "bmi": lambda raw: _number(raw, BMI) if raw else None,
        "home_exercise": _text,
        "advice": _text,
    }
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field, check in checks.items():
        try:
            parsed[field] = check(values.get(field, ""))
        except InputError as exc:
            errors[field] = str(exc)
    if not errors and parsed["fat_mm"] is None and parsed["bmi"] is None:
        errors["bmi"] = "give the BMI or the measured fat thickness"
    if errors:
        return None, errors
    inputs = PlanInputs(
        protocol=parsed["protocol"], device=parsed["device"], area_cm2=parsed["area_cm2"],
        skin_limit_c=parsed["skin_limit_c"], fat_mm=parsed["fat_mm"],
        bmi=None if parsed["fat_mm"] is not None else parsed["bmi"], screening_id=screening.id,
        template=parsed["template"], mode=parsed["mode"],
    )  # fmt: skip
    return inputs, {}
