"""The letterhead of every PDF report: who issues it, whose machine, what it is, and page n of N.

One home for the header and footer of the plan, course, QA and safety reports. Each report lays out its
pages inside `BODY_TOP` and `BODY_BOTTOM` (fractions of the A4 page's height) and calls `dress` once all
pages exist, so that every page can say "page n of N". A line that must appear on every page (a patient's
identity, a signature's fingerprint) goes into `Letterhead.footer_lines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D

from laserdose.machines.profile import DeviceProfile, logo_png

A4_INCHES = (8.27, 11.69)
LEFT, RIGHT = 0.06, 0.94  # the text column, as fractions of the page's width
BODY_TOP = 0.91  # report content stays below this (fraction of the page's height) ...
BODY_BOTTOM = 0.075  # ... and above this
HEADER_RULE, FOOTER_RULE = 0.922, 0.062
FOOTER_LINE = 0.0115  # one 6.5 pt footer line with its leading, as a fraction of the page's height
LOGO_TOP, LOGO_HEIGHT = 0.982, 0.034
INK, MUTED, ACCENT = "#111111", "#555555", "#12344d"


@dataclass(frozen=True)
class Letterhead:
    """What the header and footer of each page of one report say.

    Attributes:
        title: the document's title, e.g. "Treatment plan".
        clinic: the issuing clinic's name (the web app's `clinic_name` setting); "" when not known (CLI).
        profile: the machine the document is about, for its maker's name and logo; None if it names none.
        footer_lines: lines printed at the foot of every page, above the issue line (e.g. the patient's
            identity); at most three fit.
        issued: who made the document and when, e.g. "laserdose 1.4, 2026-12-02".
    """

    title: str
    clinic: str = ""
    profile: DeviceProfile | None = None
    footer_lines: tuple[str, ...] = ()
    issued: str = ""


def dress(pages: Sequence[Figure], head: Letterhead) -> None:
    """Draw the header and footer of `head` on each of `pages`, numbered "page n of N"."""
    for number, page in enumerate(pages, start=1):
        _header(page, head)
        _footer(page, head, number, len(pages))


def maker_line(profile: DeviceProfile | None) -> str:
    """The machine's maker and model as the header prints it."""
    if profile is None:
        return "Machine: not named"
    return f"Machine: {profile.manufacturer} {profile.model} (class {profile.laser_class})"


def _header(page: Figure, head: Letterhead) -> None:
    page.text(LEFT, 0.968, head.clinic or "laserdose", fontsize=10, weight="bold", color=ACCENT)
    page.text(LEFT, 0.934, head.title, fontsize=15, weight="bold", color=INK)
    logo = draw_logo(page, head.profile)
    page.text(RIGHT, LOGO_TOP - LOGO_HEIGHT - 0.012 if logo else 0.968, maker_line(head.profile),
              fontsize=7.5, ha="right", color=MUTED)  # fmt: skip
    page.add_artist(_rule(page, HEADER_RULE, 1.2))


def _footer(page: Figure, head: Letterhead, number: int, count: int) -> None:
    page.add_artist(_rule(page, FOOTER_RULE, 0.6))
    lines = [(line, INK) for line in head.footer_lines[:3]] + ([(head.issued, MUTED)] if head.issued else [])
    for index, (line, colour) in enumerate(lines):  # the first line (who the page is about) in bold
        page.text(LEFT, FOOTER_RULE - 0.008 - index * FOOTER_LINE, line, fontsize=6.5, va="top", color=colour,
                  weight="bold" if index == 0 and head.footer_lines else "normal")  # fmt: skip
    page.text(RIGHT, FOOTER_RULE - 0.008, f"page {number} of {count}", fontsize=8, ha="right", va="top",
              color=INK)  # fmt: skip


def _rule(page: Figure, y: float, width_pt: float) -> Line2D:
    return Line2D([LEFT, RIGHT], [y, y], transform=page.transFigure, color=ACCENT, linewidth=width_pt)


def draw_logo(figure: Figure, profile: DeviceProfile | None) -> bool:
    """The maker's logo (its PNG rendering) at the top right of the page; False if there is none."""
    png = logo_png(profile) if profile is not None else None
    if png is None:
        return False
    image = imread(png)
    height, width = image.shape[:2]
    axes_width = LOGO_HEIGHT * width / height * A4_INCHES[1] / A4_INCHES[0]
    axes = figure.add_axes((RIGHT - axes_width, LOGO_TOP - LOGO_HEIGHT, axes_width, LOGO_HEIGHT))
    axes.imshow(image)
    axes.set_axis_off()
    return True
