"""The plan editor's SVG charts: the drawn band, target, limit and gauge sit where the numbers say."""

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.web.plan_charts import (
    HEIGHT,
    LEFT,
    RIGHT,
    WIDTH,
    depth_dose_svg,
    equivalence_svg,
    skin_temperature_svg,
)


def _attr(svg, css_class, name):
    return float(re.search(rf'class="{css_class}"[^>]*?\b{name}="([^"]+)"', svg).group(1))


@given(
    low=st.floats(0.01, 10.0),
    ratio=st.floats(1.5, 100.0),
    target_mm=st.floats(1.0, 90.0),
    decay_mm=st.floats(3.0, 30.0),
)
def test_the_reference_band_spans_its_decades_and_the_target_line_its_depth(low, ratio, target_mm, decay_mm):
    depth = [z + 0.5 for z in range(100)]
    dose = [10.0 * math.exp(-z / decay_mm) for z in depth]
    svg = str(depth_dose_svg(depth, dose, dose, dose, target_mm, (low, low * ratio)))
    top, height = _attr(svg, "window", "y"), _attr(svg, "window", "height")
    grid = [float(y) for y in re.findall(r'class="grid"[^>]*?y1="([^"]+)"', svg)]
    pixels_per_decade = grid[0] - grid[1]  # gridlines at 0.001, 0.01, ... J/cm2
    # Log axis: the band's height is log10(high / low) decades, whatever the decade (analytic).
    assert height == pytest.approx(pixels_per_decade * math.log10(ratio), abs=0.3)
    assert 0 < top and top + height < HEIGHT
    # Linear depth axis from 0 to the deepest point, 99.5 mm.
    assert _attr(svg, "target", "x1") == pytest.approx(
        LEFT + (WIDTH - LEFT - RIGHT) * target_mm / 99.5, abs=0.1
    )


def test_the_skin_chart_marks_the_limit_and_the_peak():
    svg = str(skin_temperature_svg([0.0, 60.0, 120.0], [33.0, 38.0, 41.5], 43.0))
    assert 'data-peak="41.50" data-limit="43"' in svg
    limit_y = _attr(svg, "limit", "y1")
    peak_y = float(svg.split('class="series" points="')[1].split('"')[0].split()[-1].split(",")[1])
    assert peak_y > limit_y  # 41.5 C is drawn below the 43 C line (SVG y grows downwards)


def test_a_plan_made_before_prescriptions_draws_no_band():
    depth = [z + 0.5 for z in range(100)]
    dose = [10.0 * math.exp(-z / 10.0) for z in depth]
    svg = str(depth_dose_svg(depth, dose, dose, dose, 30.0, None))
    assert 'class="window"' not in svg and 'data-band=""' in svg


@given(equivalence=st.floats(0.1, 3.0), low=st.floats(0.5, 1.0), high=st.floats(1.0, 1.8))
def test_the_gauge_marks_the_equivalence_on_a_log_scale_inside_or_outside_the_band(equivalence, low, high):
    svg = str(equivalence_svg(equivalence, (low, high), 2.0))
    # Log scale from 0.1 to 3 over the track (analytic): x = left + width * log(e / 0.1) / log(30).
    track_x, track_width = _attr(svg, "gauge-track", "x"), _attr(svg, "gauge-track", "width")
    marker = float(re.search(r'class="gauge-marker [a-z]+" x1="([^"]+)"', svg).group(1))
    assert marker == pytest.approx(
        track_x + track_width * math.log(equivalence / 0.1) / math.log(30.0), abs=0.06
    )
    inside = low * (1 - 1e-9) <= equivalence <= high * (1 + 1e-9)
    assert f'data-inside="{str(inside).lower()}"' in svg
    assert _attr(svg, "window", "x") <= marker + 0.06 if inside else True
