"""A patient's chart: screenings, courses, treatment sessions and outcomes on one timeline.

Read-only: every function takes the database session keyword-only and checks the reader's role. The chart
loads each table once (one query per table, whatever the number of courses, `laserdose.clinic.chart_rows`)
and derives the timeline, the outcome series, the course summaries and every record's earlier versions
(one more query) from those rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import corrections, visit_notes
from laserdose.clinic.chart_rows import ChartRow, load_chart_rows
from laserdose.clinic.course_closing import CLOSE_REASONS
from laserdose.clinic.courses import CourseSummary, summarise
from laserdose.clinic.models import User
from laserdose.clinic.outcomes import OutcomePoint, series_of
from laserdose.clinic.patients import get_patient
from laserdose.clinic.users import READERS, require_role


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of a patient's chart.

    Attributes:
        when: date of the event.
        kind: screening, referral, course, session, note or outcome.
        summary: one line for people.
        record: (kind, id) of a correctable record (corrections.KINDS), else None.
        void_reason: why the record was voided, None while it counts.
        versions: its previous versions, oldest first.
    """

    when: dt.date
    kind: str
    summary: str
    record: tuple[str, int] | None = None
    void_reason: str | None = None
    versions: tuple[corrections.Version, ...] = field(default=())


@dataclass(frozen=True)
class PatientChart:
    """Everything the chart page shows of one patient.

    Attributes:
        patient: the patient's row, with `screenings` (each with its `referral`) and `courses` set
            (`laserdose.clinic.chart_rows`).
        events: the timeline, oldest first (with the courses' visit notes).
        series: the scored assessments with responder flags, oldest first.
        courses: the courses, oldest first, with delivery counts.
        patient_versions: the patient record's earlier versions, oldest first.
    """

    patient: ChartRow
    events: list[TimelineEvent]
    series: list[OutcomePoint]
    courses: list[CourseSummary]
    patient_versions: list[corrections.Version] = field(default_factory=list)


def _outcome_summary(outcome: Any) -> str:
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


def _session_summary(record: Any) -> str:
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


def _referral_events(screenings: list[ChartRow]) -> list[TimelineEvent]:
    """A referral's outcome or override as chart entries (the referral itself is its screening's)."""
    events = []
    for referral in (s.referral for s in screenings if s.referral is not None):
        if referral.outcome_at is not None:
            verdict = "cleared" if referral.status == "cleared" else "not cleared"
            text = f"referral ({referral.urgency}) {verdict}: seen by {referral.seen_by}"
            events.append(TimelineEvent(referral.outcome_at.date(), "referral", text))
        if referral.override_at is not None:
            text = f"referral ({referral.urgency}) overridden: {referral.override_reason}"
            events.append(TimelineEvent(referral.override_at.date(), "referral", text))
    return events


Histories = dict[tuple[str, int], list[corrections.Version]]


def _correctable(
    when: dt.date, kind: str, summary: str, name: str, row: Any, found: Histories
) -> TimelineEvent:
    """A chart entry for a correctable record, with its void state and its previous versions."""
    reason = row.void_reason if row.voided_at is not None else None
    return TimelineEvent(when, kind, summary, (name, row.id), reason, tuple(found[name, row.id]))


def _course_events(course: ChartRow, notes: list[ChartRow], found: Histories) -> list[TimelineEvent]:
    signed = "signed" if course.signed_at else "not signed"
    events = [TimelineEvent(course.created_at.date(), "course", f"course {course.protocol} ({signed})")]
    events += [
        _correctable(r.started_at.date(), "session", _session_summary(r), "sessions", r, found)
        for r in course.sessions
    ]
    for closure in course.closures:
        text = f"course {course.protocol} closed: {CLOSE_REASONS[closure.reason]}"
        events.append(TimelineEvent(closure.closed_at.date(), "course", text))
        if closure.reopened_at is not None:
            text = f"course {course.protocol} reopened: {closure.reopen_reason}"
            events.append(TimelineEvent(closure.reopened_at.date(), "course", text))
    events += [_correctable(n.visit_on, "note", visit_notes.summary(n), "notes", n, found) for n in notes]
    return events


def _events(
    patient: ChartRow, outcomes: list[ChartRow], notes: dict[int, list[ChartRow]], found: Histories
) -> list[TimelineEvent]:
    """The patient's screenings, referrals, courses, sessions, visit notes and outcomes, oldest first.

    Voided records stay, marked with their reason; corrected ones carry their previous versions.
    """
    events = [
        _correctable(s.at.date(), "screening", f"screening: {s.decision}", "screenings", s, found)
        for s in patient.screenings
    ]
    events += _referral_events(patient.screenings)
    for course in patient.courses:
        events += _course_events(course, notes[course.id], found)
    events += [
        _correctable(o.assessed_on, "outcome", _outcome_summary(o), "outcomes", o, found) for o in outcomes
    ]
    return sorted(events, key=lambda event: event.when)


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


def patient_chart(*, session: Session, actor: User, patient_id: int) -> PatientChart:
    """Return the patient's chart, or raise `NotFound`."""
    require_role(actor, *READERS)
    rows = load_chart_rows(session, patient_id)
    patient, outcomes, notes = rows.patient, rows.outcomes, rows.notes
    records: list[tuple[str, Any]] = [("patients", patient)]
    records += [("screenings", s) for s in patient.screenings]
    records += [("sessions", r) for course in patient.courses for r in course.sessions]
    records += [("notes", n) for course_notes in notes.values() for n in course_notes]
    records += [("outcomes", o) for o in outcomes]
    found = corrections.histories(session=session, actor=actor, records=records, versions=rows.versions)
    summaries = [summarise(course) for course in patient.courses]
    live = [o for o in outcomes if o.voided_at is None]  # voided assessments are not plotted
    events = _events(patient, outcomes, notes, found)
    return PatientChart(patient, events, series_of(live), summaries, found["patients", patient.id])


def timeline(*, session: Session, actor: User, patient_id: int) -> list[TimelineEvent]:
    """Return the patient's screenings, courses, sessions, visit notes and outcomes, oldest first."""
    return patient_chart(session=session, actor=actor, patient_id=patient_id).events
