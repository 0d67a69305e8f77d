"""CUDA kernel: the CPU kernel's MCML code compiled for NVIDIA GPUs by numba-cuda (Wang et al. 1995).

Not a second copy of the physics: the step functions of kernel_cpu (`_uniform`, `_fresnel`, `_launch`,
`_azimuth`, `_scatter`, `_window`, `_stretch`, `_reweight`, `_biased_scatter`) and its photon loop
`_run_stream` are compiled again here, from the same Python functions, as CUDA device functions. Only the
two tallies that every thread shares change: `_tally` and `_tally_rz` become atomic adds (float64 atomics:
compute capability 6.0 or newer); the absorption sets' `_tally_set` and `_attenuate` do nothing, and
`_transform` always answers the analog game (sets, like variance reduction, run on the CPU only). One GPU
thread is one stream with its own xoshiro256+ state (a tuple of registers while it traces), exactly as one
CPU stream; its scalar and per-layer tallies are private columns of an array (coalesced across a warp) and
are summed on the host in a fixed order. The backend launches `_trace_seeded`, whose threads seed
themselves on the device; `_trace` takes explicit states (the tests feed both kernels the same states to
compare them with kernel_cpu).

Under numba-cuda's simulator (NUMBA_ENABLE_CUDASIM=1) the same kernel runs as Python threads on the CPU:
that is how the tests exercise it on machines without a GPU.

Like kernel_cpu this module works on plain floats and arrays (mm, 1/mm) and imports nothing from
laserdose but kernel_cpu (an import-linter contract keeps it so).
"""

import types

import numpy as np
from numba import cuda, float64, uint64

from laserdose.transport import kernel_cpu as cpu

# Threads per block: a multiple of the warp (32); 128 leaves the register file room for this float64 code.
THREADS_PER_BLOCK = 128

# The bank of split copies: one unused row, as the GPU traces without importance planes.
_NO_BANK = (1, cpu.BANK_FIELDS)

# SplitMix64 (Steele, Lea & Flood 2014; constants of Vigna's splitmix64.c), as backend.splitmix64.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)


def _device_function(function, **replacements):
    """Compile a kernel_cpu function for the GPU, its global names in `replacements` rebound."""
    source = function.py_func
    namespace = dict(source.__globals__)
    namespace.update(replacements)
    clone = types.FunctionType(
        source.__code__, namespace, source.__name__, source.__defaults__, source.__closure__
    )
    return cuda.jit(device=True)(clone)


@cuda.jit(device=True)
def _atomic_tally(bins, index, value):
    """Add `value` to a radial bin shared by all threads."""
    cuda.atomic.add(bins, index, value)


@cuda.jit(device=True)
def _atomic_tally_rz(bins, ir, iz, value):
    """Add `value` to an r-z bin shared by all threads."""
    cuda.atomic.add(bins, (ir, iz), value)


@cuda.jit(device=True)
def _no_set_tally(bins, k, ir, iz, value):
    """Nothing: absorption sets run on the CPU only (the engine refuses them on CUDA)."""


@cuda.jit(device=True)
def _no_attenuation(factors, dmua, layer, length):
    """Nothing, as `_no_set_tally`."""


@cuda.jit(device=True)
def _no_control(controls, kind, region, value):
    """No control variates: they come with variance reduction, which runs on the CPU only."""


@cuda.jit(device=True)
def _analog(stretch, region, n_planes, inv_transport):
    """No exponential transform and no angular bias (variance reduction is a CPU feature)."""
    return 0.0, 0.0


# Every step function kernel_cpu calls is compiled here and rebound in its callers: one left out would
# still compile for a real GPU, but the simulator would call its CPU build (and box the generator's state).
_uniform = _device_function(cpu._uniform)
_fresnel = _device_function(cpu._fresnel)
_launch = _device_function(cpu._launch, _uniform=_uniform)
_azimuth = _device_function(cpu._azimuth, _uniform=_uniform)
_scatter = _device_function(cpu._scatter, _uniform=_uniform, _azimuth=_azimuth)
_window = _device_function(cpu._window, _uniform=_uniform)
_stretch = _device_function(cpu._stretch)
_reweight = _device_function(cpu._reweight)
_biased_scatter = _device_function(cpu._biased_scatter, _uniform=_uniform, _scatter=_scatter)
_run_stream = _device_function(
    cpu._run_stream,
    _uniform=_uniform,
    _window=_window,
    _transform=_analog,
    _stretch=_stretch,
    _reweight=_reweight,
    _biased_scatter=_biased_scatter,
    _fresnel=_fresnel,
    _launch=_launch,
    _scatter=_scatter,
    _tally=_atomic_tally,
    _tally_rz=_atomic_tally_rz,
    _tally_set=_no_set_tally,
    _attenuate=_no_attenuation,
    _control=_no_control,
)


@cuda.jit(device=True)
def _splitmix_word(key, index):
    """Output `index` (from 0) of SplitMix64 started at `key`.

    Every operand is uint64: numba would turn a mix of int64 and uint64 into float64.
    """
    z = key + (index + uint64(1)) * _GOLDEN
    z = (z ^ (z >> _U30)) * _MIX_1
    z = (z ^ (z >> _U27)) * _MIX_2
    return z ^ (z >> _U31)


@cuda.jit
def _trace_seeded(
    total, key, z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
    dr, dz, planes, scalars, layer_abs, rd_r, t_r, a_rz, phi_rz, phi_z, dmua, phi_rz_sets,
):  # fmt: skip
    """As _trace, but each thread seeds itself and takes its share of `total` photons.

    Nothing per stream crosses the bus on the way in. Stream s uses SplitMix64 words 4s..4s+3 of `key`.
    """
    stream = cuda.grid(1)
    streams = scalars.shape[1]
    if stream >= streams:
        return
    for row in range(scalars.shape[0]):
        scalars[row, stream] = 0.0
    for row in range(layer_abs.shape[0]):
        layer_abs[row, stream] = 0.0
    state = cuda.local.array(4, uint64)
    for word in range(4):
        state[word] = _splitmix_word(key, uint64(4 * stream + word))
    photons = total // streams + (1 if stream < total % streams else 0)
    bank = cuda.local.array(_NO_BANK, float64)
    factors = cuda.local.array(1, float64)
    # `planes` stands in for the transform's per-region rates too (`_analog` never reads them), and
    # `factors` for the controls (`_no_control` never writes them).
    _run_stream(
        photons, state, z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
        dr, dz, planes, planes, bank, scalars[:, stream], layer_abs[:, stream], rd_r, t_r, a_rz, phi_rz,
        phi_z, dmua, factors, phi_rz_sets, factors,
    )  # fmt: skip


@cuda.jit
def _trace(
    photons, states, z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
    dr, dz, planes, scalars, layer_abs, rd_r, t_r, a_rz, phi_rz, phi_z, dmua, phi_rz_sets,
):  # fmt: skip
    """One thread per stream: trace photons[s] packets with states[s], scoring as kernel_cpu does."""
    stream = cuda.grid(1)
    if stream >= photons.shape[0]:
        return
    # The generator lives in registers/local memory while tracing; global memory only at both ends.
    state = cuda.local.array(4, uint64)
    for word in range(4):
        state[word] = states[stream, word]
    bank = cuda.local.array(_NO_BANK, float64)
    factors = cuda.local.array(1, float64)
    _run_stream(
        photons[stream], state, z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
        dr, dz, planes, planes, bank, scalars[:, stream], layer_abs[:, stream], rd_r, t_r, a_rz, phi_rz,
        phi_z, dmua, factors, phi_rz_sets, factors,
    )  # fmt: skip
    for word in range(4):
        states[stream, word] = state[word]


def _no_sets(layers):
    """No absorption sets (a CPU feature, as variance reduction): dmua [0, layers] and its empty tally."""
    return cuda.to_device(np.zeros((0, layers))), cuda.to_device(np.zeros((0, 1, 1)))


def _blocks(streams):
    return max(1, (streams + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)


def run_seeded(
    total, key, streams, z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
    dr, dz, nr, nz,
):  # fmt: skip
    """Trace `total` packets over `streams` GPU threads seeded on the device from the uint64 `key`.

    Returns host arrays: scalars float64[N_SCALARS, streams] and layer_abs float64[layers, streams] per
    stream, rd_r and t_r float64[nr], a_rz and phi_rz float64[nr, nz] and phi_z float64[nz] summed over
    streams by atomic adds. No importance planes and no absorption sets: CPU features.
    """
    inputs = [cuda.to_device(np.ascontiguousarray(a)) for a in (z_top, z_bot, mua, mus, g, n_layer)]
    beam_d = cuda.to_device(np.ascontiguousarray(beam))
    per_stream = [cuda.device_array((rows, streams)) for rows in (cpu.N_SCALARS, mua.shape[0])]
    shared = [cuda.to_device(np.zeros(shape)) for shape in (nr, nr, (nr, nz), (nr, nz), nz)]
    planes = cuda.to_device(np.array([np.inf]))
    _trace_seeded[_blocks(streams), THREADS_PER_BLOCK](
        int(total), np.uint64(key), *inputs, float(n_above), float(n_below), int(kind), beam_d,
        float(dr), float(dz), planes, *per_stream, *shared, *_no_sets(mua.shape[0]),
    )  # fmt: skip
    cuda.synchronize()
    return tuple(array.copy_to_host() for array in (*per_stream, *shared))


def run_streams(
    photons, states, z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
    dr, dz, scalars, layer_abs, rd_r, t_r, a_rz, phi_rz, phi_z,
):  # fmt: skip
    """Trace photons[s] packets in each stream s, one GPU thread per stream, into host arrays.

    Arguments as kernel_cpu.run_streams without planes and bank (no variance reduction on the GPU),
    except the layouts of the outputs (all zero on entry):
    scalars float64[N_SCALARS, S] and layer_abs float64[layers, S] per stream (stream last, so that a
    warp's writes are contiguous); rd_r, t_r float64[nr], a_rz, phi_rz float64[nr, nz] and phi_z
    float64[nz] summed over
    all streams by atomic adds, in an order that varies from run to run (float64 rounding, ~1e-16).
    """
    device = [cuda.to_device(np.ascontiguousarray(a)) for a in (photons, states, z_top, z_bot, mua, mus)]
    device += [cuda.to_device(np.ascontiguousarray(a)) for a in (g, n_layer)]
    beam_d = cuda.to_device(np.ascontiguousarray(beam))
    hosts = (scalars, layer_abs, rd_r, t_r, a_rz, phi_rz, phi_z)
    outputs = [cuda.to_device(a) for a in hosts]
    planes = cuda.to_device(np.array([np.inf]))
    _trace[_blocks(photons.shape[0]), THREADS_PER_BLOCK](
        *device,
        float(n_above),
        float(n_below),
        int(kind),
        beam_d,
        float(dr),
        float(dz),
        planes,
        *outputs,
        *_no_sets(mua.shape[0]),
    )
    cuda.synchronize()
    device[1].copy_to_host(states)
    for host, on_device in zip(hosts, outputs, strict=True):
        on_device.copy_to_host(host)
