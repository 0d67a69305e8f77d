"""HTML pages: login, the patient chart, signing, the dashboard (the patient list: patient_pages)."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import Future
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from laserdose.clinic import access_audit, audit_checkpoints, chart, corrections, reports, signing, users
from laserdose.clinic.course_closing import CLOSE_REASONS
from laserdose.clinic.course_report import course_report_pdf
from laserdose.clinic.models import Role, User
from laserdose.clinical.outcomes import MIC
from laserdose.web.chart import outcome_charts
from laserdose.web.deps import DbSession, PageUser, in_one_hop, page_reader, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render
from laserdose.web.login import attempt, end_all_sessions, page_session_user, start_page_session
from laserdose.web.plan_view import get_physics

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, *users.READERS))]
Editor = Annotated[User, Depends(roles(page_user, *users.EDITORS, doing="add or change patient records"))]
Signer = Annotated[User, Depends(roles(page_user, Role.CLINICIAN, doing="sign plans"))]


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    """Show the login form."""
    return render(request, "login.html", None, username="", error=None)


# Routes that touch the database are plain `def`: FastAPI runs them in its thread pool, so a database
# that makes them wait never holds up the event loop (and with it the console's STOP). Forms are read
# on the loop by the PostedForm dependency.


@router.post("/login", response_model=None)
def login(request: Request, form: PostedForm, session: DbSession) -> Response:
    """Check the password (and one-time code where enrolled), throttled, then start a fresh session."""
    check_csrf(request, form.get("csrf_token"))
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    result = attempt(request, session, username, password, str(form.get("code", "")) or None)
    session.commit()  # the audit row; on success also a rehashed password, the TOTP step
    if result.retry_after_s:
        error = f"Too many failed logins from here. Wait {result.retry_after_s} s and try again."
        response = render(request, "login.html", None, 429, username=username, error=error)
        response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    if result.user is None:
        error = "Wrong username, password or one-time code."
        return render(request, "login.html", None, 401, username=username, error=error)
    start_page_session(request, result.user)
    return RedirectResponse(home_of(result.user), status_code=303)


@router.post("/logout")
def logout(request: Request, form: PostedForm, session: DbSession) -> RedirectResponse:
    """End the session, and with it every other session and API token of the user."""
    check_csrf(request, form.get("csrf_token"))
    user = page_session_user(request, session)
    if user is not None:
        access_audit.record_logout(session=session, user=user, via="page")
        end_all_sessions(session, user)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def home_of(user: User) -> str:
    """Where a user starts: operators at today's sessions, everyone else at the patient list."""
    return "/today" if user.role == Role.OPERATOR else "/patients"


@router.get("/")
def home(user: PageUser) -> RedirectResponse:
    """Start at the user's home page."""
    return RedirectResponse(home_of(user), status_code=303)


@router.get("/patients/{patient_id}")
@in_one_hop
def patient_chart(request: Request, patient_id: int) -> HTMLResponse:
    """The patient's chart: details, timeline and pain/disability charts with the MIC marked.

    The user lookup, the reads and the rendering run in one worker-thread hop on one connection (the page
    people open most; see `in_one_hop`); the view's audit entry is committed, with those of views that came
    meanwhile, before the page leaves (`laserdose.clinic.audit_group`).
    """
    with request.app.state.sessions() as session:
        user = page_reader(request, session, *users.READERS)
        return chart_page(request, session, user, patient_id)


def chart_page(
    request: Request, session: DbSession, user: User, patient_id: int, status_code: int = 200, **extra: object
) -> AfterCommit:
    """Render the chart; `extra` holds a form's errors and typed values (closing a course)."""
    found = chart.patient_chart(session=session, actor=user, patient_id=patient_id)
    # This request's transaction ends first (a caller's pending writes committed, as before): the append
    # runs on another connection and must never wait for a lock this one holds.
    session.commit()
    # On record (committed, with the views of requests that came meanwhile) before the page leaves; this
    # thread renders meanwhile.
    committed = request.app.state.audit_appender.submit(
        **access_audit.view_entry(actor=user, patient=found.patient, what="chart")
    )
    page = render(
        request, "chart.html", user, status_code, patient=found.patient, events=found.events,
        charts=outcome_charts(found.series), courses=found.courses, can_record=user.role in users.RECORDERS,
        may_correct=corrections.allowed_kinds(user), patient_history=found.patient_versions,
        close_reasons=CLOSE_REASONS,
        **({"form_course": None, "errors": {}, "values": {}} | extra),
    )  # fmt: skip
    return AfterCommit(page, committed)


class AfterCommit(HTMLResponse):
    """`page`, sent only once `committed` is done; when its commit failed, the error (a 500), no page."""

    def __init__(self, page: HTMLResponse, committed: Future[None]) -> None:  # noqa: D107
        self.status_code, self.body, self.background = page.status_code, page.body, page.background
        self.raw_headers = page.raw_headers
        self.committed = committed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        await asyncio.wrap_future(self.committed)
        await super().__call__(scope, receive, send)


@router.post("/courses/{course_id}/sign")
def sign_course(
    request: Request, course_id: int, form: PostedForm, session: DbSession, user: Signer
) -> RedirectResponse:
    """Sign a course's plan (clinicians only), then go back to the chart."""
    check_csrf(request, form.get("csrf_token"))
    physics = get_physics(request)
    course = signing.sign(session=session, actor=user, course_id=course_id, physics=physics)
    session.commit()
    return RedirectResponse(f"/patients/{course.patient_id}", status_code=303)


@router.get("/dashboard")
def dashboard(request: Request, session: DbSession, user: Editor) -> HTMLResponse:
    """Responder rates by condition and protocol (admins and clinicians)."""
    rates = reports.responder_rates(session=session, actor=user)
    return render(request, "dashboard.html", user, rates=rates, mic=MIC)


@router.get("/courses/{course_id}/report.pdf")
def course_report(request: Request, course_id: int, session: DbSession, user: Reader) -> Response:
    """The course's PDF report (file name without patient data)."""
    state = getattr(request.app.state, "audit_state", None)
    pdf = course_report_pdf(
        session=session, actor=user, course_id=course_id, today=dt.date.today(),
        audit_line=audit_checkpoints.describe(state) if state is not None else "",
        clinic=request.app.state.settings.clinic_name,
    )  # fmt: skip
    headers = {"Content-Disposition": f'attachment; filename="course-{course_id}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
