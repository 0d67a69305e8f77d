"""Outcome assessments: score and store one (pain NRS, ODI, RMDQ) on its course, and a patient's series.

An outcome belongs to a course of the same patient: given explicitly, or else the patient's single active
course (signed; the latest signed one is the form's default). Outcomes saved before this rule may have no
course; `unlinked_outcomes` lists them for a clinician to attach.

Like every clinic service: the database session is keyword-only and never committed (the caller owns the
transaction); every change is checked against the actor's role and audited with field names only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from laserdose.clinic import corrections
from laserdose.clinic.chart_rows import ChartRow
from laserdose.clinic.course_closing import CourseClosed, is_active, require_open
from laserdose.clinic.models import Course, Outcome, Patient, User
from laserdose.clinic.patients import get_patient, live_patient
from laserdose.clinic.records import audit_change
from laserdose.clinic.users import RECORDERS, require_role
from laserdose.clinical import outcomes as scoring
from laserdose.domain.record_dates import check_record_date, local_day
from laserdose.errors import InputError, require_range

ANALGESIC_USE = ("none", "as_needed", "daily")


def record_outcome(
    *,
    session: Session,
    actor: User,
    patient_id: int,
    assessed_on: dt.date,
    nrs: int | None = None,
    odi_sections: Sequence[int | None] | None = None,
    rmdq_ticked: Sequence[bool] | None = None,
    analgesic_use: str | None = None,
    exercise_adherence_percent: float | None = None,
    course_id: int | None = None,
) -> Outcome:
    """Score and store an outcome assessment (clinician or operator); at least one measure is needed.

    `course_id` must name one of the patient's courses; when omitted, the patient's single active course is
    used (see `outcome_course_id`).
    """
    require_role(actor, *RECORDERS)
    patient = live_patient(session=session, actor=actor, patient_id=patient_id)
    course_id = outcome_course_id(session=session, patient_id=patient_id, course_id=course_id)
    columns = outcome_columns(
        session=session, patient=patient, assessed_on=assessed_on, course_id=course_id, nrs=nrs,
        odi_sections=odi_sections, rmdq_ticked=rmdq_ticked, analgesic_use=analgesic_use,
        exercise_adherence_percent=exercise_adherence_percent,
    )  # fmt: skip
    outcome = Outcome(patient_id=patient_id, recorded_by_id=actor.id, **columns)
    session.add(outcome)
    session.flush()
    audit_change(session, actor, "outcome.record", "outcomes", outcome.id)
    return outcome


def check_assessment_date(
    *, session: Session, patient: Patient, assessed_on: dt.date, course_id: int | None
) -> dt.date:
    """The date rules (domain/record_dates.py) for an assessment of `patient` on the course `course_id`."""
    course = None if course_id is None else session.get(Course, course_id)
    return check_record_date(
        "date of assessment", assessed_on, today=dt.date.today(), birth_date=patient.birth_date,
        course_created_on=None if course is None else local_day(course.created_at),
    )  # fmt: skip


def outcome_columns(
    *,
    session: Session,
    patient: Patient,
    assessed_on: dt.date,
    course_id: int | None,
    nrs: int | None,
    odi_sections: Sequence[int | None] | None,
    rmdq_ticked: Sequence[bool] | None,
    analgesic_use: str | None,
    exercise_adherence_percent: float | None,
) -> dict[str, Any]:
    """Check an assessment and score it into the columns of an `Outcome` (InputError naming the field)."""
    if nrs is None and odi_sections is None and rmdq_ticked is None:
        raise InputError("an outcome needs at least one of pain NRS, ODI or RMDQ")
    if analgesic_use is not None and analgesic_use not in ANALGESIC_USE:
        raise InputError(f"analgesic_use must be one of {', '.join(ANALGESIC_USE)}")
    if exercise_adherence_percent is not None:
        require_range("exercise adherence", exercise_adherence_percent, 0.0, 100.0, unit="%")
    check_assessment_date(session=session, patient=patient, assessed_on=assessed_on, course_id=course_id)
    return {
        "course_id": course_id, "assessed_on": assessed_on,
        "nrs": None if nrs is None else scoring.score_nrs(nrs),
        "odi_percent": None if odi_sections is None else scoring.score_odi(odi_sections).index_percent,
        "odi_answers": None if odi_sections is None else list(odi_sections),
        "rmdq": None if rmdq_ticked is None else scoring.score_rmdq(rmdq_ticked),
        "rmdq_answers": None if rmdq_ticked is None else list(rmdq_ticked),
        "analgesic_use": analgesic_use, "exercise_adherence_percent": exercise_adherence_percent,
    }  # fmt: skip


def correct_outcome(
    *, session: Session, actor: User, outcome_id: int, reason: str, **changes: Any
) -> Outcome:
    """Correct an assessment (the fields of `record_outcome`), keeping its previous version with `reason`.

    A field given as None clears it; the corrected assessment is scored and checked as a new one.
    """
    row, kept = corrections.begin_edit(
        session=session, actor=actor, kind="outcomes", record_id=outcome_id, reason=reason, changes=changes
    )
    outcome: Outcome = row
    patient = get_patient(session=session, actor=actor, patient_id=outcome.patient_id)
    current: dict[str, Any] = {
        "assessed_on": outcome.assessed_on, "course_id": outcome.course_id, "nrs": outcome.nrs,
        "odi_sections": outcome.odi_answers, "rmdq_ticked": outcome.rmdq_answers,
        "analgesic_use": outcome.analgesic_use,
        "exercise_adherence_percent": outcome.exercise_adherence_percent,
    }  # fmt: skip
    merged = {**current, **changes}
    if "course_id" in changes:
        merged["course_id"] = outcome_course_id(
            session=session, patient_id=patient.id, course_id=changes["course_id"]
        )
    for field, value in outcome_columns(session=session, patient=patient, **merged).items():
        setattr(outcome, field, value)
    fields = [field for field in changes if changes[field] != current[field]]
    corrections.finish_edit(
        session=session, actor=actor, kind="outcomes", row=outcome, kept=kept, fields=fields
    )
    return outcome


def active_courses(session: Session, patient_id: int) -> list[Course]:
    """The patient's signed, open courses, latest signed first: those an outcome goes on by default."""
    statement = select(Course).where(Course.patient_id == patient_id, Course.signed_at.is_not(None))
    ordered = session.scalars(statement.order_by(Course.signed_at.desc(), Course.id.desc()))
    return [course for course in ordered if is_active(course)]


def outcome_course_id(*, session: Session, patient_id: int, course_id: int | None) -> int | None:
    """Return the course an outcome of the patient goes on, or raise InputError with the reason.

    An explicit `course_id` must be one of the patient's courses, and open (CourseClosed). Without one,
    the patient's single active course is used; none (an assessment before any signed course) leaves it
    unlinked, several are refused, and so is one after every course was closed (reopen one first).
    """
    if course_id is not None:
        course = session.get(Course, course_id)
        if course is None or course.patient_id != patient_id:
            raise InputError(f"course {course_id} is not one of this patient's courses")
        require_open(course, "recording an outcome")
        return course_id
    active = active_courses(session, patient_id)
    if len(active) > 1:
        numbers = ", ".join(str(c.id) for c in active)
        raise InputError(f"the patient has several active courses ({numbers}): choose the course_id")
    if active:
        return active[0].id
    courses = list(session.scalars(select(Course).where(Course.patient_id == patient_id).order_by(Course.id)))
    if courses and all(course.closure is not None for course in courses):
        raise CourseClosed(
            f"every course of this patient is closed (latest: course {courses[-1].id}): an outcome belongs"
            " to a course, so reopen it (or plan a new one) first"
        )
    return None


def unlinked_outcomes(session: Session) -> list[Outcome]:
    """Outcomes without a course (saved before outcomes were linked), by patient then date."""
    statement = select(Outcome).where(Outcome.course_id.is_(None), corrections.live(Outcome))
    return list(session.scalars(statement.order_by(Outcome.patient_id, Outcome.assessed_on, Outcome.id)))


_BY_PATIENT = (  # built once (the chart page runs it on every view)
    select(Outcome)
    .where(Outcome.patient_id == bindparam("patient_id"))
    .order_by(Outcome.assessed_on, Outcome.id)
)


def patient_outcomes(session: Session, patient_id: int, voided: bool = False) -> list[Outcome]:
    """The patient's assessments that are not voided (all, with `voided`), oldest first."""
    rows = session.scalars(_BY_PATIENT, {"patient_id": patient_id})
    return [row for row in rows if voided or row.voided_at is None]


@dataclass(frozen=True)
class OutcomePoint:
    """One assessment on the pain and disability chart; `responder` is versus the first assessment."""

    outcome_id: int
    assessed_on: dt.date
    nrs: int | None
    odi_percent: float | None
    rmdq: int | None
    responder: dict[str, bool]
    course_id: int | None = None


def outcome_series(*, session: Session, actor: User, patient_id: int) -> list[OutcomePoint]:
    """Return the patient's assessments by date with MIC responder flags against each measure's baseline."""
    get_patient(session=session, actor=actor, patient_id=patient_id)
    return series_of(patient_outcomes(session, patient_id))


def series_of(rows: Iterable[Outcome | ChartRow]) -> list[OutcomePoint]:
    """The chart points of a patient's assessments given oldest first (see `outcome_series`)."""
    baseline: dict[scoring.Measure, float] = {}
    points = []
    for outcome in rows:
        values = {
            scoring.Measure.NRS: outcome.nrs, scoring.Measure.ODI: outcome.odi_percent,
            scoring.Measure.RMDQ: outcome.rmdq,
        }  # fmt: skip
        flags = {}
        for measure, value in values.items():
            if value is None:
                continue
            first = baseline.setdefault(measure, value)
            flags[measure.value] = scoring.is_responder(measure, first, value)
        points.append(
            OutcomePoint(
                outcome.id,
                outcome.assessed_on,
                outcome.nrs,
                outcome.odi_percent,
                outcome.rmdq,
                flags,
                outcome.course_id,
            )
        )
    return points
