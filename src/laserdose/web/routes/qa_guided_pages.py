"""The guided power check: the server drives the machine point by point; the operator types each reading.

Starting checks the meter first (nothing is emitted for an unnamed or out-of-date meter) and refuses while
the treatment console holds the machine. The page refreshes itself (a meta refresh, no script) while the
output settles, then asks for the meter's reading; a wrong entry is explained and kept, and the machine
keeps emitting at that point until a valid reading, a cancel, or the time limit.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laserdose.clinic import qa
from laserdose.clinic.models import Role, User
from laserdose.clinic.qa_guided import SIMULATED, GuidedCheck, GuidedSetup
from laserdose.device.qa import set_points
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile, shipped_profiles
from laserdose.web.deps import page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render

router = APIRouter(include_in_schema=False)
Checker = Annotated[User, Depends(roles(page_user, Role.ADMIN, Role.OPERATOR))]


def _page(
    request: Request, user: User, error: str = "", typed: str = "", status_code: int = 200
) -> HTMLResponse:
    current: GuidedCheck | None = request.app.state.qa_guided.current
    return render(
        request, "qa_guided.html", user, status_code, check=current.snapshot() if current else None,
        setup=current.setup if current else None, error=error, typed=typed,
    )  # fmt: skip


@router.post("/machines/guided/start", response_model=None)
def start(request: Request, form: PostedForm, user: Checker) -> Response:
    """Check the meter, then let the server run the set points on the machine of the settings."""
    check_csrf(request, form.get("csrf_token"))
    settings = request.app.state.settings
    try:
        profile_name = str(form.get("profile", ""))
        if profile_name not in shipped_profiles():
            raise InputError(f"unknown machine profile {profile_name!r}")
        try:
            calibrated_on = dt.date.fromisoformat(str(form.get("meter_calibrated_on", "")))
        except ValueError:
            raise InputError("give the date of the meter's calibration") from None
        meter_id = qa.check_meter(str(form.get("meter_id", "")), calibrated_on, dt.date.today())
        if request.app.state.console.active() is not None:
            raise InputError("the treatment console holds the machine: disconnect it first")
        profile = load_profile(profile_name)
        setup = GuidedSetup(
            device_url=settings.device_url, profile=profile, points=set_points(profile),
            operator=user.username, meter_id=meter_id, meter_calibrated_on=calibrated_on,
            simulated_meter_allowed=settings.device_simulator,
        )  # fmt: skip
        check = GuidedCheck(setup, request.app.state.sessions)
        request.app.state.qa_guided.claim(check)
    except InputError as exc:
        return _page(request, user, f"Not started, nothing was emitted: {exc}.", status_code=409)
    check.start()
    return RedirectResponse("/machines/guided", status_code=303)


@router.get("/machines/guided")
def guided_page(request: Request, user: Checker) -> HTMLResponse:
    """The running (or last) guided check."""
    return _page(request, user)


@router.post("/machines/guided/reading", response_model=None)
def reading(request: Request, form: PostedForm, user: Checker) -> Response:
    """The meter's reading for the point now emitting (or the simulator's meter)."""
    check_csrf(request, form.get("csrf_token"))
    current: GuidedCheck | None = request.app.state.qa_guided.current
    typed = SIMULATED if form.get("simulated") else str(form.get("meter_w", ""))
    if current is None:
        return _page(request, user, "No power check is running.", status_code=409)
    try:
        current.submit(typed)
    except InputError as exc:
        message = str(exc)
        return _page(request, user, f"{message[0].upper()}{message[1:]}.", typed=typed, status_code=422)
    return RedirectResponse("/machines/guided", status_code=303)


@router.post("/machines/guided/cancel", response_model=None)
def cancel(request: Request, form: PostedForm, user: Checker) -> Response:
    """Stop the machine now and end the check (nothing is stored)."""
    check_csrf(request, form.get("csrf_token"))
    current: GuidedCheck | None = request.app.state.qa_guided.current
    if current is not None:
        current.cancel()
    return RedirectResponse("/machines/guided", status_code=303)
