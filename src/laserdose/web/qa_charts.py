"""Server-drawn SVG of a machine's output trend: deviation from set power per source, with the tolerance band.

Inline SVG, no JavaScript (like plan_charts). Each point carries `data-wavelength`, `data-deviation` and
`data-check` so that people and tests can read the numbers behind the drawing; the band carries
`data-tolerance`.
"""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

from laserdose.clinic.models import PowerCheck
from laserdose.clinic.qa_trend import TrendPoint, segments
from laserdose.web.plan_charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, _axes, _Frame, _nice_ticks

SOURCE_CLASSES = ("series-a", "series-b", "series-c", "series-d")


def _days(at: dt.datetime, start: dt.datetime) -> float:
    return (at - start).total_seconds() / 86400.0


def trend_svg(
    series: dict[str, list[TrendPoint]], tolerance: float, title: str, checks: list[PowerCheck] | None = None
) -> Markup:
    """The trend chart: x in days since the first check, y in per cent from the set power.

    A service visit among `checks` breaks each line (the monitor was recalibrated) and is marked.
    """
    points = [p for values in series.values() for p in values]
    if not points:
        return Markup('<p class="note">No power check yet: nothing to draw.</p>')
    start = min(p.at for p in points)
    span_days = max(30.0, max(_days(p.at, start) for p in points) * 1.05)
    limit = max(tolerance * 100 * 1.5, max(abs(p.deviation) * 100 for p in points) * 1.1)
    frame = _Frame((0.0, span_days), (-limit, limit), log_y=False)
    band_top, band_bottom = frame.y(tolerance * 100), frame.y(-tolerance * 100)
    parts = [
        f'<svg class="chart qa-trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect class="band" data-tolerance="{tolerance:g}" x="{LEFT}" y="{band_top:.1f}" '
        f'width="{WIDTH - LEFT - RIGHT}" height="{band_bottom - band_top:.1f}"/>',
        _axes(frame, _nice_ticks(0.0, span_days), _nice_ticks(-limit, limit),
              (f"days since {start:%Y-%m-%d}", "output vs set power (%)")),
    ]  # fmt: skip
    for index, (key, values) in enumerate(sorted(series.items())):
        css = SOURCE_CLASSES[index % len(SOURCE_CLASSES)]
        coords = [(frame.x(_days(p.at, start)), frame.y(p.deviation * 100)) for p in values]
        for part in segments(values, checks or []):
            line = " ".join(
                f"{frame.x(_days(p.at, start)):.1f},{frame.y(p.deviation * 100):.1f}" for p in part
            )
            parts.append(f'<polyline class="{css}" points="{line}"/>')
        for point, (x, y) in zip(values, coords, strict=True):
            parts.append(
                f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="4" data-wavelength="{escape(key)}" '
                f'data-deviation="{point.deviation:.4f}" data-check="{point.check_id}">'
                f"<title>{escape(key)} nm, {point.at:%Y-%m-%d}: {point.deviation:+.1%}</title></circle>"
            )
        parts.append(
            f'<text class="legend {css}" x="{LEFT + 200 + 80 * index}" y="{TOP - 8}">{escape(key)} nm</text>'
        )
    for visit in (c for c in checks or [] if c.kind == "service"):
        x = frame.x(_days(visit.at, start))
        parts.append(
            f'<line class="service" data-service="{visit.id}" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" '
            f'y2="{HEIGHT - BOTTOM}"><title>service {visit.at:%Y-%m-%d}</title></line>'
        )
    parts.append(f'<text class="tick" x="{WIDTH - RIGHT}" y="{TOP - 8}" text-anchor="end">band: '
                 f"+/-{tolerance:.0%}</text>")  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))
