"""The patient handout of a course (PDF): programme, advice, appointments and what to report at once.

The home programme comes with its drawings. Every page names the patient, the course and its number.

Drawn with matplotlib's object API (no pyplot: safe inside a threaded web server), like the other reports.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from sqlalchemy.orm import Session

from laserdose import __version__
from laserdose.clinic import exercises, schedule
from laserdose.clinic.course_report import machine_profile
from laserdose.clinic.models import Course, CourseExercise, User
from laserdose.clinic.record_stamp import record_number
from laserdose.clinical import body_chart
from laserdose.clinical.exercises import DRAWING_HEIGHT, DRAWING_WIDTH, parse_drawing
from laserdose.planning.letterhead import A4_INCHES, BODY_TOP, LEFT, Letterhead, dress

WRAP_CHARS = 78  # characters of 9 pt text that fit beside a drawing
TOP, BOTTOM = 0.86, 0.08  # the band of each page that content flows into (fractions of the height)
LINE = 0.017  # one line of 9 pt text
# What the patient must report at once, in plain words. Cauda equina symptoms are an emergency
# [NICECKS][CESTriage2011]; burns and eye exposure are the hazards of a Class 4 laser [IEC60825-1]
# [IEC60601-2-22]; worsening pain, fever or weight loss are red flags to be seen again [NICENG59]. The
# wording is ours [U].
REPORT_AT_ONCE = (
    "Numbness around your bottom or genitals, new trouble passing urine or holding your bladder or bowels, "
    "or weakness in both legs: go to an emergency department now.",
    "A blister, a burn, or redness lasting more than a day where the laser was used: call the clinic before "
    "your next session.",
    "A flash, a spot or blurring in your sight after a session: call the clinic the same day.",
    "Pain much worse than usual that does not settle within two days, fever, or weight loss you cannot "
    "explain: call the clinic or your doctor.",
    "Stop an exercise that makes your pain much worse and tell us at your next visit.",
)


@dataclass(frozen=True)
class _Block:
    height: float
    draw: Callable[[Figure, float], None]  # draws the block with its top at the given height
    keep_with_next: bool = False  # a heading never ends a page


def handout_pdf(*, session: Session, actor: User, course: Course, today: dt.date, clinic: str = "") -> bytes:
    """The handout of `course` from `clinic`; the caller has checked that `actor` may read its patient."""
    rows = [
        row
        for row in exercises.programme(session=session, actor=actor, course_id=course.id)
        if row.stopped_at is None
    ]
    blocks = (
        [_heading("Where the laser is applied"), _body_chart(course.body_chart)] if course.body_chart else []
    )
    blocks += [_heading("Your home exercise programme")]
    blocks += [_exercise(row) for row in rows] or [_text(["No exercises have been prescribed yet."])]
    blocks += [
        _heading("Advice"),
        _text(_wrap(course.advice or "Your clinician will talk it through with you.")),
    ]
    coming = schedule.course_appointments(session=session, actor=actor, course_id=course.id, today=today)
    blocks += [_heading("Your appointments"), _text(_appointments(course, coming))]
    blocks += [_heading("Report at once")]
    blocks += [_text(_wrap(item, bullet=True)) for item in REPORT_AT_ONCE]
    pages = _flow(blocks)
    buffer = io.BytesIO()
    metadata = {"Title": f"Home programme, course {course.id}", "Creator": f"laserdose {__version__}"}
    figures = []
    for page_blocks in pages:
        figure = _page(course)
        for top, block in page_blocks:
            block.draw(figure, top)
        figures.append(figure)
    identity = _identity(course)
    dress(figures, Letterhead(
        "Home programme and advice", clinic, machine_profile(course), (f"{identity} - course {course.id}",),
        f"Printed {today}, laserdose {__version__}",
    ))  # fmt: skip
    with PdfPages(buffer, metadata=metadata) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    return buffer.getvalue()


def _flow(blocks: list[_Block]) -> list[list[tuple[float, _Block]]]:
    """Place blocks top to bottom, starting a new page where the next one does not fit."""
    pages: list[list[tuple[float, _Block]]] = [[]]
    top = TOP
    for index, block in enumerate(blocks):
        needed = block.height + (blocks[index + 1].height if block.keep_with_next else 0.0)
        if top - needed < BOTTOM and pages[-1]:
            pages.append([])
            top = TOP
        pages[-1].append((top, block))
        top -= block.height
    return pages


def _identity(course: Course) -> str:
    patient = course.patient
    return f"{patient.name}, born {patient.birth_date}, record no. {record_number(patient)}"


def _page(course: Course) -> Figure:
    """A page naming the patient and the course; `dress` adds the letterhead (machine, date, page)."""
    figure = Figure(figsize=A4_INCHES)
    figure.text(LEFT, BODY_TOP, _identity(course), fontsize=10, weight="bold", va="top")
    figure.text(LEFT, BODY_TOP - 0.02, f"{course.condition}, course {course.id}", fontsize=9, va="top")
    return figure


def _wrap(text: str, bullet: bool = False) -> list[str]:
    lines = textwrap.wrap(
        text, WRAP_CHARS, initial_indent="- " if bullet else "", subsequent_indent="  " * bullet
    )
    return lines or [""]


def _heading(title: str) -> _Block:
    def draw(figure: Figure, top: float) -> None:
        figure.text(0.06, top - 0.02, title, fontsize=12, weight="bold")

    return _Block(0.035, draw, keep_with_next=True)


def _text(lines: list[str], x: float = 0.06) -> _Block:
    def draw(figure: Figure, top: float) -> None:
        figure.text(x, top - 0.005, "\n".join(lines), fontsize=9, va="top", linespacing=1.4)

    return _Block(LINE * len(lines) + 0.01, draw)


def _exercise(row: CourseExercise) -> _Block:
    exercise = row.exercise
    lines = [exercise.name, exercises.dosage_of(row).describe()]
    lines += _wrap(exercise.instructions, bullet=False)
    lines += _wrap(f"Note: {row.note}") if row.note else []
    height = max(0.13, LINE * len(lines) + 0.02)

    def draw(figure: Figure, top: float) -> None:
        axes = figure.add_axes((0.06, top - 0.115, 0.22, 0.11))
        _draw_strokes(axes, exercise.drawing)
        figure.text(0.31, top - 0.005, lines[0], fontsize=10, weight="bold", va="top")
        figure.text(
            0.31, top - 0.005 - LINE * 1.2, "\n".join(lines[1:]), fontsize=9, va="top", linespacing=1.4
        )

    return _Block(height, draw)


def _body_chart(zones: list[str]) -> _Block:
    lines = _wrap(f"{body_chart.describe(zones)}. The back as seen from behind: your left is on the left.")

    def draw(figure: Figure, top: float) -> None:
        body_chart.draw(figure.add_axes((0.06, top - 0.2, 0.2, 0.2)), zones)
        figure.text(0.31, top - 0.005, "\n".join(lines), fontsize=9, va="top", linespacing=1.4)

    return _Block(0.21, draw)


def _draw_strokes(axes: Axes, drawing: str) -> None:
    """The exercise's strokes (its 120 x 60 grid, y downwards), or an empty frame without a drawing."""
    axes.set_xlim(0, DRAWING_WIDTH)
    axes.set_ylim(DRAWING_HEIGHT, 0)
    axes.set_aspect("equal")
    axes.set_xticks([])
    axes.set_yticks([])
    for stroke in parse_drawing(drawing):
        if stroke.kind == "line":
            x1, y1, x2, y2 = stroke.numbers
            axes.plot([x1, x2], [y1, y2], color="#12344d", linewidth=2.5, solid_capstyle="round")
        else:
            x, y, r = stroke.numbers
            axes.add_patch(Circle((x, y), r, fill=False, color="#12344d", linewidth=2.5))


NEXT_SHOWN = 6  # appointments listed by date; the rest are counted


def _appointments(course: Course, entries: list[schedule.DayEntry]) -> list[str]:
    """What the patient needs to know about the sessions still to come: the next ones by date (UTC)."""
    delivered = sum(1 for record in course.sessions if record.completed and record.voided_at is None)
    left = max(course.sessions_planned - delivered, 0)
    if left == 0:
        return ["Your laser sessions are complete. Keep up the programme and come back if your pain returns."]
    lines = _wrap(
        f"{left} of {course.sessions_planned} laser sessions to come, {course.sessions_per_week} a week. "
        "Bring this sheet and tell us how the exercises went."
    )
    planned = [e.appointment for e in entries if e.state == schedule.PLANNED]
    lines += [f"- session {a.number}: {a.planned_at:%A %d %B %Y, %H:%M} UTC" for a in planned[:NEXT_SHOWN]]
    if len(planned) > NEXT_SHOWN:
        lines.append(f"- and {len(planned) - NEXT_SHOWN} more, as arranged with the clinic")
    return lines
