"""The safety checklist of one appointment: recorded before ARM, used by exactly one session.

`record_checklist` stores a complete checklist (an incomplete one is refused, naming the missing item);
`checklist_for_arm` is the one check every path that arms asks (the web console and the JSON API through
`treatment.open_session`): the course's appointment of today must have a checklist completed within
`MAX_AGE_S`, not used by another session. A checklist of another appointment, course or day never counts.
Like every clinic service: keyword-only database session, never committed, role checks, audited changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import schedule
from laserdose.clinic.models import Appointment, Role, SafetyChecklist, TreatmentSession, User
from laserdose.clinic.records import audit_change, get_row
from laserdose.clinic.users import require_role
from laserdose.errors import InputError
from laserdose.safety.checklist import ITEMS, MAX_AGE_S, missing_items, missing_sentence
from laserdose.safety.summary import EyewearNeed


class ChecklistRefused(InputError):
    """ARM refused: the session's safety checklist is missing, incomplete, old or someone else's."""


def record_checklist(
    *, session: Session, actor: User, appointment_id: int, answers: Mapping[str, Any],
    eyewear: list[EyewearNeed], now: dt.datetime,
) -> SafetyChecklist:  # fmt: skip
    """Store the operator's completed checklist for an appointment (operators); audited.

    Args:
        session: open database session.
        actor: the operator in the room.
        appointment_id: the appointment about to be treated.
        answers: each item's key with True when confirmed.
        eyewear: the eyewear that was shown as required (kept with the checklist).
        now: the time of completion.

    Raises:
        InputError: an item is not confirmed (the message names it), or the appointment is not today's.
    """
    require_role(actor, Role.OPERATOR)
    appointment = get_row(session, Appointment, appointment_id, "appointment")
    problem = missing_sentence(missing_items(answers))
    if problem:
        raise InputError(problem)
    if appointment.planned_at.astimezone(dt.UTC).date() != now.date():
        raise InputError(
            f"session {appointment.number} is planned for {appointment.planned_at:%Y-%m-%d}, not today: "
            "move it to today first"
        )
    record = SafetyChecklist(
        appointment_id=appointment.id, completed_by_id=actor.id, completed_at=now,
        items={item.key: True for item in ITEMS},
        eyewear=[{"wavelength_nm": e.wavelength_nm, "od": round(e.od, 2), "lb": e.lb} for e in eyewear],
    )  # fmt: skip
    session.add(record)
    session.flush()
    audit_change(session, actor, "checklist.complete", "safety_checklists", record.id,
                 appointment_id=appointment.id, items=list(record.items))  # fmt: skip
    return record


def pending_checklist(*, session: Session, appointment_id: int, now: dt.datetime) -> SafetyChecklist | None:
    """The appointment's newest checklist that no session used, completed within MAX_AGE_S; else None."""
    used = select(TreatmentSession.checklist_id).where(TreatmentSession.checklist_id.is_not(None))
    statement = (
        select(SafetyChecklist)
        .where(SafetyChecklist.appointment_id == appointment_id, SafetyChecklist.id.not_in(used))
        .where(SafetyChecklist.completed_at >= now - dt.timedelta(seconds=MAX_AGE_S))
        .where(SafetyChecklist.completed_at <= now)
        .order_by(SafetyChecklist.id.desc())
    )
    checklist = session.scalars(statement).first()
    if checklist is not None and missing_items(checklist.items):
        return None
    return checklist


def checklist_for_arm(
    *, session: Session, actor: User, course_id: int, now: dt.datetime
) -> tuple[Appointment, SafetyChecklist]:
    """Today's appointment of the course and its unused, complete checklist; ChecklistRefused otherwise."""
    entry = schedule.current_appointment(session=session, actor=actor, course_id=course_id, today=now.date())
    if entry is None:
        raise ChecklistRefused(
            f"no session of course {course_id} is planned for today: move the next one to today on the "
            "Today page, then complete its safety checklist"
        )
    checklist = pending_checklist(session=session, appointment_id=entry.appointment.id, now=now)
    if checklist is None:
        minutes = f"{MAX_AGE_S / 60:g}"
        raise ChecklistRefused(
            f"complete the safety checklist of session {entry.appointment.number} first (each checklist "
            f"serves one start, within {minutes} minutes)"
        )
    return entry.appointment, checklist


def checklist_record(checklist: SafetyChecklist, completed_by: str) -> dict[str, Any]:
    """The checklist as shown with a session: who, when, each item with its label."""
    labels = {item.key: item.label for item in ITEMS}
    return {
        "completed_by": completed_by, "completed_at": checklist.completed_at.isoformat(),
        "items": {key: {"label": labels.get(key, key), "confirmed": value is True}
                  for key, value in checklist.items.items()},
        "eyewear": checklist.eyewear,
    }  # fmt: skip
