"""Who came in, who left and who looked at whose chart: logins, logouts and chart views in the audit log.

A failed login is recorded under the name tried only when an account of that name exists: a stranger's
text in the username field is often a password typed in the wrong box, and the log keeps no password.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import audit
from laserdose.clinic.chart_rows import ChartRow
from laserdose.clinic.models import Patient, User

UNKNOWN_USER = "(no such user)"


def record_login(*, session: Session, username: str, user: User | None, via: str) -> None:
    """Audit one login attempt (the caller commits, whether it succeeded or not).

    Args:
        session: open database session.
        username: the name typed.
        user: the user logged in, or None when the attempt failed.
        via: "page" (the login form) or "api" (a token).
    """
    if user is not None:
        audit.record(
            session=session, actor=user.username, action="login", entity="users", entity_id=user.id,
            details={"via": via},
        )  # fmt: skip
        return
    known = session.scalars(select(User).where(User.username == username[:64])).first()
    audit.record(
        session=session, actor=known.username if known else UNKNOWN_USER, action="login.failed",
        entity="users", entity_id=known.id if known else None,
        details={"via": via, "reason": "wrong password or code"},
    )  # fmt: skip


def record_logout(*, session: Session, user: User, via: str) -> None:
    """Audit a logout (which ends every session of the user)."""
    audit.record(
        session=session, actor=user.username, action="logout", entity="users", entity_id=user.id,
        details={"via": via},
    )  # fmt: skip


def record_view(*, session: Session, actor: User, patient: Patient | ChartRow, what: str) -> None:
    """Audit that `actor` looked at `patient`'s record (`what`: "chart", "api")."""
    audit.record(session=session, **view_entry(actor=actor, patient=patient, what=what))


def view_entry(*, actor: User, patient: Patient | ChartRow, what: str) -> dict[str, Any]:
    """The audit entry of `actor` looking at `patient`'s record, as `audit.record`'s keyword arguments."""
    return {
        "actor": actor.username, "action": "patient.view", "entity": "patients", "entity_id": patient.id,
        "details": {"view": what},
    }  # fmt: skip
