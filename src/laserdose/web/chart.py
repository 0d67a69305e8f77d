"""Server-drawn SVG charts of pain and disability over a course, with the minimal important change marked.

No JavaScript: each chart is inline SVG. Every point carries `data-date` and `data-value`, and the MIC line
`data-threshold`, so that people read them and tests can check them.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from markupsafe import Markup, escape

from laserdose.clinic.outcomes import OutcomePoint
from laserdose.clinical.outcomes import MIC, Measure, responder_threshold

WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 28
LABELS = {
    Measure.NRS: "Pain NRS (0-10)",
    Measure.ODI: "Oswestry Disability Index (%)",
    Measure.RMDQ: "Roland-Morris (0-24)",
}


@dataclass(frozen=True)
class Chart:
    """One measure's chart.

    Attributes:
        measure: which measure.
        title: heading for people.
        threshold: score at or below which a follow-up reaches the MIC from baseline, or None if unreachable.
        svg: the inline SVG.
    """

    measure: Measure
    title: str
    threshold: float | None
    svg: Markup


def _value(point: OutcomePoint, measure: Measure) -> float | None:
    return {Measure.NRS: point.nrs, Measure.ODI: point.odi_percent, Measure.RMDQ: point.rmdq}[measure]


def _x(day: dt.date, first: dt.date, span_days: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner / 2 if span_days == 0 else inner * (day - first).days / span_days)


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


# A chart is a pure function of its points: the same points (a chart reloaded, nothing recorded since) give
# the same SVG, kept here rather than drawn again. Bounded: the least recently drawn are dropped.
@functools.lru_cache(maxsize=512)
def _svg(measure: Measure, data: tuple[tuple[dt.date, float, bool], ...], threshold: float | None) -> Markup:
    top = MIC[measure].scale_max
    first, span = data[0][0], (data[-1][0] - data[0][0]).days
    coords = [(_x(day, first, span), _y(value, top)) for day, value, _ in data]
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" data-measure="{measure.value}">']
    parts.append(f"<title>{escape(LABELS[measure])}</title>")
    for tick in (0, top / 2, top):
        y = _y(tick, top)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    if threshold is not None:
        y = _y(threshold, top)
        parts.append(f'<line class="mic" data-threshold="{threshold:g}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')  # fmt: skip
        parts.append(f'<text class="mic-label" x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end">'
                     f"MIC: {threshold:.3g} or less</text>")  # fmt: skip
    polyline = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(f'<polyline class="series" points="{polyline}"/>')
    for (day, value, responder), (x, y) in zip(data, coords, strict=True):
        css = "point responder" if responder else "point"
        label = f"{day.isoformat()}: {value:.3g}"
        attributes = f'cx="{x:.1f}" cy="{y:.1f}" r="5" data-date="{day.isoformat()}" data-value="{value:g}"'
        parts.append(f'<circle class="{css}" {attributes}><title>{label}</title></circle>')
    ends = [(data[0][0], "start"), (data[-1][0], "end")] if len(data) > 1 else [(first, "middle")]
    for day, anchor in ends:  # first and last date, kept inside the frame
        x, y = _x(day, first, span), HEIGHT - 8
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{y}" text-anchor="{anchor}">{day.isoformat()}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def outcome_charts(series: list[OutcomePoint]) -> list[Chart]:
    """Return one chart per measure that has at least one score, in the order NRS, ODI, RMDQ."""
    charts = []
    for measure in Measure:
        data = tuple(
            (point.assessed_on, value, point.responder.get(measure.value, False))
            for point in series
            if (value := _value(point, measure)) is not None
        )
        if not data:
            continue
        threshold = responder_threshold(measure, data[0][1])
        charts.append(Chart(measure, LABELS[measure], threshold, _svg(measure, data, threshold)))
    return charts
