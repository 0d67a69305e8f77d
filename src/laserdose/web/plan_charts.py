"""Server-drawn SVG of a plan: dose against depth with the reference band, skin temperature against time.

Inline SVG, no JavaScript, drawn in a few milliseconds so that the live preview stays quick. The dose axis
is logarithmic (light fades by orders of magnitude over the tens of millimetres to a deep target). Data
attributes (`data-target-depth`, `data-band`, `data-peak`, `data-limit`) let people and tests read the
numbers behind the drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 24, 34
DOSE_FLOOR_J_PER_CM2 = 1e-3  # the log axis starts here; a thousandth of a J/cm^2 is no dose at all


class _Frame:
    """Maps data to the drawing area; a log y axis when `log_y`."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float], log_y: bool) -> None:
        self.x0, self.x1 = x_range
        self.log_y = log_y
        self.y0, self.y1 = (math.log10(v) for v in y_range) if log_y else y_range

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return LEFT + (WIDTH - LEFT - RIGHT) * (value - self.x0) / span

    def y(self, value: float) -> float:
        if self.log_y:
            value = math.log10(max(value, 10**self.y0))
        span = (self.y1 - self.y0) or 1.0
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - self.y0) / span)


def _polyline(frame: _Frame, xs: Sequence[float], ys: Sequence[float], css: str) -> str:
    points = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in zip(xs, ys, strict=True))
    return f'<polyline class="{css}" points="{points}"/>'


def _axes(frame: _Frame, x_ticks: Sequence[float], y_ticks: Sequence[float], labels: tuple[str, str]) -> str:
    parts = []
    for tick in y_ticks:
        y = frame.y(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for tick in x_ticks:
        x = frame.x(tick)
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{tick:g}</text>'
        )
    x_label, y_label = (escape(label) for label in labels)
    parts.append(
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" text-anchor="end">{x_label}</text>'
    )
    parts.append(f'<text class="tick" x="4" y="12">{y_label}</text>')
    return "".join(parts)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round ticks from `low` to `high`."""
    raw = (high - low) / count or 1.0
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if m * step >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def depth_dose_svg(
    depth_mm: Sequence[float],
    low: Sequence[float],
    nominal: Sequence[float],
    high: Sequence[float],
    target_depth_mm: float,
    band_j_per_cm2: tuple[float, float] | None,
) -> Markup:
    """Dose [J/cm^2] against depth [mm], the patient's range shaded, the target and the reference band."""
    top = max(max(high), band_j_per_cm2[1] if band_j_per_cm2 else 0.0) * 2
    frame = _Frame((0.0, float(max(depth_mm))), (DOSE_FLOOR_J_PER_CM2, top), log_y=True)
    decades = range(math.ceil(math.log10(DOSE_FLOOR_J_PER_CM2)), math.floor(math.log10(top)) + 1)
    band_text = "{:.3g}-{:.3g}".format(*band_j_per_cm2) if band_j_per_cm2 else ""
    parts = [f'<svg class="chart depth-dose" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'data-target-depth="{target_depth_mm:.4g}" data-band="{band_text}" '
             f'data-peak="{max(nominal):.4g}">']  # fmt: skip
    parts.append("<title>Dose against depth under the centre of the treated area</title>")
    parts.append(
        _axes(frame, _nice_ticks(0.0, frame.x1), [10.0**d for d in decades], ("depth [mm]", "J/cm2"))
    )
    x = frame.x(target_depth_mm)
    if band_j_per_cm2 is not None:
        y_top, y_bottom = frame.y(band_j_per_cm2[1]), frame.y(band_j_per_cm2[0])
        parts.append(f'<rect class="window" x="{LEFT}" width="{WIDTH - LEFT - RIGHT}" y="{y_top:.1f}" '
                     f'height="{y_bottom - y_top:.1f}"><title>reference band {band_text} J/cm2</title>'
                     "</rect>")  # fmt: skip
    parts.append(f'<line class="target" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
    parts.append(
        f'<text class="target-label" x="{x + 4:.1f}" y="{TOP + 12}">target {target_depth_mm:.0f} mm</text>'
    )
    band = [*zip(depth_mm, high, strict=True), *reversed(list(zip(depth_mm, low, strict=True)))]
    points = " ".join(f"{frame.x(d):.1f},{frame.y(v):.1f}" for d, v in band)
    parts.append(f'<polygon class="spread" points="{points}"><title>patient range</title></polygon>')
    parts.append(_polyline(frame, depth_mm, nominal, "series"))
    parts.append("</svg>")
    return Markup("".join(parts))


def skin_temperature_svg(time_s: Sequence[float], temperature_c: Sequence[float], limit_c: float) -> Markup:
    """Peak skin temperature [C] against time [s] with the clinic's limit."""
    low = min(min(temperature_c), limit_c) - 1.0
    high = max(max(temperature_c), limit_c) + 1.0
    frame = _Frame((0.0, float(max(time_s))), (low, high), log_y=False)
    peak = max(temperature_c)
    parts = [f'<svg class="chart skin-temperature" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'data-peak="{peak:.2f}" data-limit="{limit_c:g}">']  # fmt: skip
    parts.append("<title>Peak skin temperature during the session</title>")
    parts.append(_axes(frame, _nice_ticks(0.0, frame.x1), _nice_ticks(low, high, 4), ("time [s]", "C")))
    y = frame.y(limit_c)
    parts.append(f'<line class="limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
    parts.append(f'<text class="limit-label" x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end">'
                 f"limit {limit_c:g} C</text>")  # fmt: skip
    parts.append(_polyline(frame, time_s, temperature_c, "series"))
    parts.append("</svg>")
    return Markup("".join(parts))


GAUGE_RANGE = (0.1, 3.0)  # equivalence shown, log scale: a tenth to three times the reference


def equivalence_svg(equivalence: float, band: tuple[float, float], max_ratio: float) -> Markup:
    """A gauge of this patient's target dose / the reference dose, log scale, the band shaded."""
    low, high = GAUGE_RANGE
    width, left, right = 480.0, 20.0, 20.0

    def x(value: float) -> float:
        clipped = min(max(value, low), high)
        return left + (width - left - right) * math.log(clipped / low) / math.log(high / low)

    inside = band[0] * (1 - 1e-9) <= equivalence <= band[1] * (1 + 1e-9)
    parts = [f'<svg class="chart gauge" id="equivalence-gauge" viewBox="0 0 {width:g} 48" role="img" '
             f'data-equivalence="{equivalence:.4g}" data-band="{band[0]:g}-{band[1]:g}" '
             f'data-inside="{str(inside).lower()}">',
             f"<title>Target dose {equivalence:.2f} x the reference; band {band[0]:g}-{band[1]:g}</title>",
             f'<rect class="gauge-track" x="{left:g}" y="14" width="{width - left - right:g}" height="12"/>',
             f'<rect class="window" x="{x(band[0]):.1f}" y="14" width="{x(band[1]) - x(band[0]):.1f}" '
             'height="12"/>',
             f'<line class="limit" x1="{x(max_ratio):.1f}" x2="{x(max_ratio):.1f}" y1="10" y2="30"/>',
             f'<line class="gauge-marker {"inside" if inside else "outside"}" x1="{x(equivalence):.1f}" '
             f'x2="{x(equivalence):.1f}" y1="8" y2="32"/>']  # fmt: skip
    for tick in (0.1, 0.3, 1.0, 3.0):
        parts.append(f'<text class="tick" x="{x(tick):.1f}" y="44" text-anchor="middle">{tick:g}x</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
