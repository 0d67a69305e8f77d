"""What each point of the skin receives while a handpiece is scanned in a zig-zag: irradiance over time.

The path is thermal/scan.py's "zigzag" over a square of the treatment area (lines along x, one line
spacing apart, run forwards then backwards), with lines half a beam diameter apart: each point lies
under two neighbouring lines (50 % overlap, the spacing of examples/heat_treatment_mc.toml). The path
repeats with period T = 2 x path length / speed, so one period of irradiance per point is all the heat
model needs.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erfc

from laserdose.errors import InputError, require_choice
from laserdose.thermal.surrogate.profiles import FloatArray

BEAM_PROFILES = ("flat", "gaussian")
# Time sampling: the beam moves at most 1/4 of its radius per sample, each sample averaged over 4
# sub-positions, so a pass over a point is resolved into >= 8 samples and its energy to < 2 %.
STEPS_PER_RADIUS, SUB_POSITIONS = 4, 4
# A period has at most MAX_SAMPLES samples (longer samples then average more beam positions), and the grid
# of points at most MAX_GRID_VALUES point-positions, so that memory and time stay bounded (tens of MB) for
# large areas with small beams; only there are passes resolved more coarsely than above.
MAX_SAMPLES, MAX_GRID_VALUES, BLOCK_VALUES = 16384, 2_000_000, 1_000_000
# Points on the skin: a square grid of spacing beam radius / 3 over the area and one radius around it,
# at most MAX_POINTS_PER_SIDE along each side (model.py refines around the hottest of them).
POINTS_PER_RADIUS, MAX_POINTS_PER_SIDE = 3, 31
# Lateral smoothing of the irradiance [mm]: heat diffuses sqrt(2 kappa t) ~ 1 mm sideways during the
# ~4 s of clustered passes at a turn of the path (skin kappa = k / (rho c) = 0.098 mm^2/s, thermal/
# properties.py); light spreads further in the dermis. 1 mm is a lower bound on the real smoothing, so
# the peak stays conservative, and it makes the peak independent of how finely points are sampled.
LATERAL_BLUR_MM = 1.0


@dataclass(frozen=True)
class Scan:
    """A zig-zag scan over a square area.

    Attributes:
        beam_diameter_mm: beam diameter at the skin (1/e^2 diameter for a Gaussian) [mm].
        beam_profile: "flat" or "gaussian".
        speed_mm_per_s: hand speed along the path [mm/s].
        side_mm: side of the square treated area [mm].
    """

    beam_diameter_mm: float
    beam_profile: str
    speed_mm_per_s: float
    side_mm: float

    def __post_init__(self) -> None:
        require_choice("beam profile", self.beam_profile, BEAM_PROFILES)
        for name in ("beam_diameter_mm", "speed_mm_per_s", "side_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"{name} must be > 0, got {value:g}")

    @property
    def line_spacing_mm(self) -> float:
        """Distance between neighbouring lines: half the beam diameter [mm]."""
        return self.beam_diameter_mm / 2

    def vertices_mm(self) -> FloatArray:
        """Corners of the one-way path (x, y), as thermal/scan.py's zigzag with no inset [mm]."""
        half = self.side_mm / 2
        count = max(1, int(math.floor(self.side_mm / self.line_spacing_mm + 1e-9)) + 1)
        ys = -half + self.line_spacing_mm * np.arange(count)
        points = []
        for index, y in enumerate(ys):
            start, end = (-half, half) if index % 2 == 0 else (half, -half)
            points += [(start, y), (end, y)]
        return np.asarray(points, dtype=float)

    def period_s(self) -> float:
        """Time for the path forwards and back [s]."""
        corners = self.vertices_mm()
        length = float(np.sum(np.hypot(*np.diff(corners, axis=0).T)))
        return 2 * length / self.speed_mm_per_s

    def positions_mm(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Beam centre (x, y) at times t_s [mm]: arc length runs up the path, then back down."""
        corners = self.vertices_mm()
        arc = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(corners, axis=0).T))))
        s = np.mod(self.speed_mm_per_s * np.asarray(t_s), 2 * arc[-1])
        s = np.where(s > arc[-1], 2 * arc[-1] - s, s)
        return np.interp(s, arc, corners[:, 0]), np.interp(s, arc, corners[:, 1])

    def skin_points_mm(self) -> tuple[FloatArray, FloatArray]:
        """The points whose heating is followed: a grid over the area and one beam radius around it [mm]."""
        reach = self.side_mm / 2 + self.beam_diameter_mm / 2
        axis = np.arange(-reach, reach + 1e-9, self.point_spacing_mm())
        x, y = np.meshgrid(axis, axis, indexing="ij")
        return x.ravel(), y.ravel()

    def point_spacing_mm(self) -> float:
        """Spacing of the grid of followed points [mm]; coarser for very long periods (MAX_GRID_VALUES)."""
        reach = self.side_mm / 2 + self.beam_diameter_mm / 2
        samples, _ = self.sample_step_s()
        affordable = int(math.sqrt(MAX_GRID_VALUES / (samples * self.stretch())))
        wanted = int(math.ceil(2 * reach / (self.beam_diameter_mm / 2 / POINTS_PER_RADIUS))) + 1
        return 2 * reach / (max(3, min(MAX_POINTS_PER_SIDE, affordable, wanted)) - 1)

    def sample_step_s(self) -> tuple[int, float]:
        """Samples per period (a multiple of 4, at most MAX_SAMPLES) and the sample length [s]."""
        samples = 4 * max(4, int(math.ceil(self.period_s() / self._nominal_step_s() / 4)))
        samples = min(samples, MAX_SAMPLES)
        return samples, self.period_s() / samples

    def stretch(self) -> int:
        """How many nominal samples one sample spans (1 unless the period needs over MAX_SAMPLES)."""
        return max(1, int(math.ceil(self.sample_step_s()[1] / self._nominal_step_s() - 1e-9)))

    def _nominal_step_s(self) -> float:
        return self.beam_diameter_mm / 2 / STEPS_PER_RADIUS / self.speed_mm_per_s

    def profile_per_mm2(self, rho_mm: FloatArray) -> FloatArray:
        """Irradiance per watt at distance rho from the beam centre, smoothed by LATERAL_BLUR_MM [1/mm^2]."""
        radius, blur = self.beam_diameter_mm / 2, LATERAL_BLUR_MM
        if self.beam_profile == "flat":  # a disk with edges blurred over `blur`; holds pi (R^2 + blur^2)
            edge = 0.5 * erfc((rho_mm - radius) / (math.sqrt(2) * blur))
            return np.asarray(edge / (math.pi * (radius**2 + blur**2)))
        # Gaussian of 1/e^2 radius w, E = 2 / (pi w^2) exp(-2 r^2 / w^2), widened by the blur
        w2 = radius**2 + 4 * blur**2
        return np.asarray(2.0 / (math.pi * w2) * np.exp(-2.0 * rho_mm**2 / w2))

    def irradiance_per_w(
        self, px_mm: FloatArray, py_mm: FloatArray, sub_positions: int = SUB_POSITIONS
    ) -> tuple[FloatArray, float]:
        """Mean irradiance at points (px, py) over each sample of one period, shape (points, samples).

        Per watt of laser power at the skin surface [1/mm^2], smoothed by LATERAL_BLUR_MM, averaged over
        `sub_positions` beam positions per sample; also returns the sample length [s].
        """
        samples, step = self.sample_step_s()
        sub_positions *= self.stretch()  # beam positions stay at most r / (4 sub_positions) apart
        t = (np.arange(samples * sub_positions) + 0.5) * step / sub_positions
        bx, by = self.positions_mm(t)
        mean = np.empty((px_mm.size, samples))
        block = max(1, BLOCK_VALUES // t.size)  # points per block, bounding the temporaries
        for start in range(0, px_mm.size, block):
            x, y = px_mm[start : start + block, None], py_mm[start : start + block, None]
            irradiance = self.profile_per_mm2(np.hypot(x - bx[None, :], y - by[None, :]))
            mean[start : start + block] = irradiance.reshape(-1, samples, sub_positions).mean(axis=2)
        return mean, step
