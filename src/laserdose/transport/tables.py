"""Precomputed transport tables: target fluence factors for planning at interactive speed.

For each wavelength, Fitzpatrick skin type and subcutaneous fat thickness, one pencil-beam Monte Carlo
run on the optics back model gives phi(r, z); the table keeps, for a set of disk radii R and depths z,

    F(z; R) = 2 pi * integral_0^R phi(r, z) r dr   [-]

the fluence at depth z under the centre of a uniformly lit disk of radius R per unit surface radiant
exposure (planning/dose.py explains why this is the dose of a scanned area). A lookup interpolates log(F)
linearly in depth (log F is close to linear far from the surface, diffusion theory), in radius and in fat
thickness. Between two fat entries it compares like with like (`conforming_depth_mm`): a point a given
distance below the fat is read that distance below the fat of each entry, and a point inside the fat at
the same fraction of the layer. The target structures lie below the fat, so a structure's fluence is
interpolated between the same structure in the two entries, with the muscle and bone boundaries where
they are in each (at a fixed absolute depth they are not, and a target on a boundary could then see its
fluence rise with fat between two entries, an artefact of interpolation alone).

Each entry is an independent task carrying its own seed (`TableEntry`, `entry_factors`), so a table can be
built here or on a Dask cluster (transport/cluster.py) and comes out the same bit for bit.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from laserdose.domain.quantities import FAT_THICKNESS, SKIN_TYPES
from laserdose.errors import InputError
from laserdose.optics.back import DERMIS_MM, back_model
from laserdose.optics.tissues import EPIDERMIS_MM
from laserdose.transport.backend import reproducible_threads
from laserdose.transport.cluster import KERNEL_LOCK, run_tasks
from laserdose.transport.engine import simulate
from laserdose.transport.geometry import Grid, PencilBeam, Stack

FloatArray = NDArray[np.float64]

DEFAULT_WAVELENGTHS_NM = (650.0, 810.0, 915.0, 980.0, 1064.0)
DEFAULT_SKIN_TYPES = SKIN_TYPES
# Lumbar subcutaneous fat runs from a few mm to beyond 40 mm with BMI [SubcutaneousFat2022]; the axis
# spans the domain's fat range, which every input site enforces, so a valid patient is never off the table.
DEFAULT_FAT_MM = (FAT_THICKNESS.low, 5.0, 10.0, 15.0, 20.0, 30.0, FAT_THICKNESS.high)
DEFAULT_RADII_MM = (5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 100.0)
# 1 mm bins to 100 mm: targets lie 10-80 mm deep (docs/design.md); transverse process 76 +/- 15 mm
# [Rauch2009].
TABLE_GRID = Grid(dr_mm=1.0, nr=100, dz_mm=1.0, nz=100)
# The skin over the fat in every entry (optics/back.py) [mm].
SKIN_MM = EPIDERMIS_MM + DERMIS_MM
# With variance reduction, importance planes down to the deepest target a plan may have (60 mm) and no
# deeper, where splitting would only add cost.
SPLIT_TO_MM = 62.0
# Below F = 1e-5 the 1e5-photon entries turn noisy and then empty (inspected in the shipped table); such
# depths get an exponential tail fitted over the 10 mm above (FluenceTable.with_exponential_tail).
RESOLVED_FLOOR = 1e-5
# In a table with standard errors, a bin is resolved while its relative SE is at most this [U]: deeper, the
# exponential tail is smoother than the Monte Carlo values. Precise builds hold the bins the planner
# reads to a few %, far inside it.
RESOLVED_RELATIVE_SE = 0.1
TAIL_FIT_BINS = 10


@dataclass(frozen=True)
class FluenceTable:
    """Disk-integrated fluence factors over wavelength, skin type, fat thickness, radius and depth.

    Attributes:
        wavelengths_nm: wavelength axis [nm].
        skin_types: Fitzpatrick skin types (1-6).
        fat_mm: subcutaneous fat thickness axis [mm].
        radii_mm: disk radius axis [mm].
        z_centres_mm: depth axis, bin centres [mm].
        factors: F, shape (wavelengths, skin types, fat, radii, depths) [-].
        photons: photons traced per entry (the fewest of any entry, when they differ).
        se: standard error of each factor from independent batches, the shape of `factors` [-]; None
            for a table built without (fixed photons, `build_table`).
        entry_photons: photons traced for each entry, shape (wavelengths, skin types, fat); None when
            every entry had `photons`.
    """

    wavelengths_nm: FloatArray
    skin_types: NDArray[np.int64]
    fat_mm: FloatArray
    radii_mm: FloatArray
    z_centres_mm: FloatArray
    factors: FloatArray
    photons: int
    se: FloatArray | None = None
    entry_photons: NDArray[np.int64] | None = None

    def factor(
        self, wavelength_nm: float, skin_type: int, fat_mm: float, depth_mm: float, radius_mm: float
    ) -> float:
        """F at one point, interpolated (see the module docstring) [-]."""
        il = _exact_index("wavelength_nm", wavelength_nm, self.wavelengths_nm)
        isk = _exact_index("skin_type", skin_type, self.skin_types)
        _inside("fat_mm", fat_mm, self.fat_mm)
        _inside("depth_mm", depth_mm, self.z_centres_mm)
        _inside("radius_mm", radius_mm, self.radii_mm)
        log_f = 0.0
        for ifat, weight in fat_weights(self.fat_mm, fat_mm):
            entry_depth_mm = conforming_depth_mm(fat_mm, depth_mm, float(self.fat_mm[ifat]))
            rows = np.log(np.maximum(self.factors[il, isk, ifat], 1e-300))
            at_depth = [_log_profile_at(self.z_centres_mm, row, entry_depth_mm) for row in rows]
            log_f += weight * float(np.interp(radius_mm, self.radii_mm, at_depth))
        return float(np.exp(log_f))

    def provenance(self) -> str:
        """One line saying how the table was built, for reports."""
        if self.entry_photons is None or self.se is None:
            return f"Monte Carlo fluence table, {self.photons:,} photons an entry (laserdose tables build)"
        return (
            f"Monte Carlo fluence table, {int(self.entry_photons.min()):.2g} to "
            f"{int(self.entry_photons.max()):.2g} photons an entry, each traced until its standard error "
            "met the build's target where the planner reads (laserdose tables precise)"
        )

    def with_exponential_tail(
        self, floor: float = RESOLVED_FLOOR, fit_mm: int = TAIL_FIT_BINS
    ) -> "FluenceTable":
        """The table with each profile continued exponentially below its last resolved bin.

        Deep bins hold few photons, then none (F = 0). A bin is resolved while its relative standard error
        stays within RESOLVED_RELATIVE_SE (a table with `se`), or else while F stays above `floor`. Far
        from the sources light decays exponentially with depth (diffusion theory, Farrell 1992), so each
        profile is continued from its last resolved bin with the log-slope fitted over the `fit_mm` bins
        above it. Replaced bins have no Monte Carlo standard error any more: their `se` becomes NaN.
        """
        profiles = self.factors.reshape(-1, self.z_centres_mm.size).copy()
        replaced = np.zeros(profiles.shape, dtype=bool)
        if self.se is None:
            unresolved = profiles < floor
        else:
            errors = self.se.reshape(profiles.shape)
            unresolved = ~(errors <= RESOLVED_RELATIVE_SE * profiles) | (profiles <= 0)
        for profile, bad, gone in zip(profiles, unresolved, replaced, strict=True):
            below = np.flatnonzero(bad)
            if below.size == 0 or below[0] < fit_mm:
                continue
            start = below[0]
            slope = np.polyfit(
                self.z_centres_mm[start - fit_mm : start], np.log(profile[start - fit_mm : start]), 1
            )[0]
            steps_mm = self.z_centres_mm[start:] - self.z_centres_mm[start - 1]
            profile[start:] = profile[start - 1] * np.exp(min(slope, 0.0) * steps_mm)
            gone[start:] = True
        se = None
        if self.se is not None:
            se = np.where(replaced.reshape(self.se.shape), np.nan, self.se)
        return replace(self, factors=profiles.reshape(self.factors.shape), se=se)

    def save(self, path: str | Path) -> None:
        """Write the table as a compressed .npz file (with `se` and `entry_photons` when it has them)."""
        optional = {name: getattr(self, name) for name in _OPTIONAL if getattr(self, name) is not None}
        np.savez_compressed(
            path,
            wavelengths_nm=self.wavelengths_nm,
            skin_types=self.skin_types,
            fat_mm=self.fat_mm,
            radii_mm=self.radii_mm,
            z_centres_mm=self.z_centres_mm,
            factors=self.factors,
            photons=np.array(self.photons),
            **optional,
        )

    @classmethod
    def load(cls, path: str | Path) -> "FluenceTable":
        """Read a table written by `save`."""
        try:
            with np.load(path) as data:
                optional = {name: data[name] for name in _OPTIONAL if name in data.files}
                return cls(**{name: data[name] for name in _FIELDS}, photons=int(data["photons"]), **optional)
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"cannot read fluence table {path}: {exc}") from None


_FIELDS = ("wavelengths_nm", "skin_types", "fat_mm", "radii_mm", "z_centres_mm", "factors")
_OPTIONAL = ("se", "entry_photons")


def disk_factors(
    result_r_edges_mm: FloatArray, fluence_rate_per_mm2: FloatArray, radii_mm: FloatArray
) -> FloatArray:
    """F(z; R) for each radius in `radii_mm` from a pencil-beam phi(r, z), shape (radii, depths) [-].

    Args:
        result_r_edges_mm: radial bin edges of phi [mm], from 0.
        fluence_rate_per_mm2: pencil-beam fluence rate per watt, shape (nr, nz) [1/mm^2].
        radii_mm: disk radii [mm], inside the radial grid.
    """
    rows = []
    for radius in radii_mm:
        ring_area_mm2 = np.pi * np.diff(np.minimum(result_r_edges_mm, radius) ** 2)
        rows.append(ring_area_mm2 @ fluence_rate_per_mm2)
    return np.array(rows)


@dataclass(frozen=True)
class TableEntry:
    """One Monte Carlo run of a table: everything it needs, its own seed included (a pure task).

    Attributes:
        wavelength_nm: wavelength [nm].
        skin_type: Fitzpatrick skin type 1-6.
        fat_mm: subcutaneous fat thickness [mm].
        radii_mm: disk radii to integrate over [mm].
        photons: photons to trace.
        seed: the run's seed.
    """

    wavelength_nm: float
    skin_type: int
    fat_mm: float
    radii_mm: tuple[float, ...]
    photons: int
    seed: int


def disk_fluences(
    stacks: Sequence[Stack],
    radii_mm: FloatArray,
    photons: int,
    seed: int,
    grid: Grid = TABLE_GRID,
    variance_reduction: bool = False,
    split_to_mm: float = SPLIT_TO_MM,
    threads: int | None = None,
) -> tuple[FloatArray, list[FloatArray]]:
    """F(z; R) of stacks that differ only in absorption, from one pass: the one place it is computed.

    The stack that absorbs least in every layer is traced and the others are scored on its paths
    (absorption sets, kernel_cpu [Sassaroli2011]): skin types differ only in epidermal melanin, so one
    pass serves them all, each packet's weight for a darker skin being at most its traced weight. The
    thread count is fixed (backend.reproducible_threads), so the result is the same bits on any machine of
    the same CPU kind, whatever its cores.

    Args:
        stacks: the tissue layers of each; the same thicknesses, scattering and indices.
        radii_mm: disk radii [mm], inside the grid's radial extent.
        photons: photons to trace.
        seed: the run's seed.
        grid: the scoring grid.
        variance_reduction: split packets at depth (engine.simulate); unbiased, precise deep entries.
        split_to_mm: with variance_reduction, the deepest importance plane [mm] (engine.simulate).
        threads: CPU threads, at most backend.MIN_STREAMS for the same bits anywhere; None for
            backend.reproducible_threads().

    Returns:
        The depth bin centres [mm] and F of each stack in order, shape (radii, depths) [-].

    Raises:
        InputError: when the stacks differ in more than absorption, or none absorbs least in every layer.
    """
    traced = _least_absorbing(stacks)
    others = [k for k in range(len(stacks)) if k != traced]
    with KERNEL_LOCK:
        result = simulate(
            stacks[traced], PencilBeam(), photons, seed, grid, threads=threads or reproducible_threads(),
            variance_reduction=variance_reduction, split_to_mm=split_to_mm if variance_reduction else None,
            absorption_sets=[[layer.mua_per_mm for layer in stacks[k].layers] for k in others],
        )  # fmt: skip
    fluences = {traced: result.fluence_rate_per_mm2}
    fluences |= {k: result.fluence_rate_sets_per_mm2[n] for n, k in enumerate(others)}
    factors = [disk_factors(result.r_edges_mm, fluences[k], radii_mm) for k in range(len(stacks))]
    return result.z_centres_mm, factors


def _least_absorbing(stacks: Sequence[Stack]) -> int:
    """The index of the stack that absorbs least in every layer; the stacks must differ in nothing else."""
    if not stacks:
        raise InputError("give at least one stack")

    def without_absorption(stack: Stack) -> tuple[object, ...]:
        layers = [(layer.thickness_mm, layer.mus_per_mm, layer.g, layer.n) for layer in stack.layers]
        return (stack.n_above, stack.n_below, *layers)

    if any(without_absorption(stack) != without_absorption(stacks[0]) for stack in stacks):
        raise InputError("stacks traced in one pass may differ only in absorption")
    mua = np.array([[layer.mua_per_mm for layer in stack.layers] for stack in stacks])
    least = [k for k in range(len(stacks)) if np.all(mua[k] <= mua.min(axis=0))]
    if not least:
        raise InputError("stacks traced in one pass need one that absorbs least in every layer")
    return least[0]


def target_fluence(
    stack: Stack, radius_mm: float, depth_mm: float, photons: int, seed: int, grid: Grid = TABLE_GRID
) -> float:
    """F(depth; R): fluence at `depth_mm` under the centre of a uniformly lit disk, per unit exposure [-].

    From one run of `disk_fluences`, interpolated in depth in log(F) as a table lookup is (see the module
    docstring).

    Args:
        stack: the tissue layers.
        radius_mm: the disk's radius [mm].
        depth_mm: the target depth [mm]; above the first (below the last) bin centre, that bin's F.
        photons: photons to trace.
        seed: the run's seed.
        grid: the scoring grid.
    """
    z_centres_mm, [factors] = disk_fluences([stack], np.array([radius_mm]), photons, seed, grid)
    return float(np.exp(np.interp(depth_mm, z_centres_mm, np.log(np.maximum(factors[0], 1e-300)))))


def entry_factors(entry: TableEntry) -> FloatArray:
    """F(z; R) of one entry, shape (radii, depths) [-]; the same bits on any machine of the same CPU kind.

    Table builds trace with variance reduction: their deep entries are what the planner reads.
    """
    stack = Stack.from_layers(back_model(entry.skin_type, entry.wavelength_nm, fat_mm=entry.fat_mm).layers)
    radii = np.asarray(entry.radii_mm)
    return disk_fluences([stack], radii, entry.photons, entry.seed, variance_reduction=True)[1][0]


def table_entries(
    photons: int,
    seed: int,
    wavelengths_nm: tuple[float, ...] = DEFAULT_WAVELENGTHS_NM,
    skin_types: tuple[int, ...] = DEFAULT_SKIN_TYPES,
    fat_mm: tuple[float, ...] = DEFAULT_FAT_MM,
    radii_mm: tuple[float, ...] = DEFAULT_RADII_MM,
) -> list[TableEntry]:
    """The entries of a table in axis order (wavelength, skin type, fat); entry k is seeded seed + k."""
    axes = [(w, s, f) for w in wavelengths_nm for s in skin_types for f in fat_mm]
    radii = tuple(float(r) for r in radii_mm)
    return [
        TableEntry(float(w), int(s), float(f), radii, photons, seed + k) for k, (w, s, f) in enumerate(axes)
    ]


def build_table(
    photons: int,
    seed: int,
    wavelengths_nm: tuple[float, ...] = DEFAULT_WAVELENGTHS_NM,
    skin_types: tuple[int, ...] = DEFAULT_SKIN_TYPES,
    fat_mm: tuple[float, ...] = DEFAULT_FAT_MM,
    radii_mm: tuple[float, ...] = DEFAULT_RADII_MM,
    progress: Callable[[int, int], None] | None = None,
    scheduler: str | None = None,
) -> FluenceTable:
    """Run the Monte Carlo engine for every entry and collect F(z; R).

    Args:
        photons: photons per entry.
        seed: base seed; entry k uses seed + k, so entries are independent and the table reproducible.
        wavelengths_nm: wavelengths [nm].
        skin_types: Fitzpatrick skin types.
        fat_mm: fat thicknesses [mm].
        radii_mm: disk radii [mm].
        progress: called as progress(entries_done, entries_total).
        scheduler: None (here), "local" (a LocalCluster) or a Dask scheduler address (transport/cluster.py);
            the table is the same bit for bit.
    """
    entries = table_entries(photons, seed, wavelengths_nm, skin_types, fat_mm, radii_mm)
    factors = run_tasks(entry_factors, entries, scheduler, progress)
    return table_of_entries(wavelengths_nm, skin_types, fat_mm, radii_mm, factors, photons)


def table_of_entries(
    wavelengths_nm: tuple[float, ...],
    skin_types: tuple[int, ...],
    fat_mm: tuple[float, ...],
    radii_mm: tuple[float, ...],
    factors: list[FloatArray],
    photons: int,
    se: list[FloatArray] | None = None,
    entry_photons: list[int] | None = None,
) -> FluenceTable:
    """The table of entries given in axis order (`table_entries`): each entry's (radii, depths) arrays.

    Args:
        wavelengths_nm: wavelengths [nm].
        skin_types: Fitzpatrick skin types.
        fat_mm: fat thicknesses [mm].
        radii_mm: disk radii [mm].
        factors: F of each entry, shape (radii, depths) [-].
        photons: photons per entry (the fewest, when they differ).
        se: the standard errors of each entry's F, or None.
        entry_photons: photons of each entry, or None when every entry had `photons`.
    """
    axes = (len(wavelengths_nm), len(skin_types), len(fat_mm))
    shape = (*axes, len(radii_mm), TABLE_GRID.nz)
    counts = None if entry_photons is None else np.array(entry_photons, dtype=np.int64).reshape(axes)
    return FluenceTable(
        wavelengths_nm=np.asarray(wavelengths_nm, dtype=float),
        skin_types=np.asarray(skin_types, dtype=np.int64),
        fat_mm=np.asarray(fat_mm, dtype=float),
        radii_mm=np.asarray(radii_mm, dtype=float),
        z_centres_mm=table_depths_mm(),
        factors=np.array(factors).reshape(shape),
        photons=photons,
        se=None if se is None else np.array(se).reshape(shape),
        entry_photons=counts,
    )


def table_depths_mm() -> FloatArray:
    """Depth of each bin centre of TABLE_GRID [mm], computed as TransportResult.z_centres_mm does."""
    edges = np.arange(TABLE_GRID.nz + 1, dtype=np.float64) * TABLE_GRID.dz_mm
    centres: FloatArray = 0.5 * (edges[1:] + edges[:-1])
    return centres


def conforming_depth_mm(fat_mm: float, depth_mm: float, entry_fat_mm: float) -> float:
    """The depth in an entry of `entry_fat_mm` of fat that matches `depth_mm` in a back of `fat_mm` [mm].

    The skin keeps its depth, a point in the fat keeps its fraction of the layer, and a point below the
    fat keeps its distance below it (optics/back.py: the layers under the fat have fixed thicknesses).

    Args:
        fat_mm: the patient's fat thickness [mm], > 0.
        depth_mm: depth in the patient [mm].
        entry_fat_mm: the entry's fat thickness [mm].
    """
    if depth_mm <= SKIN_MM:
        return depth_mm
    if depth_mm <= SKIN_MM + fat_mm:
        return SKIN_MM + (depth_mm - SKIN_MM) * entry_fat_mm / fat_mm
    return depth_mm - fat_mm + entry_fat_mm


def fat_weights(fat_axis_mm: FloatArray, fat_mm: float) -> list[tuple[int, float]]:
    """(entry index, weight) of the fat entries a lookup at `fat_mm` interpolates, weights summing to 1."""
    upper = int(np.searchsorted(fat_axis_mm, fat_mm, side="left"))
    if upper < fat_axis_mm.size and fat_axis_mm[upper] == fat_mm:
        return [(upper, 1.0)]
    lower = upper - 1
    t = (fat_mm - float(fat_axis_mm[lower])) / float(fat_axis_mm[upper] - fat_axis_mm[lower])
    return [(lower, 1.0 - t), (upper, t)]


def _log_profile_at(z_centres_mm: FloatArray, log_profile: FloatArray, depth_mm: float) -> float:
    """Log F at `depth_mm`, linear between bin centres and continued with the last slope beyond them."""
    if depth_mm <= z_centres_mm[-1]:
        return float(np.interp(depth_mm, z_centres_mm, log_profile))
    slope = (log_profile[-1] - log_profile[-2]) / (z_centres_mm[-1] - z_centres_mm[-2])
    return float(log_profile[-1] + slope * (depth_mm - z_centres_mm[-1]))


def _exact_index(name: str, value: float, axis: NDArray[np.generic]) -> int:
    matches = np.flatnonzero(np.isclose(axis, value))
    if matches.size == 0:
        have = ", ".join(f"{v:g}" for v in axis)
        raise InputError(f"the fluence table has no {name} {value:g}; it has {have}")
    return int(matches[0])


def _inside(name: str, value: float, axis: FloatArray) -> None:
    if not axis[0] <= value <= axis[-1]:
        raise InputError(f"{name} {value:g} is outside the fluence table's {axis[0]:g}-{axis[-1]:g}")
