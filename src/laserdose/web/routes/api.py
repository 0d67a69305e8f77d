"""JSON API under /api/v1 (OAuth2 password flow), thin over the clinic services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import TypeAdapter

from laserdose.clinic import access_audit, outcomes, patients, users
from laserdose.clinic.models import User
from laserdose.web.deps import DbSession, api_reader, api_user, in_one_hop, oauth2_scheme, roles
from laserdose.web.login import attempt, end_all_sessions
from laserdose.web.schemas import (
    OutcomeCreate,
    OutcomePublic,
    PatientCreate,
    PatientPagePublic,
    PatientPublic,
    PatientUpdate,
    Token,
)

router = APIRouter(prefix="/api/v1", tags=["api"])
Reader = Annotated[User, Depends(roles(api_user, *users.READERS))]
Editor = Annotated[User, Depends(roles(api_user, *users.EDITORS))]
Recorder = Annotated[User, Depends(roles(api_user, *users.RECORDERS))]
PatientId = Annotated[int, Path(ge=1, le=2**31 - 1, description="patient id")]  # a 32-bit integer column


@router.post("/token")
def token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: DbSession
) -> Token:
    """Exchange a username and password for a bearer token (throttled per client and username).

    A user with a second factor gives the current TOTP code as `client_secret`.
    """
    result = attempt(request, session, form.username, form.password, form.client_secret, via="api")
    session.commit()  # the audit row; on success also a rehashed password, the TOTP step
    if result.retry_after_s:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins; try again later",
            headers={"Retry-After": str(result.retry_after_s)},
        )  # fmt: skip
    if result.user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return Token(access_token=request.app.state.tokens.issue(result.user.id, result.user.session_version))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: DbSession, user: Annotated[User, Depends(api_user)]) -> None:
    """Revoke every token and session of the calling user."""
    access_audit.record_logout(session=session, user=user, via="api")
    end_all_sessions(session, user)


# The page is dumped to JSON here, in the route's worker thread: returned as an object, FastAPI would check
# it against the schema again in another worker-thread hop before dumping the same bytes.
PATIENT_PAGE = TypeAdapter(PatientPagePublic)


@router.get("/patients", response_model=PatientPagePublic)
@in_one_hop
def list_patients(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)],
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=patients.MAX_PAGE_SIZE, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="patients to skip")] = 0,
    page: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="1-based page; sets offset")] = None,
) -> Response:  # fmt: skip
    """One page of patients by family name, optionally only those whose name or record number holds `q`."""
    if page is not None:
        offset = (page - 1) * limit
    with request.app.state.sessions() as session:  # one hop: the token's user, then the page
        user = api_reader(request, session, token, *users.READERS)
        found = patients.page_patients(session=session, actor=user, query=q, offset=offset, limit=limit)
        answer = PatientPagePublic(
            items=[PatientPublic.of(patient) for patient in found.patients], total=found.total,
            offset=found.offset, limit=found.limit,
        )  # fmt: skip
    return Response(PATIENT_PAGE.dump_json(answer), media_type="application/json")


@router.post("/patients", status_code=status.HTTP_201_CREATED)
def create_patient(body: PatientCreate, session: DbSession, user: Editor) -> PatientPublic:
    """Create a patient (the full name, or given and family names; a record number or one given)."""
    patient = patients.add_patient(
        session=session, actor=user, name=body.name, given_name=body.given_name,
        family_name=body.family_name, record_number=body.record_number or None, birth_date=body.birth_date,
        skin_type=body.skin_type, bmi_kg_m2=body.bmi,
    )  # fmt: skip
    session.commit()
    return PatientPublic.of(patient)


@router.get("/patients/{patient_id}")
def get_patient(patient_id: PatientId, session: DbSession, user: Reader) -> PatientPublic:
    """Return one patient."""
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    access_audit.record_view(session=session, actor=user, patient=patient, what="api")
    session.commit()
    return PatientPublic.of(patient)


@router.patch("/patients/{patient_id}")
def update_patient(
    patient_id: PatientId, body: PatientUpdate, session: DbSession, user: Editor
) -> PatientPublic:
    """Correct some fields of a patient, with the reason (the previous version is kept)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"reason"})
    if "bmi" in changes:
        changes["bmi_kg_m2"] = changes.pop("bmi")
    patient = patients.update_patient(
        session=session, actor=user, patient_id=patient_id, reason=body.reason, **changes
    )
    session.commit()
    return PatientPublic.of(patient)


@router.get("/patients/{patient_id}/outcomes")
def list_outcomes(patient_id: PatientId, session: DbSession, user: Reader) -> list[OutcomePublic]:
    """The patient's scored assessments by date, with responder flags against the first (Ostelo 2008)."""
    series = outcomes.outcome_series(session=session, actor=user, patient_id=patient_id)
    return [OutcomePublic.model_validate(point, from_attributes=True) for point in series]


@router.post("/patients/{patient_id}/outcomes", status_code=status.HTTP_201_CREATED)
def create_outcome(
    patient_id: PatientId, body: OutcomeCreate, session: DbSession, user: Recorder
) -> OutcomePublic:
    """Score and store an assessment (ODI missed sections and the at-least-one rule give 422)."""
    outcome = outcomes.record_outcome(session=session, actor=user, patient_id=patient_id, **body.model_dump())
    session.commit()
    series = outcomes.outcome_series(session=session, actor=user, patient_id=patient_id)
    point = next(point for point in series if point.outcome_id == outcome.id)
    return OutcomePublic.model_validate(point, from_attributes=True)
