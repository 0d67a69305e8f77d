"""Output power checks: the clinic's rules, recording a check or a service visit, and the ARM gate.

Like `service`, every function takes the database session keyword-only and never commits.

Rules: the measured output must lie within the clinic's tolerance of the set power at every set point
(default +/-20 %, the accuracy 21 CFR 1040.11(a) requires of the indicated output [21CFR1040]; a clinic
may only tighten it), and a machine must have been checked within its interval (the clinic's, else the
maker's profile, else DEFAULT_INTERVAL_DAYS). ARM is refused, with the reason, when the machine's latest
record is a failed check, a service visit not yet followed by a check, or a check that is overdue, or
when there is none. Anything that cannot be established refuses too (fail safe).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import audit
from laserdose.clinic.models import PowerCheck, QaPolicy, Role, User, utcnow
from laserdose.clinic.users import require_role
from laserdose.device.calibration import check_factor
from laserdose.device.qa import check_meter_reading
from laserdose.domain.wavelengths import wavelength_key
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile

DEFAULT_TOLERANCE = 0.20  # 21 CFR 1040.11(a): indicated output accurate within +/-20 % [21CFR1040] [S]
DEFAULT_INTERVAL_DAYS = 30  # when neither the clinic nor the maker names one [U: a monthly check]
METER_CALIBRATION_MAX_DAYS = 365  # a meter calibrated longer ago is refused [U: yearly recalibration]
MAX_READINGS = 200
SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Policy:
    """The clinic's rules: tolerance [-] and its own check interval [days] (None: the maker's)."""

    tolerance: float
    interval_days: int | None


@dataclass(frozen=True)
class QaState:
    """Whether a machine may be armed, and why not.

    Attributes:
        allowed: True when the latest record is a passing, current check.
        reason: why ARM is refused (empty when allowed), as the operator reads it.
        check: the latest record of the machine, if any.
        due_on: the date the next check is due, if a check exists.
        interval_days: the interval in force [days].
        tolerance: the tolerance in force [-].
    """

    allowed: bool
    reason: str
    check: PowerCheck | None
    due_on: dt.date | None
    interval_days: float
    tolerance: float


def policy(*, session: Session) -> Policy:
    """The clinic's rules (defaults when none were set)."""
    row = session.scalars(select(QaPolicy).order_by(QaPolicy.id.desc()).limit(1)).first()
    if row is None:
        return Policy(DEFAULT_TOLERANCE, None)
    return Policy(row.tolerance_fraction, row.interval_days)


def set_policy(*, session: Session, actor: User, tolerance: float, interval_days: int | None) -> Policy:
    """Set the clinic's tolerance (0 < t <= 0.20: tighter than the regulation only) and interval (admins)."""
    require_role(actor, Role.ADMIN)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance):
        raise InputError(f"tolerance must be a number, got {tolerance!r}")
    if not 0.0 < tolerance <= DEFAULT_TOLERANCE:
        raise InputError(f"tolerance must be > 0 and at most {DEFAULT_TOLERANCE:g} (21 CFR 1040.11(a))")
    if interval_days is not None and not 1 <= interval_days <= 366:
        raise InputError(f"check interval must be 1-366 days, got {interval_days}")
    row = QaPolicy(tolerance_fraction=float(tolerance), interval_days=interval_days)
    session.add(row)
    session.flush()
    audit.record(
        session=session, actor=actor.username, action="qa.policy", entity="qa_policy", entity_id=row.id,
        details={"tolerance_fraction": row.tolerance_fraction, "interval_days": interval_days},
    )  # fmt: skip
    return Policy(row.tolerance_fraction, interval_days)


def interval_days(*, session: Session, profile_name: str) -> float:
    """The check interval in force for a machine of `profile_name` [days]."""
    own = policy(session=session).interval_days
    if own is not None:
        return float(own)
    maker = load_profile(profile_name).qa_interval_days
    return maker if maker is not None else float(DEFAULT_INTERVAL_DAYS)


def check_meter(meter_id: str, meter_calibrated_on: dt.date, today: dt.date) -> str:
    """The meter's identity, stripped; InputError when it is missing or its calibration is not current."""
    name = meter_id.strip()
    if not name or len(name) > 64:
        raise InputError("meter identity must name the meter (1-64 characters, e.g. its serial number)")
    if meter_calibrated_on > today:
        raise InputError(f"meter calibration date {meter_calibrated_on} is in the future")
    if (today - meter_calibrated_on).days > METER_CALIBRATION_MAX_DAYS:
        raise InputError(
            f"the meter was calibrated on {meter_calibrated_on}, more than {METER_CALIBRATION_MAX_DAYS} "
            "days ago: recalibrate it before checking a machine with it"
        )
    return name


def _reading(index: int, raw: Any) -> dict[str, Any]:
    """One stored reading, every number checked; deviations computed here, never taken from the caller."""
    if not isinstance(raw, dict):
        raise InputError(f"reading {index + 1} must be an object")
    try:
        set_w, monitor_raw, meter_raw = raw["set_power_w"], raw["monitor_w"], raw["meter_w"]
        wavelength, handpiece = raw["wavelength_nm"], str(raw["handpiece"])
    except KeyError as exc:
        raise InputError(f"reading {index + 1} lacks {exc.args[0]}") from None
    where = f"reading {index + 1} ({wavelength} nm, {handpiece})"
    set_power = check_meter_reading(set_w, f"{where}: set power")
    if set_power <= 0:
        raise InputError(f"{where}: set power must be above 0 W")
    meter = check_meter_reading(meter_raw, f"{where}: meter reading")
    monitor = check_meter_reading(monitor_raw, f"{where}: monitor reading")
    return {
        "wavelength_nm": float(check_meter_reading(wavelength, f"{where}: wavelength")),
        "handpiece": handpiece,
        "set_power_w": set_power,
        "monitor_w": monitor,
        "meter_w": meter,
        "deviation_from_set": meter / set_power - 1.0,
        "deviation_from_monitor": meter / monitor - 1.0 if monitor > 0 else None,
    }


def record_check(
    *, session: Session, actor: User, machine_serial: str, machine_profile: str, readings: list[Any],
    meter_id: str, meter_calibrated_on: dt.date, calibration: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> PowerCheck:  # fmt: skip
    """Store a power check (operators and admins); every input is checked before anything is written.

    Args:
        session: open database session.
        actor: who measured.
        machine_serial: the machine's serial number as it reports it.
        machine_profile: its profile name.
        readings: one {"wavelength_nm", "handpiece", "set_power_w", "monitor_w", "meter_w"} per set point
            [nm, -, W, W, W]; deviations are computed here.
        meter_id: the external meter's identity (maker, model, serial).
        meter_calibrated_on: the date of the meter's own calibration.
        calibration: the machine's monitor factors and dates as it reported them.
        at: when the check was made (default now; aware).
    """
    require_role(actor, Role.OPERATOR, Role.ADMIN)
    when = at or utcnow()
    serial, profile = _machine(machine_serial, machine_profile)
    meter = check_meter(meter_id, meter_calibrated_on, when.date())
    if not readings or len(readings) > MAX_READINGS:
        raise InputError(f"a check needs 1-{MAX_READINGS} readings, got {len(readings)}")
    rows = [_reading(i, raw) for i, raw in enumerate(readings)]
    machine = load_profile(profile)
    for index, row in enumerate(rows):  # InputError naming the machine's sources and handpieces
        machine.source(row["wavelength_nm"])
        machine.handpiece(row["handpiece"])
        if row["set_power_w"] > machine.source(row["wavelength_nm"]).max_power_w + 1e-9:
            raise InputError(f"reading {index + 1}: set power {row['set_power_w']:g} W above the maximum")
    tolerance = policy(session=session).tolerance
    worst = max((r["deviation_from_set"] for r in rows), key=abs)
    check = PowerCheck(
        machine_serial=serial, machine_profile=profile, kind="check", at=when, recorded_by_id=actor.id,
        meter_id=meter, meter_calibrated_on=meter_calibrated_on, tolerance_fraction=tolerance,
        passed=abs(worst) <= tolerance, worst_deviation=worst, readings=rows,
        calibration=dict(calibration or {}), note="",
    )  # fmt: skip
    session.add(check)
    session.flush()
    audit.record(
        session=session, actor=actor.username, action="qa.check", entity="power_checks", entity_id=check.id,
        details={"machine": serial, "passed": check.passed, "worst_deviation": round(worst, 4)},
    )  # fmt: skip
    return check


def record_service(
    *, session: Session, actor: User, machine_serial: str, machine_profile: str,
    factors: dict[str, Any], note: str, at: dt.datetime | None = None,
) -> PowerCheck:  # fmt: skip
    """Record a service visit that set new monitor factors (admins); the machine then needs a check."""
    require_role(actor, Role.ADMIN)
    serial, profile = _machine(machine_serial, machine_profile)
    if not note.strip():
        raise InputError("a service visit needs a note (who serviced the machine and what was done)")
    wavelengths = {wavelength_key(w) for w in load_profile(profile).wavelengths_nm}
    checked = {}
    for key, value in factors.items():
        if key not in wavelengths:
            raise InputError(f"{profile} has no {key} nm source")
        checked[key] = {"factor": check_factor(value), "date": (at or utcnow()).date().isoformat()}
    if not checked:
        raise InputError("a service visit must set at least one calibration factor")
    row = PowerCheck(
        machine_serial=serial, machine_profile=profile, kind="service", at=at or utcnow(),
        recorded_by_id=actor.id, meter_id="", meter_calibrated_on=None,
        tolerance_fraction=policy(session=session).tolerance, passed=False, worst_deviation=None,
        readings=[], calibration=checked, note=note.strip()[:2000],
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(
        session=session, actor=actor.username, action="qa.service", entity="power_checks", entity_id=row.id,
        details={"machine": serial, "factors": {k: v["factor"] for k, v in checked.items()}},
    )  # fmt: skip
    return row


def check_serial(serial: object) -> str:
    """A machine serial number (1-64 letters, digits, '.', '_', '-'), stripped; else InputError."""
    text = serial.strip() if isinstance(serial, str) else ""
    if not SERIAL.fullmatch(text):
        raise InputError(
            f"machine serial number must be 1-64 letters, digits, '.', '_' or '-', got {serial!r}"
        )
    return text


def _machine(serial: str, profile: str) -> tuple[str, str]:
    load_profile(profile)  # InputError for an unknown machine
    return check_serial(serial), profile


def history(*, session: Session, machine_serial: str) -> list[PowerCheck]:
    """Every check and service visit of a machine, oldest first."""
    statement = select(PowerCheck).where(PowerCheck.machine_serial == machine_serial)
    return list(session.scalars(statement.order_by(PowerCheck.at, PowerCheck.id)))


def machines(*, session: Session) -> list[tuple[str, str]]:
    """(serial, profile) of every machine with a record, sorted."""
    rows = session.execute(select(PowerCheck.machine_serial, PowerCheck.machine_profile).distinct())
    return sorted({(serial, profile) for serial, profile in rows})


def state(
    *, session: Session, machine_serial: str, machine_profile: str, now: dt.datetime | None = None
) -> QaState:
    """Whether the machine may be armed now (see the module's rules)."""
    now = now or utcnow()
    rules = policy(session=session)
    interval = interval_days(session=session, profile_name=machine_profile)
    records = history(session=session, machine_serial=machine_serial)
    latest = records[-1] if records else None
    if latest is None:
        return QaState(False, f"no power check recorded for machine {machine_serial}: check its output with "
                       "an external meter first", None, None, interval, rules.tolerance)  # fmt: skip
    due_on = (latest.at + dt.timedelta(days=interval)).date()
    reason = ""
    if latest.kind == "service":
        reason = (
            f"machine {machine_serial} was serviced on {latest.at:%Y-%m-%d}: record a passing power check"
        )
    elif not latest.passed:
        worst = latest.worst_deviation or 0.0
        reason = (
            f"the last power check ({latest.at:%Y-%m-%d}) failed: output {worst:+.0%} from the set power, "
            f"tolerance +/-{latest.tolerance_fraction:.0%}; record a passing check"
        )
    elif now > latest.at + dt.timedelta(days=interval):
        reason = (
            f"the power check is overdue (last {latest.at:%Y-%m-%d}, every {interval:g} days, due {due_on})"
        )
    return QaState(not reason, reason, latest, due_on, interval, rules.tolerance)


def gate(*, session: Session, identity: dict[str, Any]) -> QaState:
    """The QA state of the machine that identified itself as `identity` (HELLO); refuses when unsure."""
    serial, profile = identity.get("serial"), identity.get("profile")
    if not isinstance(serial, str) or not serial or not isinstance(profile, str):
        return QaState(False, "the machine reported no serial number: its power checks cannot be found",
                       None, None, 0.0, DEFAULT_TOLERANCE)  # fmt: skip
    try:
        found = state(session=session, machine_serial=serial, machine_profile=profile)
    except InputError as exc:
        return QaState(False, f"power check state unknown: {exc}", None, None, 0.0, DEFAULT_TOLERANCE)
    changed = _recalibrated_since(found.check, identity.get("calibration"))
    if found.allowed and changed:
        reason = f"the monitor calibration changed since the last power check ({changed}): record a "
        return replace(found, allowed=False, reason=reason + "passing check")
    return found


def _recalibrated_since(check: PowerCheck | None, reported: Any) -> str:
    """How the monitor factors the machine reports differ from those of `check` ('' when they agree).

    A machine recalibrated without a recorded service visit would otherwise keep the old check's
    permission while its true output per monitored watt has changed.
    """
    if check is None or not check.calibration:
        return ""
    if not isinstance(reported, dict):
        return "the machine reports no calibration"
    for key, entry in check.calibration.items():
        now = reported.get(key)
        old_factor = entry.get("factor") if isinstance(entry, dict) else None
        new_factor = now.get("factor") if isinstance(now, dict) else None
        if old_factor != new_factor:
            return f"{key} nm factor {old_factor} -> {new_factor}"
    return ""


def meter_over_monitor(check: PowerCheck) -> dict[str, float]:
    """Per wavelength, the mean meter / monitor ratio of a check's readings [-] (the output factor)."""
    ratios: dict[str, list[float]] = {}
    for row in check.readings:
        if row.get("monitor_w"):
            ratios.setdefault(f"{row['wavelength_nm']:g}", []).append(row["meter_w"] / row["monitor_w"])
    return {key: sum(values) / len(values) for key, values in ratios.items()}


def session_calibration(check: PowerCheck, identity: dict[str, Any]) -> dict[str, Any]:
    """What a treatment session stores: the check it relied on, the factors in force and the output factor."""
    return {
        "power_check_id": check.id,
        "checked_at": check.at.isoformat(),
        "monitor": identity.get("calibration", {}),
        "meter_over_monitor": meter_over_monitor(check),
    }


def calibrated_energy_j(energy_j: dict[str, Any], calibration: dict[str, Any]) -> dict[str, float]:
    """Delivered energy by the calibration in force: monitor energy x the check's meter / monitor [J].

    A wavelength without a measured ratio keeps its monitor energy.
    """
    ratios = calibration.get("meter_over_monitor", {}) if isinstance(calibration, dict) else {}
    return {key: float(value) * float(ratios.get(key, 1.0)) for key, value in energy_j.items()}
