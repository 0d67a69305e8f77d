"""What every clinic service shares: the not-found error, the audit helper and the course lookup.

Clinic services do pure database work, no HTTP, no printing. Every function takes the database session as
a keyword-only argument and never commits: the caller (a web request, a CLI command, a test) owns the
transaction. Every change is checked against the actor's role and written to the audit log with field
names only, never patient data values.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from laserdose.clinic import audit
from laserdose.clinic.models import Base, Course, User
from laserdose.errors import InputError


class NotFound(InputError):
    """The requested record does not exist."""


class Conflict(InputError):
    """The request is well formed but the records' state forbids it (a closed course, a second dose)."""


def audit_change(
    session: Session, actor: User, action: str, entity: str, entity_id: int, **details: Any
) -> None:
    """Append an audit entry for `actor`'s `action` on one row; `details` hold field names, not values."""
    audit.record(
        session=session, actor=actor.username, action=action, entity=entity, entity_id=entity_id,
        details=details,
    )  # fmt: skip


Row = TypeVar("Row", bound=Base)


def get_row(session: Session, model: type[Row], row_id: int, noun: str) -> Row:
    """The `model` row with `row_id`, or `NotFound` naming it as `noun` (the caller checks the role)."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"no {noun} with id {row_id}")
    return row


def get_course(session: Session, course_id: int) -> Course:
    """The course with `course_id`, or `NotFound` (the caller checks the actor's role)."""
    return get_row(session, Course, course_id, "course")
