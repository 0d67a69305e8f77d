"""Corrections without deletion: edit or void a record with a reason, keeping every previous version.

A correctable record (a patient, a screening, an outcome, a treatment session) is never deleted. Before
each edit or void, its columns as they were are kept in `record_versions` with who, when and why; the
change is written to the keyed, hash-chained audit log (field names and the version number, never values
or the reason's text). A voided record keeps its row: counts, charts, dashboards and reports leave it out
(`live`), and the chart's history shows it struck through with its reason. A record of a closed course
is not corrected until a clinician reopens the course (`course_closing.require_open`).

One registry, `KINDS`, names what can be corrected: making another record correctable is one line there,
beside the `Voidable` columns on its model and a migration adding them (visit notes came so).

Like every clinic service: the database session is keyword-only and never committed (the caller owns the
transaction); every change is checked against the actor's role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, inspect, select
from sqlalchemy.orm import Session

from laserdose.clinic.course_closing import require_open
from laserdose.clinic.models import (
    Base,
    Course,
    Outcome,
    Patient,
    RecordVersion,
    Role,
    Screening,
    TreatmentSession,
    User,
    VisitNote,
    Voidable,
    utcnow,
)
from laserdose.clinic.records import NotFound, audit_change, get_row
from laserdose.clinic.users import EDITORS, READERS, RECORDERS, require_role
from laserdose.domain.record_dates import local_day
from laserdose.errors import InputError

MAX_REASON_CHARS = 2000
_NOT_COPIED = frozenset({"id", "voided_at", "voided_by_id", "void_reason"})


@dataclass(frozen=True)
class Kind:
    """One kind of correctable record.

    Attributes:
        name: its name in URLs and commands, e.g. "outcomes".
        noun: how people call one, e.g. "outcome".
        model: the table's model (with the `Voidable` columns).
        roles: who may edit or void one.
        patient_of: the patient id a record belongs to (for the chart and the role check).
        editable: the fields an edit may change; empty when the record is corrected by voiding it and
            making a new one (a screening: its decision comes from its answers).
    """

    name: str
    noun: str
    model: type[Base]
    roles: tuple[Role, ...]
    patient_of: Callable[[Any], int]
    editable: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("patients", "patient", Patient, EDITORS, lambda row: row.id,
             ("name", "given_name", "family_name", "record_number", "birth_date", "skin_type", "bmi_kg_m2")),
        Kind("screenings", "screening", Screening, (Role.CLINICIAN,), lambda row: row.patient_id),
        Kind("outcomes", "outcome", Outcome, RECORDERS, lambda row: row.patient_id,
             ("assessed_on", "course_id", "nrs", "odi_sections", "rmdq_ticked", "analgesic_use",
              "exercise_adherence_percent")),
        Kind("sessions", "treatment session", TreatmentSession, RECORDERS, lambda row: row.course.patient_id,
             ("started_at", "duration_s", "energy_j_by_wavelength", "interruptions", "completed")),
        Kind("notes", "visit note", VisitNote, RECORDERS, lambda row: row.course.patient_id),
    )
}  # fmt: skip


def allowed_kinds(actor: User) -> frozenset[str]:
    """The kinds of record `actor` may correct or void."""
    return frozenset(name for name, kind in KINDS.items() if actor.role in kind.roles)


def kind_of(name: str) -> Kind:
    """The correctable kind called `name`, or InputError listing the kinds."""
    if name not in KINDS:
        raise InputError(f"{name!r} cannot be corrected; one of {', '.join(KINDS)} can")
    return KINDS[name]


def live(model: type[Base]) -> ColumnElement[bool]:
    """The WHERE clause that keeps only records of `model` that are not voided."""
    column: ColumnElement[bool] = model.voided_at.is_(None)  # type: ignore[attr-defined]
    return column


def check_reason(reason: str) -> str:
    """The reason for a correction, stripped; InputError unless it has 1-2000 printable characters."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise InputError("reason is required: say why the record is corrected or voided")
    if len(text) > MAX_REASON_CHARS or any(ord(char) < 32 and char not in "\n\t" for char in text):
        raise InputError(f"reason must have at most {MAX_REASON_CHARS} characters and no control characters")
    return text


_COPIED: dict[type[Base], tuple[str, ...]] = {}


def _copied(model: type[Base]) -> tuple[str, ...]:
    """The columns of `model` a version keeps, in the table's order (worked out once per model)."""
    if model not in _COPIED:
        _COPIED[model] = tuple(a.key for a in inspect(model).column_attrs if a.key not in _NOT_COPIED)
    return _COPIED[model]


def snapshot(row: Any, model: type[Base] | None = None) -> dict[str, Any]:
    """The record's columns (not its id nor its void state) as JSON-safe values: dates as ISO text.

    Args:
        row: the record, a model instance or a read-only row of `model` (the chart's).
        model: the record's model; None: the row's own class.
    """
    values: dict[str, Any] = {}
    for key in _copied(model or type(row)):
        value = getattr(row, key)
        values[key] = value.isoformat() if isinstance(value, dt.date) else value
    return values


def find(*, session: Session, actor: User, kind: str, record_id: int, lock: bool = False) -> tuple[Kind, Any]:
    """The kind and the record, checking that `actor` may correct it (NotFound, Forbidden).

    With `lock`, the row is locked until the transaction ends (PostgreSQL; SQLite has one writer anyway),
    so that two corrections of one record never take the same version number.
    """
    found = kind_of(kind)
    require_role(actor, *found.roles)
    if lock:
        row = session.get(found.model, record_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no {found.noun} with id {record_id}")
        return found, row
    return found, get_row(session, found.model, record_id, found.noun)


def _version(session: Session, kind: Kind, row: Any, actor: User, action: str, reason: str) -> RecordVersion:
    """The record's current version, numbered, not yet added to the session."""
    if row.voided_at is not None:
        raise InputError(f"{kind.noun} {row.id} is voided; a voided record is not changed again")
    if getattr(row, "status", "") == "running":
        raise InputError(f"{kind.noun} {row.id} is still running; correct it once it has ended")
    course_id = getattr(row, "course_id", None)
    course = session.get(Course, course_id) if course_id is not None else None
    if course is not None:  # a closed course is read-only, its records' corrections too
        require_open(course, f"{'voiding' if action == 'void' else 'correcting'} {kind.noun} {row.id}")
    table = kind.model.__tablename__
    count = select(func.count()).where(RecordVersion.entity == table, RecordVersion.entity_id == row.id)
    return RecordVersion(
        entity=table, entity_id=row.id, version=int(session.scalar(count) or 0) + 1, action=action,
        snapshot=snapshot(row), reason=reason, changed_by_id=actor.id,
    )  # fmt: skip


def begin_edit(
    *, session: Session, actor: User, kind: str, record_id: int, reason: str, changes: dict[str, Any]
) -> tuple[Any, RecordVersion]:
    """Take the record's current version before an edit; returns the record and that version.

    `changes` are only named here (each must be an editable field of the kind); the caller checks and
    applies their values, then calls `finish_edit`, which stores the version: an edit refused on the way
    leaves nothing behind.
    """
    found = kind_of(kind)
    if not found.editable:
        raise InputError(f"a {found.noun} is not edited: void it with a reason and record a new one")
    unknown = sorted(set(changes) - set(found.editable))
    if unknown:
        raise InputError(
            f"cannot change {', '.join(unknown)}; a correction may change {', '.join(found.editable)}"
        )
    reason = check_reason(reason)
    found, row = find(session=session, actor=actor, kind=kind, record_id=record_id, lock=True)
    return row, _version(session, found, row, actor, "edit", reason)


def finish_edit(
    *, session: Session, actor: User, kind: str, row: Any, kept: RecordVersion, fields: list[str]
) -> None:
    """Store the kept version, flush the edited record and audit the correction (field names, no values)."""
    found = kind_of(kind)
    session.add(kept)
    session.flush()
    noun = found.model.__tablename__
    audit_change(
        session, actor, f"{found.name}.correct", noun, row.id, fields=sorted(fields), version=kept.version
    )


def void(*, session: Session, actor: User, kind: str, record_id: int, reason: str) -> Any:
    """Void a record with a reason (kept, left out of counts and reports); returns it.

    Raises:
        InputError: no reason, or the record is already voided or still running.
    """
    reason = check_reason(reason)
    found, row = find(session=session, actor=actor, kind=kind, record_id=record_id, lock=True)
    kept = _version(session, found, row, actor, "void", reason)
    session.add(kept)
    row.voided_at, row.voided_by_id, row.void_reason = utcnow(), actor.id, reason
    session.flush()
    audit_change(
        session, actor, f"{found.name}.void", found.model.__tablename__, row.id, version=kept.version
    )
    return row


@dataclass(frozen=True)
class Change:
    """One field of a record as it was before a correction and as the next version has it."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Version:
    """A previous version of a record with what the correction after it changed.

    Attributes:
        version: its number (1: as first saved).
        action: "edit" or "void".
        reason: why it was changed.
        by: who changed it (username).
        at: when [UTC].
        changes: the fields the correction changed (none for a void).
        snapshot: the record's columns as they were.
    """

    version: int
    action: str
    reason: str
    by: str
    at: dt.datetime
    changes: tuple[Change, ...]
    snapshot: dict[str, Any]


def history(*, session: Session, actor: User, kind: str, record_id: int) -> list[Version]:
    """The record's previous versions, oldest first, each with what the next version changed (readers)."""
    found = kind_of(kind)
    row = get_row(session, found.model, record_id, found.noun)
    return histories(session=session, actor=actor, records=[(kind, row)])[kind, record_id]


# Built once, read as plain rows (the chart runs it on every view): the versions of some records with the
# username of who changed each.
_VERSIONS = (
    select(RecordVersion.__table__, User.username)
    .join(User, User.id == RecordVersion.changed_by_id)
    .where(
        RecordVersion.entity.in_(bindparam("entities", expanding=True)),
        RecordVersion.entity_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(RecordVersion.entity, RecordVersion.entity_id, RecordVersion.version)
)


def histories(
    *, session: Session, actor: User, records: list[tuple[str, Any]], versions: Iterable[Any] | None = None
) -> dict[tuple[str, int], list[Version]]:
    """`history` of many records (kind, row) in one query, keyed by (kind, id) (the chart reads them all).

    A row may be a model instance or a read-only row of the kind's model (`laserdose.clinic.chart_rows`).
    `versions` are the `record_versions` rows of these records, each with the `username` of who changed
    it, by entity, record and version, when the caller has read them already (rows of other records are
    left out); None: they are read here.
    """
    require_role(actor, *READERS)
    keys = {(kind_of(kind).model.__tablename__, row.id): (kind, row) for kind, row in records}
    found: dict[tuple[str, int], list[Version]] = {(kind, row.id): [] for kind, row in keys.values()}
    if not keys:
        return found
    if versions is None:
        parameters = {"entities": sorted({entity for entity, _ in keys}), "ids": sorted({i for _, i in keys})}
        versions = session.connection().execute(_VERSIONS, parameters)
    rows: dict[tuple[str, int], list[tuple[Any, str]]] = {}
    for kept in versions:
        if (kept.entity, kept.entity_id) in keys:
            rows.setdefault((kept.entity, kept.entity_id), []).append((kept, kept.username))
    for key, kept_rows in rows.items():
        kind, row = keys[key]
        found[kind, row.id] = _versions(kept_rows, snapshot(row, kind_of(kind).model))
    return found


def _versions(rows: list[tuple[Any, str]], current: dict[str, Any]) -> list[Version]:
    later = [kept.snapshot for kept, _ in rows[1:]] + [current]
    return [
        Version(
            kept.version, kept.action, kept.reason, username, kept.changed_at,
            tuple(Change(key, value, after.get(key)) for key, value in kept.snapshot.items()
                  if kept.action == "edit" and after.get(key) != value),
            kept.snapshot,
        )
        for (kept, username), after in zip(rows, later, strict=True)
    ]  # fmt: skip


def first_record_day(session: Session, patient_id: int) -> dt.date | None:
    """The local day of the patient's earliest live screening, outcome or session, or None."""
    days: list[dt.date] = []
    screened = select(func.min(Screening.at)).where(Screening.patient_id == patient_id, live(Screening))
    started = (
        select(func.min(TreatmentSession.started_at))
        .join(TreatmentSession.course)
        .where(Course.patient_id == patient_id, live(TreatmentSession))
    )
    for moment in (session.scalar(screened), session.scalar(started)):
        if moment is not None:
            days.append(local_day(_aware(moment)))
    assessed = session.scalar(
        select(func.min(Outcome.assessed_on)).where(Outcome.patient_id == patient_id, live(Outcome))
    )
    if assessed is not None:
        days.append(assessed)
    return min(days, default=None)


def _aware(moment: dt.datetime) -> dt.datetime:
    # An aggregate bypasses the column type: SQLite gives back naive UTC (or text).
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def is_voided(row: Voidable) -> bool:
    """Whether the record was voided."""
    return row.voided_at is not None
