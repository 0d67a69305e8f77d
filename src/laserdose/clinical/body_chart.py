"""The body chart: an outline of the back, seen from behind, with the zones a clinician marks as treated.

Zones are named by level and side (the patient's left is on the viewer's left, as the patient lies prone
before the operator). The outline and zones are drawn on a 200 x 300 grid, y downwards; the levels are
landmarks for the eye, not a measurement. The same geometry is drawn as SVG on the pages and with
matplotlib in the PDFs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from laserdose.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH, HEIGHT = 200, 300
# The outline of the trunk from the shoulders to below the buttocks (x, y), clockwise.
OUTLINE = (
    (40, 20), (160, 20), (172, 60), (162, 150), (150, 182), (166, 240), (160, 298),
    (40, 298), (34, 240), (50, 182), (38, 150), (28, 60),
)  # fmt: skip
SPINE_X = 100
MARK_COLOUR, LINE_COLOUR = "#d4472a", "#12344d"


@dataclass(frozen=True)
class Zone:
    """A zone of the chart: its words and its rectangle (x, y, width, height) on the grid."""

    label: str
    box: tuple[int, int, int, int]


def _pair(name: str, label: str, y: int, height: int, inner: int = 60, width: int = 38) -> dict[str, Zone]:
    # The patient's left side is drawn on the viewer's left (seen from behind).
    return {
        f"{name}_left": Zone(f"{label}, left", (inner, y, width, height)),
        f"{name}_right": Zone(f"{label}, right", (2 * SPINE_X - inner - width, y, width, height)),
    }


ZONES: dict[str, Zone] = {
    **_pair("thoracolumbar", "Thoracolumbar (T10-L1)", 100, 48),
    **_pair("upper_lumbar", "Upper lumbar (L1-L3)", 150, 33),
    **_pair("lower_lumbar", "Lower lumbar (L4-L5)", 185, 33),
    **_pair("sacroiliac", "Sacroiliac joint", 220, 28, inner=64, width=34),
    **_pair("buttock", "Buttock", 250, 44, inner=44, width=54),
}


def check_zones(zones: Iterable[str]) -> tuple[str, ...]:
    """The zones in chart order, each once; raises InputError naming an unknown one."""
    chosen = set(zones)
    unknown = sorted(chosen - set(ZONES))
    if unknown:
        raise InputError(f"Unknown body chart zone {unknown[0]!r}; choose from the chart.")
    return tuple(zone for zone in ZONES if zone in chosen)


def describe(zones: Sequence[str]) -> str:
    """The marked zones in words, e.g. 'Lower lumbar (L4-L5), left; Sacroiliac joint, left'."""
    return "; ".join(ZONES[zone].label for zone in check_zones(zones)) or "no zone marked"


def svg(zones: Sequence[str], interactive: bool = False) -> str:
    """The chart as an SVG element, marked zones filled.

    `interactive`: zones carry their ids for the page's script (which ticks the matching checkbox);
    otherwise the chart is a picture only.
    """
    marked = set(check_zones(zones))
    outline = " ".join(f"{x},{y}" for x, y in OUTLINE)
    parts = [
        f'<polygon class="outline" points="{outline}"/>',
        f'<line class="spine" x1="{SPINE_X}" y1="24" x2="{SPINE_X}" y2="250"/>',
    ]
    for name, zone in ZONES.items():
        x, y, w, h = zone.box
        state = " marked" if name in marked else ""
        data = f' data-zone="{name}"' if interactive else ""
        parts.append(
            f'<rect class="zone{state}" x="{x}" y="{y}" width="{w}" height="{h}" rx="4"{data}>'
            f"<title>{zone.label}</title></rect>"
        )
    label = f"Body chart, back seen from behind; marked: {describe(tuple(marked))}"
    return (
        f'<svg class="body-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
        f"{''.join(parts)}</svg>"
    )


def draw(axes: Axes, zones: Sequence[str]) -> None:
    """Draw the chart into matplotlib axes (for the PDFs), marked zones filled."""
    from matplotlib.patches import Polygon, Rectangle  # only the PDFs need matplotlib

    marked = set(check_zones(zones))
    axes.set_xlim(0, WIDTH)
    axes.set_ylim(HEIGHT, 0)
    axes.set_aspect("equal")
    axes.set_axis_off()
    axes.add_patch(Polygon(OUTLINE, closed=True, fill=False, edgecolor=LINE_COLOUR, linewidth=1.5))
    axes.plot([SPINE_X, SPINE_X], [24, 250], color=LINE_COLOUR, linewidth=0.8, linestyle=":")
    for name, zone in ZONES.items():
        x, y, w, h = zone.box
        filled = name in marked
        axes.add_patch(
            Rectangle(
                (x, y), w, h, facecolor=MARK_COLOUR if filled else "none", alpha=0.75 if filled else 1.0,
                edgecolor=LINE_COLOUR, linewidth=0.6,
            )
        )  # fmt: skip
    axes.text(2, HEIGHT - 2, "L", fontsize=8, color=LINE_COLOUR)
    axes.text(WIDTH - 10, HEIGHT - 2, "R", fontsize=8, color=LINE_COLOUR)
