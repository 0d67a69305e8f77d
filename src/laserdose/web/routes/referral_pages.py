"""Referral pages: a screening's result with its referral, the outcome form and the clinician's override."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laserdose.clinic import referrals, screenings
from laserdose.clinic.models import Role, Screening, User
from laserdose.errors import InputError
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render

router = APIRouter(include_in_schema=False)
Clinician = Annotated[User, Depends(roles(page_user, Role.CLINICIAN))]
OUTCOME_FIELDS = ("seen_by", "seen_on", "cleared", "note")


def screening_result_page(
    request: Request, user: User, screening: Screening, errors: dict[str, str],
    values: dict[str, str] | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    """A stored screening: its decision, reasons and sources, and its referral with the forms to close it."""
    treatable = screening.decision in ("treat", "treat-with-precautions") or referrals.planning_open(
        screening
    )
    return render(
        request, "screening_result.html", user, status_code, screening=screening, patient=screening.patient,
        treatable=treatable, referral=screening.referral, errors=errors, values=values or {},
        today=dt.datetime.now(dt.UTC).date().isoformat(),
    )  # fmt: skip


def _outcome(values: dict[str, str]) -> tuple[referrals.Outcome | None, dict[str, str]]:
    """The outcome form's values as an Outcome, or None and an error per field."""
    errors: dict[str, str] = {}
    if not values["seen_by"]:
        errors["seen_by"] = "say who saw the patient"
    try:
        seen_on = dt.date.fromisoformat(values["seen_on"])
    except ValueError:
        errors["seen_on"] = "enter the day seen as YYYY-MM-DD"
    if values["cleared"] not in ("yes", "no"):
        errors["cleared"] = "choose cleared or not cleared"
    if errors:
        return None, errors
    return referrals.Outcome(values["seen_by"], seen_on, values["cleared"] == "yes", values["note"]), {}


def _referral_screening(session: DbSession, user: User, referral_id: int) -> Screening:
    referral = referrals.get_referral(session=session, actor=user, referral_id=referral_id)
    return screenings.get_screening(session=session, actor=user, screening_id=referral.screening_id)


@router.post("/referrals/{referral_id}/outcome", response_model=None)
def record_outcome(
    request: Request, referral_id: int, form: PostedForm, session: DbSession, user: Clinician
) -> Response:
    """Record what came of a referral; bad input shows each field's error with the values kept."""
    screening = _referral_screening(session, user, referral_id)
    check_csrf(request, form.get("csrf_token"))
    values = {field: str(form.get(field, "")).strip() for field in OUTCOME_FIELDS}
    outcome, errors = _outcome(values)
    if outcome is not None:
        try:
            referrals.record_outcome(session=session, actor=user, referral_id=referral_id, outcome=outcome)
        except InputError as exc:
            errors["outcome"] = str(exc)
    if errors:
        return screening_result_page(request, user, screening, errors, values, 422)
    session.commit()
    return RedirectResponse(f"/screenings/{screening.id}#referral", status_code=303)


@router.post("/referrals/{referral_id}/override", response_model=None)
def override_referral(
    request: Request, referral_id: int, form: PostedForm, session: DbSession, user: Clinician
) -> Response:
    """Open planning despite the referral, with the clinician's reason (required)."""
    screening = _referral_screening(session, user, referral_id)
    check_csrf(request, form.get("csrf_token"))
    values: dict[str, Any] = {"override_reason": str(form.get("override_reason", "")).strip()}
    try:
        referrals.override_referral(
            session=session, actor=user, referral_id=referral_id, reason=values["override_reason"]
        )
    except InputError as exc:
        return screening_result_page(request, user, screening, {"override_reason": str(exc)}, values, 422)
    session.commit()
    return RedirectResponse(f"/screenings/{screening.id}#referral", status_code=303)
