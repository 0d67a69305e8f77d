"""Fluence tables built to a precision target: batch standard errors, adaptive photons, checkpoints.

The entries of one wavelength and fat (one per skin type) differ only in epidermal melanin, so they are
traced together: one pass on the lightest skin's paths scores every skin type (absorption sets,
tables.disk_fluences). Each such task is traced in B independent batches (batch_stats.py). Rounds add
photons to every batch until the worst relative standard error of any of its entries over the region the
planner reads (every disk radius, depth bins down to `to_depth_mm`) is at most the target, or the task
reaches its photon cap; the cap is reported, never hidden. Batch b of round k is one engine run seeded
from (the task's first entry's seed, b, k), so a task's result depends on the task alone, wherever and
however often it was interrupted.

A round's batches are written to the task's checkpoint file before the next round starts; a build that
is stopped and run again with the same checkpoint folder loses at most the round in progress, and comes
out the same bits. A checkpoint also records the entries' tissue optics and a fingerprint of the kernel's
source: a folder made with other optical constants, radii, seeds or another kernel is refused instead of
being mixed in.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.transport.batch_stats import FloatArray, batch_mean_se, next_budget, worst_in
from laserdose.transport.cluster import run_tasks
from laserdose.transport.geometry import Stack
from laserdose.transport.tables import (
    DEFAULT_FAT_MM,
    DEFAULT_RADII_MM,
    DEFAULT_SKIN_TYPES,
    DEFAULT_WAVELENGTHS_NM,
    TABLE_GRID,
    FluenceTable,
    TableEntry,
    disk_fluences,
    table_depths_mm,
    table_entries,
    table_of_entries,
)

# Importance planes reach this far below the deepest read depth (one depth bin and a margin) [mm].
SPLIT_BELOW_READ_MM = 2.0


@dataclass(frozen=True)
class Precision:
    """What an adaptive build aims at, and its bounds.

    Attributes:
        target_relative_se: the worst relative standard error allowed over the read region [-].
        to_depth_mm: deepest depth the planner reads [mm]; every bin needed to interpolate there counts.
        batches: independent batches per entry, the SE's degrees of freedom + 1.
        first_photons: photons of an entry's first round (its pilot).
        max_photons: the most photons an entry may have; an entry that stops there is reported.
    """

    target_relative_se: float = 0.02
    to_depth_mm: float = 60.0
    batches: int = 32
    first_photons: int = 320_000
    max_photons: int = 100_000_000

    def __post_init__(self) -> None:
        """Refuse a precision the build cannot honour."""
        depth_mm = TABLE_GRID.nz * TABLE_GRID.dz_mm
        if not 0 < self.target_relative_se < 1:
            raise InputError(f"target relative SE must be between 0 and 1, got {self.target_relative_se:g}")
        if not 0 < self.to_depth_mm <= depth_mm - TABLE_GRID.dz_mm:
            raise InputError(
                f"to-depth must be > 0 and at most {depth_mm - TABLE_GRID.dz_mm:g} mm (the table's grid), "
                f"got {self.to_depth_mm:g} mm"
            )
        if not 2 <= self.batches <= 1000:
            raise InputError(f"batches must be between 2 and 1000, got {self.batches}")
        if not 10 * self.batches <= self.first_photons <= self.max_photons:
            raise InputError(
                f"first photons must be at least 10 per batch ({10 * self.batches}) and at most the cap "
                f"{self.max_photons:g}, got {self.first_photons:g}"
            )

    @property
    def split_to_mm(self) -> float:
        """Deepest importance plane [mm]."""
        return min(self.to_depth_mm + SPLIT_BELOW_READ_MM, TABLE_GRID.nz * TABLE_GRID.dz_mm)


def read_region(z_centres_mm: FloatArray, radii: int, to_depth_mm: float) -> np.ndarray:
    """Which (radius, depth bin) a lookup down to `to_depth_mm` can touch, shape (radii, depths).

    Every bin centre above `to_depth_mm`, and the first one at or below it (log-linear interpolation
    reads both neighbours).
    """
    last = int(np.searchsorted(z_centres_mm, to_depth_mm, side="left"))
    depths = np.arange(z_centres_mm.size) <= min(last, z_centres_mm.size - 1)
    return np.broadcast_to(depths, (radii, z_centres_mm.size)).copy()


@dataclass(frozen=True)
class EntryTask:
    """Entries of an adaptive build traced in one pass: a pure task (cluster.py).

    Attributes:
        indices: the entries' positions in the table (axis order).
        entries: their axes, radii and seeds (`photons` is not used); one wavelength, fat and radii.
        precision: the target and bounds.
        checkpoint: folder for the task's checkpoint file; None for none.
        threads: CPU threads for the kernel (None: backend.reproducible_threads()); the same bits either way.
    """

    indices: tuple[int, ...]
    entries: tuple[TableEntry, ...]
    precision: Precision
    checkpoint: str | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        """Refuse entries that one pass cannot trace together."""
        first = self.entries[0] if self.entries else None
        if first is None or len(self.indices) != len(self.entries):
            raise InputError("a task needs its entries, one index each")
        if any((e.wavelength_nm, e.fat_mm, e.radii_mm) != (first.wavelength_nm, first.fat_mm, first.radii_mm)
               for e in self.entries):  # fmt: skip
            raise InputError("entries traced in one pass share their wavelength, fat and radii")


@dataclass(frozen=True)
class EntryOutcome:
    """An entry's factors, their standard errors and what they cost.

    Attributes:
        index: the entry's position in the table.
        factors: F, shape (radii, depths) [-].
        se: standard error of F from the batches, same shape [-].
        photons: photons traced.
        worst_relative_se: worst relative SE over the read region [-].
        worst_radius_mm: radius of that worst bin [mm].
        worst_depth_mm: depth (bin centre) of that worst bin [mm].
        reached: True when worst_relative_se meets the target (False: stopped at the cap).
        cpu_s: CPU time of all its rounds, this and earlier runs [s]; an equal share of its task's.
        wall_s: wall time of all its rounds [s]; an equal share of its task's.
        rounds: rounds run.
    """

    index: int
    factors: FloatArray
    se: FloatArray
    photons: int
    worst_relative_se: float
    worst_radius_mm: float
    worst_depth_mm: float
    reached: bool
    cpu_s: float
    wall_s: float
    rounds: int


def batch_seed(entry_seed: int, batch: int, round_index: int) -> int:
    """The engine seed of one batch of one round, hashed by numpy's SeedSequence (< 2^63)."""
    word = np.random.SeedSequence([entry_seed, batch, round_index]).generate_state(1, dtype=np.uint64)[0]
    return int(word >> np.uint64(1))


def run_entries(task: EntryTask) -> tuple[EntryOutcome, ...]:
    """Trace a task's entries round by round until the precision target or cap (module docstring)."""
    precision = task.precision
    stacks = [
        Stack.from_layers(back_model(e.skin_type, e.wavelength_nm, fat_mm=e.fat_mm).layers)
        for e in task.entries
    ]
    radii = np.asarray(task.entries[0].radii_mm)
    region = read_region(table_depths_mm(), radii.size, precision.to_depth_mm)
    optics = np.concatenate([_optics(stack) for stack in stacks])
    path = _checkpoint_path(task)
    state = _State.load(path, task, optics) if path else None
    state = state or _State.fresh(task, optics)
    while True:
        per_batch_photons = _next_round_photons(state, precision, region)
        if per_batch_photons == 0:
            break
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        for batch in range(precision.batches):
            seed = batch_seed(task.entries[0].seed, batch, state.rounds)
            factors = disk_fluences(
                stacks, radii, per_batch_photons, seed, variance_reduction=True,
                split_to_mm=precision.split_to_mm, threads=task.threads,
            )[1]  # fmt: skip
            state.sums[:, batch] += per_batch_photons * np.array(factors)
        state.photons_per_batch += per_batch_photons
        state.rounds += 1
        state.cpu_s += time.process_time() - start_cpu
        state.wall_s += time.perf_counter() - start_wall
        if path:
            state.save(path)
    return tuple(_outcome(task, state, region, k) for k in range(len(task.entries)))


def _worst(state: _State, region: np.ndarray) -> float:
    """The worst relative SE over the read region of any of the task's entries."""
    return max(
        worst_in(*batch_mean_se(sums / state.photons_per_batch), region).relative_se for sums in state.sums
    )


def _next_round_photons(state: _State, precision: Precision, region: np.ndarray) -> int:
    """Photons per batch for the next round; 0 when the task is done."""
    if state.rounds == 0:
        return math.ceil(precision.first_photons / precision.batches)
    total = state.photons_per_batch * precision.batches
    wanted = next_budget(total, _worst(state, region), precision.target_relative_se, precision.max_photons)
    return math.ceil((wanted - total) / precision.batches) if wanted > total else 0


def _outcome(task: EntryTask, state: _State, region: np.ndarray, k: int) -> EntryOutcome:
    mean, se = batch_mean_se(state.sums[k] / state.photons_per_batch)
    worst = worst_in(mean, se, region)
    share = len(task.entries)
    return EntryOutcome(
        index=task.indices[k],
        factors=mean,
        se=se,
        photons=state.photons_per_batch * task.precision.batches,
        worst_relative_se=worst.relative_se,
        worst_radius_mm=float(task.entries[k].radii_mm[worst.index[0]]),
        worst_depth_mm=float(table_depths_mm()[worst.index[1]]),
        reached=worst.relative_se <= task.precision.target_relative_se,
        cpu_s=state.cpu_s / share,
        wall_s=state.wall_s / share,
        rounds=state.rounds,
    )


def _at_depth(precision: Precision, fat_mm: float, read_depths_mm: dict[float, float] | None) -> Precision:
    if read_depths_mm is None:
        return precision
    if fat_mm not in read_depths_mm:
        raise InputError(f"no read depth given for fat {fat_mm:g} mm")
    return replace(precision, to_depth_mm=read_depths_mm[fat_mm])


def _optics(stack: Stack) -> FloatArray:
    """The stack's layers as numbers (thickness, mua, mus, g, n), to recognise a checkpoint's optics."""
    rows = [
        (layer.thickness_mm if layer.thickness_mm is not None else -1.0, layer.mua_per_mm, layer.mus_per_mm,
         layer.g, layer.n)
        for layer in stack.layers
    ]  # fmt: skip
    return np.array(rows, dtype=np.float64)


def _checkpoint_path(task: EntryTask) -> Path | None:
    if task.checkpoint is None:
        return None
    e = task.entries[0]
    types = "-".join(str(entry.skin_type) for entry in task.entries)
    name = f"pass-{task.indices[0]:03d}-{e.wavelength_nm:g}nm-fat{e.fat_mm:g}mm-types{types}.npz"
    return Path(task.checkpoint) / name


@dataclass
class _State:
    """A task's batches so far: photon-weighted sums of F per entry and batch, and their cost."""

    sums: FloatArray
    photons_per_batch: int
    rounds: int
    cpu_s: float
    wall_s: float
    identity: FloatArray

    @classmethod
    def fresh(cls, task: EntryTask, optics: FloatArray) -> _State:
        entries = task.entries
        shape = (len(entries), task.precision.batches, len(entries[0].radii_mm), TABLE_GRID.nz)
        return cls(np.zeros(shape), 0, 0, 0.0, 0.0, _identity(task, optics))

    @classmethod
    def load(cls, path: Path, task: EntryTask, optics: FloatArray) -> _State | None:
        if not path.exists():
            return None
        identity = _identity(task, optics)
        try:
            with np.load(path) as data:
                state = cls(
                    data["sums"], int(data["photons_per_batch"]), int(data["rounds"]),
                    float(data["cpu_s"]), float(data["wall_s"]), data["identity"],
                )  # fmt: skip
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"cannot read checkpoint {path}: {exc}") from None
        if state.identity.shape != identity.shape or not np.array_equal(state.identity, identity):
            raise InputError(
                f"checkpoint {path} was made for other optics, radii, seed, batches or kernel than this "
                "build; use a new checkpoint folder"
            )
        return state

    def save(self, path: Path) -> None:
        """Write atomically: a stop mid-write leaves the previous checkpoint intact."""
        partial = path.with_name(path.name + ".partial.npz")
        np.savez(
            partial, sums=self.sums, photons_per_batch=self.photons_per_batch, rounds=self.rounds,
            cpu_s=self.cpu_s, wall_s=self.wall_s, identity=self.identity,
        )  # fmt: skip
        os.replace(partial, path)


@functools.cache
def kernel_fingerprint() -> tuple[float, float]:
    """Two 32-bit words of the SHA-256 of the CPU kernel's source, as floats (a checkpoint's identity)."""
    from laserdose.transport import kernel_cpu

    digest = hashlib.sha256(Path(kernel_cpu.__file__).read_bytes()).digest()
    return float(int.from_bytes(digest[:4], "big")), float(int.from_bytes(digest[4:8], "big"))


def _identity(task: EntryTask, optics: FloatArray) -> FloatArray:
    """What makes a task's batches what they are: entries, optics, radii, seeds, batches, planes, kernel."""
    e, p = task.entries[0], task.precision
    head = [e.wavelength_nm, e.fat_mm, p.batches, p.split_to_mm, TABLE_GRID.nz, *kernel_fingerprint()]
    head += [value for entry in task.entries for value in (entry.skin_type, entry.seed)]
    return np.concatenate([np.array(head, dtype=np.float64), np.asarray(e.radii_mm), optics.ravel()])


@dataclass(frozen=True)
class PreciseBuild:
    """A table built to a precision target and what each entry cost.

    Attributes:
        table: the table, with `se` and `entry_photons`.
        outcomes: one per entry, in axis order (the entries of one pass share its cost equally).
        wall_s: the build's wall time, this run only [s].
        photons: photons traced, every pass once.
    """

    table: FluenceTable
    outcomes: tuple[EntryOutcome, ...]
    wall_s: float
    photons: int

    @property
    def cpu_hours(self) -> float:
        """CPU time of every entry's rounds, checkpointed ones included [h]."""
        return sum(o.cpu_s for o in self.outcomes) / 3600.0

    @property
    def worst(self) -> EntryOutcome:
        """The entry with the largest relative SE over the read region."""
        return max(self.outcomes, key=lambda o: o.worst_relative_se)


def build_precise_table(
    precision: Precision,
    seed: int,
    wavelengths_nm: tuple[float, ...] = DEFAULT_WAVELENGTHS_NM,
    skin_types: tuple[int, ...] = DEFAULT_SKIN_TYPES,
    fat_mm: tuple[float, ...] = DEFAULT_FAT_MM,
    radii_mm: tuple[float, ...] = DEFAULT_RADII_MM,
    checkpoint: str | Path | None = None,
    scheduler: str | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    read_depths_mm: dict[float, float] | None = None,
) -> PreciseBuild:
    """Build a table whose every entry meets `precision` (or says it stopped at the cap).

    Args:
        precision: the target and bounds.
        seed: base seed; entry k uses seed + k (tables.table_entries).
        wavelengths_nm: wavelengths [nm].
        skin_types: Fitzpatrick skin types.
        fat_mm: fat thicknesses [mm].
        radii_mm: disk radii [mm].
        checkpoint: folder for per-entry checkpoints (created); None for none. On a cluster every worker
            must see the same folder (one machine, or a shared file system).
        scheduler: None (here), "local" or a Dask scheduler address (cluster.py).
        threads: kernel threads per entry; None for backend.reproducible_threads().
        progress: called as progress(passes_done, passes_total) (a pass: one wavelength and fat).
        read_depths_mm: for each fat thickness, the depth its entries must be precise to [mm]
            (planning/table_reads.py); None for `precision.to_depth_mm` everywhere.
    """
    if checkpoint is not None:
        Path(checkpoint).mkdir(parents=True, exist_ok=True)
    entries = table_entries(precision.first_photons, seed, wavelengths_nm, skin_types, fat_mm, radii_mm)
    where = None if checkpoint is None else str(Path(checkpoint).resolve())
    passes: dict[tuple[float, float], list[int]] = {}  # every skin type of a wavelength and fat
    for k, entry in enumerate(entries):
        passes.setdefault((entry.wavelength_nm, entry.fat_mm), []).append(k)
    tasks = [
        EntryTask(
            tuple(ks),
            tuple(entries[k] for k in ks),
            _at_depth(precision, fat, read_depths_mm),
            where,
            threads,
        )
        for (_, fat), ks in passes.items()
    ]
    start = time.perf_counter()
    grouped = run_tasks(run_entries, tasks, scheduler, progress)
    wall_s = time.perf_counter() - start
    outcomes = sorted((o for group in grouped for o in group), key=lambda o: o.index)
    photons = [o.photons for o in outcomes]
    table = table_of_entries(
        wavelengths_nm, skin_types, fat_mm, radii_mm, [o.factors for o in outcomes], min(photons),
        se=[o.se for o in outcomes], entry_photons=photons,
    )  # fmt: skip
    return PreciseBuild(table, tuple(outcomes), wall_s, sum(group[0].photons for group in grouped))
