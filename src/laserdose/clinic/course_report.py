"""PDF report of a course: patient, machine, schedule, delivered sessions, outcomes with the MIC marked.

The machine's maker and model come from the device profile the plan names, with the maker's logo. Every
page carries the patient's identification and the plan's signature (`record_stamp`); sessions that do
not fit the first page continue on further pages.

Drawn with matplotlib's object API (no pyplot, so it is safe inside a threaded web server).
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from collections.abc import Callable

from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose import __version__
from laserdose.clinic import medications, patients
from laserdose.clinic.corrections import live
from laserdose.clinic.course_closing import CLOSE_REASONS
from laserdose.clinic.dose_accounting import count_doses
from laserdose.clinic.models import Course, Medication, Outcome, TreatmentSession, User
from laserdose.clinic.outcomes import ANALGESIC_USE
from laserdose.clinic.record_stamp import course_stamp
from laserdose.clinical.outcomes import MIC, Measure, responder_threshold
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile, load_profile
from laserdose.planning.letterhead import A4_INCHES, BODY_BOTTOM, BODY_TOP, LEFT, Letterhead, dress
from laserdose.planning.page_stamp import PageStamp, utc_text

WRAP_CHARS = 110  # monospace characters that fit the page at 7.5 pt
MAX_SESSION_ROWS = 24  # session lines on the first page, above the outcome charts
CONTINUED_SESSION_ROWS = 76  # session lines on each further page (7.5 pt lines between title and stamp)
SCORE: dict[Measure, Callable[[Outcome], float | None]] = {
    Measure.NRS: lambda o: o.nrs,
    Measure.ODI: lambda o: o.odi_percent,
    Measure.RMDQ: lambda o: o.rmdq,
}
TITLES = {Measure.NRS: "Pain NRS", Measure.ODI: "ODI (%)", Measure.RMDQ: "RMDQ"}


def machine_profile(course: Course) -> DeviceProfile | None:
    """The device profile the course's plan names, or None when the plan names no known machine."""
    plan = course.plan if isinstance(course.plan, dict) else {}
    delivery = plan.get("delivery")  # a planner's plan names it there; a hand-written one at the top
    device = delivery.get("device") if isinstance(delivery, dict) else plan.get("device")
    if not isinstance(device, str):
        return None
    try:
        return load_profile(device)
    except InputError:
        return None


def _machine_line(profile: DeviceProfile | None) -> str:
    if profile is None:
        return "Machine: not named by the plan"
    return (
        f"Machine: {profile.manufacturer} {profile.model} ({profile.name}, laser class {profile.laser_class})"
    )


def _signature_lines(stamp: PageStamp) -> list[str]:
    if stamp.signed_by is None or stamp.signed_at is None:
        return ["Plan: NOT SIGNED"]
    lines = [f"Plan signed by {stamp.signed_by} on {utc_text(stamp.signed_at)}"]
    if stamp.plan_sha256 is not None:
        lines.append(f"Plan SHA-256 (canonical JSON): {stamp.plan_sha256}")
        lines.append(f"  as in {stamp.fingerprint_home}" if stamp.fingerprint_home else "")
    return [line for line in lines if line]


def _header_lines(
    course: Course, records: list[TreatmentSession], today: dt.date, stamp: PageStamp
) -> list[str]:
    patient = course.patient
    energy_j = sum(float(v) for r in records for v in r.energy_j_by_wavelength.values())
    return [
        f"Patient: {patient.name}, born {patient.birth_date}, record no. {stamp.record_number}, "
        f"skin type {patient.skin_type}, BMI {patient.bmi_kg_m2:.1f} kg/m2",
        f"Course {course.id}: {course.condition}, protocol {course.protocol}",
        *_signature_lines(stamp),
        _machine_line(machine_profile(course)),
        f"Schedule: {course.sessions_planned} sessions, {course.sessions_per_week} a week; "
        f"{count_doses(course).sentence()}; {energy_j:.0f} J in all",
        *closing_lines(course),
        *textwrap.wrap(f"Home exercise: {course.home_exercise or '-'}", WRAP_CHARS),
        *textwrap.wrap(f"Advice: {course.advice or '-'}", WRAP_CHARS),
        f"Report of {today}, laserdose {__version__}",
    ]


def closing_lines(course: Course) -> list[str]:
    """The closing of a closed course: reason, date, first and last scores, the note (wrapped)."""
    closure = course.closure
    if closure is None:
        return []
    scores = []
    for field, label in (("nrs", "pain NRS"), ("odi_percent", "ODI %"), ("rmdq", "RMDQ")):
        pair = closure.summary.get(field)
        if pair:
            scores.append(f"{label} {pair['first']:g} -> {pair['last']:g}")
    line = f"Closed {closure.closed_at.date()}: {CLOSE_REASONS[closure.reason]}; " + (
        ", ".join(scores) or "no outcome scores"
    )
    return [line, *textwrap.wrap(f"Closing note: {closure.note or '-'}", WRAP_CHARS)]


def _session_line(record: TreatmentSession) -> str:
    energy = ", ".join(f"{nm} nm {float(j):.0f} J" for nm, j in sorted(record.energy_j_by_wavelength.items()))
    state = "complete" if record.completed else f"{len(record.interruptions)} interruption(s)"
    if record.status == "running":
        state = "running"
    elif not record.completed and record.interruptions:
        state += f", last: {str(record.interruptions[-1].get('reason', ''))[:40]}"
    if record.completes_session_id is not None:
        state += f", completes session {record.completes_session_id}"
    check = f"  power check {record.power_check_id}" if record.power_check_id is not None else ""
    return f"{record.started_at:%Y-%m-%d %H:%M} UTC  {record.duration_s:6.0f} s  {energy}  {state}{check}"


def _plot_measure(axes: Axes, measure: Measure, points: list[tuple[dt.date, float]]) -> None:
    axes.set_title(TITLES[measure], fontsize=9)
    axes.set_ylim(0, MIC[measure].scale_max)
    axes.tick_params(labelsize=7)
    if not points:
        axes.text(0.5, 0.5, "not assessed", ha="center", va="center", transform=axes.transAxes, fontsize=8)
        return
    days, values = zip(*points, strict=True)
    axes.plot(days, values, marker="o", color="#12344d")
    threshold = responder_threshold(measure, values[0])
    if threshold is not None:
        axes.axhline(threshold, color="#1a7f37", linestyle="--", linewidth=1)
        axes.text(days[0], threshold, f" MIC {threshold:.3g}", color="#1a7f37", fontsize=7, va="bottom")
    locator = AutoDateLocator(maxticks=4)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


ANALGESIC_LEVELS = {use: level for level, use in enumerate(ANALGESIC_USE)}  # none, as needed, daily


def _plot_analgesics(axes: Axes, assessments: list[Outcome], taken: list[Medication]) -> None:
    """Analgesic use at each assessment (none, as needed, daily), with the number of drugs taken that day."""
    axes.set_title("Analgesic use", fontsize=9)
    axes.set_ylim(-0.3, 2.6)
    axes.set_yticks(
        list(ANALGESIC_LEVELS.values()), [u.replace("_", " ") for u in ANALGESIC_LEVELS], fontsize=7
    )
    axes.tick_params(labelsize=7)
    points = [(o.assessed_on, ANALGESIC_LEVELS[o.analgesic_use]) for o in assessments if o.analgesic_use]
    if not points:
        axes.text(0.5, 0.5, "not assessed", ha="center", va="center", transform=axes.transAxes, fontsize=8)
        return
    days, levels = zip(*points, strict=True)
    axes.plot(days, levels, marker="o", color="#12344d", drawstyle="steps-post")
    for day, level in points:
        count = len(medications.taken_on(taken, day))
        axes.annotate(f"{count} drug{'s' * (count != 1)}", (day, level), textcoords="offset points",
                      xytext=(0, 6), ha="center", fontsize=6)  # fmt: skip
    locator = AutoDateLocator(maxticks=3)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def course_report_pdf(
    *, session: Session, actor: User, course_id: int, today: dt.date, audit_line: str = "", clinic: str = ""
) -> bytes:
    """Return an A4 PDF report of a course: one page, and more when its sessions do not fit.

    Args:
        session: open database session.
        actor: the user asking (any role that may read the patient).
        course_id: the course.
        today: the report's date.
        audit_line: the audit log's state at the last check (rows, head MAC, last checkpoint), printed at
            the foot of the page so that a printed report anchors the log too.
        clinic: the clinic's name for the letterhead.
    """
    course = patients.readable_course(session=session, actor=actor, course_id=course_id)
    records = list(session.scalars(
        select(TreatmentSession).where(TreatmentSession.course_id == course_id, live(TreatmentSession))
    ))  # fmt: skip
    assessments = list(session.scalars(
        select(Outcome).where(Outcome.course_id == course_id, live(Outcome))
        .order_by(Outcome.assessed_on, Outcome.id)
    ))  # fmt: skip
    stamp = course_stamp(session, course)
    figure = Figure(figsize=A4_INCHES)
    lines = _header_lines(course, records, today, stamp) + ["", "Delivered sessions:"]
    lines += [_session_line(r) for r in records[:MAX_SESSION_ROWS]] or ["none yet"]
    if len(records) > MAX_SESSION_ROWS:
        lines.append(f"... continued on the next page ({len(records) - MAX_SESSION_ROWS} more)")
    figure.text(LEFT, BODY_TOP, "\n".join(lines), fontsize=7.5, va="top", family="monospace")
    for index, measure in enumerate(Measure):
        axes = figure.add_axes((0.07 + index * 0.235, BODY_BOTTOM + 0.05, 0.17, 0.18))  # above the audit line
        scores = [(o.assessed_on, SCORE[measure](o)) for o in assessments]
        _plot_measure(axes, measure, [(day, value) for day, value in scores if value is not None])
    taken = medications.patient_medications(session=session, actor=actor, patient_id=course.patient_id)
    _plot_analgesics(figure.add_axes((0.815, BODY_BOTTOM + 0.05, 0.15, 0.18)), assessments, taken)  # labels
    if audit_line:
        audit = "\n".join(textwrap.wrap(audit_line, WRAP_CHARS * 4 // 3))
        figure.text(LEFT, BODY_BOTTOM, audit, fontsize=5.5, family="monospace", va="bottom")
    pages = [figure, *_continued_pages(course, records[MAX_SESSION_ROWS:])]
    footer = (stamp.patient_line(), stamp.signature_line())  # the date is in the header lines
    dress(pages, Letterhead("Course report", clinic, machine_profile(course), footer))
    buffer = io.BytesIO()
    metadata = {"Title": f"laserdose course report {course.id}", "Creator": f"laserdose {__version__}"}
    with PdfPages(buffer, metadata=metadata) as pdf:
        for page in pages:
            pdf.savefig(page)
    return buffer.getvalue()


def _continued_pages(course: Course, records: list[TreatmentSession]) -> list[Figure]:
    """Pages listing the sessions that did not fit the first page."""
    pages = []
    for start in range(0, len(records), CONTINUED_SESSION_ROWS):
        figure = Figure(figsize=A4_INCHES)
        figure.text(LEFT, BODY_TOP, f"Course {course.id}: delivered sessions (continued)", va="top",
                    fontsize=12, weight="bold")  # fmt: skip
        lines = [_session_line(r) for r in records[start : start + CONTINUED_SESSION_ROWS]]
        figure.text(LEFT, BODY_TOP - 0.03, "\n".join(lines), fontsize=7.5, va="top", family="monospace")
        pages.append(figure)
    return pages
