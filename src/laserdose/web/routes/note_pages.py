"""Visit note pages: a course's notes and the form for a new one (SOAP, pain before and after)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import patients, visit_notes
from laserdose.clinic.corrections import live
from laserdose.clinic.models import TreatmentSession, User
from laserdose.clinic.users import READERS, RECORDERS
from laserdose.clinic.visit_notes import SOAP_FIELDS, NoteInput, note_problems
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *READERS))]
Recorder = Annotated[User, Depends(roles(page_user, *RECORDERS))]
NUMBER_FIELDS = ("pain_before", "pain_after", "exercise_adherence_percent")
SENTENCES = {
    "visit_on": "Enter the visit date as a date (YYYY-MM-DD).",
    "pain_before": "Pain before must be a whole number from 0 to 10.",
    "pain_after": "Pain after must be a whole number from 0 to 10.",
    "exercise_adherence_percent": "Home-exercise adherence must be a number from 0 to 100 %.",
    "session_id": "Choose one of this course's sessions, or none.",
}


@router.get("/courses/{course_id}/notes")
def notes_page(request: Request, course_id: int, session: DbSession, user: Reader) -> HTMLResponse:
    """The course's visit notes, newest first."""
    course = patients.readable_course(session=session, actor=user, course_id=course_id)
    patient = course.patient
    notes = visit_notes.course_notes(session=session, actor=user, course_id=course_id)
    return render(request, "visit_notes.html", user, course=course, patient=patient, notes=notes)


@router.get("/courses/{course_id}/notes/new")
def new_note_form(
    request: Request, course_id: int, session: DbSession, user: Recorder,
    session_id: Annotated[int | None, Query(alias="session", ge=1, le=2**31 - 1)] = None,
) -> HTMLResponse:  # fmt: skip
    """The form for a visit note, on today's date and the given session (e.g. from the console)."""
    values = {"visit_on": dt.date.today().isoformat(), "session_id": str(session_id or "")}
    return _form(request, session, user, course_id, values, {})


def _form(
    request: Request,
    session: Session,
    user: User,
    course_id: int,
    values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    course = patients.readable_course(session=session, actor=user, course_id=course_id)
    patient = course.patient
    delivered = select(TreatmentSession).where(TreatmentSession.course_id == course_id)
    records = session.scalars(delivered.where(live(TreatmentSession)))  # a voided session is no visit's
    return render(
        request, "visit_note_form.html", user, 422 if errors else 200, course=course, patient=patient,
        records=list(records), values=values, errors=errors, soap=SOAP_FIELDS,
    )  # fmt: skip


def _parse(values: dict[str, str]) -> tuple[NoteInput | None, dict[str, str]]:
    errors: dict[str, str] = {}
    numbers: dict[str, float | int | None] = {}
    for field in NUMBER_FIELDS:
        raw = values[field].strip()
        try:
            numbers[field] = None if not raw else (float(raw) if field.startswith("exercise") else int(raw))
        except ValueError:
            errors[field] = SENTENCES[field]
    try:
        visit_on = dt.date.fromisoformat(values["visit_on"])
    except ValueError:
        errors["visit_on"] = SENTENCES["visit_on"]
    session_id = values["session_id"]
    if session_id and not (session_id.isdigit() and len(session_id) < 10):
        errors["session_id"] = SENTENCES["session_id"]
    if errors:
        return None, errors
    adherence = numbers["exercise_adherence_percent"]
    note = NoteInput(
        visit_on=visit_on,
        subjective=values["subjective"],
        objective=values["objective"],
        assessment=values["assessment"],
        plan=values["plan"],
        session_id=int(session_id) if session_id else None,
        pain_before=_whole(numbers["pain_before"]),
        pain_after=_whole(numbers["pain_after"]),
        exercise_adherence_percent=None if adherence is None else float(adherence),
    )
    return note, errors


def _whole(value: float | int | None) -> int | None:
    return None if value is None else int(value)


@router.post("/courses/{course_id}/notes/new", response_model=None)
def add_note(
    request: Request, course_id: int, form: PostedForm, session: DbSession, user: Recorder
) -> Response:
    """Save the note, or show the form again with each field's sentence and everything typed."""
    check_csrf(request, form.get("csrf_token"))
    values = {f: str(form.get(f, "")) for f in ("visit_on", "session_id", *SOAP_FIELDS, *NUMBER_FIELDS)}
    note, errors = _parse(values)
    if note is not None:
        course = patients.readable_course(session=session, actor=user, course_id=course_id)
        errors = note_problems(note, course, dt.date.today())
        known = {r.id for r in course.sessions}
        if note.session_id is not None and note.session_id not in known:
            errors["session_id"] = SENTENCES["session_id"]
    if errors or note is None:
        return _form(request, session, user, course_id, values, errors)
    visit_notes.record_note(
        session=session, actor=user, course_id=course_id, note=note, today=dt.date.today()
    )
    session.commit()
    return RedirectResponse(f"/courses/{course_id}/notes", status_code=303)
