"""Hand-piece paths over a rectangular treatment area centred at (0, 0), all in mm and s.

- raster: lines along x, always in +x, then a jump back to the start of the next line (spacing in y);
- zigzag: back and forth along x, one line spacing further in y each time, then back up the area;
- circles: circles of `circle_radius_mm` whose centre advances one line spacing per turn along a zigzag
  (speed along the path between 0.9 and 1 times the hand speed for the default sizes);
- stationary: the beam stays at the centre.
The pattern repeats until the treatment time is over.
"""

import math
from dataclasses import dataclass

import numpy as np

from laserdose.errors import InputError, require_choice
from laserdose.thermal.grid import FloatArray

PATTERNS = ("stationary", "raster", "zigzag", "circles")


@dataclass(frozen=True)
class ScanPath:
    """A scan pattern over a width x height area.

    Attributes:
        pattern: one of PATTERNS.
        width_mm: extent of the area along x [mm].
        height_mm: extent along y [mm].
        speed_mm_per_s: hand speed along the path [mm/s].
        line_spacing_mm: distance between neighbouring lines (and circle advance per turn) [mm].
        circle_radius_mm: radius of the circles (pattern "circles") [mm].
    """

    pattern: str
    width_mm: float = 100.0
    height_mm: float = 150.0
    speed_mm_per_s: float = 50.0
    line_spacing_mm: float = 10.0
    circle_radius_mm: float = 15.0

    def __post_init__(self) -> None:
        require_choice("scan.pattern", self.pattern, PATTERNS)
        for name in ("width_mm", "height_mm", "speed_mm_per_s", "line_spacing_mm", "circle_radius_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"scan.{name} must be > 0, got {value:g}")
        if self.pattern == "circles" and 2 * self.circle_radius_mm > min(self.width_mm, self.height_mm):
            raise InputError("scan.circle_radius_mm must be at most half the smaller side of the area")

    def _lines(self, inset_mm: float) -> tuple[float, float, FloatArray]:
        """X start, x end and the y of each line, keeping `inset_mm` inside the area."""
        x0, x1 = -self.width_mm / 2 + inset_mm, self.width_mm / 2 - inset_mm
        y_top, y_bottom = -self.height_mm / 2 + inset_mm, self.height_mm / 2 - inset_mm
        count = max(1, int(math.floor((y_bottom - y_top) / self.line_spacing_mm + 1e-9)) + 1)
        ys = np.asarray(y_top + self.line_spacing_mm * np.arange(count), dtype=np.float64)
        return x0, x1, ys

    def position_mm(self, t_s: float) -> tuple[float, float]:
        """Beam centre (x, y) at time t_s [mm]."""
        s = self.speed_mm_per_s * t_s
        if self.pattern == "stationary":
            return 0.0, 0.0
        if self.pattern == "raster":
            x0, x1, ys = self._lines(0.0)
            length = max(x1 - x0, 1e-9)
            line = int(s // length) % ys.size
            return x0 + s % length, float(ys[line])
        if self.pattern == "zigzag":
            return _along_zigzag(s, *self._lines(0.0))
        radius = self.circle_radius_mm
        # Circling plus advancing: the angular rate keeps the speed along the path at most the hand speed.
        turn = s / (2 * math.pi * radius + self.line_spacing_mm)
        cx, cy = _along_zigzag(turn * self.line_spacing_mm, *self._lines(radius))
        angle = 2 * math.pi * turn
        return cx + radius * math.cos(angle), cy + radius * math.sin(angle)


def _along_zigzag(s_mm: float, x0: float, x1: float, ys: FloatArray) -> tuple[float, float]:
    """Point at arc length s along a boustrophedon through the lines `ys`, run forwards then backwards."""
    width = x1 - x0
    steps = np.diff(ys)
    segments = [width] + [piece for step in steps for piece in (float(step), width)]
    total = float(sum(segments))
    if total <= 0:
        return x0, float(ys[0])
    s = s_mm % (2 * total)
    if s > total:
        s = 2 * total - s
    x, y, going_right = x0, float(ys[0]), True
    for index, length in enumerate(segments):
        if s <= length:
            if index % 2 == 0:
                return (x + s if going_right else x - s), y
            return x, y + s
        s -= length
        if index % 2 == 0:
            x = x1 if going_right else x0
            going_right = not going_right
        else:
            y += length
    return x, y
