"""Pages that correct records: edit a patient or an outcome, void any correctable record, with a reason.

Nothing is deleted (clinic/corrections.py): the previous version stays readable in the chart's history.
A session's start and completion are corrected here, its energies through the API (PATCH
/api/v1/sessions/{id}); a screening or a visit note is voided and made again; a signed plan is never edited
(a new plan version is signed).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from laserdose.clinic import chart, corrections, outcomes, patients, treatment
from laserdose.clinic.models import Outcome, Patient, TreatmentSession, User
from laserdose.clinic.users import EDITORS, READERS, RECORDERS
from laserdose.errors import InputError
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, field_errors, render
from laserdose.web.routes.outcome_pages import checked_form, form_values, outcome_values, render_outcome_form
from laserdose.web.routes.patient_pages import _SERVICE_FIELDS, FORM_FIELDS, LABELS
from laserdose.web.schemas import PatientCreate

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *READERS))]
Recorder = Annotated[User, Depends(roles(page_user, *RECORDERS))]
Editor = Annotated[User, Depends(roles(page_user, *EDITORS))]


def _reason(values: dict[str, Any], errors: dict[str, str]) -> str:
    """The typed reason, or an error on the reason field."""
    try:
        return corrections.check_reason(values.get("reason", ""))
    except InputError as exc:
        errors["reason"] = str(exc)
        return ""


def _chart(patient_id: int) -> RedirectResponse:
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


@router.get("/records/outcomes/{outcome_id}/edit")
def outcome_edit_form(request: Request, outcome_id: int, db: DbSession, user: Recorder) -> HTMLResponse:
    """The outcome form filled with the stored assessment, and a reason field."""
    outcome: Outcome = corrections.find(session=db, actor=user, kind="outcomes", record_id=outcome_id)[1]
    patient = patients.get_patient(session=db, actor=user, patient_id=outcome.patient_id)
    return render_outcome_form(request, user, patient, outcome_values(outcome), {}, correcting=outcome)


@router.post("/records/outcomes/{outcome_id}/edit", response_model=None)
def correct_outcome(
    request: Request, outcome_id: int, form: PostedForm, db: DbSession, user: Recorder
) -> Response:
    """Save the corrected assessment, or show the form again with each field's error and what was typed."""
    outcome: Outcome = corrections.find(session=db, actor=user, kind="outcomes", record_id=outcome_id)[1]
    patient = patients.get_patient(session=db, actor=user, patient_id=outcome.patient_id)
    check_csrf(request, form.get("csrf_token"))
    values = {**form_values(form), "reason": str(form.get("reason", ""))}
    parsed, errors = checked_form(db, patient, values)
    reason = _reason(values, errors)
    if not errors:
        parsed.setdefault("rmdq_ticked", None)  # unticked "completed the RMDQ": the measure is cleared
        try:
            outcomes.correct_outcome(session=db, actor=user, outcome_id=outcome_id, reason=reason, **parsed)
        except InputError as exc:
            errors["form"] = str(exc)
    if errors:
        db.rollback()
        return render_outcome_form(request, user, patient, values, errors, correcting=outcome)
    db.commit()
    return _chart(patient.id)


def _patient_form(
    request: Request, user: User, patient: Patient, values: dict[str, Any], errors: dict[str, str]
) -> HTMLResponse:
    return render(
        request, "patient_new.html", user, 422 if errors else 200, values=values, errors=errors,
        heading=f"Correct the details of {patient.name}", action=f"/records/patients/{patient.id}/edit",
        correcting=patient,
    )  # fmt: skip


@router.get("/records/patients/{patient_id}/edit")
def patient_edit_form(request: Request, patient_id: int, db: DbSession, user: Editor) -> HTMLResponse:
    """The patient's details in the new-patient form, and a reason field."""
    patient = patients.get_patient(session=db, actor=user, patient_id=patient_id)
    values = {
        "given_name": patient.given_name, "family_name": patient.family_name,
        "record_number": patient.record_number, "birth_date": patient.birth_date.isoformat(),
        "skin_type": str(patient.skin_type), "bmi": f"{patient.bmi_kg_m2:g}",
    }  # fmt: skip
    return _patient_form(request, user, patient, values, {})


@router.post("/records/patients/{patient_id}/edit", response_model=None)
def correct_patient(
    request: Request, patient_id: int, form: PostedForm, db: DbSession, user: Editor
) -> Response:
    """Save the corrected details, or show the form again with each field's error and what was typed."""
    patient = patients.get_patient(session=db, actor=user, patient_id=patient_id)
    check_csrf(request, form.get("csrf_token"))
    values = {field: str(form.get(field, "")) for field in (*FORM_FIELDS, "reason")}
    errors: dict[str, str] = {}
    try:
        fields = {field: values[field] for field in FORM_FIELDS}
        body = PatientCreate.model_validate({**fields, "record_number": values["record_number"] or None})
    except ValidationError as exc:
        errors = field_errors(exc, LABELS)
    reason = _reason(values, errors)
    if not errors:
        changes = {
            "given_name": body.given_name or "", "family_name": body.family_name,
            "record_number": body.record_number or "", "birth_date": body.birth_date,
            "skin_type": body.skin_type, "bmi_kg_m2": body.bmi,
        }  # fmt: skip
        try:
            patients.update_patient(session=db, actor=user, patient_id=patient_id, reason=reason, **changes)
        except InputError as exc:
            message = str(exc)
            prefixes = {"birth date": "birth_date", **{k.lower(): v for k, v in _SERVICE_FIELDS.items()}}
            errors[next((f for p, f in prefixes.items() if message.lower().startswith(p)), "form")] = message
    if errors:
        db.rollback()
        return _patient_form(request, user, patient, values, errors)
    db.commit()
    return _chart(patient_id)


def _session_page(
    request: Request, db: DbSession, user: User, record: TreatmentSession, values: dict[str, Any],
    errors: dict[str, str],
) -> HTMLResponse:  # fmt: skip
    patient = patients.get_patient(session=db, actor=user, patient_id=record.course.patient_id)
    summary = chart.record_summary(session=db, actor=user, kind="sessions", row=record)
    return render(
        request, "session_edit.html", user, 422 if errors else 200, record=record, patient=patient,
        summary=summary, values=values, errors=errors,
    )  # fmt: skip


@router.get("/records/sessions/{session_id}/edit")
def session_edit_form(request: Request, session_id: int, db: DbSession, user: Recorder) -> HTMLResponse:
    """The session's start (UTC) and completion, and a reason field."""
    record: TreatmentSession = corrections.find(
        session=db, actor=user, kind="sessions", record_id=session_id
    )[1]
    started = record.started_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    values = {"started_at": started, "completed": "1" if record.completed else ""}
    return _session_page(request, db, user, record, values, {})


@router.post("/records/sessions/{session_id}/edit", response_model=None)
def correct_session(
    request: Request, session_id: int, form: PostedForm, db: DbSession, user: Recorder
) -> Response:
    """Save the corrected start and completion, or show the form again with the errors and what was typed."""
    record: TreatmentSession = corrections.find(
        session=db, actor=user, kind="sessions", record_id=session_id
    )[1]
    check_csrf(request, form.get("csrf_token"))
    values = {key: str(form.get(key, "")) for key in ("started_at", "completed", "reason")}
    errors: dict[str, str] = {}
    try:
        started_at = dt.datetime.fromisoformat(values["started_at"]).replace(tzinfo=dt.UTC)
    except ValueError:
        errors["started_at"] = "session start: enter a date and time (YYYY-MM-DD HH:MM, UTC)"
    reason = _reason(values, errors)
    if not errors:
        try:
            treatment.correct_session(
                db=db, actor=user, session_id=session_id, reason=reason, started_at=started_at,
                completed=bool(values["completed"]),
            )  # fmt: skip
        except InputError as exc:
            errors["started_at" if "session start" in str(exc) else "form"] = str(exc)
    if errors:
        db.rollback()
        return _session_page(request, db, user, record, values, errors)
    db.commit()
    return _chart(record.course.patient_id)


def _void_page(
    request: Request, db: DbSession, user: User, kind: str, record_id: int, values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:  # fmt: skip
    found, row = corrections.find(session=db, actor=user, kind=kind, record_id=record_id)
    patient = patients.get_patient(session=db, actor=user, patient_id=found.patient_of(row))
    summary = chart.record_summary(session=db, actor=user, kind=kind, row=row)
    return render(
        request, "record_void.html", user, 422 if errors else 200, kind=kind, noun=found.noun,
        record_id=record_id, patient=patient, summary=summary, values=values, errors=errors,
    )  # fmt: skip


@router.get("/records/{kind}/{record_id}/void")
def void_form(request: Request, kind: str, record_id: int, db: DbSession, user: Reader) -> HTMLResponse:
    """Ask why the record is voided."""
    return _void_page(request, db, user, kind, record_id, {}, {})


@router.post("/records/{kind}/{record_id}/void", response_model=None)
def void_record(
    request: Request, kind: str, record_id: int, form: PostedForm, db: DbSession, user: Reader
) -> Response:
    """Void the record with the reason, then go back to the chart; without a reason, ask again."""
    check_csrf(request, form.get("csrf_token"))
    values = {"reason": str(form.get("reason", ""))}
    errors: dict[str, str] = {}
    reason = _reason(values, errors)
    found, row = corrections.find(session=db, actor=user, kind=kind, record_id=record_id)  # 404, 403 first
    if not errors:
        try:
            corrections.void(session=db, actor=user, kind=kind, record_id=record_id, reason=reason)
        except InputError as exc:
            errors["reason"] = str(exc)
    if errors:
        db.rollback()
        return _void_page(request, db, user, kind, record_id, values, errors)
    patient_id = found.patient_of(row)
    db.commit()
    return _chart(patient_id)
