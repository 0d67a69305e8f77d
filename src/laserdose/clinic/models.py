"""Database tables (SQLAlchemy 2.0 declarative, typed with `Mapped[...]`).

Units are in column names (`bmi_kg_m2`, `energy_j`); JSON columns hold structured answers whose shape
is defined by the layer that produced them (screening answers, the signed plan, interruptions).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    """Return the current time in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime stored in UTC; SQLite keeps no zone, so it is put back on reading."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone (UTC inside laserdose)")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Return the stored time as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Role(StrEnum):
    """What a user may do: admins manage users, clinicians screen and plan, operators run signed plans."""

    ADMIN = "admin"
    CLINICIAN = "clinician"
    OPERATOR = "operator"


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """A person who logs in."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'clinician', 'operator')", name="ck_users_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Raised by logout, password change and deactivation: every session cookie and API token that carries
    # an older value stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # base32; None: no second factor
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # the last accepted time step (no replay)


class Voidable:
    """Columns of a record that can be voided (never deleted): when, by whom and why.

    A voided record stays in the database and in the chart's history; counts, charts, dashboards and
    reports leave it out (`laserdose.clinic.corrections`).
    """

    voided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class Patient(Voidable, Base):
    """A patient; `skin_type` is the Fitzpatrick type 1-6.

    `name` is the name as shown ("given family"), kept equal to the two parts by `laserdose.clinic.patients`;
    lists sort by `family_name`. `record_number` is the clinic's record number: unique, typed by the clinic
    or given by laserdose ("LD-" and the id).
    """

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("skin_type BETWEEN 1 AND 6", name="ck_patients_skin_type"),
        CheckConstraint("bmi_kg_m2 > 0", name="ck_patients_bmi"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    given_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    family_name: Mapped[str] = mapped_column(String(200), default="", server_default="", index=True)
    record_number: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    skin_type: Mapped[int] = mapped_column(Integer)
    bmi_kg_m2: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    screenings: Mapped[list[Screening]] = relationship(back_populates="patient", order_by="Screening.id")
    courses: Mapped[list[Course]] = relationship(back_populates="patient", order_by="Course.id")
    outcomes: Mapped[list[Outcome]] = relationship(back_populates="patient", order_by="Outcome.id")


class Screening(Voidable, Base):
    """A contraindication and red-flag screening with its decision (answers as given, JSON)."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decision: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reasons: Mapped[list[Any]] = mapped_column(default=list)

    patient: Mapped[Patient] = relationship(back_populates="screenings")
    referral: Mapped[Referral | None] = relationship(back_populates="screening", uselist=False)


class Referral(Base):
    """A referral a screening made (red flag, or medical opinion first), and what came of it.

    status is "open" until the outcome is recorded ("cleared" or "not-cleared") or a clinician overrides
    it with a reason ("overridden"). Planning for the complaint opens only when cleared or overridden.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'cleared', 'not-cleared', 'overridden')", name="ck_referrals_status"
        ),
        CheckConstraint("urgency IN ('routine', 'urgent', 'emergency')", name="ck_referrals_urgency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"), unique=True)
    complaint: Mapped[str] = mapped_column(String(64))
    urgency: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    referred_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    referred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")
    seen_by: Mapped[str] = mapped_column(String(200), default="")
    seen_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    override_reason: Mapped[str] = mapped_column(Text, default="")
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    screening: Mapped[Screening] = relationship(back_populates="referral")


class Course(Base):
    """A course of care: the signed laser plan and schedule beside home exercise and advice.

    A course with an open `CourseClosure` (see clinic/course_closing.py) is closed and read-only.
    """

    __tablename__ = "courses"
    __table_args__ = (CheckConstraint("sessions_planned > 0", name="ck_courses_sessions_planned"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    condition: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[str] = mapped_column(String(64))
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sessions_planned: Mapped[int] = mapped_column(Integer)
    sessions_per_week: Mapped[int] = mapped_column(Integer)
    home_exercise: Mapped[str] = mapped_column(Text, default="")
    advice: Mapped[str] = mapped_column(Text, default="")
    # The treated zones marked on the body chart (laserdose.clinical.body_chart), in chart order.
    body_chart: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="courses")
    sessions: Mapped[list[TreatmentSession]] = relationship(
        back_populates="course", order_by="TreatmentSession.id"
    )
    consent: Mapped[Consent | None] = relationship(viewonly=True)
    closures: Mapped[list[CourseClosure]] = relationship(order_by="CourseClosure.id")

    @property
    def closure(self) -> CourseClosure | None:
        """The closure in force (closed and not reopened), or None while the course is open."""
        current = [c for c in self.closures if c.reopened_at is None]
        return current[-1] if current else None


class CourseClosure(Base):
    """A course closed (discharged) with its outcome summary; reopening sets `reopened_*` and keeps it.

    `reason` is one of completed, stopped_early, referred, lost_to_follow_up; `summary` holds the first
    and last pain and disability scores of the course's outcomes when it was closed.
    """

    __tablename__ = "course_closures"
    __table_args__ = (
        CheckConstraint(
            "reason IN ('completed', 'stopped_early', 'referred', 'lost_to_follow_up')",
            name="ck_course_closures_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reopened_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    reopen_reason: Mapped[str] = mapped_column(Text, default="")


class TreatmentSession(Voidable, Base):
    """One delivered session, from the controller's session record.

    `energy_j_by_wavelength` maps a wavelength [nm] (as a string key) to delivered energy [J];
    `interruptions` is a list of {"at_s": seconds into the session, "reason": text}. A session run
    from the treatment console is `running` while the controller delivers it and is rewritten at every
    control period (`last_heartbeat_at`), so a server that dies mid-treatment leaves the record up to its
    last heartbeat; `device` holds the machine's identity (maker, model, serial) as it reported it.
    `completes_session_id` links a completion (the remaining energy of the same plan) to the interrupted
    session it completes; together they are one delivered dose. `same_day_*` hold the confirmation that
    a second dose on one calendar day was meant (who, when, why).
    """

    __tablename__ = "treatment_sessions"
    # An interrupted session is completed once: its completions form a chain, never a tree.
    __table_args__ = (Index("uq_treatment_sessions_completes", "completes_session_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    duration_s: Mapped[float] = mapped_column(Float)
    energy_j_by_wavelength: Mapped[dict[str, Any]] = mapped_column(default=dict)
    interruptions: Mapped[list[Any]] = mapped_column(default=list)
    completed: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="ended", server_default="ended")
    last_heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    device: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    power_check_id: Mapped[int | None] = mapped_column(ForeignKey("power_checks.id"))
    calibration: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    completes_session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_sessions.id"))
    same_day_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    same_day_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    same_day_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    checklist_id: Mapped[int | None] = mapped_column(ForeignKey("safety_checklists.id"), unique=True)

    course: Mapped[Course] = relationship(back_populates="sessions")
    checklist: Mapped[SafetyChecklist | None] = relationship()


class Outcome(Voidable, Base):
    """One outcome assessment: any of pain NRS, ODI, RMDQ, analgesic use, exercise adherence."""

    __tablename__ = "outcomes"
    __table_args__ = (
        CheckConstraint("nrs BETWEEN 0 AND 10", name="ck_outcomes_nrs"),
        CheckConstraint("odi_percent BETWEEN 0 AND 100", name="ck_outcomes_odi"),
        CheckConstraint("rmdq BETWEEN 0 AND 24", name="ck_outcomes_rmdq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    nrs: Mapped[int | None] = mapped_column(Integer)
    odi_percent: Mapped[float | None] = mapped_column(Float)
    odi_answers: Mapped[list[Any] | None] = mapped_column(JSON)
    rmdq: Mapped[int | None] = mapped_column(Integer)
    rmdq_answers: Mapped[list[Any] | None] = mapped_column(JSON)
    analgesic_use: Mapped[str | None] = mapped_column(String(32))
    exercise_adherence_percent: Mapped[float | None] = mapped_column(Float)

    patient: Mapped[Patient] = relationship(back_populates="outcomes")


class PowerCheck(Base):
    """A power check of one machine with an external meter, or a service visit that recalibrated it.

    `readings` is a list of {"wavelength_nm", "handpiece", "set_power_w", "monitor_w", "meter_w",
    "deviation_from_set", "deviation_from_monitor"}; `calibration` the machine's monitor factors and dates
    as it reported them ({"810": {"factor", "date"}}). A service row (`kind` "service") has no readings;
    it leaves the machine needing a passing check.
    """

    __tablename__ = "power_checks"
    __table_args__ = (
        CheckConstraint("kind IN ('check', 'service')", name="ck_power_checks_kind"),
        CheckConstraint("tolerance_fraction > 0 AND tolerance_fraction <= 1", name="ck_power_checks_tol"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    machine_serial: Mapped[str] = mapped_column(String(64), index=True)
    machine_profile: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    meter_id: Mapped[str] = mapped_column(String(64), default="")
    meter_calibrated_on: Mapped[dt.date | None] = mapped_column(Date)
    tolerance_fraction: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(default=False)
    worst_deviation: Mapped[float | None] = mapped_column(Float)
    readings: Mapped[list[Any]] = mapped_column(default=list)
    calibration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")


class QaPolicy(Base):
    """The clinic's power-check rules (one row; absent means the defaults of `laserdose.clinic.qa`)."""

    __tablename__ = "qa_policy"
    __table_args__ = (
        CheckConstraint("tolerance_fraction > 0 AND tolerance_fraction <= 0.2", name="ck_qa_policy_tol"),
        CheckConstraint("interval_days IS NULL OR interval_days > 0", name="ck_qa_policy_interval"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tolerance_fraction: Mapped[float] = mapped_column(Float)
    interval_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEntry(Base):
    """One append-only, hash-chained, keyed audit record (see `laserdose.clinic.audit`)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, stored as hashed
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # two writers cannot fork the chain
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    mac: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256 of `hash` under the audit key


class RecordVersion(Base):
    """A previous version of a corrected or voided record: its columns as they were, who changed it, why.

    `entity` is the record's table, `version` counts from 1 (the record as first saved); `action` is
    "edit" or "void"; `snapshot` holds the record's columns before the change (dates as ISO text).
    """

    __tablename__ = "record_versions"
    __table_args__ = (
        CheckConstraint("action IN ('edit', 'void')", name="ck_record_versions_action"),
        UniqueConstraint("entity", "entity_id", "version", name="uq_record_versions_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(8))
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Exercise(Base):
    """A home exercise of the clinic's library (laserdose.clinical.exercises): shipped or the clinic's own.

    Never deleted: `retired` takes it out of the choices for new programmes, and programmes keep it.
    """

    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    instructions: Mapped[str] = mapped_column(Text)
    sets: Mapped[int] = mapped_column(Integer)
    repetitions: Mapped[int] = mapped_column(Integer)
    hold_s: Mapped[int] = mapped_column(Integer)
    per_week: Mapped[int] = mapped_column(Integer)
    drawing: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")  # a source key or the clinic's own words
    evidence_note: Mapped[str] = mapped_column(Text, default="")
    shipped: Mapped[bool] = mapped_column(default=False)
    retired: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CourseExercise(Base):
    """An exercise prescribed in a course's home programme, with its dosage; stopped, never deleted."""

    __tablename__ = "course_exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"))
    sets: Mapped[int] = mapped_column(Integer)
    repetitions: Mapped[int] = mapped_column(Integer)
    hold_s: Mapped[int] = mapped_column(Integer)
    per_week: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    exercise: Mapped[Exercise] = relationship()


class VisitNote(Voidable, Base):
    """A note of one visit in a course (subjective, objective, assessment, plan), with pain before and after.

    `session_id` names the treatment session of that visit, when light was given.
    """

    __tablename__ = "visit_notes"
    __table_args__ = (
        CheckConstraint("pain_before BETWEEN 0 AND 10", name="ck_visit_notes_pain_before"),
        CheckConstraint("pain_after BETWEEN 0 AND 10", name="ck_visit_notes_pain_after"),
        CheckConstraint("exercise_adherence_percent BETWEEN 0 AND 100", name="ck_visit_notes_adherence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_sessions.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visit_on: Mapped[dt.date] = mapped_column(Date)
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    pain_before: Mapped[int | None] = mapped_column(Integer)
    pain_after: Mapped[int | None] = mapped_column(Integer)
    exercise_adherence_percent: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    course: Mapped[Course] = relationship()


class Medication(Base):
    """An analgesic the patient takes (as reported): drug, dose, how often, from when until when."""

    __tablename__ = "medications"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    drug: Mapped[str] = mapped_column(String(120))
    dose: Mapped[str] = mapped_column(String(60))
    how_often: Mapped[str] = mapped_column(String(60))
    started_on: Mapped[dt.date] = mapped_column(Date)
    stopped_on: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Appointment(Base):
    """One planned session of a signed course (session `number` of the course's `sessions_planned`).

    Made when the course is signed (clinic/schedule.py) and moved, audited, when the clinic needs to; the
    sessions delivered for it point at it (`TreatmentSession.appointment_id`), and its state follows
    from them.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("course_id", "number", name="uq_appointments_course_number"),
        CheckConstraint("number > 0", name="ck_appointments_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    planned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    move_reason: Mapped[str] = mapped_column(Text, default="")  # why it was last moved
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    course: Mapped[Course] = relationship()


class SafetyChecklist(Base):
    """The safety checklist completed before emission for one appointment; one ARM uses it.

    `items` maps each item's key (laserdose.safety.checklist) to True; `eyewear` is the eyewear that was
    shown as required ({"wavelength_nm", "od", "lb"} per wavelength). The session it let arm points at it
    (`TreatmentSession.checklist_id`, unique: a checklist serves one session).
    """

    __tablename__ = "safety_checklists"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    completed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    items: Mapped[dict[str, Any]] = mapped_column(default=dict)
    eyewear: Mapped[list[Any]] = mapped_column(default=list)

    completed_by: Mapped[User] = relationship()


class Consent(Base):
    """The patient's consent to Class 4 laser treatment for one course, as signed on the printed form.

    `patient_name` is the name as the patient signed; `form_version` the consent text they were given.
    """

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), unique=True)
    patient_name: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    taken_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    form_version: Mapped[str] = mapped_column(String(32))
