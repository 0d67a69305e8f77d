"""JSON API for courses and sessions: clinicians create and sign courses, the controller reports sessions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from sqlalchemy import select

from laserdose.clinic import courses, records, signing, treatment
from laserdose.clinic.models import Role, TreatmentSession, User
from laserdose.clinic.users import READERS, RECORDERS
from laserdose.domain.plan import plan_schema
from laserdose.web.deps import DbSession, api_user, roles
from laserdose.web.plan_view import get_physics
from laserdose.web.schemas import CourseCreate, CoursePublic, SessionRecordCreate, SessionRecordPublic

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
    """Store a delivered session from the controller's record (signed courses only)."""
    record = treatment.record_session(
        db=db, actor=user, course_id=course_id, started_at=body.started_at,
        duration_s=body.duration_s, energy_j_by_wavelength=body.energy_j_by_wavelength,
        interruptions=[item.model_dump() for item in body.interruptions], completed=body.completed,
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
