"""The rows a patient's chart shows, read with plain statements into light read-only records.

The chart page only reads, and it is the page people open most: loading its rows as ORM objects (identity
map, instrumented attributes, one unit of work per statement) cost more than the statements themselves.
Here each table is read once with a statement built once (and the earlier versions of every
correctable record among them with one more), and each row becomes a `ChartRow`: its columns
as attributes (the same names and values, JSON and UTC datetimes decoded by the columns' types), plus the
related rows the chart needs set by the loader (a screening's `referral`, a course's `sessions`,
`closures`, `closure` and `consent`, the patient's `screenings` and `courses`). Nothing is cached: every
view reads the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from laserdose.clinic.models import (
    Consent,
    Course,
    CourseClosure,
    Outcome,
    Patient,
    RecordVersion,
    Referral,
    Screening,
    TreatmentSession,
    User,
    VisitNote,
)
from laserdose.clinic.pipelined import read_all
from laserdose.clinic.records import NotFound


class ChartRow(SimpleNamespace):
    """One row read for the chart: its columns as attributes, and the related rows the loader set.

    A column the chart does not read (see `_LEFT_OUT`) is an error, not an empty value: a template that
    starts to show one fails its tests instead of showing nothing.
    """

    def __getattr__(self, name: str) -> Any:
        """Called only for a name the row does not have."""
        if name.startswith("__"):  # Python's and libraries' probes (__html__, __len__, ...)
            raise AttributeError(name)
        raise LookupError(f"the chart does not read {name!r}; add it in laserdose.clinic.chart_rows")


@dataclass(frozen=True)
class ChartRows:
    """A patient's rows for the chart.

    Attributes:
        patient: the patient, with `screenings` (each with `referral`, a row or None) and `courses` (each
            with `sessions`, `closures`, `closure`: the closing in force or None, and `consent`).
        outcomes: every assessment, voided ones included, by date.
        notes: the visit notes of each course, by course id.
        versions: the earlier versions of the patient's correctable records (the patient, screenings,
            outcomes, sessions, visit notes), each with the `username` of who changed it, by entity,
            record and version.
    """

    patient: ChartRow
    outcomes: list[ChartRow]
    notes: dict[int, list[ChartRow]]
    versions: list[Any]


# Columns the chart never shows, left out of its statements: on PostgreSQL each column of a result costs a
# description entry, and JSON columns are decoded on every read. A record with earlier versions is read
# whole again (`_whole`): its history compares every column.
_LEFT_OUT = {
    Screening: ("clinician_id", "reasons", "voided_by_id"),
    Referral: ("patient_id", "screening_id", "complaint", "reasons", "referred_by_id", "referred_at",
               "outcome_by_id", "override_by_id"),
    TreatmentSession: ("operator_id", "last_heartbeat_at", "device", "power_check_id", "calibration",
                       "same_day_confirmed_by_id", "same_day_confirmed_at", "appointment_id", "checklist_id",
                       "voided_by_id"),
    Outcome: ("recorded_by_id", "odi_answers", "rmdq_answers", "voided_by_id"),
}  # fmt: skip


def _shown(model: Any) -> list[Any]:
    """The columns of `model`'s table that the chart reads."""
    return [column for column in model.__table__.c if column.name not in _LEFT_OUT.get(model, ())]


_PATIENT_ID: BindParameter[int] = bindparam("patient_id")
_REFERRAL = [column.label(f"referral_{column.name}") for column in _shown(Referral)]
_PATIENT = select(Patient.__table__).where(Patient.id == _PATIENT_ID)
_SCREENINGS = (
    select(*_shown(Screening), *_REFERRAL)
    .outerjoin(Referral, Referral.screening_id == Screening.id)
    .where(Screening.patient_id == _PATIENT_ID)
    .order_by(Screening.id)
)
_COURSES = (
    select(Course.__table__, Consent.signed_on.label("consent_signed_on"))
    .outerjoin(Consent, Consent.course_id == Course.id)
    .where(Course.patient_id == _PATIENT_ID)
    .order_by(Course.id)
)


def _of_courses(table: Any) -> Select[Any]:
    """Every row of a course-owned `table` for the patient's courses, by id."""
    return (
        select(*_shown(table))
        .join(Course, Course.id == table.course_id)
        .where(Course.patient_id == _PATIENT_ID)
        .order_by(table.id)
    )


_SESSIONS = _of_courses(TreatmentSession)
_CLOSURES = _of_courses(CourseClosure)
_NOTES = _of_courses(VisitNote)
_OUTCOMES = (
    select(*_shown(Outcome))
    .where(Outcome.patient_id == _PATIENT_ID)
    .order_by(Outcome.assessed_on, Outcome.id)
)


def _versions_of(model: Any, ids: Select[Any]) -> ColumnElement[bool]:
    return and_(RecordVersion.entity == model.__tablename__, RecordVersion.entity_id.in_(ids))


def _course_record_ids(model: Any) -> Select[Any]:
    return select(model.id).join(Course, Course.id == model.course_id).where(Course.patient_id == _PATIENT_ID)


# One statement with the patient id its only parameter (compiled once), rather than the ids of every record
# listed in it (compiled again for each number of records).
_VERSIONS = (
    select(RecordVersion.__table__, User.username)
    .join(User, User.id == RecordVersion.changed_by_id)
    .where(
        or_(
            and_(RecordVersion.entity == Patient.__tablename__, RecordVersion.entity_id == _PATIENT_ID),
            _versions_of(Screening, select(Screening.id).where(Screening.patient_id == _PATIENT_ID)),
            _versions_of(Outcome, select(Outcome.id).where(Outcome.patient_id == _PATIENT_ID)),
            _versions_of(TreatmentSession, _course_record_ids(TreatmentSession)),
            _versions_of(VisitNote, _course_record_ids(VisitNote)),
        )
    )
    .order_by(RecordVersion.entity, RecordVersion.entity_id, RecordVersion.version)
)
# Read together (`laserdose.clinic.pipelined`: one round trip on PostgreSQL).
_READS = (_PATIENT, _SCREENINGS, _COURSES, _SESSIONS, _CLOSURES, _NOTES, _OUTCOMES, _VERSIONS)
_REFERRAL_KEYS = tuple((label.name, label.name.removeprefix("referral_")) for label in _REFERRAL)


def _with_referral(screening: ChartRow) -> ChartRow:
    """The screening with its referral (columns labelled `referral_*`) as a row of its own, or None."""
    referral = {column: screening.__dict__.pop(label) for label, column in _REFERRAL_KEYS}
    screening.referral = ChartRow(**referral) if referral["id"] is not None else None
    return screening


def _by_course(rows: Iterable[ChartRow], courses: list[ChartRow]) -> dict[int, list[ChartRow]]:
    grouped: dict[int, list[ChartRow]] = {course.id: [] for course in courses}
    for row in rows:
        grouped[row.course_id].append(row)
    return grouped


def load_chart_rows(session: Session, patient_id: int) -> ChartRows:
    """Read the patient's chart rows, one statement per table, read together (NotFound: no such patient).

    The caller checks the reader's role.
    """
    patients, screenings, course_rows, sessions, closures, notes, outcomes, versions = (
        [ChartRow(**values) for values in rows]
        for rows in read_all(session.connection(), _READS, {"patient_id": patient_id})
    )
    if not patients:
        raise NotFound(f"no patient with id {patient_id}")
    patient = patients[0]
    patient.screenings = [_with_referral(screening) for screening in screenings]
    patient.courses = courses = course_rows
    sessions_of, closures_of = _by_course(sessions, courses), _by_course(closures, courses)
    for course in courses:
        signed_on = course.__dict__.pop("consent_signed_on")
        course.consent = ChartRow(signed_on=signed_on) if signed_on is not None else None
        course.sessions, course.closures = sessions_of[course.id], closures_of[course.id]
        current = [closure for closure in course.closures if closure.reopened_at is None]
        course.closure = current[-1] if current else None  # as Course.closure: the closing in force
    corrected = {(kept.entity, kept.entity_id) for kept in versions}
    if corrected:
        all_sessions = [record for course in courses for record in course.sessions]
        for model, rows in (
            (Screening, patient.screenings),
            (TreatmentSession, all_sessions),
            (Outcome, outcomes),
        ):
            _whole(session, model, [row for row in rows if (model.__tablename__, row.id) in corrected])
    return ChartRows(patient, outcomes, _by_course(notes, courses), versions)


def _whole(session: Session, model: Any, rows: list[ChartRow]) -> None:
    """Read every column of these rows of `model` (records with earlier versions: histories compare all)."""
    if not rows:
        return
    by_id = {row.id: row for row in rows}
    statement = select(model.__table__).where(model.id.in_(list(by_id)))
    for values in session.connection().execute(statement).mappings():
        by_id[values["id"]].__dict__.update(values)
