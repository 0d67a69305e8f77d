"""JSON API for screening and referrals: the same codes and rule table as the CLI and the web form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from laserdose.clinic import referrals, screenings
from laserdose.clinic.models import Role, Screening, User
from laserdose.clinical.screening import ScreeningAnswers, screen
from laserdose.web.deps import DbSession, api_user, roles

router = APIRouter(prefix="/api/v1", tags=["screening"])
Reader = Annotated[User, Depends(roles(api_user, Role.ADMIN, Role.CLINICIAN, Role.OPERATOR))]
Clinician = Annotated[User, Depends(roles(api_user, Role.CLINICIAN))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Term = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Free text: no NUL or other control characters except line breaks and tabs (PostgreSQL refuses NUL).
Reason = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]


class ScreeningCreate(BaseModel):
    """The questionnaire for a patient on record (skin type and age come from the record)."""

    model_config = ConfigDict(extra="forbid")

    diagnosis: Term
    red_flags: Annotated[list[Term], Field(max_length=64)] = []
    contraindications: Annotated[list[Term], Field(max_length=64)] = []
    precautions: Annotated[list[Term], Field(max_length=64)] = []
    medical_clearance: bool = False
    first_line_reason: Reason = ""
    drop_reason: Reason = ""


class ScreeningQuestion(ScreeningCreate):
    """The questionnaire without a patient record: the decision only, nothing stored."""

    skin_type: Annotated[int, Field(ge=1, le=6)] | None = None
    age_years: Annotated[int, Field(ge=0, le=120)] | None = None


class OutcomeCreate(BaseModel):
    """What came of a referral."""

    model_config = ConfigDict(extra="forbid")

    seen_by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    seen_on: dt.date
    cleared: bool
    note: Reason = ""


class OverrideCreate(BaseModel):
    """A clinician's reason to plan without a cleared referral."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Reason, StringConstraints(min_length=1)]


def _screening_public(screening: Screening) -> dict[str, Any]:
    referral = screening.referral
    return {
        "id": screening.id, "patient_id": screening.patient_id, "at": screening.at.isoformat(),
        "decision": screening.decision, "answers": screening.answers, "reasons": screening.reasons,
        "referral": None if referral is None else referrals.referral_summary(referral),
    }  # fmt: skip


@router.post("/screening/decide")
def decide(body: ScreeningQuestion, user: Reader) -> dict[str, Any]:
    """The decision for a questionnaire, from the one rule table (nothing stored)."""
    answers = ScreeningAnswers(
        diagnosis=body.diagnosis, red_flags=tuple(body.red_flags),
        contraindications=tuple(body.contraindications), precautions=tuple(body.precautions),
        medical_clearance=body.medical_clearance, skin_type=body.skin_type, age_years=body.age_years,
        first_line_reason=body.first_line_reason,
    )  # fmt: skip
    return screen(answers).to_dict()


@router.post("/patients/{patient_id}/screenings", status_code=status.HTTP_201_CREATED)
def create_screening(
    patient_id: Id, body: ScreeningCreate, session: DbSession, user: Clinician
) -> dict[str, Any]:
    """Screen a patient and store it; a referring decision opens a referral (clinicians)."""
    screening, decision = screenings.screen_patient(
        session=session, actor=user, patient_id=patient_id, answers=body.model_dump(),
        today=dt.datetime.now(dt.UTC).date(),
    )  # fmt: skip
    session.commit()
    return _screening_public(screening) | {
        "urgency": decision.urgency,
        "plan_limit": decision.to_dict()["plan_limit"],
    }


@router.get("/patients/{patient_id}/screenings")
def list_screenings(patient_id: Id, session: DbSession, user: Reader) -> list[dict[str, Any]]:
    """Every screening of the patient, newest first, each with its referral."""
    history = screenings.patient_screenings(session=session, actor=user, patient_id=patient_id)
    return [_screening_public(s) for s in history]


@router.get("/referrals/{referral_id}")
def get_referral(referral_id: Id, session: DbSession, user: Reader) -> dict[str, Any]:
    """One referral with its outcome or override."""
    return referrals.referral_summary(
        referrals.get_referral(session=session, actor=user, referral_id=referral_id)
    )


@router.post("/referrals/{referral_id}/outcome")
def record_outcome(
    referral_id: Id, body: OutcomeCreate, session: DbSession, user: Clinician
) -> dict[str, Any]:
    """Record what came of an open referral (clinicians); 422 if it is already closed."""
    outcome = referrals.Outcome(body.seen_by, body.seen_on, body.cleared, body.note)
    referral = referrals.record_outcome(session=session, actor=user, referral_id=referral_id, outcome=outcome)
    session.commit()
    return referrals.referral_summary(referral)


@router.post("/referrals/{referral_id}/override")
def override(referral_id: Id, body: OverrideCreate, session: DbSession, user: Clinician) -> dict[str, Any]:
    """Open planning without a cleared referral, with the clinician's reason (clinicians)."""
    referral = referrals.override_referral(
        session=session, actor=user, referral_id=referral_id, reason=body.reason
    )
    session.commit()
    return referrals.referral_summary(referral)
