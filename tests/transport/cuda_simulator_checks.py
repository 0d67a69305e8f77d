"""Checks that need the CUDA backend itself; test_cuda_backend.py runs this file under the simulator.

Not collected by default (no test_ prefix): without a GPU, "cuda" exists only in the simulator subprocess.
"""

import numpy as np
import pytest

from laserdose.transport import kernel_cpu, kernel_cuda
from laserdose.transport.backend import seed_states, splitmix_key, splitmix_states

# Two layers, mismatched indices, a flat beam: launch sampling, Fresnel draws, roulette all consume numbers.
Z_TOP, Z_BOT = np.array([0.0, 0.3]), np.array([0.3, 0.8])
MUA, MUS, G, N = np.array([0.5, 0.2]), np.array([5.0, 2.0]), np.array([0.8, 0.0]), np.array([1.4, 1.33])
NR, NZ, DR, DZ = 20, 10, 0.1, 0.1


@pytest.mark.filterwarnings("ignore:overflow encountered")  # the simulator's numpy uint64 wraps by design
def test_same_states_give_the_same_photons_on_both_kernels():
    # Given the same generator states, the GPU build of kernel_cpu's code must take every photon down
    # the same path: the same count of random numbers drawn (final states equal bit for bit) and the
    # same tallies, up to float rounding (the CPU build contracts into FMAs; the simulator does not).
    streams, photons = 40, 3
    per_stream = np.full(streams, photons, dtype=np.int64)
    states = seed_states(7, 0, streams)
    beam = np.array([1.0, 0.0, 0.0])  # flat beam, radius 1 mm
    geometry = (Z_TOP, Z_BOT, MUA, MUS, G, N, 1.0, 1.0, kernel_cpu.BEAM_FLAT, beam, DR, DZ)

    cpu_states = states.copy()
    cpu = [np.zeros((streams, kernel_cpu.N_SCALARS)), np.zeros((streams, 2))]
    cpu += [np.zeros((streams, NR)), np.zeros((streams, NR))]
    cpu += [np.zeros((streams, NR, NZ)), np.zeros((streams, NR, NZ)), np.zeros((streams, NZ))]
    no_planes = (np.array([np.inf]), np.zeros(1), np.zeros((streams, 1, kernel_cpu.BANK_FIELDS)))
    no_sets = (np.zeros((0, 2)), np.zeros((streams, 1)), np.zeros((streams, 0, NR, NZ)))
    controls = np.zeros((streams, kernel_cpu.N_CONTROLS, 2))
    kernel_cpu.run_streams(per_stream, cpu_states, *geometry, *no_planes, *cpu, *no_sets, controls)

    gpu_states = states.copy()
    gpu = [np.zeros((kernel_cpu.N_SCALARS, streams)), np.zeros((2, streams)), np.zeros(NR), np.zeros(NR)]
    gpu += [np.zeros((NR, NZ)), np.zeros((NR, NZ)), np.zeros(NZ)]
    kernel_cuda.run_streams(per_stream, gpu_states, *geometry, *gpu)

    assert np.array_equal(gpu_states, cpu_states)
    assert not np.array_equal(gpu_states, states)  # numbers were drawn
    np.testing.assert_allclose(gpu[0], cpu[0].T, rtol=1e-9, atol=1e-12)  # per stream: Rsp, Rd, A, T, roulette
    np.testing.assert_allclose(gpu[1], cpu[1].T, rtol=1e-9, atol=1e-12)  # per stream and layer
    # Rd(r), T(r), A(r,z), phi(r,z), phi(z)
    for shared, per_stream_bins in zip(gpu[2:], cpu[2:], strict=True):
        np.testing.assert_allclose(shared, per_stream_bins.sum(axis=0), rtol=1e-9, atol=1e-12)
    assert gpu[0][kernel_cpu.ABSORBED].sum() > 0 and gpu[2].sum() > 0


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_device_seeding_gives_the_host_splitmix_states():
    # run_seeded (each thread derives its state and photon share on the device, as the backend runs it)
    # must equal run_streams fed backend.splitmix_states, whose words are checked against SplitMix64's
    # published outputs in test_cuda_backend.py.
    streams, total = 24, 24 * 3 + 5  # uneven: the first 5 streams take one photon more
    key = splitmix_key(9, 2)
    beam = np.array([1.0, 0.0, 0.0])
    geometry = (Z_TOP, Z_BOT, MUA, MUS, G, N, 1.0, 1.0, kernel_cpu.BEAM_FLAT, beam, DR, DZ)
    seeded = kernel_cuda.run_seeded(total, key, streams, *geometry, NR, NZ)
    per_stream = np.full(streams, total // streams, dtype=np.int64)
    per_stream[: total % streams] += 1
    explicit = [np.zeros((kernel_cpu.N_SCALARS, streams)), np.zeros((2, streams)), np.zeros(NR), np.zeros(NR)]
    explicit += [np.zeros((NR, NZ)), np.zeros((NR, NZ)), np.zeros(NZ)]
    kernel_cuda.run_streams(per_stream, splitmix_states(9, 2, streams), *geometry, *explicit)
    assert np.array_equal(seeded[0], explicit[0]) and np.array_equal(seeded[1], explicit[1])
    for ours, theirs in zip(seeded[2:], explicit[2:], strict=True):  # atomic adds: any order
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert seeded[0][kernel_cpu.DIFFUSE].sum() > 0
