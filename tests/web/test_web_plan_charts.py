"""The plan editor's SVG charts: the drawn window, target and limit sit where the numbers say."""

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.web.plan_charts import HEIGHT, LEFT, RIGHT, WIDTH, depth_dose_svg, skin_temperature_svg


def _attr(svg, css_class, name):
    return float(re.search(rf'class="{css_class}"[^>]*?\b{name}="([^"]+)"', svg).group(1))


@given(
    low=st.floats(0.01, 10.0),
    ratio=st.floats(1.5, 100.0),
    target_mm=st.floats(1.0, 90.0),
    decay_mm=st.floats(3.0, 30.0),
)
def test_the_window_band_spans_its_decades_and_the_target_line_its_depth(low, ratio, target_mm, decay_mm):
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
