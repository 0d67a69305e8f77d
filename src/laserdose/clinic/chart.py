"""A patient's chart: screenings, courses, treatment sessions and outcomes on one timeline.

Read-only: every function takes the database session keyword-only and checks the reader's role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import corrections, visit_notes
from laserdose.clinic.course_closing import CLOSE_REASONS
from laserdose.clinic.models import Course, Outcome, Referral, Screening, TreatmentSession, User, VisitNote
from laserdose.clinic.patients import get_patient


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of a patient's chart.

    Attributes:
        when: date of the event.
        kind: screening, referral, course, session, note or outcome.
        summary: one line for people.
        record: the correctable record behind it as (kind, id), e.g. ("outcomes", 3); None if none.
        void_reason: why it was voided; None while it stands.
        versions: its previous versions, oldest first (corrections.history).
    """

    when: dt.date
    kind: str
    summary: str
    record: tuple[str, int] | None = None
    void_reason: str | None = None
    versions: tuple[corrections.Version, ...] = field(default=())


def _correctable(
    session: Session, actor: User, when: dt.date, kind: str, summary: str, name: str, row: Any
) -> TimelineEvent:
    """A chart entry for a correctable record, with its void state and its previous versions."""
    versions = tuple(corrections.history(session=session, actor=actor, kind=name, record_id=row.id))
    reason = row.void_reason if row.voided_at is not None else None
    return TimelineEvent(when, kind, summary, (name, row.id), reason, versions)


def _outcome_summary(outcome: Outcome) -> str:
    parts = []
    if outcome.nrs is not None:
        parts.append(f"pain NRS {outcome.nrs}/10")
    if outcome.odi_percent is not None:
        parts.append(f"ODI {outcome.odi_percent:.0f} %")
    if outcome.rmdq is not None:
        parts.append(f"RMDQ {outcome.rmdq}/24")
    if outcome.analgesic_use is not None:
        parts.append(f"analgesics {outcome.analgesic_use.replace('_', ' ')}")
    if outcome.exercise_adherence_percent is not None:
        parts.append(f"home exercise {outcome.exercise_adherence_percent:.0f} %")
    if outcome.course_id is None:  # saved before outcomes were linked, or before any signed course
        parts.append("not on a course (not counted in course reports)")
    return ", ".join(parts)


def _session_summary(record: TreatmentSession) -> str:
    """One line for a session: energy, state, what it completes, why it is a second dose that day."""
    energy_j = sum(float(v) for v in record.energy_j_by_wavelength.values())
    if record.status == "running":
        state = "running"
    elif record.completed:
        state = "completed"
    else:
        state = f"interrupted ({len(record.interruptions)} interruption(s))"
    text = f"session {energy_j:.0f} J, {state}"
    if record.completes_session_id is not None:
        text += f", completes session {record.completes_session_id}"
    if record.same_day_reason:
        text += f", second dose that day: {record.same_day_reason}"
    return text


def _referral_events(session: Session, patient_id: int) -> list[TimelineEvent]:
    """A referral's outcome or override as chart entries (the referral itself is its screening's)."""
    events = []
    for referral in session.scalars(select(Referral).where(Referral.patient_id == patient_id)):
        if referral.outcome_at is not None:
            verdict = "cleared" if referral.status == "cleared" else "not cleared"
            text = f"referral ({referral.urgency}) {verdict}: seen by {referral.seen_by}"
            events.append(TimelineEvent(referral.outcome_at.date(), "referral", text))
        if referral.override_at is not None:
            text = f"referral ({referral.urgency}) overridden: {referral.override_reason}"
            events.append(TimelineEvent(referral.override_at.date(), "referral", text))
    return events


_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "patients": lambda p: f"{p.name}, born {p.birth_date}",
    "screenings": lambda s: f"screening: {s.decision}",
    "outcomes": _outcome_summary,
    "sessions": _session_summary,
    "notes": visit_notes.summary,
}


def record_summary(*, session: Session, actor: User, kind: str, row: Any) -> str:
    """One line for people about a correctable record, dated (the void page shows it)."""
    found = corrections.kind_of(kind)
    get_patient(session=session, actor=actor, patient_id=found.patient_of(row))
    when = {"screenings": "at", "outcomes": "assessed_on", "sessions": "started_at", "notes": "visit_on"}.get(
        kind
    )
    moment = getattr(row, when) if when else None
    if isinstance(moment, dt.datetime):  # two sessions of a day differ by their time
        moment = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"{moment}: {_SUMMARIES[kind](row)}" if moment else _SUMMARIES[kind](row)


def timeline(*, session: Session, actor: User, patient_id: int) -> list[TimelineEvent]:
    """Return the patient's screenings, courses, sessions and outcomes, oldest first.

    Voided records stay, marked with their reason; corrected ones carry their previous versions.
    """
    get_patient(session=session, actor=actor, patient_id=patient_id)
    screenings = session.scalars(select(Screening).where(Screening.patient_id == patient_id))
    events = [
        _correctable(session, actor, s.at.date(), "screening", _SUMMARIES["screenings"](s), "screenings", s)
        for s in screenings
    ]
    events += _referral_events(session, patient_id)
    for course in session.scalars(select(Course).where(Course.patient_id == patient_id)):
        signed = "signed" if course.signed_at else "not signed"
        events.append(
            TimelineEvent(course.created_at.date(), "course", f"course {course.protocol} ({signed})")
        )
        for record in session.scalars(
            select(TreatmentSession).where(TreatmentSession.course_id == course.id)
        ):
            day, summary = record.started_at.date(), _session_summary(record)
            events.append(_correctable(session, actor, day, "session", summary, "sessions", record))
        for closure in course.closures:
            text = f"course {course.protocol} closed: {CLOSE_REASONS[closure.reason]}"
            events.append(TimelineEvent(closure.closed_at.date(), "course", text))
            if closure.reopened_at is not None:
                text = f"course {course.protocol} reopened: {closure.reopen_reason}"
                events.append(TimelineEvent(closure.reopened_at.date(), "course", text))
        notes = session.scalars(select(VisitNote).where(VisitNote.course_id == course.id))
        events += [
            _correctable(session, actor, note.visit_on, "note", visit_notes.summary(note), "notes", note)
            for note in notes
        ]
    assessments = select(Outcome).where(Outcome.patient_id == patient_id).order_by(Outcome.id)
    events += [
        _correctable(session, actor, o.assessed_on, "outcome", _outcome_summary(o), "outcomes", o)
        for o in session.scalars(assessments)
    ]
    return sorted(events, key=lambda event: event.when)
