"""Clinic operations: pure database work, no HTTP, no printing.

Every function takes the session as a keyword-only argument and never commits: the caller (a web request,
a CLI command, a test) owns the transaction. Every change is checked against the actor's role and
written to the audit log with field names only, never patient data values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laserdose.clinic import audit
from laserdose.clinic.models import Course, Outcome, Patient, Role, Screening, TreatmentSession, User, utcnow
from laserdose.clinic.users import require_role
from laserdose.clinical import outcomes as scoring
from laserdose.domain.quantities import BMI, ENERGY, SKIN_TYPE, check_birth_date
from laserdose.domain.wavelengths import wavelength_key
from laserdose.errors import InputError, require_range

READERS = (Role.ADMIN, Role.CLINICIAN, Role.OPERATOR)
ANALGESIC_USE = ("none", "as_needed", "daily")


class NotFound(InputError):
    """The requested record does not exist."""


def _audit(session: Session, actor: User, action: str, entity: str, entity_id: int, **details: Any) -> None:
    audit.record(
        session=session, actor=actor.username, action=action, entity=entity, entity_id=entity_id,
        details=details,
    )  # fmt: skip


def _check_patient_fields(name: str, birth_date: dt.date, skin_type: int, bmi_kg_m2: float) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200 or any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InputError("name must have 1-200 characters and no control characters")
    check_birth_date(birth_date)
    SKIN_TYPE.check_whole(skin_type)
    BMI.check(bmi_kg_m2)
    return name


def add_patient(
    *, session: Session, actor: User, name: str, birth_date: dt.date, skin_type: int, bmi_kg_m2: float
) -> Patient:
    """Create a patient (clinician or admin).

    Args:
        session: open database session.
        actor: the user doing it.
        name: full name.
        birth_date: date of birth.
        skin_type: Fitzpatrick skin type [1-6].
        bmi_kg_m2: body mass index [kg/m2].
    """
    require_role(actor, Role.CLINICIAN, Role.ADMIN)
    name = _check_patient_fields(name, birth_date, skin_type, bmi_kg_m2)
    patient = Patient(name=name, birth_date=birth_date, skin_type=skin_type, bmi_kg_m2=bmi_kg_m2)
    session.add(patient)
    session.flush()
    _audit(session, actor, "patient.create", "patients", patient.id)
    return patient


def update_patient(*, session: Session, actor: User, patient_id: int, **changes: Any) -> Patient:
    """Change some of name, birth_date, skin_type, bmi_kg_m2 of a patient (clinician or admin)."""
    require_role(actor, Role.CLINICIAN, Role.ADMIN)
    patient = get_patient(session=session, actor=actor, patient_id=patient_id)
    unknown = set(changes) - {"name", "birth_date", "skin_type", "bmi_kg_m2"}
    if unknown:
        raise InputError(f"cannot change {', '.join(sorted(unknown))}")
    merged = {
        "name": patient.name, "birth_date": patient.birth_date, "skin_type": patient.skin_type,
        "bmi_kg_m2": patient.bmi_kg_m2, **changes,
    }  # fmt: skip
    merged["name"] = _check_patient_fields(**merged)
    for field, value in merged.items():
        setattr(patient, field, value)
    session.flush()
    _audit(session, actor, "patient.update", "patients", patient.id, fields=sorted(changes))
    return patient


def get_patient(*, session: Session, actor: User, patient_id: int) -> Patient:
    """Return a patient or raise `NotFound`."""
    require_role(actor, *READERS)
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"no patient with id {patient_id}")
    return patient


def search_patients(*, session: Session, actor: User, query: str = "", limit: int = 50) -> list[Patient]:
    """Return patients whose name contains `query` (case-insensitive), by name."""
    require_role(actor, *READERS)
    statement = select(Patient).order_by(Patient.name, Patient.id).limit(limit)
    if query.strip():
        query = "".join(char for char in query if ord(char) >= 32)  # PostgreSQL refuses NUL in text
        escaped = query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(func.lower(Patient.name).like(f"%{escaped}%", escape="\\"))
    return list(session.scalars(statement))


def record_screening(
    *,
    session: Session,
    actor: User,
    patient_id: int,
    decision: str,
    answers: dict[str, Any],
    reasons: list[str],
) -> Screening:
    """Store a screening's decision, answers and reasons (clinician)."""
    require_role(actor, Role.CLINICIAN)
    get_patient(session=session, actor=actor, patient_id=patient_id)
    screening = Screening(
        patient_id=patient_id, clinician_id=actor.id, decision=decision, answers=answers, reasons=reasons
    )
    session.add(screening)
    session.flush()
    _audit(session, actor, "screening.create", "screenings", screening.id, decision=decision)
    return screening


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
    """Create an unsigned course of care (clinician)."""
    require_role(actor, Role.CLINICIAN)
    get_patient(session=session, actor=actor, patient_id=patient_id)
    require_range("sessions_planned", sessions_planned, 1, 60)
    require_range("sessions_per_week", sessions_per_week, 1, 7)
    course = Course(
        patient_id=patient_id, clinician_id=actor.id, condition=condition, protocol=protocol, plan=plan,
        sessions_planned=sessions_planned, sessions_per_week=sessions_per_week,
        home_exercise=home_exercise, advice=advice,
    )  # fmt: skip
    session.add(course)
    session.flush()
    _audit(session, actor, "course.create", "courses", course.id, protocol=protocol)
    return course


def sign_course(*, session: Session, actor: User, course_id: int, **details: Any) -> Course:
    """Sign a course's plan so operators may run it (clinician); `details` go to the audit entry."""
    require_role(actor, Role.CLINICIAN)
    course = session.get(Course, course_id)
    if course is None:
        raise NotFound(f"no course with id {course_id}")
    if course.signed_at is not None:
        raise InputError(f"course {course_id} is already signed")
    course.signed_by_id, course.signed_at = actor.id, utcnow()
    session.flush()
    _audit(session, actor, "course.sign", "courses", course.id, **details)
    return course


EARLIEST_SESSION = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # no Class 4 back-pain laser records before this


def _check_session_start(started_at: dt.datetime) -> None:
    if started_at.tzinfo is None:
        raise InputError("started_at needs a time zone")
    latest = utcnow() + dt.timedelta(days=1)  # a day of slack for a machine clock that runs ahead
    if not EARLIEST_SESSION <= started_at <= latest:
        raise InputError(f"started_at must be between {EARLIEST_SESSION.date()} and tomorrow")


def record_session(
    *,
    session: Session,
    actor: User,
    course_id: int,
    started_at: dt.datetime,
    duration_s: float,
    energy_j_by_wavelength: Mapping[int, float],
    interruptions: list[dict[str, Any]],
    completed: bool,
) -> TreatmentSession:
    """Store a delivered session from the controller's record (operator or clinician).

    Args:
        session: open database session.
        actor: the user who ran the session.
        course_id: the signed course it belongs to.
        started_at: when emission was first armed.
        duration_s: emission time [s].
        energy_j_by_wavelength: delivered energy per wavelength {nm: J} (keys as `wavelength_key` reads).
        interruptions: [{"at_s": seconds into the session, "reason": text}, ...].
        completed: whether the planned energy was reached.
    """
    require_role(actor, Role.OPERATOR, Role.CLINICIAN)
    course = session.get(Course, course_id)
    if course is None:
        raise NotFound(f"no course with id {course_id}")
    if course.signed_at is None:
        raise InputError(f"course {course_id} has no signed plan; a clinician must sign it first")
    _check_session_start(started_at)
    require_range("duration_s", duration_s, 0.0, 24 * 3600.0, unit="s")
    energies = {wavelength_key(nm): ENERGY.check(energy_j) for nm, energy_j in energy_j_by_wavelength.items()}
    for item in interruptions:
        if set(item) != {"at_s", "reason"}:
            raise InputError("each interruption needs exactly 'at_s' and 'reason'")
    record = TreatmentSession(
        course_id=course_id, operator_id=actor.id, started_at=started_at.astimezone(dt.UTC),
        duration_s=duration_s,
        energy_j_by_wavelength=energies,
        interruptions=interruptions, completed=completed,
    )  # fmt: skip
    session.add(record)
    session.flush()
    _audit(session, actor, "session.record", "treatment_sessions", record.id, completed=completed)
    return record


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
    """Score and store an outcome assessment (clinician or operator); at least one measure is needed."""
    require_role(actor, Role.CLINICIAN, Role.OPERATOR)
    get_patient(session=session, actor=actor, patient_id=patient_id)
    if nrs is None and odi_sections is None and rmdq_ticked is None:
        raise InputError("an outcome needs at least one of pain NRS, ODI or RMDQ")
    if analgesic_use is not None and analgesic_use not in ANALGESIC_USE:
        raise InputError(f"analgesic_use must be one of {', '.join(ANALGESIC_USE)}")
    if exercise_adherence_percent is not None:
        require_range("exercise adherence", exercise_adherence_percent, 0.0, 100.0, unit="%")
    outcome = Outcome(
        patient_id=patient_id, course_id=course_id, recorded_by_id=actor.id, assessed_on=assessed_on,
        nrs=None if nrs is None else scoring.score_nrs(nrs),
        odi_percent=None if odi_sections is None else scoring.score_odi(odi_sections).index_percent,
        odi_answers=None if odi_sections is None else list(odi_sections),
        rmdq=None if rmdq_ticked is None else scoring.score_rmdq(rmdq_ticked),
        rmdq_answers=None if rmdq_ticked is None else list(rmdq_ticked), analgesic_use=analgesic_use,
        exercise_adherence_percent=exercise_adherence_percent,
    )  # fmt: skip
    session.add(outcome)
    session.flush()
    _audit(session, actor, "outcome.record", "outcomes", outcome.id)
    return outcome


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of a patient's chart.

    Attributes:
        when: date of the event.
        kind: screening, course, session or outcome.
        summary: one line for people.
    """

    when: dt.date
    kind: str
    summary: str


def _outcome_summary(outcome: Outcome) -> str:
    parts = []
    if outcome.nrs is not None:
        parts.append(f"pain NRS {outcome.nrs}/10")
    if outcome.odi_percent is not None:
        parts.append(f"ODI {outcome.odi_percent:.0f} %")
    if outcome.rmdq is not None:
        parts.append(f"RMDQ {outcome.rmdq}/24")
    if outcome.analgesic_use is not None:
        parts.append(f"analgesics {outcome.analgesic_use.replace('_', ' ')}")
    if outcome.exercise_adherence_percent is not None:
        parts.append(f"home exercise {outcome.exercise_adherence_percent:.0f} %")
    return ", ".join(parts)


@dataclass(frozen=True)
class CourseSummary:
    """A course with how many of its planned sessions were delivered.

    Attributes:
        course: the course.
        delivered: sessions recorded [-].
        completed: sessions that reached the planned energy [-].
        energy_j: energy delivered over all sessions and wavelengths [J].
    """

    course: Course
    delivered: int
    completed: int
    energy_j: float


def course_summaries(*, session: Session, actor: User, patient_id: int) -> list[CourseSummary]:
    """Return the patient's courses, oldest first, with delivery counts."""
    get_patient(session=session, actor=actor, patient_id=patient_id)
    summaries = []
    for course in session.scalars(select(Course).where(Course.patient_id == patient_id).order_by(Course.id)):
        records = list(
            session.scalars(select(TreatmentSession).where(TreatmentSession.course_id == course.id))
        )
        energy_j = sum(float(v) for r in records for v in r.energy_j_by_wavelength.values())
        summaries.append(CourseSummary(course, len(records), sum(r.completed for r in records), energy_j))
    return summaries


def timeline(*, session: Session, actor: User, patient_id: int) -> list[TimelineEvent]:
    """Return the patient's screenings, courses, sessions and outcomes, oldest first."""
    get_patient(session=session, actor=actor, patient_id=patient_id)
    screenings = session.scalars(select(Screening).where(Screening.patient_id == patient_id))
    events = [TimelineEvent(s.at.date(), "screening", f"screening: {s.decision}") for s in screenings]
    for course in session.scalars(select(Course).where(Course.patient_id == patient_id)):
        signed = "signed" if course.signed_at else "not signed"
        events.append(
            TimelineEvent(course.created_at.date(), "course", f"course {course.protocol} ({signed})")
        )
        for record in session.scalars(
            select(TreatmentSession).where(TreatmentSession.course_id == course.id)
        ):
            energy_j = sum(float(v) for v in record.energy_j_by_wavelength.values())
            state = "completed" if record.completed else f"{len(record.interruptions)} interruption(s)"
            state = "running" if record.status == "running" else state
            events.append(
                TimelineEvent(record.started_at.date(), "session", f"session {energy_j:.0f} J, {state}")
            )
    events += [
        TimelineEvent(o.assessed_on, "outcome", _outcome_summary(o)) for o in _outcomes(session, patient_id)
    ]
    return sorted(events, key=lambda event: event.when)


def _outcomes(session: Session, patient_id: int) -> list[Outcome]:
    statement = select(Outcome).where(Outcome.patient_id == patient_id)
    return list(session.scalars(statement.order_by(Outcome.assessed_on, Outcome.id)))


@dataclass(frozen=True)
class OutcomePoint:
    """One assessment on the pain and disability chart; `responder` is versus the first assessment."""

    outcome_id: int
    assessed_on: dt.date
    nrs: int | None
    odi_percent: float | None
    rmdq: int | None
    responder: dict[str, bool]


def outcome_series(*, session: Session, actor: User, patient_id: int) -> list[OutcomePoint]:
    """Return the patient's assessments by date with MIC responder flags against each measure's baseline."""
    get_patient(session=session, actor=actor, patient_id=patient_id)
    baseline: dict[scoring.Measure, float] = {}
    points = []
    for outcome in _outcomes(session, patient_id):
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
                outcome.id, outcome.assessed_on, outcome.nrs, outcome.odi_percent, outcome.rmdq, flags
            )
        )
    return points
