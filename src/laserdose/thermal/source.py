"""Laser heat sources: the absorbed-power kernel from transport, analytic kernels, and pulsed emission.

The kernel is the transport engine's interface: an r-z grid and the fraction of the incident power
absorbed per mm^3 (W/mm^3 per W of laser power) for a stack of layers.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laserdose.errors import InputError
from laserdose.thermal.grid import FloatArray


@dataclass(frozen=True)
class AbsorbedKernel:
    """Axisymmetric absorbed power density per W of incident laser power.

    Attributes:
        r_edges_mm: radial bin edges, starting at 0 [mm].
        z_edges_mm: depth bin edges, starting at 0 [mm].
        absorbed_density_per_mm3: shape (nr, nz), absorbed power per volume per incident power [1/mm^3].
        surface_density_per_mm2: shape (nr,), power absorbed at the surface itself per area per incident
            power [1/mm^2] (idealised surface sources); None when all absorption is volumetric.
    """

    r_edges_mm: FloatArray
    z_edges_mm: FloatArray
    absorbed_density_per_mm3: FloatArray
    surface_density_per_mm2: FloatArray | None = None

    def __post_init__(self) -> None:
        r, z, q = self.r_edges_mm, self.z_edges_mm, self.absorbed_density_per_mm3
        if r.ndim != 1 or z.ndim != 1 or r.size < 2 or z.size < 2:
            raise InputError("kernel r_edges_mm and z_edges_mm must be 1-D with at least 2 edges")
        if r[0] != 0 or z[0] != 0 or np.any(np.diff(r) <= 0) or np.any(np.diff(z) <= 0):
            raise InputError("kernel r_edges_mm and z_edges_mm must start at 0 and increase")
        if q.shape != (r.size - 1, z.size - 1):
            raise InputError(f"kernel absorbed_density_per_mm3 must have shape {(r.size - 1, z.size - 1)}")
        if not np.all(np.isfinite(q)) or np.any(q < 0):
            raise InputError("kernel absorbed_density_per_mm3 must be finite and >= 0")

    @property
    def ring_areas_mm2(self) -> FloatArray:
        """Area of each radial ring [mm^2]."""
        return np.pi * np.diff(self.r_edges_mm**2)

    def absorbed_fraction(self) -> float:
        """Fraction of the incident power absorbed in the kernel (volume and surface) [-]."""
        volumes = np.outer(self.ring_areas_mm2, np.diff(self.z_edges_mm))
        total = float(np.sum(self.absorbed_density_per_mm3 * volumes))
        if self.surface_density_per_mm2 is not None:
            total += float(np.sum(self.surface_density_per_mm2 * self.ring_areas_mm2))
        return total


def load_kernel(path: Path) -> AbsorbedKernel:
    """Read a kernel from an .npz file with r_edges_mm, z_edges_mm and absorbed_density_per_mm3."""
    try:
        with np.load(path) as data:
            return AbsorbedKernel(
                np.asarray(data["r_edges_mm"], dtype=float),
                np.asarray(data["z_edges_mm"], dtype=float),
                np.asarray(data["absorbed_density_per_mm3"], dtype=float),
            )
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"source.kernel_file {str(path)!r} is not a readable kernel: {exc}") from None


def radial_profile(r_edges_mm: FloatArray, radius_mm: float, shape: str) -> FloatArray:
    """Mean of a unit-power beam's irradiance over each ring [1/mm^2].

    Args:
        r_edges_mm: ring edges [mm].
        radius_mm: disk radius (flat) or 1/e radius of a Gaussian, q = exp(-r^2/r0^2)/(pi r0^2) [mm].
        shape: "flat" (top hat) or "gaussian".
    """
    inner, outer = r_edges_mm[:-1], r_edges_mm[1:]
    areas = np.pi * (outer**2 - inner**2)
    if shape == "flat":  # exact share of a uniform disk in each ring
        covered = np.pi * (np.clip(outer, 0, radius_mm) ** 2 - np.clip(inner, 0, radius_mm) ** 2)
        share = covered / (np.pi * radius_mm**2)
    else:  # exact integral of the Gaussian over each ring
        share = np.exp(-(inner**2) / radius_mm**2) - np.exp(-(outer**2) / radius_mm**2)
    return np.asarray(share / areas, dtype=float)


def analytic_kernel(
    r_edges_mm: FloatArray,
    z_edges_mm: FloatArray,
    radius_mm: float,
    shape: str,
    mua_per_mm: float | None,
    absorbed_fraction: float = 1.0,
) -> AbsorbedKernel:
    """An idealised kernel: a beam profile in r times exponential absorption in depth (or at the surface).

    Args:
        r_edges_mm: ring edges [mm].
        z_edges_mm: depth edges [mm].
        radius_mm: beam radius (flat) or 1/e radius (gaussian) [mm].
        shape: "flat" or "gaussian".
        mua_per_mm: decay coefficient of the absorbed power with depth [1/mm]; None: all at the surface.
        absorbed_fraction: share of the incident power absorbed [-].
    """
    profile = radial_profile(r_edges_mm, radius_mm, shape) * absorbed_fraction
    nz = z_edges_mm.size - 1
    if mua_per_mm is None:
        return AbsorbedKernel(r_edges_mm, z_edges_mm, np.zeros((profile.size, nz)), profile)
    # Cell mean of mua exp(-mua z): exact integral over each depth bin divided by its height.
    decay = -np.diff(np.exp(-mua_per_mm * z_edges_mm)) / np.diff(z_edges_mm)
    return AbsorbedKernel(r_edges_mm, z_edges_mm, np.outer(profile, decay))


def resample_depth(kernel: AbsorbedKernel, z_edges_mm: FloatArray) -> FloatArray:
    """Re-bin the kernel onto new depth edges, conserving power; shape (nr_kernel, nz_new) [1/mm^3]."""
    cumulative = np.concatenate(
        (
            np.zeros((kernel.absorbed_density_per_mm3.shape[0], 1)),
            np.cumsum(kernel.absorbed_density_per_mm3 * np.diff(kernel.z_edges_mm), axis=1),
        ),
        axis=1,
    )
    at_new = np.array([np.interp(z_edges_mm, kernel.z_edges_mm, row) for row in cumulative])
    return np.asarray(np.diff(at_new, axis=1) / np.diff(z_edges_mm), dtype=float)


def resample_radius(density: FloatArray, r_from_mm: FloatArray, r_to_mm: FloatArray) -> FloatArray:
    """Re-bin along r (first axis), conserving power, by interpolating the cumulative power in r^2."""
    areas = np.pi * np.diff(r_from_mm**2)
    shape = (1,) + density.shape[1:]
    cumulative = np.concatenate(
        (np.zeros(shape), np.cumsum(density * areas.reshape(-1, *([1] * (density.ndim - 1))), axis=0))
    )
    x_from, x_to = r_from_mm**2, np.clip(r_to_mm, 0, r_from_mm[-1]) ** 2
    at_new = np.apply_along_axis(lambda column: np.interp(x_to, x_from, column), 0, cumulative)
    new_areas = np.pi * np.diff(r_to_mm**2)
    return np.asarray(
        np.diff(at_new, axis=0) / new_areas.reshape(-1, *([1] * (density.ndim - 1))), dtype=float
    )


@dataclass(frozen=True)
class Emission:
    """Laser output over time: continuous, or a square pulse train.

    Attributes:
        power_w: peak (on) power [W].
        frequency_hz: pulse repetition frequency [Hz]; None for continuous emission.
        duty_cycle: fraction of each period the laser is on [-], in (0, 1].
    """

    power_w: float
    frequency_hz: float | None = None
    duty_cycle: float = 1.0

    def __post_init__(self) -> None:
        if not self.power_w >= 0:
            raise InputError(f"power_w must be >= 0, got {self.power_w:g}")
        if self.frequency_hz is not None and not self.frequency_hz > 0:
            raise InputError(f"pulsing.frequency_hz must be > 0, got {self.frequency_hz:g}")
        if not 0 < self.duty_cycle <= 1:
            raise InputError(f"pulsing.duty_cycle must be in (0, 1], got {self.duty_cycle:g}")

    def _on_time_until(self, t_s: float) -> float:
        """Time the laser has been on from 0 to t_s [s]."""
        if self.frequency_hz is None or self.duty_cycle == 1.0:
            return t_s
        period = 1.0 / self.frequency_hz
        whole, rest = divmod(t_s, period)
        return whole * self.duty_cycle * period + min(rest, self.duty_cycle * period)

    def mean_power_w(self, start_s: float, end_s: float) -> float:
        """Exact mean emitted power [W] over [start_s, end_s]; energy is conserved whatever the step."""
        on = self._on_time_until(end_s) - self._on_time_until(start_s)
        return self.power_w * on / (end_s - start_s)

    @property
    def average_power_w(self) -> float:
        """Long-run average power [W]."""
        return self.power_w * (self.duty_cycle if self.frequency_hz is not None else 1.0)


def emitted_energy_j(emission: Emission, duration_s: float) -> float:
    """Energy emitted from 0 to duration_s [J]."""
    return emission.mean_power_w(0.0, duration_s) * duration_s if duration_s > 0 else 0.0
