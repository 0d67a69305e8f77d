"""Screening form, plan editor with a live preview (HTMX), course creation and signing, plan reports."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from laserdose.clinic import course_closing, patients, plans, record_stamp, screenings, signing
from laserdose.clinic.models import Course, Role, Screening, User
from laserdose.clinic.models import Patient as PatientRecord
from laserdose.clinic.users import READERS
from laserdose.clinical import screening_rules as vocabulary
from laserdose.clinical.protocols import get_protocol, load_protocols
from laserdose.clinical.screening import automatic_terms
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile, shipped_profiles
from laserdose.planning.page_stamp import PageStamp
from laserdose.planning.physics import TablePhysics
from laserdose.planning.plan import DEFAULT_SKIN_LIMIT_C
from laserdose.planning.report import write_plan_report
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render
from laserdose.web.plan_editor_form import PLAN_FIELDS, parse_plan_form, parse_screening_form
from laserdose.web.plan_view import get_physics, plan_view
from laserdose.web.routes.day_pages import consent_from_form
from laserdose.web.routes.referral_pages import screening_result_page

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *READERS))]
Clinician = Annotated[
    User, Depends(roles(page_user, Role.CLINICIAN, doing="screen patients and plan treatment"))
]
Physics = Annotated[TablePhysics, Depends(get_physics)]
TEXT_FIELDS = ("home_exercise", "advice", "accept_outside_window", "outside_window_reason")
CONSENT_FIELDS = ("consent_given", "consent_name", "consent_date")
DEFAULT_DEVICE = "15w-dual"
DEFAULT_AREA_CM2 = 150.0  # the example patient's (examples/patient.toml)
VOCABULARY = {
    "diagnoses": vocabulary.DIAGNOSES,
    "red_flags": vocabulary.RED_FLAGS,
    "contraindications": vocabulary.CONTRAINDICATIONS,
    "precautions": vocabulary.PRECAUTIONS,
}


def _today_utc() -> dt.date:
    """Today in UTC, the zone the database stores times in (ages at screening and at signing agree)."""
    return dt.datetime.now(dt.UTC).date()


def _screening_page(
    request: Request, user: User, patient: PatientRecord, values: dict[str, Any], errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    age = screenings.age_years(patient.birth_date, _today_utc())
    automatic = [vocabulary.ALL_RULES[code] for code in automatic_terms(patient.skin_type, age)]
    return render(
        request, "screening_form.html", user, status_code, patient=patient, values=values, errors=errors,
        vocab=VOCABULARY, age=age, automatic=automatic,
    )  # fmt: skip


@router.get("/patients/{patient_id}/screening/new")
def screening_form(request: Request, patient_id: int, session: DbSession, user: Clinician) -> HTMLResponse:
    """The screening questionnaire (clinicians)."""
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    values = {"diagnosis": "", "red_flags": [], "contraindications": [], "precautions": []}
    return _screening_page(request, user, patient, values, {})


# The form routes are plain `def` (thread pool): their database work and the planner (CPU, up to ~0.5 s)
# never hold up the event loop, and with it the treatment console's STOP.


@router.post("/patients/{patient_id}/screening/new", response_model=None)
def screen_patient(
    request: Request, patient_id: int, form: PostedForm, session: DbSession, user: Clinician
) -> Response:
    """Screen and save, then show the decision; bad input shows each field's error with the answers kept."""
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    check_csrf(request, form.get("csrf_token"))
    values, errors = parse_screening_form(form)
    if errors:
        return _screening_page(request, user, patient, values, errors, 422)
    try:
        screening, _decision = screenings.screen_patient(
            session=session, actor=user, patient_id=patient_id, answers=values, today=_today_utc()
        )
    except screenings.DropReasonNeeded as exc:
        errors["drop_reason"] = (
            f"the previous screening had {', '.join(exc.dropped)}; say why it no longer applies"
        )
        return _screening_page(request, user, patient, values, errors, 422)
    session.commit()
    return RedirectResponse(f"/screenings/{screening.id}", status_code=303)


@router.post("/patients/{patient_id}/screening/preview")
def screening_preview(
    request: Request, patient_id: int, form: PostedForm, session: DbSession, user: Clinician
) -> HTMLResponse:
    """The decision for the questionnaire as ticked so far (HTMX), nothing stored."""
    check_csrf(request, form.get("csrf_token"))
    values, errors = parse_screening_form(form)
    if errors:
        return render(request, "_screening_decision.html", user, label=None, reasons=[], errors=errors)
    decision = screenings.preview_screening(
        session=session, actor=user, patient_id=patient_id, answers=values, today=_today_utc()
    )
    return render(
        request, "_screening_decision.html", user, label=screenings.decision_label(decision),
        reasons=decision.to_dict()["reasons"], errors={},
    )  # fmt: skip


@router.get("/screenings/{screening_id}")
def screening_result(request: Request, screening_id: int, session: DbSession, user: Reader) -> HTMLResponse:
    """A stored screening: the decision, its reasons and their sources."""
    screening = screenings.get_screening(session=session, actor=user, screening_id=screening_id)
    return screening_result_page(request, user, screening, {})


def _default_values(patient: PatientRecord, screening: Screening) -> dict[str, str]:
    diagnosis = screening.answers.get("diagnosis")
    protocols = load_protocols()
    matching = [name for name, protocol in sorted(protocols.items()) if protocol.diagnosis == diagnosis]
    return {
        "protocol": matching[0] if matching else "", "device": DEFAULT_DEVICE,
        "area_cm2": f"{DEFAULT_AREA_CM2:g}", "skin_limit_c": f"{DEFAULT_SKIN_LIMIT_C:g}", "fat_mm": "",
        "bmi": f"{patient.bmi_kg_m2:g}", "home_exercise": "", "advice": "",
        "consent_name": patient.name, "consent_date": _today_utc().isoformat(),
    }  # fmt: skip


def _editor_context(
    session: DbSession, user: User, patient_id: int, values: dict[str, str], physics: TablePhysics
) -> dict[str, Any]:
    """The preview for `values` (or each field's error) and the choices of the editor."""
    screening = screenings.latest_screening(session=session, actor=user, patient_id=patient_id)
    if screening is not None and screening.answers.get("diagnosis") not in vocabulary.DIAGNOSES:
        screening = None  # a screening stored without the questionnaire (imported, demo): screen again
    context: dict[str, Any] = {"screening": screening, "values": values, "errors": {}, "view": None}
    if screening is None:
        return context
    inputs, errors = parse_plan_form(values, screening)
    context["errors"] = errors
    if inputs is None:
        return context
    try:
        plan, patient = plans.propose_plan(
            session=session, actor=user, patient_id=patient_id, inputs=inputs, physics=physics,
            today=_today_utc(),
        )  # fmt: skip
    except InputError as exc:  # what the form cannot see, e.g. a fat thickness outside the table
        errors["form"] = str(exc)
        return context
    basis = (load_profile(inputs.device), get_protocol(inputs.protocol))
    context["view"] = plan_view(plan, patient, basis, physics)
    context["inputs"] = inputs
    return context


def _editor_page(
    request: Request, user: User, patient: PatientRecord, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return render(
        request, "plan_editor.html", user, status_code, patient=patient, protocols=load_protocols(),
        devices=shipped_profiles(), fields=PLAN_FIELDS, **context,
    )  # fmt: skip


@router.get("/patients/{patient_id}/plan")
def plan_editor(
    request: Request, patient_id: int, session: DbSession, user: Clinician, physics: Physics
) -> HTMLResponse:
    """The plan editor, with the preview of the default plan (clinicians)."""
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    screening = screenings.latest_screening(session=session, actor=user, patient_id=patient_id)
    values = _default_values(patient, screening) if screening else {}
    context = _editor_context(session, user, patient_id, values, physics)
    return _editor_page(request, user, patient, context)


def _form_values(form: FormData) -> dict[str, str]:
    return {
        field: str(form.get(field, "")).strip() for field in (*PLAN_FIELDS, *TEXT_FIELDS, *CONSENT_FIELDS)
    }


@router.post("/patients/{patient_id}/plan/preview")
def plan_preview(
    request: Request, patient_id: int, form: PostedForm, session: DbSession, user: Clinician, physics: Physics
) -> HTMLResponse:
    """The live preview (HTMX): the plan for the editor's current fields, or each field's error."""
    check_csrf(request, form.get("csrf_token"))
    context = _editor_context(session, user, patient_id, _form_values(form), physics)
    return render(request, "_plan_preview.html", user, fields=PLAN_FIELDS, oob=True, **context)


@router.post("/patients/{patient_id}/plan", response_model=None)
def create_course(
    request: Request, patient_id: int, form: PostedForm, session: DbSession, user: Clinician, physics: Physics
) -> Response:
    """Create the course from the editor's plan and sign it; otherwise the editor again with the errors."""
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    check_csrf(request, form.get("csrf_token"))
    values = _form_values(form)
    context = _editor_context(session, user, patient_id, values, physics)
    view = context["view"]
    screening = context["screening"]
    if view is not None and screening is not None and form.get("screening_id") != str(screening.id):
        view = context["view"] = None  # someone screened the patient again since this editor was opened
        context["errors"]["form"] = "A newer screening exists; review the plan below before signing."
    if view is not None and not view.signable:
        context["errors"]["form"] = f"This plan cannot be signed: {view.refusal}"
    acknowledgement = signing.WindowAcknowledgement(
        accepted=bool(values["accept_outside_window"]), reason=values["outside_window_reason"]
    )
    if view is not None and view.needs_acknowledgement:
        context["errors"] |= signing.acknowledgement_problem(acknowledgement)
    if view is not None and not context["errors"]:
        diagnosis = get_protocol(context["inputs"].protocol).diagnosis
        other = course_closing.active_course_conflict(session, patient_id, diagnosis)
        if other is not None:
            context["errors"]["form"] = f"This plan cannot be signed: {other}."
    given, consent_errors = consent_from_form(values)
    context["errors"] |= consent_errors
    if view is None or context["errors"]:
        return _editor_page(request, user, patient, context, 422)
    course = signing.create_signed_course(
        session=session, actor=user, patient_id=patient_id, plan=view.plan, inputs=context["inputs"],
        physics=physics, home_exercise=values["home_exercise"], advice=values["advice"],
        acknowledgement=acknowledgement if view.needs_acknowledgement else None, given=given,
    )  # fmt: skip
    session.commit()
    return RedirectResponse(f"/patients/{patient_id}#course-{course.id}", status_code=303)


def _pdf(
    plan: Any, patient: Any, inputs: plans.PlanInputs, physics: TablePhysics, filename: str,
    stamp: PageStamp, reason: str | None = None, body_zones: Sequence[str] = (),
) -> Response:  # fmt: skip
    buffer = io.BytesIO()
    basis = (load_profile(inputs.device), get_protocol(inputs.protocol))
    write_plan_report(
        buffer, plan, patient, basis, physics, outside_band_reason=reason, body_zones=body_zones,
        stamp=stamp,
    )  # fmt: skip
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(buffer.getvalue(), media_type="application/pdf", headers=headers)


@router.post("/patients/{patient_id}/plan/report.pdf", response_model=None)
def editor_plan_report(
    request: Request, patient_id: int, form: PostedForm, session: DbSession, user: Clinician, physics: Physics
) -> Response:
    """The PDF report of the plan now in the editor (before it is signed)."""
    patient = patients.get_patient(session=session, actor=user, patient_id=patient_id)
    check_csrf(request, form.get("csrf_token"))
    values = _form_values(form)
    context = _editor_context(session, user, patient_id, values, physics)
    if context["view"] is None:
        return _editor_page(request, user, patient, context, 422)
    plan, planning_patient = context["view"].plan, context["view"].patient
    stamp = record_stamp.draft_stamp(patient, plan)
    return _pdf(plan, planning_patient, context["inputs"], physics, f"plan-patient-{patient_id}.pdf", stamp)


@router.get("/courses/{course_id}/plan.pdf")
def course_plan_report(course_id: int, session: DbSession, user: Reader, physics: Physics) -> Response:
    """The PDF report of a course's signed plan, made again from its inputs and checked against it."""
    plan, patient = plans.course_plan(session=session, actor=user, course_id=course_id, physics=physics)
    course = session.get(Course, course_id)  # course_plan found it and checked the reader's access
    assert course is not None
    outside = plans.outside_window(course.plan)
    reason = outside["reason"] if outside else None
    inputs = plans.PlanInputs.from_dict(course.plan[plans.INPUTS_KEY])
    stamp = record_stamp.course_stamp(session, course, plan)
    filename = f"plan-course-{course_id}.pdf"
    return _pdf(plan, patient, inputs, physics, filename, stamp, reason, course.body_chart)
