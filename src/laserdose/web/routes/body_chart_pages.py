"""The body chart page of a course: tick (or click) the zones of the back that are treated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from laserdose.clinic import body_charts, patients
from laserdose.clinic.models import Role, User
from laserdose.clinic.users import READERS
from laserdose.clinical import body_chart
from laserdose.errors import InputError
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *READERS))]
Clinician = Annotated[User, Depends(roles(page_user, Role.CLINICIAN))]


def chart_svg(zones: list[str], interactive: bool = False) -> Markup:
    """The chart's SVG for a template (numbers and the chart's own labels only)."""
    return Markup(body_chart.svg(zones, interactive))  # noqa: S704 - no user text reaches it


@router.get("/courses/{course_id}/body-chart")
def body_chart_page(request: Request, course_id: int, session: DbSession, user: Reader) -> HTMLResponse:
    """The course's body chart; clinicians can change the marked zones."""
    return _page(request, session, user, course_id, None, None)


def _page(
    request: Request,
    session: DbSession,
    user: User,
    course_id: int,
    zones: list[str] | None,
    error: str | None,
) -> HTMLResponse:
    course = patients.readable_course(session=session, actor=user, course_id=course_id)
    patient = course.patient
    marked = list(course.body_chart) if zones is None else zones
    known = [zone for zone in marked if zone in body_chart.ZONES]
    return render(
        request, "body_chart.html", user, 422 if error else 200, course=course, patient=patient,
        marked=marked, zones=body_chart.ZONES, svg=chart_svg(known, True), error=error,
    )  # fmt: skip


@router.post("/courses/{course_id}/body-chart", response_model=None)
def mark_zones(
    request: Request, course_id: int, form: PostedForm, session: DbSession, user: Clinician
) -> Response:
    """Save the ticked zones, then go back to the chart."""
    check_csrf(request, form.get("csrf_token"))
    zones = [str(zone) for zone in form.getlist("zone")]
    try:
        course = body_charts.mark(session=session, actor=user, course_id=course_id, zones=zones)
    except InputError as exc:
        session.rollback()
        return _page(request, session, user, course_id, zones, str(exc))
    session.commit()
    return RedirectResponse(f"/patients/{course.patient_id}#course-{course.id}", status_code=303)
