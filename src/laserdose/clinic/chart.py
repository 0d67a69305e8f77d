"""A patient's chart: screenings, courses, treatment sessions and outcomes on one timeline.

Read-only: every function takes the database session keyword-only and checks the reader's role.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import visit_notes
from laserdose.clinic.models import Course, Outcome, Referral, Screening, TreatmentSession, User, VisitNote
from laserdose.clinic.outcomes import patient_outcomes
from laserdose.clinic.patients import get_patient


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of a patient's chart.

    Attributes:
        when: date of the event.
        kind: screening, referral, course, session, note or outcome.
        summary: one line for people.
    """

    when: dt.date
    kind: str
    summary: str


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


def timeline(*, session: Session, actor: User, patient_id: int) -> list[TimelineEvent]:
    """Return the patient's screenings, courses, sessions and outcomes, oldest first."""
    get_patient(session=session, actor=actor, patient_id=patient_id)
    screenings = session.scalars(select(Screening).where(Screening.patient_id == patient_id))
    events = [TimelineEvent(s.at.date(), "screening", f"screening: {s.decision}") for s in screenings]
    events += _referral_events(session, patient_id)
    for course in session.scalars(select(Course).where(Course.patient_id == patient_id)):
        signed = "signed" if course.signed_at else "not signed"
        events.append(
            TimelineEvent(course.created_at.date(), "course", f"course {course.protocol} ({signed})")
        )
        for record in session.scalars(
            select(TreatmentSession).where(TreatmentSession.course_id == course.id)
        ):
            energy_j = sum(float(v) for v in record.energy_j_by_wavelength.values())
            state = "completed" if record.completed else f"{len(record.interruptions)} interruption(s)"
            state = "running" if record.status == "running" else state
            events.append(
                TimelineEvent(record.started_at.date(), "session", f"session {energy_j:.0f} J, {state}")
            )
        notes = session.scalars(select(VisitNote).where(VisitNote.course_id == course.id))
        events += [TimelineEvent(note.visit_on, "note", visit_notes.summary(note)) for note in notes]
    events += [
        TimelineEvent(o.assessed_on, "outcome", _outcome_summary(o))
        for o in patient_outcomes(session, patient_id)
    ]
    return sorted(events, key=lambda event: event.when)
