"""Treatment sessions: one recorded from a controller's record, or run from the treatment console.

A console session is opened before arming, rewritten every control period, and closed. Like every clinic
service, each function takes the database session keyword-only (`db`) and never commits. The record is
opened before the machine is armed (a session that cannot be recorded never starts), rewritten with the
delivered energy at every heartbeat, and closed with its outcome; emission start and stop are audited.
A server that dies mid-treatment leaves a `running` row: `recover_running_sessions` closes it at the next
start, keeping what the last heartbeat wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import audit, checklists, corrections, qa
from laserdose.clinic.completion import SameDay, completion_of, require_same_day_confirmation
from laserdose.clinic.course_closing import require_open
from laserdose.clinic.models import Appointment, Course, PowerCheck, Role, TreatmentSession, User, utcnow
from laserdose.clinic.patients import refuse_voided_patient
from laserdose.clinic.records import Conflict, audit_change, get_course, get_row
from laserdose.clinic.users import READERS, RECORDERS, require_role
from laserdose.device.ledger import ENERGY_TOLERANCE
from laserdose.domain.quantities import ENERGY
from laserdose.domain.record_dates import check_record_time
from laserdose.domain.wavelengths import wavelength_key
from laserdose.errors import InputError, require_range

RUNNING, ENDED = "running", "ended"
SERVER_LOST = "the server stopped during the session; energy as of its last heartbeat"


def signed_course(*, db: Session, actor: User, course_id: int) -> Course:
    """The course, if its plan is signed (any role that may watch the console)."""
    require_role(actor, *READERS)
    course = get_course(db, course_id)
    if course.signed_at is None:
        raise InputError(f"course {course_id} has no signed plan; a clinician must sign it first")
    return course


def check_session_start(course: Course, started_at: dt.datetime) -> dt.datetime:
    """The date rules (domain/record_dates.py) for a session of `course` that started at `started_at`."""
    return check_record_time(
        "session start", started_at, now=utcnow(), birth_date=course.patient.birth_date,
        course_created_at=course.created_at,
    )  # fmt: skip


def _session_fields(
    duration_s: float, energy_j_by_wavelength: Mapping[Any, float], interruptions: list[dict[str, Any]]
) -> dict[str, float]:
    """Check a session's time, energies and interruptions; returns the energies keyed as stored."""
    require_range("duration_s", duration_s, 0.0, 24 * 3600.0, unit="s")
    energies = {wavelength_key(nm): ENERGY.check(energy_j) for nm, energy_j in energy_j_by_wavelength.items()}
    for item in interruptions:
        if set(item) != {"at_s", "reason"}:
            raise InputError("each interruption needs exactly 'at_s' and 'reason'")
    return energies


def record_session(
    *,
    db: Session,
    actor: User,
    course_id: int,
    started_at: dt.datetime,
    duration_s: float,
    energy_j_by_wavelength: Mapping[int, float],
    interruptions: list[dict[str, Any]],
    completed: bool,
    appointment_id: int | None = None,
    completes_session_id: int | None = None,
    same_day: SameDay | None = None,
) -> TreatmentSession:
    """Store a delivered session from the controller's record (operator or clinician).

    Args:
        db: open database session.
        actor: the user who ran the session.
        course_id: the signed course it belongs to.
        started_at: when emission was first armed.
        duration_s: emission time [s].
        energy_j_by_wavelength: delivered energy per wavelength {nm: J} (keys as `wavelength_key` reads).
        interruptions: [{"at_s": seconds into the session, "reason": text}, ...].
        completed: whether the planned energy was reached (by a completion: the rest of the dose).
        appointment_id: the course's appointment it was delivered for, if known.
        completes_session_id: the interrupted session whose remaining energy this session delivered.
        same_day: the confirmation a second dose on one calendar day needs.

    Raises:
        Conflict: the course is closed; the session to complete cannot be completed, or this one
            delivered more than its remainder; a second dose that day is not confirmed.
    """
    require_role(actor, *RECORDERS)
    course = signed_course(db=db, actor=actor, course_id=course_id)
    refuse_voided_patient(course.patient)
    require_open(course, "recording a session")
    if appointment_id is not None:
        appointment = get_row(db, Appointment, appointment_id, "appointment")
        if appointment.course_id != course_id:
            raise InputError(f"appointment {appointment_id} is not one of course {course_id}'s sessions")
    if started_at.tzinfo is None:
        raise InputError("session start needs a time zone")
    energies = _session_fields(duration_s, energy_j_by_wavelength, interruptions)
    check_session_start(course, started_at)
    if completes_session_id is not None:
        _check_within_remainder(course, completes_session_id, energies)
    confirmed = require_same_day_confirmation(
        course, actor, started_at, same_day, besides=completes_session_id
    )
    record = TreatmentSession(
        course_id=course_id, operator_id=actor.id, started_at=started_at.astimezone(dt.UTC),
        duration_s=duration_s, energy_j_by_wavelength=energies, interruptions=interruptions,
        completed=completed, completes_session_id=completes_session_id, appointment_id=appointment_id,
        **confirmed,
    )  # fmt: skip
    db.add(record)
    db.flush()
    db.expire(course, ["sessions"])
    audit_change(
        db, actor, "session.record", "treatment_sessions", record.id, completed=completed,
        completes_session_id=completes_session_id, same_day_confirmed=bool(confirmed),
    )  # fmt: skip
    return record


def correct_session(
    *, db: Session, actor: User, session_id: int, reason: str, **changes: Any
) -> TreatmentSession:
    """Correct an ended session's record, keeping its previous version with `reason` (corrections.py).

    Changes may be started_at, duration_s, energy_j_by_wavelength, interruptions and completed; they are
    checked as a new record's. The calibrated energy of a console session is recomputed.
    """
    row, kept = corrections.begin_edit(
        session=db, actor=actor, kind="sessions", record_id=session_id, reason=reason, changes=changes
    )
    record: TreatmentSession = row
    merged: dict[str, Any] = {
        "started_at": record.started_at, "duration_s": record.duration_s,
        "energy_j_by_wavelength": record.energy_j_by_wavelength, "interruptions": record.interruptions,
        "completed": record.completed, **changes,
    }  # fmt: skip
    if merged["started_at"].tzinfo is None:
        raise InputError("session start needs a time zone")
    merged["energy_j_by_wavelength"] = _session_fields(
        merged["duration_s"], merged["energy_j_by_wavelength"], merged["interruptions"]
    )
    check_session_start(record.course, merged["started_at"])
    merged["started_at"] = merged["started_at"].astimezone(dt.UTC)
    merged["completed"] = bool(merged["completed"])
    fields = [field for field in changes if getattr(record, field) != merged[field]]
    for field, value in merged.items():
        setattr(record, field, value)
    if record.calibration and "delivered_j" in record.calibration:
        delivered = qa.calibrated_energy_j(record.energy_j_by_wavelength, record.calibration)
        record.calibration = {**record.calibration, "delivered_j": delivered}
    corrections.finish_edit(session=db, actor=actor, kind="sessions", row=record, kept=kept, fields=fields)
    return record


def _check_within_remainder(course: Course, session_id: int, energies: dict[str, float]) -> None:
    """Conflict when a completion's recorded energy is above what remained (beyond the 1 % tolerance)."""
    completion = completion_of(course, session_id)
    rest = {wavelength_key(wl): e for wl, e in completion.delivery.energy_j_by_wavelength.items()}
    planned = {key: rest.get(key, 0.0) + done for key, done in completion.delivered_j.items()}
    for key, energy_j in energies.items():
        if key not in planned:
            raise Conflict(f"the plan has no {key} nm source; a completion delivers only the plan's")
        if energy_j > rest.get(key, 0.0) + planned[key] * ENERGY_TOLERANCE:
            raise Conflict(
                f"a completion of session {session_id} may deliver at most {rest.get(key, 0.0):.1f} J at"
                f" {key} nm (what remained); the record says {energy_j:.1f} J"
            )


def open_session(
    *, db: Session, actor: User, course_id: int, device: dict[str, Any],
    completes_session_id: int | None = None, same_day: SameDay | None = None,
) -> TreatmentSession:  # fmt: skip
    """Create the `running` record of a console session before the machine is armed (operators).

    Nothing is opened when it raises.

    Args:
        db: open database session.
        actor: the operator who runs it.
        course_id: a course with a signed plan.
        device: the machine's identity as it reported it (manufacturer, model, serial, profile).
        completes_session_id: the interrupted session whose remaining energy this one delivers.
        same_day: the confirmation a second dose on one calendar day needs.

    Raises:
        ChecklistRefused: today's appointment of the course has no complete, unused safety checklist.
        PowerCheckRefused: the machine's power check is missing, failed, overdue or unknown.
        Conflict: the course is closed, the session cannot be completed, or a second dose that day is not
            confirmed.
    """
    require_role(actor, Role.OPERATOR)
    course = signed_course(db=db, actor=actor, course_id=course_id)
    refuse_voided_patient(course.patient)
    require_open(course, "starting a session")
    if completes_session_id is not None:
        completion_of(course, completes_session_id)
    now = utcnow()
    confirmed = require_same_day_confirmation(course, actor, now, same_day, besides=completes_session_id)
    appointment, checklist = checklists.checklist_for_arm(
        session=db, actor=actor, course_id=course_id, now=now
    )
    check = require_power_check(db=db, device=device)
    record = TreatmentSession(
        course_id=course_id, operator_id=actor.id, started_at=now, duration_s=0.0,
        energy_j_by_wavelength={}, interruptions=[], completed=False, status=RUNNING,
        last_heartbeat_at=now, device=device, power_check_id=check.id,
        calibration=qa.session_calibration(check, device), appointment_id=appointment.id,
        checklist_id=checklist.id, completes_session_id=completes_session_id, **confirmed,
    )  # fmt: skip
    db.add(record)
    db.flush()
    audit.record(
        session=db, actor=actor.username, action="session.start", entity="treatment_sessions",
        entity_id=record.id,
        details={
            "course_id": course_id, "device": device.get("profile", ""), "appointment_id": appointment.id,
            "checklist_id": checklist.id, "completes_session_id": completes_session_id,
            "same_day_confirmed": bool(confirmed),
        },
    )  # fmt: skip
    db.expire(course, ["sessions"])
    return record


class PowerCheckRefused(InputError):
    """ARM refused: the machine has no passing, current power check."""


ARM_REFUSALS = (PowerCheckRefused, checklists.ChecklistRefused)  # what `open_session` refuses ARM with


def require_power_check(*, db: Session, device: dict[str, Any]) -> PowerCheck:
    """The passing, current power check the session relies on; PowerCheckRefused with the reason."""
    state = qa.gate(session=db, identity=device)
    if not state.allowed or state.check is None:
        raise PowerCheckRefused(state.reason or "no passing power check")
    return state.check


def _running(db: Session, session_id: int) -> TreatmentSession:
    record = get_row(db, TreatmentSession, session_id, "treatment session")
    if record.status != RUNNING:
        raise InputError(f"treatment session {session_id} has ended; its record is final")
    return record


def save_heartbeat(
    *,
    db: Session,
    session_id: int,
    duration_s: float,
    energy_j_by_wavelength: dict[str, float],
    interruptions: list[dict[str, Any]],
) -> TreatmentSession:
    """Rewrite a running session with what has been delivered so far (called every control period).

    Args:
        db: open database session.
        session_id: the running session.
        duration_s: emission time so far [s].
        energy_j_by_wavelength: delivered energy per wavelength so far {"810": J}.
        interruptions: [{"at_s": seconds into the session, "reason": text}, ...] so far.
    """
    record = _running(db, session_id)
    record.duration_s = float(duration_s)
    record.energy_j_by_wavelength = {wavelength_key(k): float(v) for k, v in energy_j_by_wavelength.items()}
    record.interruptions = list(interruptions)
    record.last_heartbeat_at = utcnow()
    db.flush()
    return record


def audit_emission(*, db: Session, actor_name: str, session_id: int, started: bool, reason: str) -> None:
    """Append an `emission.start` or `emission.stop` audit entry for a console session."""
    action = "emission.start" if started else "emission.stop"
    audit.record(
        session=db, actor=actor_name, action=action, entity="treatment_sessions", entity_id=session_id,
        details={"reason": reason},
    )  # fmt: skip


def close_session(
    *, db: Session, actor_name: str, session_id: int, completed: bool, reason: str
) -> TreatmentSession:
    """Mark a running session ended (the last heartbeat holds its energies) and audit the end."""
    record = _running(db, session_id)
    record.status, record.completed, record.last_heartbeat_at = ENDED, completed, utcnow()
    if record.calibration:  # the energy by the calibration in force, beside the monitor's own count
        delivered = qa.calibrated_energy_j(record.energy_j_by_wavelength, record.calibration)
        record.calibration = {**record.calibration, "delivered_j": delivered}
    db.flush()
    audit.record(
        session=db, actor=actor_name, action="session.end", entity="treatment_sessions",
        entity_id=record.id, details={"completed": completed, "reason": reason},
    )  # fmt: skip
    return record


def recover_running_sessions(*, db: Session) -> list[int]:
    """Close every session left `running` by a server that died; returns their ids.

    The record keeps the energy written at its last heartbeat and gains an interruption saying so. Call it
    only when no console of this database is running (at the start of the single server process).
    """
    closed = []
    for record in db.scalars(select(TreatmentSession).where(TreatmentSession.status == RUNNING)):
        heartbeat = record.last_heartbeat_at or record.started_at
        at_s = max(0.0, (heartbeat - record.started_at).total_seconds())
        reason = f"{SERVER_LOST} ({heartbeat:%Y-%m-%d %H:%M:%S} UTC)"
        watchdog = record.device.get("watchdog_s") if isinstance(record.device, dict) else None
        if isinstance(watchdog, (int, float)) and not isinstance(watchdog, bool):
            reason += f"; then the machine's watchdog ({watchdog:g} s) ended emission, unrecorded"
        record.interruptions = [*record.interruptions, {"at_s": at_s, "reason": reason}]
        record.status, record.completed = ENDED, False
        db.flush()
        audit.record(
            session=db, actor="system", action="session.recover", entity="treatment_sessions",
            entity_id=record.id, details={"reason": SERVER_LOST},
        )  # fmt: skip
        closed.append(record.id)
    return closed
