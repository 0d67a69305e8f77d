"""The body chart's zones: checked names, chart order, and an SVG that fills exactly the marked zones."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.clinical.body_chart import HEIGHT, WIDTH, ZONES, check_zones, describe, svg
from laserdose.errors import InputError


def test_zones_lie_inside_the_grid_pair_up_by_side_and_do_not_overlap():
    boxes = [zone.box for zone in ZONES.values()]
    for x, y, w, h in boxes:
        assert 0 <= x and x + w <= WIDTH and 0 <= y and y + h <= HEIGHT
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1 :]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
    for name, zone in ZONES.items():
        if name.endswith("_left"):
            x, y, w, h = zone.box
            mirrored = ZONES[name.removesuffix("_left") + "_right"].box
            assert mirrored == (WIDTH - x - w, y, w, h)  # the right side is the left mirrored about the spine


def test_an_unknown_zone_is_refused_by_name():
    with pytest.raises(InputError, match="Unknown body chart zone 'neck'"):
        check_zones(["lower_lumbar_left", "neck"])


@given(st.lists(st.sampled_from(sorted(ZONES)), max_size=15))
def test_the_svg_fills_exactly_the_marked_zones_in_chart_order(chosen):
    drawing = svg(chosen)
    assert drawing.count('class="zone marked"') == len(set(chosen))
    assert drawing.count("<rect") == len(ZONES)
    order = list(check_zones(chosen))
    assert order == [zone for zone in ZONES if zone in set(chosen)]
    words = describe(chosen)
    assert words == ("; ".join(ZONES[z].label for z in order) or "no zone marked")
    assert re.search(r"data-zone", drawing) is None  # a picture only, unless interactive
