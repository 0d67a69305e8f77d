"""Patient pages: the list (by family name, in pages, searched by name or record number), a new patient."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from laserdose.clinic import patients, users
from laserdose.clinic.models import User
from laserdose.clinic.patient_names import split_name
from laserdose.errors import InputError
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, field_errors, render
from laserdose.web.schemas import PatientCreate

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *users.READERS))]
Editor = Annotated[User, Depends(roles(page_user, *users.EDITORS, doing="add or change patient records"))]
PAGE_SIZES = (25, 50, 100, 200)
FORM_FIELDS = ("given_name", "family_name", "record_number", "birth_date", "skin_type", "bmi")
LABELS = {
    "given_name": "Given name", "family_name": "Family name", "record_number": "Record number",
    "birth_date": "Date of birth", "skin_type": "Skin type", "bmi": "BMI",
}  # fmt: skip
# A service refusal names its field first ("Record number ...", "Family name ..."): shown beside it.
_SERVICE_FIELDS = {"Record number": "record_number", "Family name": "family_name", "Given name": "given_name"}


@router.get("/patients")
def patient_list(
    request: Request,
    session: DbSession,
    user: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=10_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=patients.MAX_PAGE_SIZE)] = 50,
) -> HTMLResponse:
    """One page of patients by family name; with HTMX, a search returns only the table and pager."""
    found = patients.page_patients(session=session, actor=user, query=q, offset=(page - 1) * size, limit=size)

    def pager_query(to_page: int) -> str:
        return urlencode({"q": q, "page": to_page, "size": size} if q else {"page": to_page, "size": size})

    template = "_patient_page.html" if request.headers.get("HX-Request") else "patients.html"
    sizes = sorted({*PAGE_SIZES, size})
    response = render(request, template, user, page=found, q=q, pager_query=pager_query, page_sizes=sizes)
    response.headers["Vary"] = "HX-Request, Cookie"  # the same URL answers a block or a page: keep apart
    return response


@router.get("/patients/new")
def new_patient_form(request: Request, user: Editor) -> HTMLResponse:
    """Show the new-patient form."""
    return render(request, "patient_new.html", user, values={}, errors={})


@router.post("/patients/new", response_model=None)
def create_patient(request: Request, form: PostedForm, session: DbSession, user: Editor) -> Response:
    """Create a patient, or show the form again with each field's error and everything typed."""
    check_csrf(request, form.get("csrf_token"))
    values = {field: str(form.get(field, "")) for field in FORM_FIELDS}
    # A client posting one full `name` (as the API takes it) gets it split, not ignored.
    full_name = str(form.get("name", "")) or None
    if full_name and not (values["given_name"] or values["family_name"]):
        values["given_name"], values["family_name"] = split_name(full_name)
    try:
        body = PatientCreate.model_validate({**values, "record_number": values["record_number"] or None})
    except ValidationError as exc:
        errors = field_errors(exc, LABELS)
        errors.pop("form", None)  # the one whole-form rule, a family name, is said beside its field:
        if not values["family_name"].strip():  # also when another field fails (pydantic stops before it)
            errors.setdefault("family_name", "Family name is required.")
        return render(request, "patient_new.html", user, 422, values=values, errors=errors)
    try:
        patient = patients.add_patient(
            session=session, actor=user, given_name=body.given_name or "", family_name=body.family_name,
            record_number=body.record_number, birth_date=body.birth_date, skin_type=body.skin_type,
            bmi_kg_m2=body.bmi,
        )  # fmt: skip
    except InputError as exc:
        session.rollback()
        message = str(exc)
        field = next((f for prefix, f in _SERVICE_FIELDS.items() if message.startswith(prefix)), "form")
        return render(request, "patient_new.html", user, 422, values=values, errors={field: message})
    session.commit()
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)
