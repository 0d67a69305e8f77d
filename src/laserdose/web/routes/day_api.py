"""JSON API of the clinic's day: today's sessions, moves, the safety checklist, consent, console start.

ARM through the API goes through the same start as the web console (`arm_and_start`): refused (409) until
the safety checklist of the course's session today is complete.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from sqlalchemy import select

from laserdose.clinic import checklists, consent, schedule
from laserdose.clinic.models import Appointment, Role, SafetyChecklist, TreatmentSession, User, utcnow
from laserdose.clinic.records import get_row
from laserdose.clinic.users import READERS, RECORDERS
from laserdose.errors import InputError
from laserdose.safety.checklist import ITEMS, KEYS
from laserdose.web.checklist_view import checklist_eyewear
from laserdose.web.day_schemas import (
    AppointmentMove,
    AppointmentPublic,
    ChecklistCreate,
    ChecklistItemPublic,
    ChecklistPublic,
    ConsentCreate,
    ConsentPublic,
)
from laserdose.web.deps import DbSession, api_user, roles
from laserdose.web.routes import console as console_routes

router = APIRouter(prefix="/api/v1", tags=["clinic day"])
Reader = Annotated[User, Depends(roles(api_user, *READERS))]
Recorder = Annotated[User, Depends(roles(api_user, *RECORDERS))]
Operator = Annotated[User, Depends(roles(api_user, Role.OPERATOR))]
Clinician = Annotated[User, Depends(roles(api_user, Role.CLINICIAN))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _public(entry: schedule.DayEntry) -> AppointmentPublic:
    a, c = entry.appointment, entry.course
    return AppointmentPublic(
        id=a.id, course_id=c.id, patient_id=c.patient_id, patient_name=c.patient.name, number=a.number,
        sessions_planned=c.sessions_planned, planned_at=a.planned_at, state=entry.state,
        move_reason=a.move_reason,
    )  # fmt: skip


@router.get("/today")
def today(
    db: DbSession, user: Reader, day: Annotated[dt.date | None, Query(description="YYYY-MM-DD")] = None
) -> list[AppointmentPublic]:
    """The planned sessions of signed courses on `day` (today, UTC, when absent), by time."""
    now = utcnow().date()
    return [_public(e) for e in schedule.day_list(session=db, actor=user, day=day or now, today=now)]


@router.get("/courses/{course_id}/appointments")
def course_appointments(course_id: Id, db: DbSession, user: Reader) -> list[AppointmentPublic]:
    """A course's planned sessions in order, with their states."""
    entries = schedule.course_appointments(session=db, actor=user, course_id=course_id, today=utcnow().date())
    return [_public(e) for e in entries]


@router.post("/appointments/{appointment_id}/move")
def move(appointment_id: Id, body: AppointmentMove, db: DbSession, user: Recorder) -> AppointmentPublic:
    """Move a planned session (audited with both times)."""
    now = utcnow()
    appointment = schedule.move_appointment(
        session=db, actor=user, appointment_id=appointment_id, planned_at=body.planned_at,
        reason=body.reason, now=now,
    )  # fmt: skip
    db.commit()
    return _public(schedule.entries(db, [appointment], now.date())[0])


@router.get("/checklist/items")
def checklist_items(user: Reader) -> list[ChecklistItemPublic]:
    """The safety checklist's items, in order."""
    return [ChecklistItemPublic(key=item.key, label=item.label) for item in ITEMS]


def _checklist_public(db: DbSession, checklist: SafetyChecklist) -> ChecklistPublic:
    by = db.get(User, checklist.completed_by_id)
    used = db.scalars(
        select(TreatmentSession.id).where(TreatmentSession.checklist_id == checklist.id)
    ).first()
    return ChecklistPublic(
        id=checklist.id, appointment_id=checklist.appointment_id, completed_by=by.username if by else "",
        completed_at=checklist.completed_at, items=checklist.items, eyewear=checklist.eyewear,
        used_by_session_id=used,
    )  # fmt: skip


@router.post("/appointments/{appointment_id}/checklist", status_code=status.HTTP_201_CREATED)
def complete_checklist(
    appointment_id: Id, body: ChecklistCreate, db: DbSession, user: Operator
) -> ChecklistPublic:
    """Record the safety checklist of today's session (operators); 422 naming a missing or unknown item."""
    unknown = sorted(set(body.items) - set(KEYS))
    if unknown:
        raise InputError(f"unknown checklist item {unknown[0]!r}; the items are: {', '.join(KEYS)}")
    appointment = get_row(db, Appointment, appointment_id, "appointment")
    plan, profile, _ = console_routes.course_delivery(appointment.course)
    checklist = checklists.record_checklist(
        session=db, actor=user, appointment_id=appointment_id, answers=body.items,
        eyewear=checklist_eyewear(plan, profile), now=utcnow(),
    )  # fmt: skip
    db.commit()
    return _checklist_public(db, checklist)


@router.get("/sessions/{session_id}/checklist")
def session_checklist(session_id: Id, db: DbSession, user: Reader) -> ChecklistPublic:
    """The safety checklist a treatment session was armed with (404 for sessions recorded without one)."""
    record = get_row(db, TreatmentSession, session_id, "treatment session")
    if record.checklist_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"treatment session {session_id} has no checklist")
    return _checklist_public(db, get_row(db, SafetyChecklist, record.checklist_id, "checklist"))


@router.post("/courses/{course_id}/consent", status_code=status.HTTP_201_CREATED)
def record_consent(course_id: Id, body: ConsentCreate, db: DbSession, user: Clinician) -> ConsentPublic:
    """Record the patient's signed consent to Class 4 laser treatment (clinicians); signing requires it."""
    given = consent.ConsentGiven(body.patient_name, body.signed_on)
    recorded = consent.record_consent(
        session=db, actor=user, course_id=course_id, given=given, today=utcnow().date()
    )
    db.commit()
    return ConsentPublic.model_validate(recorded)


@router.get("/courses/{course_id}/consent")
def get_consent(course_id: Id, db: DbSession, user: Reader) -> ConsentPublic:
    """The course's recorded consent (404 when none is recorded)."""
    recorded = consent.course_consent(session=db, actor=user, course_id=course_id)
    if recorded is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no consent is recorded for course {course_id}")
    return ConsentPublic.model_validate(recorded)


def _console_answer(request: Request, course_id: int) -> dict[str, Any]:
    run = request.app.state.console.get(course_id)
    return run.snapshot() if run is not None else {"phase": "not connected"}


@router.post("/courses/{course_id}/console/connect")
def console_connect(course_id: Id, request: Request, db: DbSession, user: Operator) -> dict[str, Any]:
    """Connect the server's console to the machine for this course (operators); 409 saying why not."""
    error = console_routes.connect_console(request, db, user, course_id)
    if error:
        raise HTTPException(status.HTTP_409_CONFLICT, error)
    return _console_answer(request, course_id)


@router.post("/courses/{course_id}/console/start", status_code=status.HTTP_202_ACCEPTED)
def console_start(
    stops_seen: Annotated[int | None, Depends(console_routes.stops_at_arrival)],
    course_id: Id, request: Request, db: DbSession, user: Operator,
) -> dict[str, Any]:  # fmt: skip
    """ARM and start the connected console (operators); 409 until the session's safety checklist is done."""
    error, status_code = console_routes.arm_and_start(request, db, user, course_id, stops_seen)
    if error:
        raise HTTPException(status_code, error)
    return _console_answer(request, course_id)
