"""The one place that chooses where photons are traced (docs/design.md: one backend switch).

`run_batch` packs plain arrays for a kernel and returns its per-stream tallies summed in a fixed order.
"cpu" runs kernel_cpu on all cores; "cuda" runs kernel_cuda (the same code compiled by numba-cuda) on an
NVIDIA GPU, where numba-cuda (extra `cuda`) and a driver are present, or on numba-cuda's CPU simulator
when NUMBA_ENABLE_CUDASIM=1 is set before the first import of numba.cuda (for tests: very slow).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import warnings
from dataclasses import dataclass, field

import numba
import numpy as np
import numpy.typing as npt

from laserdose.errors import InputError, require_choice

BACKENDS = ("cpu", "cuda")

# Streams per batch: at least this many, so that results do not depend on the thread count up to it.
MIN_STREAMS = 16

FloatArray = npt.NDArray[np.float64]


# CUDA streams per batch: one thread each, at most GPU_STREAMS and about PHOTONS_PER_THREAD photons each.
# The count depends on the photon count only, so a seed gives the same streams on any GPU. 2^17 is about
# 1.5 waves of the 84,480 threads an H100 SXM (132 SMs) holds at the kernel's 94 registers per thread
# (ptxas -v, sm_90; 5 blocks of 128 per SM): a starting value, not yet tuned on a GPU.
GPU_STREAMS = 2**17
PHOTONS_PER_THREAD = 16

# Copies of one photon that a CPU stream can hold at once under variance reduction; a split that would
# overflow it makes fewer copies (still unbiased: the weights of the copies always sum to the original).
BANK_SIZE = 64

NO_PLANES: FloatArray = np.array([np.inf])
SETS_ON_CUDA = "absorption sets are scored on the cpu backend only"
VR_ON_CUDA = (
    "variance reduction runs on the cpu backend only; turn it off for cuda "
    "(--no-variance-reduction, variance_reduction=False)"
)


def available_backends() -> tuple[str, ...]:
    """Backends that can run on this machine ("cuda" under numba-cuda's simulator too)."""
    return ("cpu",) if cuda_unavailable_reason() else ("cpu", "cuda")


@functools.cache
def cuda_unavailable_reason() -> str | None:
    """Why the CUDA backend cannot run here, or None when it can (a GPU, or the simulator)."""
    if importlib.util.find_spec("numba_cuda") is None:
        return "numba-cuda is not installed (pip install 'laserdose[cuda]')"
    try:
        from numba import cuda
    except ImportError as exc:  # e.g. numba-cuda without its cuda-bindings
        return f"numba-cuda cannot be imported ({exc})"
    if not cuda.is_available():  # type: ignore[no-untyped-call]  # numba-cuda has no type hints
        return "no CUDA GPU or driver found"
    return None


def cuda_simulated() -> bool:
    """True when numba-cuda's CPU simulator stands in for a GPU (NUMBA_ENABLE_CUDASIM=1)."""
    return bool(getattr(numba.config, "ENABLE_CUDASIM", 0))


def check_backend(backend: str) -> str:
    """Return `backend` if it can run here, else raise InputError saying why not and what can."""
    require_choice("backend", backend, BACKENDS)
    if backend == "cuda" and (reason := cuda_unavailable_reason()):
        raise InputError(
            f"CUDA backend not available: {reason}; use the cpu backend "
            "(for tests, NUMBA_ENABLE_CUDASIM=1 runs it on numba-cuda's slow CPU simulator)"
        )
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
    planes_mm: FloatArray = field(default_factory=lambda: NO_PLANES.copy())
    # With variance reduction, the exponential transform's rate in each region above the deepest plane
    # [1/mm] (planes.importance_planes); zeros for the analog game.
    stretch: FloatArray = field(default_factory=lambda: np.zeros(NO_PLANES.shape))
    # Absorption sets scored in the same pass: each set's mua minus `mua`, shape (sets, layers) [1/mm].
    dmua: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def variance_reduction(self) -> bool:
        """True when the run splits and roulettes packets at importance planes."""
        return bool(np.isfinite(self.planes_mm).any())

    @property
    def absorption_sets(self) -> int:
        """How many absorption sets are scored besides the traced one."""
        return int(self.dmua.shape[0])


@dataclass
class BatchTallies:
    """Weight tallies of one batch, summed over streams."""

    scalars: FloatArray
    layer_abs: FloatArray
    rd_r: FloatArray
    t_r: FloatArray
    a_rz: FloatArray
    phi_rz: FloatArray
    phi_z: FloatArray
    phi_rz_sets: FloatArray  # (sets, nr, nz): phi_rz of each absorption set
    controls: FloatArray  # (N_CONTROLS, planes + 1): zero-mean control variates (kernel_cpu)


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


def cuda_stream_count(photons: int) -> int:
    """CUDA streams (threads) for a batch of `photons`: a function of the count only, never the device."""
    return max(1, min(GPU_STREAMS, math.ceil(photons / PHOTONS_PER_THREAD)))


def splitmix64(key: int, count: int) -> npt.NDArray[np.uint64]:
    """The first `count` outputs of SplitMix64 started at `key`, vectorised.

    SplitMix64: Steele, Lea & Flood (2014); constants of Vigna's splitmix64.c, the generator that
    Blackman & Vigna (2018) recommend for seeding xoshiro.
    """
    counter = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps modulo 2^64 by design
        z = np.uint64(key) + counter * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    words: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return words


def splitmix_key(seed: int, batch: int) -> int:
    """The SplitMix64 start of a CUDA batch: numpy's SeedSequence hash of (seed, batch)."""
    return int(np.random.SeedSequence([seed, batch]).generate_state(1, dtype=np.uint64)[0])


def splitmix_states(seed: int, batch: int, streams: int) -> npt.NDArray[np.uint64]:
    """The xoshiro256+ states the CUDA kernel derives on the device, computed on the host (for checks).

    Stream s takes words 4s..4s+3 of SplitMix64 started from `splitmix_key(seed, batch)`.
    """
    return splitmix64(splitmix_key(seed, batch), 4 * streams).reshape(streams, 4)


def run_batch(
    backend: str, data: KernelInput, photons: int, seed: int, batch: int, threads: int | None = None
) -> BatchTallies:
    """Trace `photons` packets as batch number `batch` of a run seeded with `seed`.

    `threads` sets the CPU threads; the CUDA backend ignores it (its streams depend on `photons` only).
    """
    check_backend(backend)
    if backend == "cuda":
        if data.variance_reduction:
            raise InputError(VR_ON_CUDA)
        if data.absorption_sets:
            raise InputError(SETS_ON_CUDA)
        return _run_cuda_batch(data, photons, seed, batch)
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
    phi_z = np.zeros((streams, data.nz))
    sets = data.absorption_sets
    factors = np.zeros((streams, max(sets, 1)))
    phi_rz_sets = np.zeros((streams, sets, data.nr, data.nz))
    controls = np.zeros((streams, kernel_cpu.N_CONTROLS, data.planes_mm.size + 1))
    bank_size = BANK_SIZE if data.variance_reduction else 1
    bank = np.zeros((streams, bank_size, kernel_cpu.BANK_FIELDS + sets))
    previous = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        kernel_cpu.run_streams(
            per_stream, seed_states(seed, batch, streams), data.z_top, data.z_bot, data.mua, data.mus,
            data.g, data.n_layer, data.n_above, data.n_below, data.beam_kind, data.beam, data.dr_mm,
            data.dz_mm, data.planes_mm, data.stretch, bank, scalars, layer_abs, rd_r, t_r, a_rz, phi_rz,
            phi_z, data.dmua, factors, phi_rz_sets, controls,
        )  # fmt: skip
    finally:
        numba.set_num_threads(previous)
    # Sum streams one after the other (a fixed order), so that the result is reproducible bit for bit.
    per_stream_tallies = (scalars, layer_abs, rd_r, t_r, a_rz, phi_rz, phi_z, phi_rz_sets, controls)
    return BatchTallies(*(_ordered_sum(array) for array in per_stream_tallies))


def _run_cuda_batch(data: KernelInput, photons: int, seed: int, batch: int) -> BatchTallies:
    from laserdose.transport import kernel_cpu, kernel_cuda

    streams = cuda_stream_count(photons)
    with warnings.catch_warnings():
        # The simulator runs xoshiro's uint64 arithmetic in numpy, which warns when it wraps (by design).
        warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        scalars, layer_abs, rd_r, t_r, a_rz, phi_rz, phi_z = kernel_cuda.run_seeded(  # type: ignore[no-untyped-call]
            photons, splitmix_key(seed, batch), streams, data.z_top, data.z_bot, data.mua, data.mus,
            data.g, data.n_layer, data.n_above, data.n_below, data.beam_kind, data.beam, data.dr_mm,
            data.dz_mm, data.nr, data.nz,
        )  # fmt: skip
    # numpy's pairwise sum over the stream axis: a fixed order for a given stream count.
    no_sets = np.zeros((0, data.nr, data.nz))
    no_controls = np.zeros((kernel_cpu.N_CONTROLS, data.planes_mm.size + 1))
    return BatchTallies(
        scalars.sum(axis=1), layer_abs.sum(axis=1), rd_r, t_r, a_rz, phi_rz, phi_z, no_sets, no_controls
    )


def _ordered_sum(per_stream: FloatArray) -> FloatArray:
    total: FloatArray = per_stream[0].copy()
    for stream in range(1, per_stream.shape[0]):
        total += per_stream[stream]
    return total


def warm_up(backend: str, data: KernelInput) -> None:
    """Compile (or load from Numba's cache) the kernel for `data`'s types, so that timings exclude it."""
    check_backend(backend)
    run_batch(backend, data, 0, 0, 0, threads=None)
