"""Home exercise pages: the library (`/exercises`), a course's programme and its patient handout (PDF)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from laserdose.clinic import exercises, patients
from laserdose.clinic.handout import handout_pdf
from laserdose.clinic.models import Exercise, Role, User
from laserdose.clinic.users import READERS
from laserdose.clinical.exercises import DOSAGE_LIMITS, Dosage, dosage_problem, drawing_svg
from laserdose.errors import InputError
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *READERS))]
Clinician = Annotated[User, Depends(roles(page_user, Role.CLINICIAN))]
DOSAGE_FIELDS = tuple(DOSAGE_LIMITS)
EXERCISE_FIELDS = ("name", "instructions", "drawing", "evidence_note", *DOSAGE_FIELDS)


def _drawing(exercise: Exercise) -> Markup:
    # drawing_svg writes numbers and an escaped label only, so the markup is ours.
    return Markup(drawing_svg(exercise.drawing, f"Drawing: {exercise.name}"))  # noqa: S704


def _dosage(values: dict[str, str], errors: dict[str, str]) -> Dosage | None:
    """The dosage typed in the form, or None with each wrong field's sentence added to `errors`."""
    numbers: dict[str, Any] = {}
    for field in DOSAGE_FIELDS:
        raw = values.get(field, "").strip()
        numbers[field] = int(raw) if raw.lstrip("-").isdigit() and len(raw) < 10 else raw
        if problem := dosage_problem(field, numbers[field]):
            errors[field] = problem
    return None if errors else Dosage(**numbers)


@router.get("/exercises")
def library_page(request: Request, session: DbSession, user: Reader) -> HTMLResponse:
    """The exercise library with each exercise's drawing, dosage and evidence."""
    found = exercises.library(session=session, actor=user)
    return render(
        request, "exercises.html", user, exercises=found, drawing=_drawing, dosage_of=exercises.dosage_of
    )


@router.get("/exercises/new")
def new_exercise_form(request: Request, user: Clinician) -> HTMLResponse:
    """The form for the clinic's own exercise."""
    values = {"sets": "2", "repetitions": "10", "hold_s": "0", "per_week": "5"}
    return render(request, "exercise_new.html", user, values=values, errors={}, limits=DOSAGE_LIMITS)


@router.post("/exercises/new", response_model=None)
def add_exercise(request: Request, form: PostedForm, session: DbSession, user: Clinician) -> Response:
    """Add the exercise, or show the form again with each field's error and everything typed."""
    check_csrf(request, form.get("csrf_token"))
    values = {field: str(form.get(field, "")) for field in EXERCISE_FIELDS}
    errors: dict[str, str] = {}
    checked = _dosage(values, errors)
    if checked is not None:
        try:
            exercises.add_exercise(
                session=session, actor=user, name=values["name"], instructions=values["instructions"],
                dosage=checked, drawing=values["drawing"], evidence_note=values["evidence_note"],
            )  # fmt: skip
        except InputError as exc:
            message = str(exc)
            field = next(
                (f for f in ("drawing", "instructions", "evidence_note") if _names(f, message)), "name"
            )
            errors[field] = message
    if errors:
        return render(
            request, "exercise_new.html", user, 422, values=values, errors=errors, limits=DOSAGE_LIMITS
        )
    session.commit()
    return RedirectResponse("/exercises", status_code=303)


def _names(field: str, message: str) -> bool:
    return {"drawing": "Drawing", "instructions": "Instructions", "evidence_note": "evidence note"}[
        field
    ] in message


@router.get("/courses/{course_id}/exercises")
def programme_page(request: Request, course_id: int, session: DbSession, user: Reader) -> HTMLResponse:
    """A course's home programme: what is prescribed now, what was before, and the form to add one."""
    return _programme(request, session, user, course_id, {}, {})


def _programme(
    request: Request,
    session: Session,
    user: User,
    course_id: int,
    values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    course = patients.readable_course(session=session, actor=user, course_id=course_id)
    patient = course.patient
    rows = exercises.programme(session=session, actor=user, course_id=course_id)
    return render(
        request, "course_exercises.html", user, 422 if errors else 200, course=course, patient=patient,
        rows=rows, library=exercises.library(session=session, actor=user), drawing=_drawing,
        dosage_of=exercises.dosage_of, values=values, errors=errors, limits=DOSAGE_LIMITS,
    )  # fmt: skip


@router.post("/courses/{course_id}/exercises", response_model=None)
def prescribe(
    request: Request, course_id: int, form: PostedForm, session: DbSession, user: Clinician
) -> Response:
    """Prescribe an exercise with its dosage, or show the programme again with the errors and typed values."""
    check_csrf(request, form.get("csrf_token"))
    values = {field: str(form.get(field, "")) for field in ("exercise_id", "note", *DOSAGE_FIELDS)}
    errors: dict[str, str] = {}
    usual = not any(values[field].strip() for field in DOSAGE_FIELDS)  # all blank: the library's dosage
    checked = None if usual else _dosage(values, errors)
    if not values["exercise_id"].isdigit():
        errors["exercise_id"] = "Choose an exercise from the library."
    if not errors:
        try:
            exercises.assign(
                session=session, actor=user, course_id=course_id, exercise_id=int(values["exercise_id"]),
                dosage=checked, note=values["note"],
            )  # fmt: skip
        except InputError as exc:
            errors["exercise_id" if "note" not in str(exc) else "note"] = str(exc)
    if errors:
        session.rollback()
        return _programme(request, session, user, course_id, values, errors)
    session.commit()
    return RedirectResponse(f"/courses/{course_id}/exercises", status_code=303)


@router.post("/courses/{course_id}/exercises/{entry_id}/stop")
def stop_exercise(
    request: Request, course_id: int, entry_id: int, form: PostedForm, session: DbSession, user: Clinician
) -> RedirectResponse:
    """Stop a prescribed exercise; it stays in the programme's history."""
    check_csrf(request, form.get("csrf_token"))
    exercises.stop(session=session, actor=user, course_id=course_id, entry_id=entry_id)
    session.commit()
    return RedirectResponse(f"/courses/{course_id}/exercises", status_code=303)


@router.get("/courses/{course_id}/handout.pdf")
def handout(course_id: int, session: DbSession, user: Reader) -> Response:
    """The patient handout (PDF; the file name holds no patient data)."""
    course = patients.readable_course(session=session, actor=user, course_id=course_id)
    pdf = handout_pdf(session=session, actor=user, course=course, today=dt.date.today())
    headers = {"Content-Disposition": f'inline; filename="handout-course-{course_id}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
