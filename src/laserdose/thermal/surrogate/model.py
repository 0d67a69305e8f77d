"""Peak skin temperature rise per watt of a handpiece scanned by hand over the treatment area, in ms.

The physics, and why it is fast:
- Light: under a beam wider than the light's lateral spread (a few mm), the absorbed power density at
  depth z is the local surface irradiance E times a broad-beam depth profile a(z), precomputed by Monte
  Carlo on the optics back model (profiles.py; epidermal melanin absorption resolved in 20 um bins).
- Heat: the beam is 20-40 mm wide and lines are 10-20 mm apart, while heat diffuses sideways only
  sqrt(4 kappa t) ~ 1.5 mm in the few seconds between neighbouring passes. So each point of the skin
  heats as a 1-D Pennes column (the thermal/ layers, perfusion, convective surface and the core held at
  the bottom, discretised exactly as thermal/scanned.py does in depth) driven by its own irradiance
  history E(t). Leaving out the sideways conduction over minutes only removes a smoothing of hot spots
  (maximum principle), so the model errs on the safe side; the scattered light's sideways spread is
  represented by a 1 mm blur of the beam edge (scan.py).
- The column is linear and time-invariant: its surface rise is a sum of decaying modes (eigenvalues of
  the symmetrised conduction-perfusion operator). The irradiance at each point repeats with the scan
  period T, so the rise at time nT + t follows in closed form from one period (geometric series per
  mode), at any session length, with no time stepping over the session.
- The peak reached in a session is the largest rise over the points and over its last period: the rise
  at t + T is never below the rise at t (the column's impulse response is positive).
The agreement with the 3-D scanned solver is stated in tests/thermal/test_skin_surrogate_vs_solver.py
and docs/guide/plan.md.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import eigh_tridiagonal

from laserdose.domain.quantities import SKIN_TYPE, TREATMENT_AREA
from laserdose.errors import InputError, require_range
from laserdose.machines.profile import Handpiece
from laserdose.optics.back import back_model
from laserdose.thermal.boundary import Boundaries, bottom_conductance, top_conductance
from laserdose.thermal.grid import ColumnProperties, column_properties
from laserdose.thermal.mc_kernel import thermal_medium
from laserdose.thermal.scanned import scanned_z_edges
from laserdose.thermal.surrogate.profiles import DepthProfiles, FloatArray, load_profiles
from laserdose.thermal.surrogate.scan import Scan

# The column reaches 30 mm, where the core temperature is held (thermal/scanned.py's default depth).
COLUMN_DEPTH_MM = 30.0
# Skin in room air: h = 10 W/(m^2 K) to 25 C, core 37 C (thermal/boundary.py defaults [U]). A contact
# handpiece is not assumed to cool the skin (an uncooled window; cooling would only lower the peak).
SURFACE = Boundaries()
CURVE_POINTS = 60
# The coarse pass ranks grid points with samples grouped by COARSE_SAMPLES; the CANDIDATES hottest are
# followed exactly, and around the REFINED_POINTS hottest a 3 x 3 grid spanning one grid spacing.
COARSE_SAMPLES, CANDIDATES, REFINED_POINTS, REFINE_STEPS = 4, 16, 4, 3
# Grid points are followed only when their mean irradiance or their largest two-pass burst is at least this
# share of the largest (the hottest point was within 0.71 of one and 0.97 of the other in the cases tried;
# tests/thermal/test_skin_surrogate.py checks that it survives).
KEEP_FRACTION = 0.85


@dataclass(frozen=True, eq=False)
class SurfaceModes:
    """The skin surface rise of a column driven by a uniform irradiance E(t): sum_k beta_k x_k(t).

    Each x_k obeys dx_k/dt = -rate_k x_k + E(t).

    Attributes:
        rate_per_s: decay rate of each mode [1/s].
        weight_k_mm2_per_j: beta_k, surface rise per unit of x_k [K mm^2 / J].
    """

    rate_per_s: FloatArray
    weight_k_mm2_per_j: FloatArray

    def step_response(self, t_s: FloatArray) -> FloatArray:
        """Surface rise after a constant irradiance of 1 W/mm^2 has been on for t_s [K]."""
        t = np.asarray(t_s, dtype=float)[..., None]
        rate = self.rate_per_s
        return np.asarray(np.sum(self.weight_k_mm2_per_j * -np.expm1(-rate * t) / rate, axis=-1))


def skin_rise_k_per_w(
    skin_type: int,
    fat_mm: float,
    wavelength_nm: float,
    handpiece: Handpiece,
    scan_speed_mm_per_s: float,
    area_cm2: float,
    duration_s: float,
) -> float:
    """Peak skin temperature rise per watt reached during a session of duration_s [K/W].

    Args:
        skin_type: Fitzpatrick skin type, 1-6.
        fat_mm: subcutaneous fat thickness [mm].
        wavelength_nm: wavelength [nm], within the precomputed profiles (650-1064 nm).
        handpiece: the handpiece (beam diameter and profile at the skin).
        scan_speed_mm_per_s: hand speed along the zig-zag [mm/s].
        area_cm2: treatment area, scanned as a square [cm^2].
        duration_s: session length [s].
    """
    _, rises = skin_rise_curve_k_per_w(
        skin_type, fat_mm, wavelength_nm, handpiece, scan_speed_mm_per_s, area_cm2, duration_s, points=1
    )
    return float(rises[-1])


def skin_rise_curve_k_per_w(
    skin_type: int,
    fat_mm: float,
    wavelength_nm: float,
    handpiece: Handpiece,
    scan_speed_mm_per_s: float,
    area_cm2: float,
    duration_s: float,
    points: int = CURVE_POINTS,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(times_s, peak skin rise per watt reached by each time [K/W]) for a skin-temperature plot.

    Arguments as `skin_rise_k_per_w`; `points` times spread evenly over (0, duration_s]. The last value
    is `skin_rise_k_per_w` of the session; the curve never falls.
    """
    require_range("session duration", duration_s, 1e-3, 1e6, "s")
    require_range("scan speed", scan_speed_mm_per_s, 1.0, 1000.0, "mm/s")
    TREATMENT_AREA.check(area_cm2)
    SKIN_TYPE.check_whole(skin_type)
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise InputError(f"points must be a whole number >= 1, got {points!r}")
    modes = surface_modes(int(skin_type), float(fat_mm), float(wavelength_nm), handpiece.contact)
    scan = Scan(
        handpiece.beam_diameter_mm, handpiece.beam_profile, scan_speed_mm_per_s, math.sqrt(area_cm2) * 10
    )
    response = _session_response(scan, modes, float(duration_s))
    times = np.linspace(duration_s / points, duration_s, points)
    return times, np.array([response.point_peaks_until(t).max() for t in times])


@lru_cache(maxsize=256)
def surface_modes(skin_type: int, fat_mm: float, wavelength_nm: float, contact: bool) -> SurfaceModes:
    """The surface modes of the patient's column at one wavelength (see the module docstring)."""
    medium = thermal_medium(back_model(skin_type, wavelength_nm, fat_mm=fat_mm))
    column = column_properties(medium, scanned_z_edges(medium, COLUMN_DEPTH_MM))
    profiles = load_profiles_cached()
    absorbed = profiles.absorbed_per_cell(wavelength_nm, skin_type, column.z_edges_mm)
    if contact:  # no air gap: the Fresnel loss at the surface is not taken off (conservative)
        absorbed = absorbed / (1 - profiles.specular_reflectance)
    return column_modes(column, absorbed, SURFACE)


def column_modes(column: ColumnProperties, absorbed: FloatArray, boundaries: Boundaries) -> SurfaceModes:
    """Surface modes of a column whose cells absorb `absorbed` of the irradiance each [-].

    The finite volumes of thermal/scanned.py in depth: C du/dt = -G u + s E(t), with C the cells' heat
    capacity per area, G conduction, perfusion and the boundaries' conductances. With C^-1/2 G C^-1/2 =
    V diag(rate) V^T, the surface rise is sum_k beta_k x_k (SurfaceModes).
    """
    k, dz = column.k_w_per_mm_k, column.dz_mm
    between = 1.0 / (dz[:-1] / (2 * k[:-1]) + dz[1:] / (2 * k[1:]))
    diag = column.perfusion_w_per_mm3_k * dz
    diag[:-1] += between
    diag[1:] += between
    diag[0] += top_conductance(column, boundaries)
    diag[-1] += bottom_conductance(column, boundaries)
    scale = 1.0 / np.sqrt(column.heat_capacity_j_per_mm3_k * dz)  # C^-1/2, per area
    rates, vectors = eigh_tridiagonal(diag * scale**2, -between * scale[:-1] * scale[1:])
    inner = 2.0 * k[0] / dz[0]
    surface_share = inner / (inner + boundaries.surface_conductance_w_per_mm2_k())
    weights = surface_share * scale[0] * vectors[0] * (vectors.T @ (scale * absorbed))
    return SurfaceModes(rates, weights)


@lru_cache(maxsize=1)
def load_profiles_cached() -> DepthProfiles:
    """The shipped depth profiles, read once."""
    return load_profiles()


@dataclass(frozen=True)
class _PeriodResponse:
    """The rise at every followed point, built from one scan period (module docstring).

    Attributes:
        first: rise from rest during the first period at the end of each sample, (points, samples) [K/W].
        tail: per mode, the state left at the end of the first period, (points, modes) [J/mm^2 per W].
        modes: the column's surface modes.
        step_s: sample length [s].
    """

    first: FloatArray
    tail: FloatArray
    modes: SurfaceModes
    step_s: float

    @property
    def period_s(self) -> float:
        """The scan period [s]."""
        return float(self.first.shape[1] * self.step_s)

    def period_peaks(self, n: int, upto: int) -> FloatArray:
        """Largest rise at each point in period n (0 = first) over its first `upto` samples [K/W]."""
        if upto <= 0 or n < 0:
            return np.zeros(self.first.shape[0])
        rate = self.modes.rate_per_s
        # The n earlier periods, each decayed to the start of this one: a geometric sum per mode.
        periods = -np.expm1(-rate * self.period_s * n) / -np.expm1(-rate * self.period_s)
        ends = np.arange(1, upto + 1)[None, :] * self.step_s
        carried = (self.modes.weight_k_mm2_per_j * periods)[:, None] * np.exp(-rate[:, None] * ends)
        return np.asarray((self.first[:, :upto] + np.einsum("pk,kj->pj", self.tail, carried)).max(axis=1))

    def point_peaks_until(self, t_s: float) -> FloatArray:
        """Largest rise at each point between 0 and t_s [K/W] (the rise at t + T is never below that at t)."""
        samples = self.first.shape[1]
        n = int(t_s // self.period_s)
        # The sample that holds t_s counts whole (conservative by at most one sample).
        upto = min(samples, int(math.ceil((t_s - n * self.period_s) / self.step_s - 1e-9)))
        return np.maximum(self.period_peaks(n, upto), self.period_peaks(n - 1, samples))


@dataclass(frozen=True)
class _Exposure:
    """Irradiance at points over one period (points, samples) [1/mm^2 per W], its spectrum, sample [s]."""

    irradiance: FloatArray
    spectrum: NDArray[np.complex128]
    step_s: float

    @classmethod
    def of(cls, irradiance: FloatArray, step_s: float) -> "_Exposure":
        """The exposure with the spectrum the convolution needs (zero-padded to twice the period)."""
        return cls(irradiance, np.fft.rfft(irradiance, 2 * irradiance.shape[1], axis=1), step_s)


def _exposure(scan: Scan, px_mm: FloatArray, py_mm: FloatArray) -> _Exposure:
    return _Exposure.of(*scan.irradiance_per_w(px_mm, py_mm))


@lru_cache(maxsize=16)
def _coarse_exposure(scan: Scan) -> tuple[FloatArray, FloatArray, _Exposure]:
    """The grid points that can be the hottest, and their exposure averaged over COARSE_SAMPLES samples."""
    px, py = scan.skin_points_mm()
    irradiance, step = scan.irradiance_per_w(px, py, sub_positions=1)  # only to rank the points
    keep = _may_be_hottest(irradiance, step, scan.beam_diameter_mm / scan.speed_mm_per_s)
    grouped = irradiance[keep].reshape(int(keep.sum()), -1, COARSE_SAMPLES).mean(axis=2)
    return px[keep], py[keep], _Exposure.of(grouped, step * COARSE_SAMPLES)


def _may_be_hottest(irradiance: FloatArray, step_s: float, pass_s: float) -> NDArray[np.bool_]:
    """Points whose mean irradiance, or the most energy they get within two passes, is near the largest.

    The hottest point has the most energy on average (the slow, area-wide heating dominates) or in a
    short cluster of passes (turns of the path); the others are dropped before the heat is computed.
    """
    mean = irradiance.mean(axis=1)
    window = max(1, int(round(2 * pass_s / step_s)))
    running = np.cumsum(np.concatenate((irradiance, irradiance[:, :window]), axis=1), axis=1)
    burst = (running[:, window:] - running[:, :-window]).max(axis=1)
    return np.asarray((mean >= KEEP_FRACTION * mean.max()) | (burst >= KEEP_FRACTION * burst.max()))


def _response(exposure: _Exposure, modes: SurfaceModes) -> _PeriodResponse:
    """One period's response at the points: causal convolution, and the state it leaves.

    Products use einsum, not BLAS: threaded BLAS on a busy machine ran these small products 5x slower.
    """
    irradiance, step = exposure.irradiance, exposure.step_s
    rate, weight = modes.rate_per_s, modes.weight_k_mm2_per_j
    samples = irradiance.shape[1]
    gain = -np.expm1(-rate * step) / rate  # x_k after one sample of unit irradiance from rest [s]
    impulse = (weight * gain) @ np.exp(-np.outer(rate, np.arange(samples) * step))
    size = 2 * samples
    spectrum = exposure.spectrum * np.fft.rfft(impulse, size)[None, :]
    first = np.fft.irfft(spectrum, size, axis=1)[:, :samples]
    ages = (samples - 1 - np.arange(samples)) * step
    tail = np.einsum("pj,kj->pk", irradiance, gain[:, None] * np.exp(-np.outer(rate, ages)))
    return _PeriodResponse(first, tail, modes, step)


@lru_cache(maxsize=64)
def _session_response(scan: Scan, modes: SurfaceModes, duration_s: float) -> _PeriodResponse:
    """The exact response at the hottest points of a coarse pass, and on a finer grid around the top few.

    The coarse pass follows the grid points with samples grouped by COARSE_SAMPLES (energy kept, peaks
    slightly smoothed) only to rank them.
    """
    px, py, exposure = _coarse_exposure(scan)
    ranked = np.argsort(_response(exposure, modes).point_peaks_until(duration_s))[::-1]
    spacing = scan.point_spacing_mm()
    offsets = np.linspace(-spacing / 2, spacing / 2, REFINE_STEPS)
    dx, dy = (axis.ravel() for axis in np.meshgrid(offsets, offsets, indexing="ij"))
    top = ranked[:REFINED_POINTS]
    fx = np.concatenate((px[ranked[:CANDIDATES]], (px[top, None] + dx).ravel()))
    fy = np.concatenate((py[ranked[:CANDIDATES]], (py[top, None] + dy).ravel()))
    return _response(_exposure(scan, fx, fy), modes)
