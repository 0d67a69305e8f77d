"""JSON API of corrections: edit a record or void it, with a reason; read its previous versions.

Nothing is deleted: PATCH keeps the previous version, POST .../void keeps the record struck through.
Patients are corrected by PATCH /api/v1/patients/{id} (routes/api.py); a screening is voided, never
edited (its decision comes from its answers: screen again); a signed plan is never edited (sign a new
plan version instead).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from laserdose.clinic import corrections, outcomes, treatment
from laserdose.clinic.models import User
from laserdose.clinic.users import READERS, RECORDERS
from laserdose.web.correction_schemas import (
    CorrectableKind,
    OutcomeUpdate,
    RecordState,
    SessionRecordUpdate,
    VersionPublic,
    VoidRequest,
)
from laserdose.web.deps import DbSession, api_user, roles
from laserdose.web.schemas import OutcomePublic, SessionRecordPublic

router = APIRouter(prefix="/api/v1", tags=["corrections"])
Reader = Annotated[User, Depends(roles(api_user, *READERS))]
Recorder = Annotated[User, Depends(roles(api_user, *RECORDERS))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _changes(body: OutcomeUpdate | SessionRecordUpdate) -> dict[str, Any]:
    """The fields the client sent (a null it sent clears the field), without the reason."""
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    if isinstance(body, SessionRecordUpdate) and body.interruptions is not None:
        changes["interruptions"] = [item.model_dump() for item in body.interruptions]
    return changes


def _outcome_public(session: Session, user: User, patient_id: int, outcome_id: int) -> OutcomePublic:
    series = outcomes.outcome_series(session=session, actor=user, patient_id=patient_id)
    point = next(point for point in series if point.outcome_id == outcome_id)
    return OutcomePublic.model_validate(point, from_attributes=True)


@router.patch("/outcomes/{outcome_id}")
def correct_outcome(outcome_id: Id, body: OutcomeUpdate, db: DbSession, user: Recorder) -> OutcomePublic:
    """Correct an assessment; the previous version is kept with the reason (voided ones cannot be)."""
    outcome = outcomes.correct_outcome(
        session=db, actor=user, outcome_id=outcome_id, reason=body.reason, **_changes(body)
    )
    db.commit()
    return _outcome_public(db, user, outcome.patient_id, outcome.id)


@router.patch("/sessions/{session_id}")
def correct_session(
    session_id: Id, body: SessionRecordUpdate, db: DbSession, user: Recorder
) -> SessionRecordPublic:
    """Correct an ended session's record; the previous version is kept with the reason."""
    record = treatment.correct_session(
        db=db, actor=user, session_id=session_id, reason=body.reason, **_changes(body)
    )
    db.commit()
    return SessionRecordPublic.model_validate(record)


@router.post("/{kind}/{record_id}/void")
def void_record(
    kind: CorrectableKind, record_id: Id, body: VoidRequest, db: DbSession, user: Reader
) -> RecordState:
    """Void a patient, screening, outcome or session with a reason: kept, left out of counts and reports."""
    row = corrections.void(session=db, actor=user, kind=kind, record_id=record_id, reason=body.reason)
    db.commit()
    return RecordState(kind=kind, id=row.id, voided_at=row.voided_at, void_reason=row.void_reason)


@router.get("/{kind}/{record_id}/history")
def record_history(kind: CorrectableKind, record_id: Id, db: DbSession, user: Reader) -> list[VersionPublic]:
    """The record's previous versions, oldest first, each with who changed it, when, why and what."""
    versions = corrections.history(session=db, actor=user, kind=kind, record_id=record_id)
    return [VersionPublic.model_validate(version) for version in versions]
