"""Pennes bioheat equation for a stationary beam, axisymmetric in r-z, finite volumes.

rho c dT/dt = div(k grad T) - w rho_b c_b (T - T_a) + q_met + q_laser   (Pennes 1948)

The unknown is the rise above the steady baseline (see boundary.py), so the laser is the only source and
the rise is exactly linear in power. Time stepping is the theta method (Crank-Nicolson by default, with two
backward-Euler start steps to damp its start-up oscillation, Rannacher 1984); both are stable for any step.
The sparse matrices are factorised once (scipy splu) and reused at every step.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from laserdose.errors import InputError
from laserdose.thermal.boundary import (
    Boundaries,
    baseline_column,
    bottom_conductance,
    surface_flux_fraction,
    surface_value,
    top_conductance,
)
from laserdose.thermal.damage import DoseAccumulator
from laserdose.thermal.grid import ColumnProperties, FloatArray, LayeredMedium, column_properties
from laserdose.thermal.source import AbsorbedKernel, Emission, resample_depth, resample_radius

BASAL_DEPTH_MM = 0.1  # epidermal basal layer, ~0.1 mm deep (the epidermis of the back model)


@dataclass(frozen=True)
class StationaryCase:
    """A stationary beam on a layered medium.

    Attributes:
        medium: the tissue layers.
        kernel: absorbed power density per W of laser power.
        emission: laser output over time.
        boundaries: surface and bottom boundaries.
        r_edges_mm: solver grid in r [mm].
        z_edges_mm: solver grid in depth [mm].
        duration_s: simulated time [s].
        dt_s: time step [s].
        theta: 0.5 Crank-Nicolson, 1 backward Euler.
        save_times_s: times at which to keep the whole field [s].
        with_baseline: False for idealised cases (rises only, no absolute temperatures).
    """

    medium: LayeredMedium
    kernel: AbsorbedKernel
    emission: Emission
    boundaries: Boundaries
    r_edges_mm: FloatArray
    z_edges_mm: FloatArray
    duration_s: float
    dt_s: float
    theta: float = 0.5
    save_times_s: tuple[float, ...] = ()
    with_baseline: bool = True

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise InputError(f"time.duration_s must be > 0, got {self.duration_s:g}")
        if not 0 < self.dt_s <= self.duration_s:
            raise InputError(f"time.dt_s must be in (0, duration_s], got {self.dt_s:g}")
        if not 0.5 <= self.theta <= 1.0:
            raise InputError(f"theta must be between 0.5 and 1, got {self.theta:g}")


@dataclass
class EnergyLedger:
    """Energy account of the rise [J]: absorbed = stored + through boundaries + carried away by blood."""

    absorbed_j: float = 0.0
    stored_j: float = 0.0
    boundary_j: float = 0.0
    blood_j: float = 0.0


@dataclass
class StationaryResult:
    """Histories and fields of a stationary-beam run.

    Attributes:
        t_s: times [s], starting at 0.
        center_surface_rise_k: rise on the axis at the surface [K].
        peak_surface_rise_k: largest surface rise at each time [K].
        peak_basal_rise_k: largest rise at the basal depth at each time [K].
        baseline_c: steady temperature at the cell centres [C] (None for idealised cases).
        baseline_surface_c: steady surface temperature [C].
        baseline_basal_c: steady temperature at the basal depth [C].
        fields: rise fields (nr, nz) at the saved times [K].
        energy: energy account.
        surface_dose: dose along the surface (one point per ring), None without a baseline.
        basal_dose: dose along the basal depth, None without a baseline.
    """

    t_s: FloatArray
    center_surface_rise_k: FloatArray
    peak_surface_rise_k: FloatArray
    peak_basal_rise_k: FloatArray
    r_edges_mm: FloatArray
    z_edges_mm: FloatArray
    baseline_c: FloatArray | None
    baseline_surface_c: float
    baseline_basal_c: float
    fields: dict[float, FloatArray] = field(default_factory=dict)
    energy: EnergyLedger = field(default_factory=EnergyLedger)
    surface_dose: DoseAccumulator | None = None
    basal_dose: DoseAccumulator | None = None


@dataclass(frozen=True)
class _System:
    """Assembled finite-volume system: C du/dt = -L u + S(t)."""

    capacity_j_per_k: FloatArray  # rho c V, flattened (nr * nz)
    laplacian: sp.csc_matrix  # W/K, includes perfusion and boundary conductances
    source_w_per_w: FloatArray  # absorbed power into each cell per W of laser power
    blood_w_per_k: FloatArray  # w rho_b c_b V
    boundary_w_per_k: FloatArray  # conductance of each cell to a held boundary
    surface_escape_w_per_w: float  # surface-absorbed power that leaves at once through the surface
    surface_flux_w_per_mm2: FloatArray  # surface-absorbed flux per W of laser power, per ring


def _assemble(case: StationaryCase, column: ColumnProperties) -> _System:
    r, dz = case.r_edges_mm, column.dz_mm
    nr, nz = r.size - 1, dz.size
    rc = 0.5 * (r[1:] + r[:-1])
    ring = np.pi * np.diff(r**2)
    volume = np.outer(ring, dz)
    k = column.k_w_per_mm_k
    index = np.arange(nr * nz).reshape(nr, nz)
    g_r = np.outer(2 * np.pi * r[1:-1] / np.diff(rc), k * dz)  # radial faces (nr-1, nz)
    g_z = np.outer(ring, 1.0 / (dz[:-1] / (2 * k[:-1]) + dz[1:] / (2 * k[1:])))  # depth faces (nr, nz-1)
    blood = (column.perfusion_w_per_mm3_k * volume).ravel()
    boundary = np.zeros((nr, nz))
    boundary[:, 0] += ring * top_conductance(column, case.boundaries)
    boundary[:, -1] += ring * bottom_conductance(column, case.boundaries)
    rows = np.concatenate([index[:-1].ravel(), index[:, :-1].ravel()])
    cols = np.concatenate([index[1:].ravel(), index[:, 1:].ravel()])
    g = np.concatenate([g_r.ravel(), g_z.ravel()])
    off = sp.coo_matrix((-g, (rows, cols)), shape=(nr * nz, nr * nz))
    diag = blood + boundary.ravel() - np.asarray((off + off.T).sum(axis=1)).ravel()
    laplacian = (off + off.T + sp.diags(diag)).tocsc()
    kernel_rz = resample_radius(resample_depth(case.kernel, column.z_edges_mm), case.kernel.r_edges_mm, r)
    source = kernel_rz * volume
    surface = np.zeros(nr)
    escape = 0.0
    if case.kernel.surface_density_per_mm2 is not None:
        surface = resample_radius(case.kernel.surface_density_per_mm2, case.kernel.r_edges_mm, r)
        share = surface_flux_fraction(column, case.boundaries)
        source[:, 0] += share * surface * ring
        escape = (1 - share) * float(np.sum(surface * ring))
    return _System(
        (column.heat_capacity_j_per_mm3_k * volume).ravel(),
        laplacian,
        source.ravel(),
        blood,
        boundary.ravel(),
        escape,
        surface,
    )


def basal_weights(column: ColumnProperties, depth_mm: float) -> tuple[int, float]:
    """Cell index j and weight w so that the basal value is (1-w) u[j-1] + w u[j] (j=0: surface)."""
    centres = column.z_centres_mm
    j = int(np.searchsorted(centres, depth_mm))
    if j >= centres.size:
        raise InputError("the grid is shallower than the epidermal basal depth")
    upper = centres[j - 1] if j > 0 else 0.0
    return j, float((depth_mm - upper) / (centres[j] - upper))


def solve_stationary(case: StationaryCase) -> StationaryResult:
    """Run a stationary-beam case and return its histories, fields, energy account and dose."""
    column = column_properties(case.medium, case.z_edges_mm)
    system = _assemble(case, column)
    nr, nz = case.r_edges_mm.size - 1, column.dz_mm.size
    steps = int(np.ceil(case.duration_s / case.dt_s - 1e-9))
    dt = case.duration_s / steps
    capacity = sp.diags(system.capacity_j_per_k / dt)
    solvers = {th: splu((capacity + th * system.laplacian).tocsc()) for th in {case.theta, 1.0}}
    explicit = {th: (capacity - (1 - th) * system.laplacian).tocsr() for th in {case.theta, 1.0}}
    basal_j, basal_w = basal_weights(column, BASAL_DEPTH_MM)
    baseline = baseline_column(column, case.boundaries) if case.with_baseline else None
    result = _empty_result(case, column, steps, baseline, basal_j, basal_w)
    rise = np.zeros(nr * nz)
    for n in range(steps):
        start = n * dt
        power = case.emission.mean_power_w(start, start + dt)
        th = 1.0 if n < 2 else case.theta
        new = solvers[th].solve(explicit[th] @ rise + system.source_w_per_w * power)
        _account(result.energy, system, rise, new, th, power, dt)
        rise = new
        _record(result, case, column, system, rise.reshape(nr, nz), power, n + 1, dt, basal_j, basal_w)
    result.energy.stored_j = float(np.sum(system.capacity_j_per_k * rise))
    result.fields[case.duration_s] = rise.reshape(nr, nz).copy()
    return result


def _empty_result(
    case: StationaryCase,
    column: ColumnProperties,
    steps: int,
    baseline: FloatArray | None,
    basal_j: int,
    basal_w: float,
) -> StationaryResult:
    nr = case.r_edges_mm.size - 1
    surface_c, basal_c = float("nan"), float("nan")
    surface_dose = basal_dose = None
    if baseline is not None:
        surface_c = baseline_surface_c(case.boundaries, column, float(baseline[0]))
        upper = baseline[basal_j - 1] if basal_j > 0 else surface_c
        basal_c = float((1 - basal_w) * upper + basal_w * baseline[basal_j])
        surface_dose, basal_dose = DoseAccumulator(nr), DoseAccumulator(nr)
    zeros = np.zeros(steps + 1)
    return StationaryResult(
        t_s=np.linspace(0.0, case.duration_s, steps + 1),
        center_surface_rise_k=zeros.copy(),
        peak_surface_rise_k=zeros.copy(),
        peak_basal_rise_k=zeros.copy(),
        r_edges_mm=case.r_edges_mm,
        z_edges_mm=column.z_edges_mm,
        baseline_c=baseline,
        baseline_surface_c=surface_c,
        baseline_basal_c=basal_c,
        surface_dose=surface_dose,
        basal_dose=basal_dose,
    )


def baseline_surface_c(boundaries: Boundaries, column: ColumnProperties, top_cell_c: float) -> float:
    """Steady surface temperature [C] from the top cell and the surface boundary."""
    outer = boundaries.surface_conductance_w_per_mm2_k()
    if np.isinf(outer):
        return boundaries.contact_c
    flux = outer * boundaries.ambient_c
    return float(surface_value(np.array([top_cell_c]), flux, column, boundaries)[0])


def _account(
    ledger: EnergyLedger,
    system: _System,
    old: FloatArray,
    new: FloatArray,
    th: float,
    power: float,
    dt: float,
) -> None:
    weighted = th * new + (1 - th) * old
    ledger.absorbed_j += dt * power * (float(np.sum(system.source_w_per_w)) + system.surface_escape_w_per_w)
    ledger.boundary_j += dt * (
        float(system.boundary_w_per_k @ weighted) + power * system.surface_escape_w_per_w
    )
    ledger.blood_j += dt * float(system.blood_w_per_k @ weighted)


def _record(
    result: StationaryResult,
    case: StationaryCase,
    column: ColumnProperties,
    system: _System,
    rise: FloatArray,
    power: float,
    n: int,
    dt: float,
    basal_j: int,
    basal_w: float,
) -> None:
    surface = surface_value(rise[:, 0], system.surface_flux_w_per_mm2 * power, column, case.boundaries)
    upper = rise[:, basal_j - 1] if basal_j > 0 else surface
    basal = (1 - basal_w) * upper + basal_w * rise[:, basal_j]
    result.center_surface_rise_k[n] = surface[0]
    result.peak_surface_rise_k[n] = float(np.max(surface))
    result.peak_basal_rise_k[n] = float(np.max(basal))
    t = result.t_s[n]
    for wanted in case.save_times_s:
        if abs(t - wanted) <= 0.5 * dt or (n == 1 and wanted < t):
            result.fields[wanted] = rise.copy()
    if result.surface_dose is not None and result.basal_dose is not None:
        result.surface_dose.add(result.baseline_surface_c + surface, dt)
        result.basal_dose.add(result.baseline_basal_c + basal, dt)
