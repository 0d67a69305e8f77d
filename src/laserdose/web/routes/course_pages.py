"""Closing and reopening a course from the chart (clinicians); errors shown on the chart, typed text kept."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from laserdose.clinic import course_closing, records
from laserdose.clinic.models import Role, User
from laserdose.errors import InputError
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf
from laserdose.web.routes.pages import chart_page

router = APIRouter(include_in_schema=False)
Clinician = Annotated[User, Depends(roles(page_user, Role.CLINICIAN))]


@router.post("/courses/{course_id}/close", response_model=None)
def close_course(
    request: Request, course_id: int, form: PostedForm, db: DbSession, user: Clinician
) -> Response:
    """Close a course with its reason and note, then back to the chart."""
    check_csrf(request, form.get("csrf_token"))
    course = records.get_course(db, course_id)
    values = {"reason": str(form.get("reason", "")), "note": str(form.get("note", ""))}
    errors = {}
    if values["reason"] not in course_closing.CLOSE_REASONS:
        errors["reason"] = "choose why the course ends"
    if len(values["note"]) > course_closing.MAX_NOTE_CHARS:
        errors["note"] = f"at most {course_closing.MAX_NOTE_CHARS} characters"
    if not errors:
        try:
            course_closing.close_course(session=db, actor=user, course_id=course_id, **values)
        except InputError as exc:
            db.rollback()
            errors["reason"] = str(exc)
    if errors:
        return chart_page(request, db, user, course.patient_id, 422, form_course=course_id, errors=errors,
                          values=values)  # fmt: skip
    db.commit()
    return RedirectResponse(f"/patients/{course.patient_id}#course-{course_id}", status_code=303)


@router.post("/courses/{course_id}/reopen", response_model=None)
def reopen_course(
    request: Request, course_id: int, form: PostedForm, db: DbSession, user: Clinician
) -> Response:
    """Reopen a closed course with the reason, then back to the chart."""
    check_csrf(request, form.get("csrf_token"))
    course = records.get_course(db, course_id)
    reason = str(form.get("reason", ""))
    try:
        course_closing.reopen_course(session=db, actor=user, course_id=course_id, reason=reason)
    except InputError as exc:
        db.rollback()
        return chart_page(request, db, user, course.patient_id, 422, form_course=course_id,
                          errors={"reopen": str(exc)}, values={"reopen_reason": reason})  # fmt: skip
    db.commit()
    return RedirectResponse(f"/patients/{course.patient_id}#course-{course_id}", status_code=303)
