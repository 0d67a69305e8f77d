"""Visit notes: what the patient said, what was found, what it means and what comes next (SOAP), per visit.

A note belongs to a course of the patient and, when light was given that day, names the treatment
session. Pain before and after the visit (NRS 0-10) and the home-exercise adherence since the last visit
are recorded with it. Like every clinic service: the session is keyword-only and never committed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic.chart_rows import ChartRow
from laserdose.clinic.course_closing import require_open
from laserdose.clinic.models import Course, TreatmentSession, User, VisitNote
from laserdose.clinic.patients import readable_course
from laserdose.clinic.records import audit_change
from laserdose.clinic.users import RECORDERS, require_role
from laserdose.domain.record_dates import check_record_date, local_day
from laserdose.errors import InputError

TEXT_MAX = 4000
SOAP_FIELDS = ("subjective", "objective", "assessment", "plan")


@dataclass(frozen=True)
class NoteInput:
    """What a clinician or operator writes about one visit; every field is optional, one is needed."""

    visit_on: dt.date
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""
    pain_before: int | None = None
    pain_after: int | None = None
    exercise_adherence_percent: float | None = None
    session_id: int | None = None


def note_problems(note: NoteInput, course: Course, today: dt.date) -> dict[str, str]:
    """Each field's problem as a sentence (empty when the note can be saved)."""
    problems: dict[str, str] = {}
    try:  # the clinic's date rules, as for assessments (domain/record_dates.py)
        check_record_date(
            "visit date", note.visit_on, today=today, birth_date=course.patient.birth_date,
            course_created_on=local_day(course.created_at),
        )  # fmt: skip
    except InputError as exc:
        problems["visit_on"] = str(exc)
    for field in SOAP_FIELDS:
        if len(getattr(note, field)) > TEXT_MAX:
            problems[field] = f"Keep the {field} to {TEXT_MAX} characters."
    for field, label in (("pain_before", "Pain before"), ("pain_after", "Pain after")):
        value = getattr(note, field)
        if value is not None and not 0 <= value <= 10:
            problems[field] = f"{label} must be a whole number from 0 to 10."
    adherence = note.exercise_adherence_percent
    if adherence is not None and not 0.0 <= adherence <= 100.0:
        problems["exercise_adherence_percent"] = "Home-exercise adherence must be from 0 to 100 %."
    empty = not any(getattr(note, f).strip() for f in SOAP_FIELDS)
    if empty and note.pain_before is None and note.pain_after is None and adherence is None:
        problems["form"] = "Write at least one part of the note, or record pain or adherence."
    return problems


def record_note(
    *, session: Session, actor: User, course_id: int, note: NoteInput, today: dt.date
) -> VisitNote:
    """Store a visit note on the course (clinicians and operators), or raise InputError naming the field."""
    require_role(actor, *RECORDERS)
    course = readable_course(session=session, actor=actor, course_id=course_id)
    require_open(course, "adding a visit note")
    problems = note_problems(note, course, today)
    if note.session_id is not None:
        record = session.get(TreatmentSession, note.session_id)
        if record is None or record.course_id != course.id:
            problems["session_id"] = f"Session {note.session_id} is not a session of this course."
    if problems:
        raise InputError(" ".join(problems.values()))
    row = VisitNote(
        course_id=course.id, session_id=note.session_id, author_id=actor.id, visit_on=note.visit_on,
        subjective=note.subjective.strip(), objective=note.objective.strip(),
        assessment=note.assessment.strip(), plan=note.plan.strip(), pain_before=note.pain_before,
        pain_after=note.pain_after,
        exercise_adherence_percent=note.exercise_adherence_percent,
    )  # fmt: skip
    session.add(row)
    session.flush()
    written = [f for f in SOAP_FIELDS if getattr(row, f)]
    audit_change(session, actor, "visit_note.add", "visit_note", row.id, course=course.id, fields=written)
    return row


def course_notes(*, session: Session, actor: User, course_id: int) -> list[VisitNote]:
    """The course's visit notes, newest visit first."""
    course = readable_course(session=session, actor=actor, course_id=course_id)
    query = select(VisitNote).where(VisitNote.course_id == course.id)
    return list(session.scalars(query.order_by(VisitNote.visit_on.desc(), VisitNote.id.desc())))


def summary(note: VisitNote | ChartRow) -> str:
    """One line for the chart's timeline."""
    parts = []
    if note.pain_before is not None or note.pain_after is not None:
        before = "-" if note.pain_before is None else note.pain_before
        after = "-" if note.pain_after is None else note.pain_after
        parts.append(f"pain {before} -> {after}")
    if note.exercise_adherence_percent is not None:
        parts.append(f"home exercise {note.exercise_adherence_percent:.0f} %")
    text = next(
        (getattr(note, f) for f in ("assessment", "subjective", "plan", "objective") if getattr(note, f)), ""
    )
    if text:
        parts.append(text if len(text) <= 80 else text[:79] + "...")
    return "visit note: " + "; ".join(parts)
