"""The one place that chooses where photons are traced (DESIGN.md: one backend switch).

`run_batch` packs plain arrays for a kernel and returns its per-stream tallies summed in a fixed order.
Only "cpu" exists today; "cuda" is named so that callers and tests can ask for it and get a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from laserdose.errors import InputError, require_choice

BACKENDS = ("cpu", "cuda")

# Streams per batch: at least this many, so that results do not depend on the thread count up to it.
MIN_STREAMS = 16

FloatArray = npt.NDArray[np.float64]


def available_backends() -> tuple[str, ...]:
    """Backends that can run on this machine."""
    return ("cpu",)


def check_backend(backend: str) -> str:
    """Return `backend` if it can run here, else raise InputError saying which can."""
    require_choice("backend", backend, BACKENDS)
    if backend not in available_backends():
        raise InputError(f"CUDA backend not available; use one of: {', '.join(available_backends())}")
    return backend


@dataclass(frozen=True)
class KernelInput:
    """Plain arrays for a kernel, lengths in mm and coefficients in 1/mm (see kernel_cpu.run_streams)."""

    z_top: FloatArray
    z_bot: FloatArray
    mua: FloatArray
    mus: FloatArray
    g: FloatArray
    n_layer: FloatArray
    n_above: float
    n_below: float
    beam_kind: int
    beam: FloatArray
    dr_mm: float
    nr: int
    dz_mm: float
    nz: int


@dataclass
class BatchTallies:
    """Weight tallies of one batch, summed over streams."""

    scalars: FloatArray
    layer_abs: FloatArray
    rd_r: FloatArray
    t_r: FloatArray
    a_rz: FloatArray
    phi_rz: FloatArray


def stream_count(threads: int | None = None) -> int:
    """Streams per batch for `threads` (None: Numba's current thread count)."""
    return max(MIN_STREAMS, threads or numba.get_num_threads())


def reproducible_threads() -> int:
    """Threads for a run whose result must not depend on the machine's cores.

    Any count up to MIN_STREAMS gives MIN_STREAMS streams and so the same result; more threads than that
    would add streams and change it.
    """
    return min(MIN_STREAMS, int(numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]


def seed_states(seed: int, batch: int, streams: int) -> npt.NDArray[np.uint64]:
    """Independent xoshiro256+ states for each stream of a batch, from numpy's SeedSequence hashing."""
    states = np.empty((streams, 4), dtype=np.uint64)
    for stream in range(streams):
        states[stream] = np.random.SeedSequence([seed, batch, stream]).generate_state(4, dtype=np.uint64)
    return states


def run_batch(
    backend: str, data: KernelInput, photons: int, seed: int, batch: int, threads: int | None = None
) -> BatchTallies:
    """Trace `photons` packets as batch number `batch` of a run seeded with `seed`."""
    check_backend(backend)
    from laserdose.transport import kernel_cpu

    streams = stream_count(threads)
    per_stream = np.full(streams, photons // streams, dtype=np.int64)
    per_stream[: photons % streams] += 1
    n_layers = data.mua.shape[0]
    scalars = np.zeros((streams, kernel_cpu.N_SCALARS))
    layer_abs = np.zeros((streams, n_layers))
    rd_r = np.zeros((streams, data.nr))
    t_r = np.zeros((streams, data.nr))
    a_rz = np.zeros((streams, data.nr, data.nz))
    phi_rz = np.zeros((streams, data.nr, data.nz))
    previous = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        kernel_cpu.run_streams(
            per_stream, seed_states(seed, batch, streams), data.z_top, data.z_bot, data.mua, data.mus,
            data.g, data.n_layer, data.n_above, data.n_below, data.beam_kind, data.beam, data.dr_mm,
            data.dz_mm, scalars, layer_abs, rd_r, t_r, a_rz, phi_rz,
        )  # fmt: skip
    finally:
        numba.set_num_threads(previous)
    # Sum streams one after the other (a fixed order), so that the result is reproducible bit for bit.
    return BatchTallies(*(_ordered_sum(array) for array in (scalars, layer_abs, rd_r, t_r, a_rz, phi_rz)))


def _ordered_sum(per_stream: FloatArray) -> FloatArray:
    total: FloatArray = per_stream[0].copy()
    for stream in range(1, per_stream.shape[0]):
        total += per_stream[stream]
    return total


def warm_up(backend: str, data: KernelInput) -> None:
    """Compile (or load from Numba's cache) the kernel for `data`'s types, so that timings exclude it."""
    check_backend(backend)
    run_batch(backend, data, 0, 0, 0, threads=None)
