"""What every clinic service shares: the not-found error, the audit helper and the course lookup.

Clinic services do pure database work, no HTTP, no printing. Every function takes the database session as
a keyword-only argument and never commits: the caller (a web request, a CLI command, a test) owns the
transaction. Every change is checked against the actor's role and written to the audit log with field
names only, never patient data values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import audit
from laserdose.clinic.models import Course, User
from laserdose.errors import InputError


class NotFound(InputError):
    """The requested record does not exist."""


def audit_change(
    session: Session, actor: User, action: str, entity: str, entity_id: int, **details: Any
) -> None:
    """Append an audit entry for `actor`'s `action` on one row; `details` hold field names, not values."""
    audit.record(
        session=session, actor=actor.username, action=action, entity=entity, entity_id=entity_id,
        details=details,
    )  # fmt: skip


def get_course(session: Session, course_id: int) -> Course:
    """The course with `course_id`, or `NotFound` (the caller checks the actor's role)."""
    course = session.get(Course, course_id)
    if course is None:
        raise NotFound(f"no course with id {course_id}")
    return course
