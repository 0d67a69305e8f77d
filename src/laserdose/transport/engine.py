"""`simulate`: a stack, a beam, a photon count and a seed in; a normalised `TransportResult` out."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numba
import numpy as np

from laserdose.errors import InputError
from laserdose.transport import backend as backends
from laserdose.transport.geometry import Beam, FibreBeam, FlatBeam, GaussianBeam, Grid, PencilBeam, Stack
from laserdose.transport.planes import importance_planes
from laserdose.transport.result import FloatArray, TransportResult

MAX_PHOTONS = 10**10

ProgressCallback = Callable[[int, int], None]


def simulate(
    stack: Stack,
    beam: Beam,
    photons: int,
    seed: int,
    grid: Grid | None = None,
    backend: str = "cpu",
    batches: int = 10,
    progress: ProgressCallback | None = None,
    threads: int | None = None,
    variance_reduction: bool = False,
    split_to_mm: float | None = None,
    absorption_sets: Sequence[Sequence[float]] = (),
) -> TransportResult:
    """Trace photon packets through `stack` (MCML physics, Wang, Jacques & Zheng 1995).

    Args:
        stack: the layers and the media above and below.
        beam: PencilBeam, FlatBeam, GaussianBeam or FibreBeam.
        photons: packets to trace, >= batches.
        seed: seed of the run, >= 0; the same seed and thread count give the same result (on "cuda":
            the same totals; its r-z bins are summed by atomic adds, equal to ~1e-15 relative).
        grid: r-z scoring grid; None for Grid() (0.1 mm bins, 10 mm by 10 mm).
        backend: "cpu", or "cuda" for an NVIDIA GPU (see backend.py).
        batches: independent batches for the standard errors, 2 to 1000.
        progress: called as progress(photons_done, photons_total) after each batch.
        threads: CPU threads to use; None for all (Numba's default); the "cuda" backend ignores it.
        variance_reduction: split and roulette packets at importance planes down to the grid's depth
            (weight windows, see planes.py), for precise fluence deep in the tissue at the same cost;
            unbiased, every tally keeps its expected value. CPU backend only.
        split_to_mm: with variance_reduction, the deepest depth that matters [mm] (planes stop there);
            None for the grid's depth.
        absorption_sets: other absorption coefficients of the stack's layers, one per layer [1/mm] for
            each set, scored from the same paths (`fluence_rate_sets_per_mm2`; kernel_cpu's docstring):
            unbiased for any set, most precise when no set absorbs less than the stack in any layer.
            A layer the stack leaves clear (no absorption, no scattering) must stay so. CPU backend only.

    Raises:
        InputError: for invalid arguments.
    """
    if variance_reduction is True and backend == "cuda":
        raise InputError(backends.VR_ON_CUDA)
    if len(absorption_sets) and backend == "cuda":
        raise InputError(backends.SETS_ON_CUDA)
    backends.check_backend(backend)
    _check_run(photons, seed, batches, threads)
    grid = grid or Grid()
    if not isinstance(variance_reduction, bool):
        raise InputError(f"variance_reduction must be True or False, got {variance_reduction!r}")
    data = replace(_kernel_input(stack, beam, grid), dmua=_set_differences(stack, absorption_sets))
    if variance_reduction:
        planes, stretch = importance_planes(stack, _split_depth(split_to_mm, grid))
        data = replace(data, planes_mm=planes, stretch=stretch)
    backends.warm_up(backend, data)
    sizes = [photons // batches + (1 if b < photons % batches else 0) for b in range(batches)]
    tallies = []
    elapsed_s = 0.0
    for index, size in enumerate(sizes):
        start = time.perf_counter()
        tallies.append(backends.run_batch(backend, data, size, seed, index, threads))
        elapsed_s += time.perf_counter() - start
        if progress is not None:
            progress(sum(sizes[: index + 1]), photons)
    return _result(tallies, sizes, grid, seed, backend, elapsed_s, data.variance_reduction)


def _set_differences(stack: Stack, absorption_sets: Sequence[Sequence[float]]) -> FloatArray:
    """Each absorption set's mua minus the stack's, shape (sets, layers) [1/mm]."""
    mua = np.array([layer.mua_per_mm for layer in stack.layers])
    clear = np.array([layer.mua_per_mm + layer.mus_per_mm == 0.0 for layer in stack.layers])
    differences = []
    for number, values in enumerate(absorption_sets, start=1):
        set_mua = np.asarray(values, dtype=np.float64)
        if set_mua.shape != mua.shape or not np.all(np.isfinite(set_mua)) or np.any(set_mua < 0.0):
            raise InputError(
                f"absorption set {number} must give a finite mua >= 0 for each of the {mua.size} layers"
            )
        if np.any((set_mua != mua) & clear):
            raise InputError(f"absorption set {number} absorbs in a layer the stack leaves clear")
        differences.append(set_mua - mua)
    return np.array(differences).reshape(len(differences), mua.size)


def _check_run(photons: int, seed: int, batches: int, threads: int | None) -> None:
    for name, value in (("photons", photons), ("seed", seed), ("batches", batches)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise InputError(f"{name} must be an integer, got {value!r}")
    if not 2 <= batches <= 1000:
        raise InputError(f"batches must be between 2 and 1000, got {batches}")
    if not batches <= photons <= MAX_PHOTONS:
        raise InputError(f"photons must be between batches ({batches}) and {MAX_PHOTONS:g}, got {photons}")
    if not 0 <= seed < 2**63:
        raise InputError(f"seed must be between 0 and 2^63 - 1, got {seed}")
    if threads is not None and not 1 <= threads <= _max_threads():
        raise InputError(f"threads must be between 1 and {_max_threads()}, got {threads}")


def _max_threads() -> int:
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def _beam_parameters(beam: Beam, n_above: float) -> tuple[int, FloatArray]:
    from laserdose.transport import kernel_cpu as k

    if isinstance(beam, PencilBeam):
        return k.BEAM_PENCIL, np.zeros(3)
    if isinstance(beam, FlatBeam):
        return k.BEAM_FLAT, np.array([beam.diameter_mm / 2, 0.0, 0.0])
    if isinstance(beam, GaussianBeam):
        return k.BEAM_GAUSSIAN, np.array([beam.diameter_1e2_mm / 2, 0.0, 0.0])
    if isinstance(beam, FibreBeam):
        # NA < 1 <= n_above (geometry.py), so the cone's half-angle in the medium above always exists.
        sin_half_angle = beam.numerical_aperture / n_above
        return k.BEAM_FIBRE, np.array([sin_half_angle, beam.standoff_mm, beam.core_diameter_mm / 2])
    raise InputError(f"unknown beam {beam!r}; allowed: PencilBeam, FlatBeam, GaussianBeam, FibreBeam")


def _split_depth(split_to_mm: float | None, grid: Grid) -> float:
    grid_depth_mm = grid.nz * grid.dz_mm
    if split_to_mm is None:
        return grid_depth_mm
    if isinstance(split_to_mm, bool) or not isinstance(split_to_mm, (int, float)):
        raise InputError(f"split_to_mm must be a number of mm, got {split_to_mm!r}")
    if not 0 < split_to_mm <= grid_depth_mm:
        raise InputError(
            f"split_to_mm must be > 0 and at most the grid's depth {grid_depth_mm:g} mm, got {split_to_mm:g}"
        )
    return float(split_to_mm)


def _kernel_input(stack: Stack, beam: Beam, grid: Grid) -> backends.KernelInput:
    if not isinstance(stack, Stack):
        raise InputError(f"stack must be a Stack, got {type(stack).__name__}")
    depths = np.array(stack.boundaries_mm)
    kind, parameters = _beam_parameters(beam, stack.n_above)
    layers = stack.layers
    return backends.KernelInput(
        z_top=depths[:-1].copy(),
        z_bot=depths[1:].copy(),
        mua=np.array([layer.mua_per_mm for layer in layers]),
        mus=np.array([layer.mus_per_mm for layer in layers]),
        g=np.array([layer.g for layer in layers]),
        n_layer=np.array([layer.n for layer in layers]),
        n_above=float(stack.n_above),
        n_below=float(stack.n_below),
        beam_kind=kind,
        beam=parameters,
        dr_mm=float(grid.dr_mm),
        nr=grid.nr,
        dz_mm=float(grid.dz_mm),
        nz=grid.nz,
    )


def _mean_and_se(per_batch: FloatArray) -> tuple[float, float]:
    """Mean and standard error of the mean over batches (equal sizes up to one photon)."""
    return float(per_batch.mean()), float(per_batch.std(ddof=1) / math.sqrt(per_batch.size))


def _total(per_batch: list[FloatArray]) -> FloatArray:
    total: FloatArray = np.sum(per_batch, axis=0)
    return total


def _layer_se(tallies: list[backends.BatchTallies], sizes: list[int]) -> FloatArray:
    per_batch = np.array([t.layer_abs / size for t, size in zip(tallies, sizes, strict=True)])
    return np.asarray(per_batch.std(axis=0, ddof=1) / math.sqrt(len(sizes)))


def _result(
    tallies: list[backends.BatchTallies],
    sizes: list[int],
    grid: Grid,
    seed: int,
    backend: str,
    elapsed_s: float,
    variance_reduction: bool,
) -> TransportResult:
    from laserdose.transport import kernel_cpu as k

    photons = sum(sizes)
    fractions = np.array([t.scalars / size for t, size in zip(tallies, sizes, strict=True)])
    totals: FloatArray = np.sum([t.scalars for t in tallies], axis=0) / photons
    stats = {index: _mean_and_se(fractions[:, index]) for index in range(k.N_SCALARS)}
    r_edges = np.arange(grid.nr + 1, dtype=np.float64) * grid.dr_mm
    z_edges = np.arange(grid.nz + 1, dtype=np.float64) * grid.dz_mm
    ring_area_mm2 = np.pi * (r_edges[1:] ** 2 - r_edges[:-1] ** 2)
    volume_mm3 = ring_area_mm2[:, None] * grid.dz_mm
    broad_beam = np.array([t.phi_z / size for t, size in zip(tallies, sizes, strict=True)]) / grid.dz_mm
    # The controls serve the variance-reduced game only: with it off, the deep fluence is MCML's plain mean.
    controls = np.array([t.controls.ravel() / size for t, size in zip(tallies, sizes, strict=True)])
    if not variance_reduction:
        controls = controls[:, :0]
    return TransportResult(
        photons=photons,
        specular_reflectance=float(totals[k.SPECULAR]),
        diffuse_reflectance=float(totals[k.DIFFUSE]),
        diffuse_reflectance_se=stats[k.DIFFUSE][1],
        absorbed=float(totals[k.ABSORBED]),
        absorbed_se=stats[k.ABSORBED][1],
        absorbed_by_layer=tuple(float(v) for v in _total([t.layer_abs for t in tallies]) / photons),
        absorbed_by_layer_se=tuple(float(se) for se in _layer_se(tallies, sizes)),
        transmittance=float(totals[k.TRANSMITTED]),
        transmittance_se=stats[k.TRANSMITTED][1],
        roulette_balance=float(totals[k.ROULETTE]),
        roulette_balance_se=stats[k.ROULETTE][1],
        photons_per_second=photons / elapsed_s if elapsed_s > 0 else math.inf,
        r_edges_mm=r_edges,
        z_edges_mm=z_edges,
        reflectance_by_radius=_total([t.rd_r for t in tallies]) / photons / ring_area_mm2,
        transmittance_by_radius=_total([t.t_r for t in tallies]) / photons / ring_area_mm2,
        absorbed_density_per_mm3=_total([t.a_rz for t in tallies]) / photons / volume_mm3,
        fluence_rate_per_mm2=_total([t.phi_rz for t in tallies]) / photons / volume_mm3,
        fluence_rate_sets_per_mm2=_total([t.phi_rz_sets for t in tallies]) / photons / volume_mm3,
        broad_beam_fluence_by_batch=broad_beam,
        controls_by_batch=controls,
        seed=seed,
        batches=len(sizes),
        backend=backend,
    )
