"""Courses of care: create one for a patient, look one up, summarise a patient's courses.

Signing a course's plan is the signing gate's alone (clinic/signing.py).

Like every clinic service: the database session is keyword-only and never committed (the caller owns the
transaction); every change is checked against the actor's role and audited with field names only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from laserdose.clinic.dose_accounting import DoseCount, count_doses
from laserdose.clinic.models import Course, CourseClosure, Role, User
from laserdose.clinic.patients import get_patient, live_patient
from laserdose.clinic.records import audit_change
from laserdose.clinic.users import require_role
from laserdose.errors import require_range


def create_course(
    *,
    session: Session,
    actor: User,
    patient_id: int,
    condition: str,
    protocol: str,
    plan: dict[str, Any],
    sessions_planned: int,
    sessions_per_week: int,
    home_exercise: str = "",
    advice: str = "",
) -> Course:
    """Create an unsigned course of care (clinician); only the signing gate (clinic/signing.py) signs it."""
    require_role(actor, Role.CLINICIAN)
    live_patient(session=session, actor=actor, patient_id=patient_id)
    require_range("sessions_planned", sessions_planned, 1, 60)
    require_range("sessions_per_week", sessions_per_week, 1, 7)
    course = Course(
        patient_id=patient_id, clinician_id=actor.id, condition=condition, protocol=protocol, plan=plan,
        sessions_planned=sessions_planned, sessions_per_week=sessions_per_week,
        home_exercise=home_exercise, advice=advice,
    )  # fmt: skip
    session.add(course)
    session.flush()
    audit_change(session, actor, "course.create", "courses", course.id, protocol=protocol)
    return course


@dataclass(frozen=True)
class CourseSummary:
    """A course with its doses counted (delivered and interrupted apart, see `dose_accounting`).

    Attributes:
        course: the course.
        count: its doses.
    """

    course: Course
    count: DoseCount

    @property
    def closure(self) -> CourseClosure | None:
        """The closing in force, or None while the course is open."""
        return self.course.closure


def course_summaries(*, session: Session, actor: User, patient_id: int) -> list[CourseSummary]:
    """Return the patient's courses, oldest first, with their doses counted."""
    get_patient(session=session, actor=actor, patient_id=patient_id)
    statement = select(Course).where(Course.patient_id == patient_id).order_by(Course.id)
    statement = statement.options(selectinload(Course.sessions))  # one query for every course's sessions
    return [summarise(course) for course in session.scalars(statement)]


def summarise(course: Course) -> CourseSummary:
    """The summary of `course` from its loaded treatment sessions."""
    return CourseSummary(course, count_doses(course))
