"""The clinic's day: today's sessions, moving a session, and the consent to Class 4 laser treatment."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laserdose.clinic import consent, patients, schedule
from laserdose.clinic.models import Appointment, Role, User, utcnow
from laserdose.clinic.records import get_course, get_row
from laserdose.clinic.users import READERS, RECORDERS
from laserdose.clinical.protocols import get_protocol
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *READERS))]
Recorder = Annotated[User, Depends(roles(page_user, *RECORDERS))]
Clinician = Annotated[User, Depends(roles(page_user, Role.CLINICIAN))]
DayQuery = Annotated[dt.date | None, Query(description="the day (YYYY-MM-DD); today when absent")]


@router.get("/today")
def today_page(request: Request, db: DbSession, user: Reader, day: DayQuery = None) -> HTMLResponse:
    """The day's planned sessions of signed courses, by time, with their state and the console button."""
    today = utcnow().date()
    shown = day or today
    entries = schedule.day_list(session=db, actor=user, day=shown, today=today)
    return render(
        request, "today.html", user, day=shown, today=today, entries=entries,
        previous_day=shown - dt.timedelta(days=1), next_day=shown + dt.timedelta(days=1),
        can_run=user.role == Role.OPERATOR, can_move=user.role in RECORDERS,
    )  # fmt: skip


def _move_page(
    request: Request, db: DbSession, user: User, appointment: Appointment, values: dict[str, str],
    error: str = "", status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    entry = schedule.entries(db, [appointment], utcnow().date())[0]
    return render(
        request, "appointment_move.html", user, status_code, entry=entry, values=values, error=error
    )


@router.get("/appointments/{appointment_id}/move")
def move_form(request: Request, appointment_id: int, db: DbSession, user: Recorder) -> HTMLResponse:
    """The form that moves a planned session to another date and time."""
    appointment = get_row(db, Appointment, appointment_id, "appointment")
    at = appointment.planned_at
    values = {"date": at.date().isoformat(), "time": at.strftime("%H:%M"), "reason": ""}
    return _move_page(request, db, user, appointment, values)


def _new_time(values: dict[str, str], now: dt.datetime) -> dt.datetime:
    """The time the form asks for (UTC): "now", or its date and time fields."""
    if values["when"] == "now":
        return now.replace(second=0, microsecond=0)
    try:
        day = dt.date.fromisoformat(values["date"])
    except ValueError:
        raise InputError("give the date as YYYY-MM-DD") from None
    try:
        time = dt.time.fromisoformat(values["time"])
    except ValueError:
        raise InputError("give the time as HH:MM (UTC)") from None
    return dt.datetime.combine(day, time.replace(tzinfo=None), dt.UTC)


@router.post("/appointments/{appointment_id}/move", response_model=None)
def move(request: Request, appointment_id: int, form: PostedForm, db: DbSession, user: Recorder) -> Response:
    """Move a session (audited); the form again with the error and the typed values when refused."""
    check_csrf(request, form.get("csrf_token"))
    appointment = get_row(db, Appointment, appointment_id, "appointment")
    values = {key: str(form.get(key, "")).strip() for key in ("date", "time", "reason", "when", "back")}
    now = utcnow()
    try:
        schedule.move_appointment(
            session=db, actor=user, appointment_id=appointment_id, planned_at=_new_time(values, now),
            reason=values["reason"], now=now,
        )  # fmt: skip
    except InputError as exc:
        db.rollback()
        return _move_page(request, db, user, appointment, values, str(exc), 422)
    db.commit()
    back = values["back"] if values["back"].startswith("/courses/") else ""
    return RedirectResponse(back or f"/today?day={appointment.planned_at.date()}", status_code=303)


# -- consent ------------------------------------------------------------------------------------------


def _consent_page(
    request: Request, db: DbSession, user: User, course_id: int, values: dict[str, str],
    errors: dict[str, str], status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    course = get_course(db, course_id)
    recorded = consent.course_consent(session=db, actor=user, course_id=course_id)
    taken_by = db.get(User, recorded.taken_by_id) if recorded is not None else None
    return render(
        request, "consent.html", user, status_code, course=course, patient=course.patient,
        consent=recorded, taken_by=taken_by, values=values, errors=errors,
    )  # fmt: skip


@router.get("/courses/{course_id}/consent")
def consent_page(request: Request, course_id: int, db: DbSession, user: Reader) -> HTMLResponse:
    """The course's consent: as recorded, or the form to record it (clinicians)."""
    course = get_course(db, course_id)
    values = {"consent_name": course.patient.name, "consent_date": utcnow().date().isoformat()}
    return _consent_page(request, db, user, course_id, values, {})


def consent_from_form(values: dict[str, str]) -> tuple[consent.ConsentGiven | None, dict[str, str]]:
    """The consent the form records, or an error per field ("consent" for the box)."""
    if values.get("consent_given") != "yes":
        return None, {"consent_given": "tick the box once the patient has signed the consent form"}
    try:
        signed_on = dt.date.fromisoformat(values.get("consent_date", ""))
    except ValueError:
        return None, {"consent_date": "give the date the patient signed as YYYY-MM-DD"}
    given = consent.ConsentGiven(values.get("consent_name", ""), signed_on)
    return given, consent.consent_problems(given, utcnow().date())


@router.post("/courses/{course_id}/consent", response_model=None)
def record_consent(
    request: Request, course_id: int, form: PostedForm, db: DbSession, user: Clinician
) -> Response:
    """Record the signed consent (clinicians); the form again with each field's error when refused."""
    check_csrf(request, form.get("csrf_token"))
    values = {k: str(form.get(k, "")).strip() for k in ("consent_name", "consent_date", "consent_given")}
    given, errors = consent_from_form(values)
    if given is None or errors:
        return _consent_page(request, db, user, course_id, values, errors, 422)
    try:
        consent.record_consent(
            session=db, actor=user, course_id=course_id, given=given, today=utcnow().date()
        )
    except InputError as exc:
        db.rollback()
        return _consent_page(request, db, user, course_id, values, {"form": str(exc)}, 422)
    db.commit()
    return RedirectResponse(f"/patients/{get_course(db, course_id).patient_id}#course-{course_id}", 303)


def _plan_facts(device: str, protocol: str) -> dict[str, Any]:
    """The machine and course the form describes (empty when unknown)."""
    facts: dict[str, Any] = {}
    try:
        profile = load_profile(device)
        facts["machine"] = f"{profile.manufacturer} {profile.model}"
        facts["wavelengths"] = ", ".join(f"{s.wavelength_nm:g} nm" for s in profile.sources)
        facts["max_power_w"] = profile.max_total_power_w
    except InputError:
        pass
    try:
        chosen = get_protocol(protocol)
        facts["sessions"], facts["per_week"] = chosen.course.sessions, chosen.course.per_week
    except InputError:
        pass
    return facts


@router.get("/courses/{course_id}/consent/form")
def course_consent_form(request: Request, course_id: int, db: DbSession, user: Reader) -> HTMLResponse:
    """The printable consent form of a course (its machine and course of sessions filled in)."""
    course = get_course(db, course_id)
    inputs = course.plan.get("inputs", {})
    facts = _plan_facts(str(inputs.get("device", course.plan.get("device", ""))), course.protocol)
    facts["sessions"], facts["per_week"] = course.sessions_planned, course.sessions_per_week
    return render(request, "consent_form.html", user, patient=course.patient, facts=facts,
                  version=consent.FORM_VERSION)  # fmt: skip


@router.get("/patients/{patient_id}/consent/form")
def patient_consent_form(
    request: Request, patient_id: int, db: DbSession, user: Reader,
    device: Annotated[str, Query(max_length=64)] = "", protocol: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:  # fmt: skip
    """The printable consent form before the course exists (the plan editor's machine and protocol)."""
    patient = patients.get_patient(session=db, actor=user, patient_id=patient_id)
    return render(request, "consent_form.html", user, patient=patient, facts=_plan_facts(device, protocol),
                  version=consent.FORM_VERSION)  # fmt: skip
