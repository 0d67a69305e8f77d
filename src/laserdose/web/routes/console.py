"""The treatment console: operators connect, start and stop; clinicians watch; everyone may STOP.

The controller runs in the server (laserdose.clinic.console); these routes only command it and stream
what it does as server-sent events. STOP is its own endpoint that reads no database row and writes none
before the STOP frame is on the link: it needs only a session cookie and the form's CSRF token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from sqlalchemy import select

from laserdose.clinic import checklists, qa, qa_trend, schedule, treatment, users
from laserdose.clinic.completion import SameDay, completion_of, dose_options
from laserdose.clinic.console import IDLE_PHASES, ConsoleConfig, ConsoleRun, arming_problem
from laserdose.clinic.dose_accounting import count_doses
from laserdose.clinic.models import Course, Role, TreatmentSession, User, utcnow
from laserdose.clinic.plans import stored_plan_json
from laserdose.clinic.records import NotFound
from laserdose.device.plan import check_delivery
from laserdose.domain.plan import Delivery, read_delivery
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile, load_profile, shipped_profiles
from laserdose.safety.hazard import DEFAULT_EXPOSURE_S
from laserdose.safety.summary import EyewearNeed, plan_eyewear
from laserdose.web.checklist_view import checklist_answers, checklist_context, checklist_eyewear
from laserdose.web.deps import DbSession, LoginRequired, page_user, roles
from laserdose.web.dose_forms import console_start_form
from laserdose.web.forms import PostedForm, check_csrf, render
from laserdose.web.workers import ARRIVED_AT

router = APIRouter(include_in_schema=False)
Watcher = Annotated[User, Depends(roles(page_user, *users.RECORDERS))]
Operator = Annotated[User, Depends(roles(page_user, Role.OPERATOR, doing="run the treatment console"))]
Reader = Annotated[User, Depends(roles(page_user, *users.READERS))]
EVENT_PERIOD_S = 0.2  # how often a watching browser gets the console's state [s]
STOP_THREADS = anyio.CapacityLimiter(8)  # STOP never queues behind page requests in the shared pool
SHUTDOWN_REASON = "server shutting down"  # a treatment stopped by the server's shutdown, as recorded
SWITCHES = ("interlock_closed", "key_on", "estop_pressed", "handpiece_present")
RECONNECT_MS = 2000  # a following browser asks again this long after the stream ends (EventSource retry)


def console_config(request: Request) -> ConsoleConfig:
    """The console settings of this app."""
    settings = request.app.state.settings
    return ConsoleConfig(
        settings.device_url, settings.device_simulator, settings.console_period_s, settings.console_grace_s
    )


@asynccontextmanager
async def console_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At start, close sessions a dead server left running; at shutdown, stop every console."""

    def recover() -> None:
        with app.state.sessions.begin() as db:
            treatment.recover_running_sessions(db=db)

    await anyio.to_thread.run_sync(recover)  # no database wait on the event loop
    yield
    await anyio.to_thread.run_sync(app.state.console.close_all, SHUTDOWN_REASON)
    await anyio.to_thread.run_sync(app.state.qa_guided.cancel)


def course_delivery(course: Course) -> tuple[Delivery | None, DeviceProfile | None, str]:
    """The course's plan as the machine gets it, its machine's profile, or why it cannot be delivered."""
    try:
        delivery = read_delivery(stored_plan_json(course))
        profile = load_profile(delivery.device)
        return check_delivery(delivery, profile), profile, ""
    except InputError as exc:
        return None, None, str(exc)


def _eyewear(plan: Delivery | None, profile: DeviceProfile | None) -> list[EyewearNeed]:
    """Eyewear at the plan's set (peak) powers on its handpiece; none when the plan cannot be read."""
    if plan is None or profile is None:
        return []
    try:
        return plan_eyewear(
            profile, plan.handpiece, plan.power_w_by_wavelength,
            DEFAULT_EXPOSURE_S,
        )  # fmt: skip
    except InputError:
        return []


def _page(request: Request, db: DbSession, user: User, course_id: int, error: str = "",
          status_code: int = 200, checklist_form: dict[str, Any] | None = None) -> HTMLResponse:  # fmt: skip
    context = _context(request, db, user, course_id, checklist_form)
    return render(request, "console.html", user, status_code, error=error, **context)


def _context(
    request: Request, db: DbSession, user: User, course_id: int, checklist_form: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the console page and its live panel show: the plan, the run, the machine's checks, the records."""
    course = treatment.signed_course(db=db, actor=user, course_id=course_id)
    plan, profile, plan_error = course_delivery(course)
    run: ConsoleRun | None = request.app.state.console.get(course_id)
    statement = select(TreatmentSession).where(TreatmentSession.course_id == course_id)
    records = list(db.scalars(statement.order_by(TreatmentSession.id.desc()).limit(5)))
    goggles = _eyewear(plan, profile)
    connected = run is not None and run.phase in ("connected", "running", "ended") and run.identity
    qa_state = qa.gate(session=db, identity=run.identity) if run is not None and connected else None
    alerts = (
        qa_trend.trend_alerts(session=db, machine_serial=qa_state.check.machine_serial)
        if (qa_state is not None and qa_state.check is not None)
        else []
    )
    return {
        "course": course, "patient": course.patient, "plan": plan, "profile": profile,
        "plan_error": plan_error, "eyewear": goggles, "snapshot": run.snapshot() if run else None,
        "device_url": request.app.state.settings.device_url, "records": records,
        "can_operate": user.role == Role.OPERATOR, "qa_state": qa_state, "qa_alerts": alerts,
        "machine_serial": run.identity.get("serial", "") if run is not None else "",
        "machine_profile": run.identity.get("profile", "") if run is not None else "",
        "doses": count_doses(course), "options": dose_options(course, utcnow()),
        "completing": run.plan if run is not None and plan is not None and run.plan != plan else None,
        **checklist_context(db, user, course_id, plan, profile, checklist_form),
    }  # fmt: skip


@router.get("/console")
def current_console(request: Request, user: Watcher) -> RedirectResponse:
    """The console of the course connected to the machine, else the patient list (to pick a course)."""
    run: ConsoleRun | None = request.app.state.console.active()
    return RedirectResponse(f"/courses/{run.course_id}/console" if run else "/patients", status_code=303)


@router.get("/courses/{course_id}/console")
def console_page(request: Request, course_id: int, db: DbSession, user: Watcher) -> HTMLResponse:
    """The treatment console of a signed course (operators run it, clinicians watch)."""
    return _page(request, db, user, course_id)


@router.get("/courses/{course_id}/console/panel")
def console_panel(request: Request, course_id: int, db: DbSession, user: Watcher) -> HTMLResponse:
    """The console's buttons and its session records, as the page shows them now (fetched live)."""
    return render(request, "_console_panel.html", user, **_context(request, db, user, course_id))


@router.post("/courses/{course_id}/console/connect", response_model=None)
def connect(request: Request, course_id: int, form: PostedForm, db: DbSession, user: Operator) -> Response:
    """Connect to the machine of the settings and identify it (a plain def: runs off the event loop)."""
    check_csrf(request, form.get("csrf_token"))
    error = connect_console(request, db, user, course_id)
    if error:
        return _page(request, db, user, course_id, error, 409)
    return RedirectResponse(f"/courses/{course_id}/console", status_code=303)


def connect_console(request: Request, db: DbSession, user: User, course_id: int) -> str:
    """Claim the machine for the course and identify it; "" when connected, else why not (409)."""
    course = treatment.signed_course(db=db, actor=user, course_id=course_id)
    plan, profile, plan_error = course_delivery(course)
    if plan is None or profile is None:
        return f"this plan cannot be delivered: {plan_error}"
    guided = request.app.state.qa_guided.current
    if guided is not None and guided.active:
        return "a power check is running on the machine; finish it first"
    run = ConsoleRun(
        course_id=course_id, plan=plan, profile=profile, config=console_config(request),
        sessions=request.app.state.sessions, operator=user.username,
    )  # fmt: skip
    try:
        request.app.state.console.claim(run)  # closing the previous run may wait for its thread
        run.connect()
    except InputError as exc:
        return str(exc)
    return ""


@router.post("/courses/{course_id}/console/checklist", response_model=None)
def complete_checklist(
    request: Request, course_id: int, form: PostedForm, db: DbSession, user: Operator
) -> Response:
    """Record the safety checklist of the course's appointment today; the console again with any error."""
    check_csrf(request, form.get("csrf_token"))
    course = treatment.signed_course(db=db, actor=user, course_id=course_id)
    plan, profile, _ = course_delivery(course)
    answers = checklist_answers(form)
    entry = schedule.current_appointment(session=db, actor=user, course_id=course_id, today=utcnow().date())
    try:
        if entry is None:
            raise InputError("no session of this course is planned for today: move one to today first")
        checklists.record_checklist(
            session=db, actor=user, appointment_id=entry.appointment.id, answers=answers,
            eyewear=checklist_eyewear(plan, profile), now=utcnow(),
        )  # fmt: skip
    except InputError as exc:
        db.rollback()
        form_state = {"values": answers, "error": str(exc)}
        return _page(request, db, user, course_id, status_code=422, checklist_form=form_state)
    db.commit()
    return RedirectResponse(f"/courses/{course_id}/console#checklist", status_code=303)


async def stops_at_arrival(request: Request, course_id: int) -> int | None:
    """How many STOPs the course's console had when the start request arrived (None: no console).

    Arrived: here, now, or at the page worker that handed it on (`laserdose.web.workers.ARRIVED_AT`).
    """
    run: ConsoleRun | None = request.app.state.console.get(course_id)
    if run is None:
        return None
    return run.stops_at(request.scope.get(ARRIVED_AT, time.monotonic()))


@router.post("/courses/{course_id}/console/start", response_model=None)
def start(
    request: Request, course_id: int, stops_seen: Annotated[int | None, Depends(stops_at_arrival)],
    form: PostedForm, db: DbSession, user: Operator,
) -> Response:  # fmt: skip
    """Open the session record, then let the controller arm and deliver the plan.

    A plain def (runs off the event loop). A STOP pressed between the request's arrival (`stops_seen`,
    the first dependency) and the hand-over to the controller refuses the start: nothing is armed.
    """
    check_csrf(request, form.get("csrf_token"))
    try:
        completes, same_day = console_start_form(form)
    except InputError as exc:
        return _page(request, db, user, course_id, str(exc), 422)
    error, status_code = arm_and_start(request, db, user, course_id, stops_seen, completes, same_day)
    if error:
        return _page(request, db, user, course_id, error, status_code)
    return RedirectResponse(f"/courses/{course_id}/console", status_code=303)


def arm_and_start(
    request: Request, db: DbSession, user: User, course_id: int, stops_seen: int | None,
    completes: int | None = None, same_day: SameDay | None = None,
) -> tuple[str, int]:  # fmt: skip
    """Check the machine, open the session record (safety checklist and power check), hand over to arm.

    The one start of the web console and the JSON API. `completes`: the interrupted session whose
    remaining energy this one delivers; `same_day`: the confirmation a second dose that day needs.
    Returns ("", 0) when the controller has the session, else (why nothing was emitted, HTTP status).
    """
    run: ConsoleRun | None = request.app.state.console.get(course_id)
    if run is None or run.phase not in IDLE_PHASES or run.broken or stops_seen is None:
        return "connect to the machine first", 409
    run.poll_status()
    blocked = arming_problem(run.machine)
    if blocked:
        return f"refused, nothing was emitted: {blocked}", 409
    try:
        remainder = _remainder(db, user, course_id, completes, run.profile)
        record = treatment.open_session(
            db=db, actor=user, course_id=course_id, device=run.identity, completes_session_id=completes,
            same_day=same_day,
        )  # fmt: skip
    except InputError as exc:  # the ARM refusals, a closed course, a second dose unconfirmed, no remainder
        db.rollback()
        return f"refused, nothing was emitted: {exc}", 409
    db.commit()  # the record exists before the machine is armed
    try:
        run.start(record.id, stops_seen=stops_seen, remainder=remainder)
    except InputError as exc:  # StoppedBeforeArming, or the console closed meanwhile: never armed
        _close_unarmed(db, user, record.id, str(exc))
        return f"refused, nothing was emitted: {exc}", 409
    return "", 0


def _remainder(
    db: DbSession, user: User, course_id: int, completes: int | None, profile: DeviceProfile
) -> Delivery | None:
    """The rest of the plan that completes session `completes`, checked against the machine (or None)."""
    if completes is None:
        return None
    course = treatment.signed_course(db=db, actor=user, course_id=course_id)
    return check_delivery(completion_of(course, completes).delivery, profile)


def _close_unarmed(db: DbSession, user: User, session_id: int, reason: str) -> None:
    """Close a session record whose machine was never armed, with `reason` as its one interruption."""
    treatment.save_heartbeat(
        db=db, session_id=session_id, duration_s=0.0, energy_j_by_wavelength={},
        interruptions=[{"at_s": 0.0, "reason": reason}],
    )  # fmt: skip
    treatment.close_session(
        db=db, actor_name=user.username, session_id=session_id, completed=False, reason=reason
    )
    db.commit()


@router.post("/courses/{course_id}/console/stop", response_model=None)
async def stop(request: Request, course_id: int) -> Response:
    """STOP: emission off now. Any logged-in user; no database access before the machine is told."""
    if not isinstance(request.session.get("uid"), int):
        raise LoginRequired
    check_csrf(request, (await request.form()).get("csrf_token"))
    run: ConsoleRun | None = request.app.state.console.to_stop(course_id)  # one machine: STOP stops it
    if run is None:
        return JSONResponse({"detail": "no console is connected to the machine"}, status_code=404)
    await anyio.to_thread.run_sync(run.stop, "stopped by operator", limiter=STOP_THREADS)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(run.snapshot())
    return RedirectResponse(f"/courses/{course_id}/console", status_code=303)


@router.post("/courses/{course_id}/console/disconnect")
async def disconnect(request: Request, course_id: int, user: Operator) -> RedirectResponse:
    """Release the machine (a running session is stopped first)."""
    check_csrf(request, (await request.form()).get("csrf_token"))
    run: ConsoleRun | None = request.app.state.console.get(course_id)
    if run is not None:
        await anyio.to_thread.run_sync(run.close)
    return RedirectResponse(f"/courses/{course_id}/console", status_code=303)


def _watcher(request: Request) -> User:
    """The logged-in operator or clinician, checked with a short-lived database session."""
    with request.app.state.sessions() as db:
        user = page_user(request, db)
        users.require_role(user, *users.RECORDERS)
        return user


@router.get("/courses/{course_id}/console/events", response_model=None)
def events(request: Request, course_id: int, follow: bool = False) -> Response:
    """The console's state as server-sent events (no database held open).

    Without `follow` the stream ends with the session (phase "ended"). With it, as the console page asks,
    it goes on while the machine stays connected, through further sessions, and ends when the console is
    closed or replaced; the browser then asks again after RECONNECT_MS and so finds the next connection.
    """
    _watcher(request)
    run: ConsoleRun | None = request.app.state.console.get(course_id)
    registry = request.app.state.console
    last = ("closed",) if follow else ("ended", "closed")

    async def stream() -> AsyncIterator[str]:
        retry = f"retry: {RECONNECT_MS}\n\n" if follow else ""
        if run is None:
            yield retry + 'event: end\ndata: {"phase": "idle"}\n\n'
            return
        run.watcher_joined()
        try:
            yield retry
            while True:
                snapshot = run.snapshot()
                yield f"event: progress\ndata: {json.dumps(snapshot)}\n\n"
                if snapshot["phase"] in last or registry.get(course_id) is not run:
                    yield f"event: end\ndata: {json.dumps(snapshot)}\n\n"
                    return
                await asyncio.sleep(EVENT_PERIOD_S)
        finally:
            run.watcher_left()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/devices/{profile_name}/logo")
def device_logo(profile_name: str, user: Reader) -> FileResponse:
    """The maker's logo of a shipped device profile (SVG, served as an image: no scripts run)."""
    if profile_name not in shipped_profiles():
        raise NotFound(f"no device profile {profile_name!r}")
    logo = load_profile(profile_name).logo
    if not logo or not Path(logo).is_file():
        raise NotFound(f"device profile {profile_name!r} has no logo")
    headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    return FileResponse(logo, media_type="image/svg+xml", headers=headers)
