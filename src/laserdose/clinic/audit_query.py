"""Reading the audit log: filter by person, patient, action and dates, newest first, one page at a time.

A patient's rows are those on the patient's record and on every record that belongs to the patient
(screenings, referrals, courses, outcomes, delivered sessions). Only admins read the log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import Session

from laserdose.clinic.models import (
    AuditEntry,
    Course,
    Outcome,
    Patient,
    Referral,
    Role,
    Screening,
    TreatmentSession,
    User,
)
from laserdose.clinic.users import require_role
from laserdose.errors import InputError

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class AuditFilter:
    """What to look for; every field empty means the whole log.

    Attributes:
        actor: the username (or `cli:<name>`) who did it, exactly.
        patient_id: the patient the rows are about.
        action: the action, exactly ("login", "patient.view", ...).
        date_from: first day included (UTC).
        date_to: last day included (UTC).
    """

    actor: str = ""
    patient_id: int | None = None
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of audit rows, newest first.

    Attributes:
        entries: the rows on this page.
        total: how many rows match in all.
        offset: rows before this page.
        limit: the page size.
    """

    entries: list[AuditEntry]
    total: int
    offset: int
    limit: int


def _patient_rows(session: Session, patient_id: int) -> ColumnElement[bool]:
    """The condition that picks the rows about `patient_id` and everything that belongs to them."""
    course_ids = select(Course.id).where(Course.patient_id == patient_id)
    owned: list[tuple[str, Select[tuple[int]]]] = [
        ("screenings", select(Screening.id).where(Screening.patient_id == patient_id)),
        ("referrals", select(Referral.id).where(Referral.patient_id == patient_id)),
        ("courses", course_ids),
        ("outcomes", select(Outcome.id).where(Outcome.patient_id == patient_id)),
        ("treatment_sessions", select(TreatmentSession.id).where(TreatmentSession.course_id.in_(course_ids))),
    ]
    conditions = [and_(AuditEntry.entity == "patients", AuditEntry.entity_id == patient_id)]
    conditions += [and_(AuditEntry.entity == entity, AuditEntry.entity_id.in_(ids)) for entity, ids in owned]
    return or_(*conditions)


def _where(session: Session, wanted: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if wanted.actor:
        conditions.append(AuditEntry.actor == wanted.actor)
    if wanted.action:
        conditions.append(AuditEntry.action == wanted.action)
    if wanted.patient_id is not None:
        conditions.append(_patient_rows(session, wanted.patient_id))
    if wanted.date_from and wanted.date_to and wanted.date_from > wanted.date_to:
        raise InputError(f"The From day {wanted.date_from} is after the To day {wanted.date_to}; swap them.")
    # `at` is ISO 8601 in UTC, so text order is time order.
    if wanted.date_from:
        conditions.append(AuditEntry.at >= wanted.date_from.isoformat())
    if wanted.date_to:
        conditions.append(AuditEntry.at < (wanted.date_to + dt.timedelta(days=1)).isoformat())
    return conditions or [true()]


def search(
    *, session: Session, actor: User, wanted: AuditFilter, offset: int = 0, limit: int = 50
) -> AuditPage:
    """Return one page of the audit rows that match `wanted`, newest first (admins).

    Args:
        session: open database session.
        actor: the user asking.
        wanted: the filter.
        offset: rows to skip (0 or more).
        limit: page size, 1-200.
    """
    require_role(actor, Role.ADMIN)
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise InputError(f"Page size must be between 1 and {MAX_PAGE_SIZE}, and the start 0 or later.")
    conditions = _where(session, wanted)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    rows = session.scalars(
        select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
    )
    return AuditPage(list(rows), total, offset, limit)


def choices(*, session: Session, actor: User) -> tuple[list[str], list[str]]:
    """The people and the actions that occur in the log, for the filter's lists (admins)."""
    require_role(actor, Role.ADMIN)
    people = session.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor))
    actions = session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    return list(people), list(actions)


def find_patient(*, session: Session, actor: User, text: str) -> Patient:
    """The patient with record number `text` (any case), or with id `text`; else `InputError`."""
    require_role(actor, Role.ADMIN)
    text = text.strip()
    patient = session.scalars(
        select(Patient).where(func.lower(Patient.record_number) == text.lower())
    ).first()
    if patient is None and text.isdigit() and len(text) < 10:
        patient = session.get(Patient, int(text))
    if patient is None:
        raise InputError(f"No patient has the record number {text}.")
    return patient
