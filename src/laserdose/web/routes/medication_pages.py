"""The patient's medication page: the analgesics taken, a form to add one, and a stop date for each."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from laserdose.clinic import medications, patients
from laserdose.clinic.models import User
from laserdose.clinic.users import READERS, RECORDERS
from laserdose.errors import InputError
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *READERS))]
Recorder = Annotated[User, Depends(roles(page_user, *RECORDERS))]
FIELDS = ("drug", "dose", "how_often", "started_on")


def _page(
    request: Request,
    session: Session,
    user: User,
    patient_id: int,
    values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    rows = medications.patient_medications(session=session, actor=user, patient_id=patient_id)
    return render(
        request, "medications.html", user, 422 if errors else 200, patient=patient, rows=rows, values=values,
        errors=errors, today=dt.date.today().isoformat(),
    )  # fmt: skip


@router.get("/patients/{patient_id}/medications")
def medication_page(request: Request, patient_id: int, session: DbSession, user: Reader) -> HTMLResponse:
    """The patient's analgesics, current ones first."""
    return _page(request, session, user, patient_id, {"started_on": dt.date.today().isoformat()}, {})


@router.post("/patients/{patient_id}/medications", response_model=None)
def add(request: Request, patient_id: int, form: PostedForm, session: DbSession, user: Recorder) -> Response:
    """Add a medication, or show the page again with each field's sentence and everything typed."""
    check_csrf(request, form.get("csrf_token"))
    values = {field: str(form.get(field, "")) for field in FIELDS}
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    try:
        started_on = dt.date.fromisoformat(values["started_on"])
    except ValueError:
        return _page(request, session, user, patient_id, values, {"started_on": "Enter the start as a date."})
    today = dt.date.today()
    errors = medications.medication_problems(
        drug=values["drug"], dose=values["dose"], how_often=values["how_often"], started_on=started_on,
        birth_date=patient.birth_date, today=today,
    )  # fmt: skip
    if errors:
        return _page(request, session, user, patient_id, values, errors)
    medications.add_medication(
        session=session, actor=user, patient_id=patient_id, drug=values["drug"], dose=values["dose"],
        how_often=values["how_often"], started_on=started_on, today=today,
    )  # fmt: skip
    session.commit()
    return RedirectResponse(f"/patients/{patient_id}/medications", status_code=303)


@router.post("/patients/{patient_id}/medications/{medication_id}/stop", response_model=None)
def stop(
    request: Request,
    patient_id: int,
    medication_id: int,
    form: PostedForm,
    session: DbSession,
    user: Recorder,
) -> Response:
    """Record the day the patient stopped a medication."""
    check_csrf(request, form.get("csrf_token"))
    raw = str(form.get("stopped_on", ""))
    try:
        medications.stop_medication(
            session=session, actor=user, patient_id=patient_id, medication_id=medication_id,
            stopped_on=dt.date.fromisoformat(raw), today=dt.date.today(),
        )  # fmt: skip
    except ValueError as exc:
        session.rollback()
        message = str(exc) if isinstance(exc, InputError) else "Enter the stop date as a date."
        return _page(request, session, user, patient_id, {}, {f"stop-{medication_id}": message})
    session.commit()
    return RedirectResponse(f"/patients/{patient_id}/medications", status_code=303)
