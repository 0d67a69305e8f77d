"""Outcome form: pain NRS, the ODI and the RMDQ (texts from the clinic's questionnaire file)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from laserdose.clinic import outcomes, patients
from laserdose.clinic.models import Outcome, Patient, User
from laserdose.clinic.users import RECORDERS
from laserdose.clinical import outcomes as scoring
from laserdose.errors import InputError
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render

router = APIRouter(include_in_schema=False)
Recorder = Annotated[User, Depends(roles(page_user, *RECORDERS))]
QUESTIONNAIRES_ENV = "LASERDOSE_QUESTIONNAIRES"  # path of the clinic's licensed ODI/RMDQ texts


def _texts() -> scoring.QuestionnaireTexts:
    path = os.environ.get(QUESTIONNAIRES_ENV)
    return scoring.questionnaire_texts(Path(path) if path else None)


def form_values(form: FormData) -> dict[str, Any]:
    """The posted outcome form's fields as typed (ticked RMDQ statements as a set of numbers)."""
    keys = ["course_id", "assessed_on", "nrs", "analgesic_use", "exercise_adherence_percent", "rmdq_included"]
    keys += [f"odi_{n}" for n in range(1, scoring.ODI_SECTIONS + 1)]
    values: dict[str, Any] = {key: str(form.get(key, "")) for key in keys}
    values["rmdq"] = {n for n in range(1, scoring.RMDQ_ITEMS + 1) if form.get(f"rmdq_{n}")}
    return values


def _parse(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn form strings into `record_outcome` arguments, collecting one error per field."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    checks: dict[str, Callable[[], Any]] = {
        "course_id": lambda: int(values["course_id"]) if values["course_id"] else None,
        "assessed_on": lambda: dt.date.fromisoformat(values["assessed_on"]),
        "nrs": lambda: scoring.score_nrs(int(values["nrs"])) if values["nrs"] else None,
        "odi_sections": lambda: _odi(values),
        "exercise_adherence_percent": lambda: _percent(values["exercise_adherence_percent"]),
    }
    for field, check in checks.items():
        try:
            parsed[field] = check()
        except (InputError, ValueError) as exc:
            errors["odi" if field == "odi_sections" else field] = _message(field, exc)
    # A ticked statement records the RMDQ by itself (its score is the number ticked); "completed" is
    # needed only to record a questionnaire with nothing ticked (score 0). Nothing ticked is ever dropped.
    if values["rmdq_included"] or values["rmdq"]:
        parsed["rmdq_ticked"] = [n in values["rmdq"] for n in range(1, scoring.RMDQ_ITEMS + 1)]
    parsed["analgesic_use"] = values["analgesic_use"] or None
    if (
        not errors
        and parsed["nrs"] is None
        and parsed["odi_sections"] is None
        and "rmdq_ticked" not in parsed
    ):
        errors["form"] = "Enter at least one of pain NRS, ODI or RMDQ."
    return parsed, errors


def _message(field: str, exc: Exception) -> str:
    if isinstance(exc, InputError):
        return str(exc)
    return {
        "course_id": "choose one of the patient's courses.",
        "assessed_on": "type a date as YYYY-MM-DD (for example 2026-03-31), or pick one from the calendar.",
        "nrs": "choose a whole number from 0 to 10.",
    }.get(field, "type a number from 0 to 100.")


def _odi(values: dict[str, Any]) -> list[int | None] | None:
    raw = [values[f"odi_{n}"] for n in range(1, scoring.ODI_SECTIONS + 1)]
    if not any(raw):
        return None
    sections = [int(value) if value else None for value in raw]
    scoring.score_odi(sections)  # raises with the instrument's rule on missed sections
    return sections


def _percent(raw: str) -> float | None:
    if not raw:
        return None
    value = float(raw)
    if not 0.0 <= value <= 100.0:
        raise ValueError(raw)
    return value


@router.get("/patients/{patient_id}/outcomes/new")
def outcome_form(request: Request, patient_id: int, session: DbSession, user: Recorder) -> HTMLResponse:
    """Show the outcome form."""
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    active = outcomes.active_courses(session, patient_id)
    values = {
        "assessed_on": dt.date.today().isoformat(), "rmdq": set(),
        "course_id": str(active[0].id) if active else "",
    }  # fmt: skip
    return _form(request, user, patient, values, {})


def checked_form(
    session: DbSession, patient: Patient, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values as `record_outcome` arguments, with the course and date rules checked by field."""
    parsed, errors = _parse(values)
    if "course_id" not in errors:
        try:  # the course: one of this patient's, or the single active one
            parsed["course_id"] = outcomes.outcome_course_id(
                session=session, patient_id=patient.id, course_id=parsed["course_id"]
            )
        except InputError as exc:
            errors["course_id"] = str(exc)
    if "course_id" not in errors and "assessed_on" not in errors:
        try:  # not in the future, not before birth nor before the course (domain/record_dates.py)
            outcomes.check_assessment_date(
                session=session, patient=patient, assessed_on=parsed["assessed_on"],
                course_id=parsed["course_id"],
            )  # fmt: skip
        except InputError as exc:
            errors["assessed_on"] = str(exc)
    return parsed, errors


def outcome_values(outcome: Outcome) -> dict[str, Any]:
    """A stored assessment as the form's values (to correct it)."""
    values: dict[str, Any] = {
        "course_id": "" if outcome.course_id is None else str(outcome.course_id),
        "assessed_on": outcome.assessed_on.isoformat(),
        "nrs": "" if outcome.nrs is None else str(outcome.nrs),
        "analgesic_use": outcome.analgesic_use or "",
        "exercise_adherence_percent": (
            "" if outcome.exercise_adherence_percent is None else f"{outcome.exercise_adherence_percent:g}"
        ),
        "rmdq_included": "1" if outcome.rmdq_answers is not None else "",
        "rmdq": {n for n, ticked in enumerate(outcome.rmdq_answers or [], start=1) if ticked},
    }
    for n, answer in enumerate(outcome.odi_answers or [None] * scoring.ODI_SECTIONS, start=1):
        values[f"odi_{n}"] = "" if answer is None else str(answer)
    return values


def render_outcome_form(
    request: Request,
    user: User,
    patient: Patient,
    values: dict[str, Any],
    errors: dict[str, str],
    correcting: Outcome | None = None,
) -> HTMLResponse:
    """The outcome form: a new assessment, or the correction of `correcting` (with a reason)."""
    action = f"/patients/{patient.id}/outcomes/new"
    if correcting is not None:
        action = f"/records/outcomes/{correcting.id}/edit"
    return render(
        request, "outcome_form.html", user, 422 if errors else 200, patient=patient, texts=_texts(),
        values=values, errors=errors, courses=patient.courses, action=action, correcting=correcting,
    )  # fmt: skip


def _form(
    request: Request, user: User, patient: Patient, values: dict[str, Any], errors: dict[str, str]
) -> HTMLResponse:
    return render_outcome_form(request, user, patient, values, errors)


@router.post("/patients/{patient_id}/outcomes/new", response_model=None)
def record_outcome(
    request: Request, patient_id: int, form: PostedForm, session: DbSession, user: Recorder
) -> Response:
    """Score and save the outcome, or show the form again (a plain def: database work off the loop)."""
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    check_csrf(request, form.get("csrf_token"))
    values = form_values(form)
    parsed, errors = checked_form(session, patient, values)
    if errors:
        return _form(request, user, patient, values, errors)
    outcomes.record_outcome(session=session, actor=user, patient_id=patient_id, **parsed)
    session.commit()
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)
