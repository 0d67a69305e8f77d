"""Closing (discharging) a course with its outcome summary, reopening it, and the read-only rule.

A closed course takes no new sessions, outcomes or changes until a clinician reopens it; both are audited.
One active course per patient and condition: a second signed, open course for the same condition is
refused at signing (`active_course_conflict`).

Like every clinic service: the database session is keyword-only and never committed; every change is
checked against the actor's role and audited with field names only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic.models import Course, CourseClosure, Outcome, Role, User, utcnow
from laserdose.clinic.records import Conflict, audit_change, get_course
from laserdose.clinic.users import require_role
from laserdose.errors import InputError

CLOSE_REASONS = {
    "completed": "course completed",
    "stopped_early": "stopped early",
    "referred": "referred",
    "lost_to_follow_up": "lost to follow-up",
}
MAX_NOTE_CHARS = 4000
MIN_REOPEN_REASON_CHARS = 10


class CourseClosed(Conflict):
    """A change to a closed course."""


def require_open(course: Course, doing: str) -> None:
    """CourseClosed, saying what was refused, when the course is closed."""
    closure = course.closure
    if closure is not None:
        raise CourseClosed(
            f"course {course.id} was closed on {closure.closed_at:%Y-%m-%d} "
            f"({CLOSE_REASONS[closure.reason]}): {doing} is not possible; a clinician may reopen it"
        )


def is_active(course: Course) -> bool:
    """Signed and not closed."""
    return course.signed_at is not None and course.closure is None


def active_course_conflict(
    session: Session, patient_id: int, condition: str, besides: int | None = None
) -> str | None:
    """The sentence naming the patient's active course for `condition` (other than `besides`), or None."""
    statement = select(Course).where(Course.patient_id == patient_id, Course.condition == condition)
    for other in session.scalars(statement.order_by(Course.id)):
        if other.id != besides and is_active(other):
            assert other.signed_at is not None
            return (
                f"the patient already has an active course for {condition.replace('_', ' ')}: "
                f"course {other.id} ({other.protocol}, signed {other.signed_at:%Y-%m-%d}); close it first"
            )
    return None


def _first_last(outcomes: list[Outcome], field: str) -> dict[str, Any] | None:
    scored = [(o.assessed_on, getattr(o, field)) for o in outcomes if getattr(o, field) is not None]
    if not scored:
        return None
    (first_on, first), (last_on, last) = scored[0], scored[-1]
    return {"first": first, "first_on": first_on.isoformat(), "last": last, "last_on": last_on.isoformat()}


def outcome_summary(session: Session, course_id: int) -> dict[str, Any]:
    """First and last pain NRS, ODI and RMDQ of the course's unvoided assessments (never scored: null)."""
    statement = select(Outcome).where(Outcome.course_id == course_id, Outcome.voided_at.is_(None))
    outcomes = list(session.scalars(statement.order_by(Outcome.assessed_on, Outcome.id)))
    return {
        "assessments": len(outcomes),
        "nrs": _first_last(outcomes, "nrs"),
        "odi_percent": _first_last(outcomes, "odi_percent"),
        "rmdq": _first_last(outcomes, "rmdq"),
    }


def close_course(*, session: Session, actor: User, course_id: int, reason: str, note: str) -> CourseClosure:
    """Close a course with its reason, a closing note and its outcome summary (clinician).

    Raises:
        InputError: an unknown reason, or a note too long.
        CourseClosed: it is closed already.
    """
    require_role(actor, Role.CLINICIAN)
    course = get_course(session, course_id)
    require_open(course, "closing it again")
    if reason not in CLOSE_REASONS:
        raise InputError(f"reason must be one of {', '.join(CLOSE_REASONS)}")
    if len(note) > MAX_NOTE_CHARS:
        raise InputError(f"the closing note must have at most {MAX_NOTE_CHARS} characters")
    if any(record.status == "running" for record in course.sessions):
        raise Conflict(f"course {course_id} has a session running; stop it first")
    closure = CourseClosure(
        course_id=course.id, closed_by_id=actor.id, closed_at=utcnow(), reason=reason, note=note.strip(),
        summary=outcome_summary(session, course.id), reopen_reason="",
    )  # fmt: skip
    session.add(closure)
    session.flush()
    session.refresh(course, ["closures"])
    audit_change(session, actor, "course.close", "courses", course.id, fields=["reason", "note", "summary"])
    return closure


def reopen_course(*, session: Session, actor: User, course_id: int, reason: str) -> Course:
    """Reopen a closed course (clinician) with a reason; refused when it would be a second active one."""
    require_role(actor, Role.CLINICIAN)
    course = get_course(session, course_id)
    closure = course.closure
    if closure is None:
        raise Conflict(f"course {course_id} is not closed")
    if len(reason.strip()) < MIN_REOPEN_REASON_CHARS:
        raise InputError(f"give the reason for reopening (at least {MIN_REOPEN_REASON_CHARS} characters)")
    if course.signed_at is not None:
        problem = active_course_conflict(session, course.patient_id, course.condition, course.id)
        if problem is not None:
            raise Conflict(problem)
    closure.reopened_by_id, closure.reopened_at, closure.reopen_reason = actor.id, utcnow(), reason.strip()
    session.flush()
    session.refresh(course, ["closures"])
    audit_change(session, actor, "course.reopen", "courses", course.id, fields=["reopen_reason"])
    return course
