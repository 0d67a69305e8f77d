"""Machines and their output power checks: the list, a machine's page with its trend, the check form.

Operators record a check the way the CLI guides it: every source and handpiece at each set point, the
machine's own reading and the external meter's, the meter's identity and calibration date. Admins set the
clinic's tolerance and interval and record service visits. Every page is plain HTML; the trend is SVG.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from laserdose.clinic import qa, qa_trend
from laserdose.clinic.models import Role, User
from laserdose.clinic.qa_report import qa_report_pdf
from laserdose.device.qa import SetPoint, check_meter_reading, set_points
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile, shipped_profiles
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render
from laserdose.web.qa_charts import trend_svg

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(roles(page_user, Role.ADMIN, Role.CLINICIAN, Role.OPERATOR))]
Checker = Annotated[User, Depends(roles(page_user, Role.ADMIN, Role.OPERATOR))]
Admin = Annotated[User, Depends(roles(page_user, Role.ADMIN))]


def _profile(name: str) -> str:
    if name not in shipped_profiles():
        raise InputError(f"unknown machine profile {name!r}; known: {', '.join(shipped_profiles())}")
    return name


@router.get("/machines")
def machines_page(request: Request, session: DbSession, user: Reader) -> HTMLResponse:
    """Every machine with a power check, its state, and the clinic's rules."""
    return _machines(request, session, user)


def _machines(
    request: Request, session: DbSession, user: User, status_code: int = 200,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    rows = [
        (serial, profile, qa.state(session=session, machine_serial=serial, machine_profile=profile))
        for serial, profile in qa.machines(session=session)
    ]
    return render(
        request, "machines.html", user, status_code, rows=rows, policy=qa.policy(session=session),
        profiles=shipped_profiles(), device_url=request.app.state.settings.device_url, errors=errors or {},
        values=values or {},
    )  # fmt: skip


@router.get("/machines/new-check")
def new_check(serial: str, profile: str, user: Checker) -> RedirectResponse:
    """From the machines list: the check form of the machine named by serial number and profile."""
    qa.check_serial(serial)
    return RedirectResponse(
        f"/machines/{serial.strip()}/checks/new?profile={_profile(profile)}", status_code=303
    )


@router.get("/machines/{serial}")
def machine_page(
    request: Request, serial: str, session: DbSession, user: Reader, profile: str = ""
) -> HTMLResponse:
    """A machine: may it be armed, its checks and service visits, the trend with the tolerance band."""
    return render(request, "machine.html", user, **_machine_context(session, serial, profile))


def _machine_context(session: DbSession, serial: str, profile: str) -> dict[str, Any]:
    checks = qa.history(session=session, machine_serial=serial)
    profile_name = _profile(checks[-1].machine_profile if checks else profile)
    state = qa.state(session=session, machine_serial=serial, machine_profile=profile_name)
    chart = trend_svg(
        qa_trend.series(checks), state.tolerance, f"Output of {serial} against set power", checks
    )
    return {
        "serial": serial, "profile": load_profile(profile_name), "state": state, "chart": chart,
        "checks": list(reversed(checks)), "errors": {}, "values": {},
        "alerts": qa_trend.trend_alerts(session=session, machine_serial=serial),
    }  # fmt: skip


def _points(profile_name: str) -> list[SetPoint]:
    return set_points(load_profile(profile_name))


def _form_page(request: Request, user: User, serial: str, profile: str, values: dict[str, str],
               errors: dict[str, str], status_code: int = 200) -> HTMLResponse:  # fmt: skip
    return render(
        request, "qa_check_form.html", user, status_code, serial=serial, profile=load_profile(profile),
        points=_points(profile), values=values, errors=errors, today=dt.date.today(),
    )  # fmt: skip


@router.get("/machines/{serial}/checks/new")
def check_form(request: Request, serial: str, user: Checker, profile: str = "15w-dual") -> HTMLResponse:
    """The power-check form: one row per source, handpiece and set point, in the order to run them."""
    return _form_page(request, user, serial, _profile(profile), {}, {})


def _parse_check(form: FormData, points: list[SetPoint]) -> tuple[dict[str, Any], dict[str, str]]:
    """Readings and meter from the form; one plain-sentence error per bad field."""
    errors: dict[str, str] = {}
    rows = []
    for index, point in enumerate(points):
        where = f"{point.wavelength_nm:g} nm, {point.handpiece}, {point.power_w:g} W"
        row: dict[str, Any] = {"wavelength_nm": point.wavelength_nm, "handpiece": point.handpiece,
                               "set_power_w": point.power_w}  # fmt: skip
        for field, label in (("monitor", "machine's reading"), ("meter", "meter reading")):
            name = f"{field}_{index}"
            try:
                row[f"{field}_w"] = check_meter_reading(str(form.get(name, "")), f"The {label} at {where}")
            except InputError as exc:
                errors[name] = f"{exc}."
        rows.append(row)
    meter_id = str(form.get("meter_id", "")).strip()
    if not meter_id:
        errors["meter_id"] = "Name the meter (maker, model and serial number)."
    try:
        calibrated_on = dt.date.fromisoformat(str(form.get("meter_calibrated_on", "")))
        qa.check_meter(meter_id or "?", calibrated_on, dt.date.today())
    except InputError as exc:  # before ValueError, of which it is a kind
        errors["meter_calibrated_on"] = f"{str(exc)[0].upper()}{str(exc)[1:]}."
    except ValueError:
        errors["meter_calibrated_on"] = "Give the date of the meter's calibration."
        calibrated_on = dt.date.today()
    return {"readings": rows, "meter_id": meter_id, "meter_calibrated_on": calibrated_on}, errors


@router.post("/machines/{serial}/checks/new", response_model=None)
def record_check(
    request: Request, serial: str, form: PostedForm, session: DbSession, user: Checker
) -> Response:
    """Store the check (nothing is stored while any field is wrong); then the machine's page."""
    check_csrf(request, form.get("csrf_token"))
    profile = _profile(str(form.get("profile", "")))
    values = {str(key): str(value) for key, value in form.items() if key != "csrf_token"}
    parsed, errors = _parse_check(form, _points(profile))
    if errors:
        return _form_page(request, user, serial, profile, values, errors, 422)
    try:
        qa.record_check(session=session, actor=user, machine_serial=serial, machine_profile=profile, **parsed)
    except InputError as exc:
        return _form_page(request, user, serial, profile, values, {"form": str(exc)}, 422)
    session.commit()
    return RedirectResponse(f"/machines/{serial}", status_code=303)


@router.post("/machines/{serial}/service", response_model=None)
def record_service(
    request: Request, serial: str, form: PostedForm, session: DbSession, user: Admin
) -> Response:
    """An admin records a service visit that set new monitor factors (audited)."""
    check_csrf(request, form.get("csrf_token"))
    profile = _profile(str(form.get("profile", "")))
    factors: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for wavelength in load_profile(profile).wavelengths_nm:
        text = str(form.get(f"factor_{wavelength:g}", "")).strip()
        if text:
            try:
                factors[f"{wavelength:g}"] = float(text)
            except ValueError:
                errors[f"factor_{wavelength:g}"] = f"The factor at {wavelength:g} nm must be a number."
    if not errors:
        try:
            qa.record_service(session=session, actor=user, machine_serial=serial, machine_profile=profile,
                              factors=factors, note=str(form.get("note", "")))  # fmt: skip
        except InputError as exc:
            errors["service"] = f"{exc}."
    if errors:
        session.rollback()
        context = _machine_context(session, serial, profile)
        context["errors"], context["values"] = errors, {str(k): str(v) for k, v in form.items()}
        return render(request, "machine.html", user, 422, **context)
    session.commit()
    return RedirectResponse(f"/machines/{serial}", status_code=303)


@router.post("/machines/policy", response_model=None)
def set_policy(request: Request, form: PostedForm, session: DbSession, user: Admin) -> Response:
    """An admin sets the clinic's tolerance (per cent, at most 20) and its own check interval (days)."""
    check_csrf(request, form.get("csrf_token"))
    values = {key: str(form.get(key, "")).strip() for key in ("tolerance_percent", "interval_days")}
    errors: dict[str, str] = {}
    try:
        tolerance = float(values["tolerance_percent"]) / 100.0
        interval = int(values["interval_days"]) if values["interval_days"] else None
        qa.set_policy(session=session, actor=user, tolerance=tolerance, interval_days=interval)
    except InputError as exc:  # before ValueError, of which it is a kind
        errors["policy"] = f"{str(exc)[0].upper()}{str(exc)[1:]}."
    except ValueError:
        errors["policy"] = "The tolerance must be a number of per cent, the interval a whole number of days."
    if errors:
        session.rollback()
        return _machines(request, session, user, 422, errors, values)
    session.commit()
    return RedirectResponse("/machines", status_code=303)


@router.get("/machines/{serial}/qa-report.pdf")
def qa_report(request: Request, serial: str, session: DbSession, user: Reader) -> Response:
    """The machine's printable QA report (PDF)."""
    pdf = qa_report_pdf(
        session=session, actor=user, machine_serial=serial, today=dt.date.today(),
        clinic=request.app.state.settings.clinic_name,
    )  # fmt: skip
    headers = {"Content-Disposition": f'inline; filename="qa-report-{serial}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
