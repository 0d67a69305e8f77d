"""Printable QA report of one machine: its power-check state, the latest check, the trend with its band.

Drawn with matplotlib's object API (no pyplot, so it is safe inside a threaded web server), like the
course report.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap

from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from sqlalchemy.orm import Session

from laserdose import __version__
from laserdose.clinic import qa, qa_trend
from laserdose.clinic.models import PowerCheck, Role, User
from laserdose.clinic.records import NotFound
from laserdose.clinic.users import require_role
from laserdose.machines.profile import load_profile
from laserdose.planning.letterhead import A4_INCHES, BODY_BOTTOM, BODY_TOP, LEFT, Letterhead, dress

MAX_HISTORY_ROWS = 14
WRAP_CHARS = 118  # monospace characters that fit the page at 7 pt
COLOURS = ("#12344d", "#b54708", "#1a7f37", "#7a2e98")


def _reading_line(row: dict[str, object]) -> str:
    monitor = row.get("deviation_from_monitor")
    vs_monitor = f"{monitor:+7.1%}" if isinstance(monitor, float) else "      -"
    return (
        f"{row['wavelength_nm']:>6g} nm  {str(row['handpiece']):<16} set {row['set_power_w']:6.2f} W  "
        f"monitor {row['monitor_w']:6.2f} W  meter {row['meter_w']:6.2f} W  "
        f"vs set {row['deviation_from_set']:+7.1%}  vs monitor {vs_monitor}"
    )


def _history_line(check: PowerCheck) -> str:
    if check.kind == "service":
        return f"{check.at:%Y-%m-%d}  service visit: {check.note[:70]}"
    verdict = "pass" if check.passed else "FAIL"
    worst = check.worst_deviation or 0.0
    return (
        f"{check.at:%Y-%m-%d}  check {check.id:<4} {verdict}  worst {worst:+.1%} "
        f"(tolerance +/-{check.tolerance_fraction:.0%})  meter {check.meter_id}, "
        f"calibrated {check.meter_calibrated_on}"
    )


def _x(at: dt.datetime) -> float:
    """The date number matplotlib plots for `at` (days since its epoch) [day]."""
    return float(date2num(at))  # type: ignore[no-untyped-call]


def plot_trend(axes: Axes, checks: list[PowerCheck], tolerance: float) -> None:
    """Each source's deviation from set power over time, with the tolerance band and the fitted lines."""
    axes.axhspan(-tolerance * 100, tolerance * 100, color="#1a7f37", alpha=0.08, label="tolerance")
    for bound in (-tolerance * 100, tolerance * 100):
        axes.axhline(bound, color="#1a7f37", linestyle="--", linewidth=1)
    for check in checks:
        if check.kind == "service":
            axes.axvline(_x(check.at), color="#999999", linestyle=":", linewidth=1)
    recent = qa_trend.since_last_service(checks)
    for index, (key, points) in enumerate(sorted(qa_trend.series(checks).items())):
        colour = COLOURS[index % len(COLOURS)]
        for number, part in enumerate(qa_trend.segments(points, checks)):  # broken at service visits
            axes.plot([_x(p.at) for p in part], [p.deviation * 100 for p in part], marker="o", color=colour,
                      label=f"{key} nm" if number == 0 else None)  # fmt: skip
        fitted = qa_trend.series(recent).get(key, [])
        if len(fitted) >= qa_trend.MIN_POINTS:
            intercept, slope = qa_trend.fit(fitted)
            ends = [fitted[0].at, fitted[-1].at + dt.timedelta(days=30)]
            days = [(end - fitted[0].at).total_seconds() / 86400 for end in ends]
            axes.plot(
                [_x(end) for end in ends],
                [(intercept + slope * d) * 100 for d in days],
                color=colour,
                linestyle=":",
            )
    axes.set_ylabel("output vs set power (%)", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.legend(fontsize=7, loc="upper left")
    locator = AutoDateLocator(maxticks=6)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def qa_report_pdf(
    *, session: Session, actor: User, machine_serial: str, today: dt.date, clinic: str = ""
) -> bytes:
    """A one-page A4 PDF of a machine's power checks (any logged-in role), `clinic` in its letterhead."""
    require_role(actor, Role.ADMIN, Role.CLINICIAN, Role.OPERATOR)
    checks = qa.history(session=session, machine_serial=machine_serial)
    if not checks:
        raise NotFound(f"no power check of machine {machine_serial!r}")
    profile = load_profile(checks[-1].machine_profile)
    state = qa.state(session=session, machine_serial=machine_serial, machine_profile=profile.name)
    figure = Figure(figsize=A4_INCHES)
    latest = next((c for c in reversed(checks) if c.kind == "check"), None)
    lines = [
        f"Machine: {profile.manufacturer} {profile.model} ({profile.name}), serial {machine_serial}",
        f"Rules: tolerance +/-{state.tolerance:.0%} of the set power (21 CFR 1040.11(a) at most +/-20 %), "
        f"a check every {state.interval_days:g} days",
        "State: " + ("ARM allowed" if state.allowed else f"ARM REFUSED: {state.reason}")
        + (f"; next check due {state.due_on}" if state.due_on else ""),
        *(
            line
            for alert in qa_trend.trend_alerts(session=session, machine_serial=machine_serial)
            for line in textwrap.wrap(f"TREND: {alert.message}", WRAP_CHARS, subsequent_indent="  ")
        ),
        "",
        f"Latest check ({latest.at:%Y-%m-%d %H:%M} UTC, meter {latest.meter_id}):" if latest else "No check",
        *([_reading_line(r) for r in latest.readings] if latest else []),
        "",
        "History:",
        *[_history_line(c) for c in checks[-MAX_HISTORY_ROWS:]],
    ]  # fmt: skip
    figure.text(LEFT, BODY_TOP, "\n".join(lines), fontsize=7, va="top", family="monospace")
    axes = figure.add_axes((0.1, BODY_BOTTOM + 0.03, 0.84, 0.33))
    axes.set_title(
        "Output against set power per source (dotted: fitted trend since the last service)", fontsize=9
    )
    plot_trend(axes, checks, state.tolerance)
    issued = f"Report of {today}, laserdose {__version__}"
    dress([figure], Letterhead("Output power QA report", clinic, profile, issued=issued))
    buffer = io.BytesIO()
    metadata = {"Title": f"laserdose QA report {machine_serial}", "Creator": f"laserdose {__version__}"}
    figure.savefig(buffer, format="pdf", metadata=metadata)
    return buffer.getvalue()
