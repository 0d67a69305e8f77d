"""JSON API for courses and sessions: clinicians create and sign courses, the controller reports sessions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from sqlalchemy import select

from laserdose.clinic import course_closing, courses, dose_accounting, records, signing, treatment
from laserdose.clinic.completion import SameDay, completion_of
from laserdose.clinic.models import Role, TreatmentSession, User
from laserdose.clinic.users import READERS, RECORDERS
from laserdose.domain.plan import plan_schema
from laserdose.web.deps import DbSession, api_user, roles
from laserdose.web.plan_view import get_physics
from laserdose.web.schemas import (
    CourseClose,
    CourseCreate,
    CoursePublic,
    CourseReopen,
    DoseCountPublic,
    SessionRecordCreate,
    SessionRecordPublic,
)

router = APIRouter(prefix="/api/v1", tags=["courses"])
Reader = Annotated[User, Depends(roles(api_user, *READERS))]
Clinician = Annotated[User, Depends(roles(api_user, Role.CLINICIAN))]
Runner = Annotated[User, Depends(roles(api_user, *RECORDERS))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/schema/plan")
def get_plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan document that courses store and `laserdose plan --json` prints."""
    return plan_schema()


@router.post("/patients/{patient_id}/courses", status_code=status.HTTP_201_CREATED)
def create_course(patient_id: Id, body: CourseCreate, db: DbSession, user: Clinician) -> CoursePublic:
    """Create an unsigned course for a patient (clinicians)."""
    course = courses.create_course(session=db, actor=user, patient_id=patient_id, **body.model_dump())
    db.commit()
    return CoursePublic.model_validate(course)


@router.get("/courses/{course_id}")
def get_course(course_id: Id, db: DbSession, user: Reader) -> CoursePublic:
    """Return one course."""
    return CoursePublic.model_validate(records.get_course(db, course_id))


@router.post("/courses/{course_id}/sign")
def sign_course(course_id: Id, request: Request, db: DbSession, user: Clinician) -> CoursePublic:
    """Sign a course's plan so that operators may run it (clinicians; only plans made by the planner)."""
    physics = get_physics(request)
    course = signing.sign(session=db, actor=user, course_id=course_id, physics=physics)
    db.commit()
    return CoursePublic.model_validate(course)


@router.post("/courses/{course_id}/sessions", status_code=status.HTTP_201_CREATED)
def record_session(
    course_id: Id, body: SessionRecordCreate, db: DbSession, user: Runner
) -> SessionRecordPublic:
    """Store a delivered session from the controller's record (signed, open courses only).

    A completion names the interrupted session it completes (`completes_session_id`) and may deliver no
    more than what remained; a second dose on one calendar day needs `same_day_reason` (409 otherwise).
    """
    record = treatment.record_session(
        db=db, actor=user, course_id=course_id, started_at=body.started_at,
        duration_s=body.duration_s, energy_j_by_wavelength=body.energy_j_by_wavelength,
        interruptions=[item.model_dump() for item in body.interruptions], completed=body.completed,
        completes_session_id=body.completes_session_id,
        same_day=SameDay(body.same_day_reason) if body.same_day_reason is not None else None,
    )  # fmt: skip
    db.commit()
    return SessionRecordPublic.model_validate(record)


@router.get("/courses/{course_id}/sessions")
def list_sessions(course_id: Id, db: DbSession, user: Reader) -> list[SessionRecordPublic]:
    """The course's delivered sessions, oldest first."""
    records.get_course(db, course_id)
    statement = select(TreatmentSession).where(TreatmentSession.course_id == course_id)
    return [
        SessionRecordPublic.model_validate(r) for r in db.scalars(statement.order_by(TreatmentSession.id))
    ]


@router.get("/courses/{course_id}/doses")
def count_doses(course_id: Id, db: DbSession, user: Reader) -> DoseCountPublic:
    """Delivered and interrupted sessions counted apart; a completed interruption counts once."""
    count = dose_accounting.count_doses(records.get_course(db, course_id))
    return DoseCountPublic(
        planned=count.planned, delivered=count.delivered, interrupted=count.interrupted,
        interrupted_j=list(count.interrupted_j), running=count.running, planned_j=count.planned_j,
        energy_j=count.energy_j, sentence=count.sentence(),
    )  # fmt: skip


@router.get("/courses/{course_id}/sessions/{session_id}/completion")
def completion(course_id: Id, session_id: Id, db: DbSession, user: Reader) -> dict[str, Any]:
    """What completes an interrupted session: the rest of the same plan (409 when it cannot be completed)."""
    found = completion_of(records.get_course(db, course_id), session_id)
    return {
        "completes_session_id": found.completes_session_id,
        "delivered_j": found.delivered_j,
        "delivery": found.delivery.model_dump(mode="json"),
        "remaining_j": {f"{wl:g}": e for wl, e in found.delivery.energy_j_by_wavelength.items()},
    }


@router.post("/courses/{course_id}/close")
def close_course(course_id: Id, body: CourseClose, db: DbSession, user: Clinician) -> CoursePublic:
    """Close (discharge) a course with its reason and note; it is read-only afterwards (clinicians)."""
    course_closing.close_course(
        session=db, actor=user, course_id=course_id, reason=body.reason, note=body.note
    )
    db.commit()
    return CoursePublic.model_validate(records.get_course(db, course_id))


@router.post("/courses/{course_id}/reopen")
def reopen_course(course_id: Id, body: CourseReopen, db: DbSession, user: Clinician) -> CoursePublic:
    """Reopen a closed course, with the reason (clinicians; audited)."""
    course = course_closing.reopen_course(session=db, actor=user, course_id=course_id, reason=body.reason)
    db.commit()
    return CoursePublic.model_validate(course)
