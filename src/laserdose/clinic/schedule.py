"""The course's planned sessions (appointments): made when a plan is signed, moved when needed, listed by day.

A signed course's sessions are spread over the weekdays by its sessions per week, from the signing
date: three a week fall two weekdays apart (a Monday signing gives Monday, Wednesday, Friday), two a week
three weekdays apart, five a week on every weekday; weekends are skipped, so six or seven a week become
five. Each session keeps the signing's time of day, rounded up to the next quarter hour. Days are UTC
days, the zone the database keeps times in. An appointment's state follows from the sessions delivered
for it: done (one completed), interrupted (delivered, none completed), running, missed (its day has
passed with nothing delivered) or planned.

Like every clinic service: keyword-only database session, never committed, role checks, audited changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic.models import Appointment, Course, TreatmentSession, User
from laserdose.clinic.records import audit_change, get_course, get_row
from laserdose.clinic.users import READERS, RECORDERS, require_role
from laserdose.errors import InputError

# Weekday offsets of the sessions within each run of five weekdays, by sessions per week.
WEEK_PATTERNS: dict[int, tuple[int, ...]] = {
    1: (0,), 2: (0, 3), 3: (0, 2, 4), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4),
}  # fmt: skip
SLOT_MINUTES = 15  # appointments start on the quarter hour
MAX_MOVE_DAYS = 366  # an appointment moves at most a year away from today
MAX_REASON_CHARS = 500
PLANNED, DONE, INTERRUPTED, RUNNING, MISSED = "planned", "done", "interrupted", "running", "missed"


def _next_weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _add_weekdays(day: dt.date, count: int) -> dt.date:
    for _ in range(count):
        day = _next_weekday(day + dt.timedelta(days=1))
    return day


def _slot(moment: dt.datetime) -> dt.datetime:
    """`moment` in UTC, rounded up to a quarter hour (a time on the quarter hour stays)."""
    moment = moment.astimezone(dt.UTC)
    floor = moment.replace(minute=moment.minute - moment.minute % SLOT_MINUTES, second=0, microsecond=0)
    return floor if floor == moment else floor + dt.timedelta(minutes=SLOT_MINUTES)


def session_times(signed_at: dt.datetime, sessions: int, per_week: int) -> list[dt.datetime]:
    """When each of `sessions` falls for a course signed at `signed_at` with `per_week` sessions a week.

    Args:
        signed_at: the signing time (timezone-aware).
        sessions: sessions planned [-], 1 or more.
        per_week: sessions per week [-], 1-7 (six and seven give five: weekends are skipped).
    """
    if signed_at.tzinfo is None:
        raise InputError("signed_at needs a time zone")
    if sessions < 1 or not 1 <= per_week <= 7:
        raise InputError("sessions must be >= 1 and sessions per week 1-7")
    start = _slot(signed_at)
    first_day = _next_weekday(start.date())
    pattern = WEEK_PATTERNS[min(per_week, 5)]
    times = []
    for index in range(sessions):
        week, slot = divmod(index, len(pattern))
        day = _add_weekdays(first_day, week * 5 + pattern[slot])
        times.append(dt.datetime.combine(day, start.timetz()))
    return times


def create_schedule(*, session: Session, actor: User, course: Course) -> list[Appointment]:
    """Make the appointments of a course just signed (the signing gate calls it); audited."""
    if course.signed_at is None:
        raise InputError(f"course {course.id} is not signed; its sessions are planned when it is")
    if session.scalars(select(Appointment.id).where(Appointment.course_id == course.id)).first():
        raise InputError(f"course {course.id} already has its sessions planned")
    times = session_times(course.signed_at, course.sessions_planned, course.sessions_per_week)
    appointments = [Appointment(course_id=course.id, number=n, planned_at=t) for n, t in enumerate(times, 1)]
    session.add_all(appointments)
    session.flush()
    audit_change(session, actor, "appointments.schedule", "courses", course.id, sessions=len(times))
    return appointments


@dataclass(frozen=True)
class DayEntry:
    """One appointment on a day's list.

    Attributes:
        appointment: the appointment.
        course: its course.
        state: planned, running, done, interrupted or missed.
        delivered: the sessions delivered for it, oldest first.
    """

    appointment: Appointment
    course: Course
    state: str
    delivered: list[TreatmentSession]


def appointment_state(planned_at: dt.datetime, delivered: list[TreatmentSession], today: dt.date) -> str:
    """The state of an appointment planned at `planned_at` with the sessions `delivered` for it."""
    if any(record.completed for record in delivered):
        return DONE
    if any(record.status == "running" for record in delivered):
        return RUNNING
    if delivered:
        return INTERRUPTED
    return MISSED if planned_at.astimezone(dt.UTC).date() < today else PLANNED


def _delivered(session: Session, appointment_ids: list[int]) -> dict[int, list[TreatmentSession]]:
    found: dict[int, list[TreatmentSession]] = {i: [] for i in appointment_ids}
    statement = select(TreatmentSession).where(TreatmentSession.appointment_id.in_(appointment_ids))
    for record in session.scalars(statement.order_by(TreatmentSession.id)):
        assert record.appointment_id is not None
        found[record.appointment_id].append(record)
    return found


def entries(session: Session, appointments: list[Appointment], today: dt.date) -> list[DayEntry]:
    """Each appointment with its course, state and delivered sessions."""
    delivered = _delivered(session, [a.id for a in appointments])
    return [
        DayEntry(a, a.course, appointment_state(a.planned_at, delivered[a.id], today), delivered[a.id])
        for a in appointments
    ]


def day_list(*, session: Session, actor: User, day: dt.date, today: dt.date) -> list[DayEntry]:
    """The appointments of signed courses on `day` (UTC), by time (operators and clinicians)."""
    require_role(actor, *READERS)
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    statement = (
        select(Appointment)
        .join(Course, Course.id == Appointment.course_id)
        .where(Appointment.planned_at >= start, Appointment.planned_at < start + dt.timedelta(days=1))
        .where(Course.signed_at.is_not(None))
        .order_by(Appointment.planned_at, Appointment.id)
    )
    return entries(session, list(session.scalars(statement)), today)


def course_appointments(*, session: Session, actor: User, course_id: int, today: dt.date) -> list[DayEntry]:
    """The course's appointments in session order, with their states."""
    require_role(actor, *READERS)
    get_course(session, course_id)
    statement = select(Appointment).where(Appointment.course_id == course_id).order_by(Appointment.number)
    return entries(session, list(session.scalars(statement)), today)


def current_appointment(*, session: Session, actor: User, course_id: int, today: dt.date) -> DayEntry | None:
    """The course's appointment to treat today: planned, running or interrupted, on `today`; else None."""
    for entry in course_appointments(session=session, actor=actor, course_id=course_id, today=today):
        on_today = entry.appointment.planned_at.astimezone(dt.UTC).date() == today
        if on_today and entry.state in (PLANNED, RUNNING, INTERRUPTED):
            return entry
    return None


def next_open(*, session: Session, actor: User, course_id: int, today: dt.date) -> DayEntry | None:
    """The course's first appointment not done (planned, missed or interrupted), or None."""
    for entry in course_appointments(session=session, actor=actor, course_id=course_id, today=today):
        if entry.state in (PLANNED, MISSED, INTERRUPTED):
            return entry
    return None


def move_appointment(
    *, session: Session, actor: User, appointment_id: int, planned_at: dt.datetime, reason: str,
    now: dt.datetime,
) -> Appointment:  # fmt: skip
    """Move an appointment to `planned_at` (operators and clinicians); the audit entry keeps both times.

    Raises:
        InputError: a naive or far-off time, an empty reason, or an appointment already done.
    """
    require_role(actor, *RECORDERS)
    appointment = get_row(session, Appointment, appointment_id, "appointment")
    if planned_at.tzinfo is None:
        raise InputError("the new time needs a time zone")
    if abs((planned_at - now).days) > MAX_MOVE_DAYS:
        raise InputError(f"the new date must be within {MAX_MOVE_DAYS} days of today")
    reason = reason.strip()
    if not reason:
        raise InputError("give the reason for moving the session")
    if len(reason) > MAX_REASON_CHARS:
        raise InputError(f"the reason must have at most {MAX_REASON_CHARS} characters")
    state = entries(session, [appointment], now.date())[0].state
    if state in (DONE, RUNNING):
        raise InputError(f"session {appointment.number} is {state}; it cannot be moved")
    before = appointment.planned_at
    appointment.planned_at, appointment.move_reason = planned_at.astimezone(dt.UTC), reason
    session.flush()
    audit_change(
        session, actor, "appointment.move", "appointments", appointment.id,
        moved_from=before.isoformat(), moved_to=appointment.planned_at.isoformat(), fields=["move_reason"],
    )  # fmt: skip
    return appointment
