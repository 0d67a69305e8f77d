"""Output trend of a machine: each source's deviation from set power over time, and an early warning.

For every check, a source's deviation is its reading furthest from the set power. The warning fits a
least-squares line to a source's deviations since the last service visit (a recalibration restarts the
series) and alerts when the line crosses the tolerance before the next check is due: the machine would
drift out of tolerance while nobody looks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from laserdose.clinic import qa
from laserdose.clinic.models import PowerCheck

MIN_POINTS = 2  # a line needs two checks
MIN_SPAN_DAYS = 7.0  # checks closer together than this say nothing about a drift over weeks [U]


@dataclass(frozen=True)
class TrendPoint:
    """One source's deviation in one check: when [UTC], deviation from set [-], the check's tolerance [-]."""

    at: dt.datetime
    deviation: float
    tolerance: float
    check_id: int


@dataclass(frozen=True)
class TrendAlert:
    """A source whose trend crosses the tolerance before the next check.

    Attributes:
        wavelength: the source ("810").
        slope_per_day: fitted change of the deviation per day [1/day].
        crosses_on: the date the fitted line reaches the tolerance.
        due_on: the date the next check is due.
        message: the warning as the operator reads it.
    """

    wavelength: str
    slope_per_day: float
    crosses_on: dt.date
    due_on: dt.date
    message: str


def series(checks: list[PowerCheck]) -> dict[str, list[TrendPoint]]:
    """Per source, its deviation from set power in every check (service visits skipped), oldest first."""
    out: dict[str, list[TrendPoint]] = {}
    for check in checks:
        if check.kind != "check":
            continue
        worst: dict[str, float] = {}
        for row in check.readings:
            key = f"{row['wavelength_nm']:g}"
            if key not in worst or abs(row["deviation_from_set"]) > abs(worst[key]):
                worst[key] = float(row["deviation_from_set"])
        for key, deviation in worst.items():
            out.setdefault(key, []).append(
                TrendPoint(check.at, deviation, check.tolerance_fraction, check.id)
            )
    return out


def segments(points: list[TrendPoint], checks: list[PowerCheck]) -> list[list[TrendPoint]]:
    """`points` split at every service visit among `checks` (a recalibration starts a new line)."""
    visits = [c.at for c in checks if c.kind == "service"]
    parts: dict[int, list[TrendPoint]] = {}
    for point in points:
        parts.setdefault(sum(1 for at in visits if at <= point.at), []).append(point)
    return [parts[period] for period in sorted(parts)]


def since_last_service(checks: list[PowerCheck]) -> list[PowerCheck]:
    """The checks after the last service visit (all of them when there was none)."""
    services = [i for i, check in enumerate(checks) if check.kind == "service"]
    return checks[services[-1] + 1 :] if services else list(checks)


def fit(points: list[TrendPoint]) -> tuple[float, float]:
    """Least-squares line through (days since the first point, deviation): (intercept [-], slope [1/day])."""
    t0 = points[0].at
    xs = [(p.at - t0).total_seconds() / 86400.0 for p in points]
    ys = [p.deviation for p in points]
    n, mx, my = len(xs), sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if n < MIN_POINTS or sxx == 0.0:
        return my, 0.0
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - slope * mx, slope


def crossing(points: list[TrendPoint], tolerance: float) -> tuple[float, dt.date | None]:
    """The fitted slope [1/day] and the date the line reaches +/-tolerance going outwards (None if never)."""
    intercept, slope = fit(points)
    if slope == 0.0:
        return 0.0, None
    bound = tolerance if slope > 0 else -tolerance
    days = (bound - intercept) / slope
    return slope, (points[0].at + dt.timedelta(days=days)).date()


def trend_alerts(*, session: Session, machine_serial: str) -> list[TrendAlert]:
    """Sources of the machine whose trend leaves the tolerance before the next check is due."""
    checks = qa.history(session=session, machine_serial=machine_serial)
    recent = since_last_service(checks)
    if not recent:
        return []
    latest = recent[-1]
    state = qa.state(session=session, machine_serial=machine_serial, machine_profile=latest.machine_profile)
    if state.due_on is None:
        return []
    alerts = []
    for key, points in sorted(series(recent).items()):
        span_days = (points[-1].at - points[0].at).total_seconds() / 86400.0
        if len(points) < MIN_POINTS or span_days < MIN_SPAN_DAYS:
            continue  # repeated checks within minutes (a re-check) would give a meaningless slope
        slope, crosses_on = crossing(points, state.tolerance)
        if crosses_on is None or crosses_on > state.due_on or abs(points[-1].deviation) > state.tolerance:
            continue  # no crossing before the due date, or already out (the check itself failed)
        message = (
            f"{key} nm drifts {slope * 30:+.1%} per 30 days and will leave +/-{state.tolerance:.0%} around "
            f"{crosses_on}, before the next check is due ({state.due_on}): check it sooner"
        )
        alerts.append(TrendAlert(key, slope, crosses_on, state.due_on, message))
    return alerts
