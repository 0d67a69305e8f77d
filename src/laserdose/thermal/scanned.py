"""Pennes bioheat in 3-D for a beam moved over a treatment area (Douglas ADI, finite volumes).

The axisymmetric absorbed-power kernel is moved along the scan path; within each time step the beam is
sampled at sub-positions so that it never skips a cell, and each deposit is rescaled to the kernel's exact
power, so the absorbed energy equals the emitted energy times the kernel's absorbed fraction. The Douglas
(1962) splitting with backward-Euler weighting is unconditionally stable in 3-D and consistent at steady
state; its tridiagonal factors are computed once and reused at every step.
"""

import math
import time
from dataclasses import dataclass, field

import numba
import numpy as np

from laserdose.errors import InputError
from laserdose.thermal import adi_kernels as kern
from laserdose.thermal.bioheat import BASAL_DEPTH_MM, EnergyLedger, basal_weights, baseline_surface_c
from laserdose.thermal.boundary import (
    Boundaries,
    baseline_column,
    bottom_conductance,
    surface_flux_fraction,
    surface_value,
    top_conductance,
)
from laserdose.thermal.damage import DoseAccumulator
from laserdose.thermal.grid import (
    ColumnProperties,
    FloatArray,
    LayeredMedium,
    column_properties,
    graded_edges,
    insert_interfaces,
)
from laserdose.thermal.scan import ScanPath
from laserdose.thermal.source import AbsorbedKernel, Emission, resample_depth, resample_radius

_MAX_THREADS = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ScannedCase:
    """A beam moved over a rectangular area of a layered back.

    Attributes:
        medium: tissue layers.
        kernel: absorbed power density per W of laser power.
        emission: laser output over time.
        boundaries: surface and bottom boundaries.
        scan: the hand-piece path.
        duration_s: treatment time [s].
        dt_s: time step [s].
        dx_mm: lateral cell size [mm].
        depth_mm: depth of the domain, where the core temperature is held [mm].
        margin_mm: tissue modelled around the area [mm]; None: the kernel's radius, at most 30 mm (power
            that falls outside the domain is not counted as absorbed; the energy account shows it).
        save_times_s: times at which to keep the surface temperature map [s].
        threads: Numba threads for the sweeps; 1 is fastest on a loaded machine (measured: 2 threads
            ran 5x slower than 1 on 2 cores shared with other jobs).
    """

    medium: LayeredMedium
    kernel: AbsorbedKernel
    emission: Emission
    boundaries: Boundaries
    scan: ScanPath
    duration_s: float
    dt_s: float = 0.05
    dx_mm: float = 2.0
    depth_mm: float = 30.0
    margin_mm: float | None = None
    save_times_s: tuple[float, ...] = ()
    threads: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.threads <= _MAX_THREADS:
            raise InputError(f"threads must be between 1 and {_MAX_THREADS}, got {self.threads}")
        for name in ("duration_s", "dt_s", "dx_mm", "depth_mm"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be > 0, got {getattr(self, name):g}")


@dataclass
class ScannedResult:
    """Histories and maps of a scanned treatment (temperatures in C; doses per surface column, x-major)."""

    t_s: FloatArray
    peak_surface_c: FloatArray
    peak_basal_c: FloatArray
    center_surface_c: FloatArray
    baseline_surface_c: float
    baseline_basal_c: float
    surface_dose: DoseAccumulator
    basal_dose: DoseAccumulator
    energy: EnergyLedger
    x_edges_mm: FloatArray
    y_edges_mm: FloatArray
    z_edges_mm: FloatArray
    surface_maps_c: dict[float, FloatArray] = field(default_factory=dict)
    wall_s: float = 0.0


@dataclass(frozen=True)
class _Operators:
    a_x: FloatArray
    a_y: FloatArray
    cp_x: FloatArray
    inv_x: FloatArray
    cp_y: FloatArray
    inv_y: FloatArray
    z_lower: FloatArray
    z_diag: FloatArray
    z_upper: FloatArray
    cp_z: FloatArray
    inv_z: FloatArray


def lateral_edges(extent_mm: float, dx_mm: float) -> FloatArray:
    """Uniform edges covering [-extent/2, extent/2] with cells of about dx_mm [mm]."""
    cells = max(3, int(math.ceil(extent_mm / dx_mm)))
    return np.linspace(-extent_mm / 2, extent_mm / 2, cells + 1)


def thomas_factors(lower: FloatArray, diag: FloatArray, upper: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Elimination factors (c', 1/m) of a tridiagonal matrix given its sub-, main and super-diagonal."""
    n = diag.size
    cprime, inv_m = np.zeros(n), np.zeros(n)
    inv_m[0] = 1.0 / diag[0]
    cprime[0] = upper[0] * inv_m[0]
    for i in range(1, n):
        inv_m[i] = 1.0 / (diag[i] - lower[i] * cprime[i - 1])
        cprime[i] = upper[i] * inv_m[i]
    return cprime, inv_m


def _line_factors(a: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Thomas factors of I - dt A along a line of n cells with insulated ends, one row per depth."""
    cps, invs = np.zeros((a.size, n)), np.zeros((a.size, n))
    for k, coefficient in enumerate(a):
        diag = np.full(n, 1 + 2 * coefficient)
        diag[0] = diag[-1] = 1 + coefficient
        off = np.full(n, -coefficient)
        cps[k], invs[k] = thomas_factors(off, diag, off)
    return cps, invs


def _operators(
    column: ColumnProperties,
    boundaries: Boundaries,
    shape: tuple[int, int],
    spacing: tuple[float, float],
    dt: float,
) -> _Operators:
    kappa = column.k_w_per_mm_k / column.heat_capacity_j_per_mm3_k
    a_x, a_y = dt * kappa / spacing[0] ** 2, dt * kappa / spacing[1] ** 2
    cp_x, inv_x = _line_factors(a_x, shape[0])
    cp_y, inv_y = _line_factors(a_y, shape[1])
    k, dz = column.k_w_per_mm_k, column.dz_mm
    capacity = column.heat_capacity_j_per_mm3_k * dz  # per area
    between = 1.0 / (dz[:-1] / (2 * k[:-1]) + dz[1:] / (2 * k[1:]))
    lower, upper = np.zeros(dz.size), np.zeros(dz.size)
    lower[1:], upper[:-1] = dt * between / capacity[1:], dt * between / capacity[:-1]
    sink = column.perfusion_w_per_mm3_k * dz
    sink[0] += top_conductance(column, boundaries)
    sink[-1] += bottom_conductance(column, boundaries)
    diag = -(lower + upper + dt * sink / capacity)
    cp_z, inv_z = thomas_factors(-lower, 1 - diag, -upper)
    return _Operators(a_x, a_y, cp_x, inv_x, cp_y, inv_y, lower, diag, upper, cp_z, inv_z)


def scanned_z_edges(medium: LayeredMedium, depth_mm: float) -> FloatArray:
    """Depth grid: 20 um at the surface growing to 2 mm, with every layer interface on a cell edge [mm]."""
    return insert_interfaces(graded_edges(depth_mm, 0.02, 2.0, ratio=1.3), list(medium.interfaces_mm))


def _kernel_table(
    kernel: AbsorbedKernel, column: ColumnProperties, boundaries: Boundaries, dx: float, dy: float
) -> tuple[FloatArray, float]:
    """Power per cell [W per W] at radius bins of width dx/4 and each depth cell, and that bin width."""
    density = resample_depth(kernel, column.z_edges_mm)
    if kernel.surface_density_per_mm2 is not None:
        share = surface_flux_fraction(column, boundaries)
        density[:, 0] += share * kernel.surface_density_per_mm2 / column.dz_mm[0]
    dr = min(dx, dy) / 4
    r_fine = np.arange(0.0, kernel.r_edges_mm[-1] + dr / 2, dr)
    fine = resample_radius(density, kernel.r_edges_mm, r_fine)
    return np.ascontiguousarray(fine * dx * dy * column.dz_mm), dr


def solve_scanned(case: ScannedCase) -> ScannedResult:
    """Run a scanned treatment and return peak temperatures, dose maps and the energy account."""
    previous = numba.get_num_threads()
    numba.set_num_threads(case.threads)
    try:
        return _solve_scanned(case)
    finally:
        numba.set_num_threads(previous)


def _solve_scanned(case: ScannedCase) -> ScannedResult:
    started = time.perf_counter()
    z_edges = scanned_z_edges(case.medium, case.depth_mm)
    column = column_properties(case.medium, z_edges)
    margin = min(float(case.kernel.r_edges_mm[-1]), 30.0) if case.margin_mm is None else case.margin_mm
    x_edges = lateral_edges(case.scan.width_mm + 2 * margin, case.dx_mm)
    y_edges = lateral_edges(case.scan.height_mm + 2 * margin, case.dx_mm)
    dx, dy = float(x_edges[1] - x_edges[0]), float(y_edges[1] - y_edges[0])
    shape = (x_edges.size - 1, y_edges.size - 1, column.dz_mm.size)
    steps = int(math.ceil(case.duration_s / case.dt_s - 1e-9))
    dt = case.duration_s / steps
    ops = _operators(column, case.boundaries, shape[:2], (dx, dy), dt)
    table, dr = _kernel_table(case.kernel, column, case.boundaries, dx, dy)
    column_power = np.ascontiguousarray(table.sum(axis=1))
    exact_total = float(
        column_power @ (np.pi * np.diff(np.arange(column_power.size + 1) ** 2) * dr**2 / (dx * dy))
    )
    capacity = column.heat_capacity_j_per_mm3_k * dx * dy * column.dz_mm  # J/K per cell, by depth
    baseline = baseline_column(column, case.boundaries)
    state = _State.create(shape, steps, case, column, baseline)
    sub = max(1, int(math.ceil(case.scan.speed_mm_per_s * dt / (min(dx, dy) / 2))))
    heating = dt / capacity
    for n in range(steps):
        rhs = state.explicit(ops)
        for s in range(sub):
            t0, t1 = (n + s / sub) * dt, (n + (s + 1) / sub) * dt
            power = case.emission.mean_power_w(t0, t1) / sub
            if power == 0:
                continue
            x, y = case.scan.position_mm(0.5 * (t0 + t1))
            sampled, *box = kern.footprint_total(x, y, column_power, dr, dx, dy, x_edges[0], y_edges[0])
            if sampled > 0:
                scale = power * exact_total / sampled
                added = kern.deposit(
                    rhs, x, y, scale, table, heating, dr, dx, dy, x_edges[0], y_edges[0], *box
                )
                state.energy.absorbed_j += added * dt
        state.implicit(rhs, ops, dt, n + 1)
    state.energy.stored_j = float(np.sum(state.u * capacity))
    return state.result(case, column, x_edges, y_edges, time.perf_counter() - started)


@dataclass
class _State:
    """The rise field, scratch arrays and running reports of a scanned run."""

    u: FloatArray
    ay_u: FloatArray
    az_u: FloatArray
    rhs: FloatArray
    column: ColumnProperties
    boundaries: Boundaries
    blood_w_per_k: FloatArray
    boundary_w_per_k: FloatArray
    baseline_surface_c: float
    baseline_basal_c: float
    basal: tuple[int, float]
    save_times_s: tuple[float, ...]
    dt_s: float
    t_s: FloatArray
    peak_surface_c: FloatArray
    peak_basal_c: FloatArray
    center_surface_c: FloatArray
    surface_dose: DoseAccumulator
    basal_dose: DoseAccumulator
    energy: EnergyLedger = field(default_factory=EnergyLedger)
    maps: dict[float, FloatArray] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        shape: tuple[int, int, int],
        steps: int,
        case: ScannedCase,
        column: ColumnProperties,
        baseline: FloatArray,
    ) -> "_State":
        dt = case.duration_s / steps
        basal_j, basal_w = basal_weights(column, BASAL_DEPTH_MM)
        surface_c = baseline_surface_c(case.boundaries, column, float(baseline[0]))
        upper = baseline[basal_j - 1] if basal_j > 0 else surface_c
        basal_c = float((1 - basal_w) * upper + basal_w * baseline[basal_j])
        boundary = np.zeros(shape[2])
        boundary[0] += top_conductance(column, case.boundaries)
        boundary[-1] += bottom_conductance(column, case.boundaries)
        columns = shape[0] * shape[1]
        return cls(
            u=np.zeros(shape),
            ay_u=np.zeros(shape),
            az_u=np.zeros(shape),
            rhs=np.zeros(shape),
            column=column,
            boundaries=case.boundaries,
            blood_w_per_k=column.perfusion_w_per_mm3_k * column.dz_mm,
            boundary_w_per_k=boundary,
            baseline_surface_c=surface_c,
            baseline_basal_c=basal_c,
            basal=(basal_j, basal_w),
            save_times_s=case.save_times_s,
            dt_s=dt,
            t_s=np.linspace(0.0, case.duration_s, steps + 1),
            peak_surface_c=np.full(steps + 1, surface_c),
            peak_basal_c=np.full(steps + 1, basal_c),
            center_surface_c=np.full(steps + 1, surface_c),
            surface_dose=DoseAccumulator(columns),
            basal_dose=DoseAccumulator(columns),
        )

    def explicit(self, ops: _Operators) -> FloatArray:
        """First half of a Douglas step: the right side u + dt (Ay + Az) u, before the laser's heating."""
        kern.explicit_terms(
            self.u, ops.a_y, ops.z_lower, ops.z_diag, ops.z_upper, self.ay_u, self.az_u, self.rhs
        )
        return self.rhs

    def implicit(self, rhs: FloatArray, ops: _Operators, dt: float, n: int) -> None:
        """Second half: the three implicit sweeps (Douglas 1962), then the reports."""
        kern.solve_x(rhs, ops.a_x, ops.cp_x, ops.inv_x)
        kern.solve_y(rhs, self.ay_u, ops.a_y, ops.cp_y, ops.inv_y)
        kern.solve_z(rhs, self.az_u, ops.z_lower, ops.cp_z, ops.inv_z)
        self.u, self.rhs = rhs, self.u
        self._record(dt, n)

    def _record(self, dt: float, n: int) -> None:
        self.energy.blood_j += dt * float(np.sum(self.u @ self.blood_w_per_k))
        self.energy.boundary_j += dt * float(np.sum(self.u @ self.boundary_w_per_k))
        top = self.u[:, :, 0].ravel()
        surface = self.baseline_surface_c + surface_value(top, 0.0, self.column, self.boundaries)
        j, w = self.basal
        upper = self.u[:, :, j - 1].ravel() if j > 0 else surface - self.baseline_surface_c
        basal = self.baseline_basal_c + (1 - w) * upper + w * self.u[:, :, j].ravel()
        self.peak_surface_c[n] = float(surface.max())
        self.peak_basal_c[n] = float(basal.max())
        self.center_surface_c[n] = float(
            surface[(self.u.shape[0] // 2) * self.u.shape[1] + self.u.shape[1] // 2]
        )
        self.surface_dose.add(surface, dt)
        self.basal_dose.add(basal, dt)
        for wanted in self.save_times_s:
            if abs(self.t_s[n] - wanted) <= 0.5 * dt:
                self.maps[wanted] = surface.reshape(self.u.shape[:2]).copy()

    def result(
        self,
        case: ScannedCase,
        column: ColumnProperties,
        x_edges: FloatArray,
        y_edges: FloatArray,
        wall_s: float,
    ) -> ScannedResult:
        """Package the run; the per-area blood and boundary flows are scaled to whole cells."""
        cell_area = float((x_edges[1] - x_edges[0]) * (y_edges[1] - y_edges[0]))
        self.energy.blood_j *= cell_area
        self.energy.boundary_j *= cell_area
        return ScannedResult(
            t_s=self.t_s,
            peak_surface_c=self.peak_surface_c,
            peak_basal_c=self.peak_basal_c,
            center_surface_c=self.center_surface_c,
            baseline_surface_c=self.baseline_surface_c,
            baseline_basal_c=self.baseline_basal_c,
            surface_dose=self.surface_dose,
            basal_dose=self.basal_dose,
            energy=self.energy,
            x_edges_mm=x_edges,
            y_edges_mm=y_edges,
            z_edges_mm=column.z_edges_mm,
            surface_maps_c=self.maps,
            wall_s=wall_s,
        )
