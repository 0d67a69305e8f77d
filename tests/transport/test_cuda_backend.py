"""The CUDA backend: parity tests under numba-cuda's simulator, its PTX for a real GPU, and its errors.

On a machine with a GPU, every test taking the `backend` fixture also runs on "cuda" in this process.
Without one, the parity tests run here in a subprocess with NUMBA_ENABLE_CUDASIM=1 (the simulator must
be chosen before numba.cuda is first imported), at the few photons the simulator can afford.
"""

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from laserdose.transport import FibreBeam, FlatBeam, GaussianBeam, Layer, PencilBeam, Stack, simulate
from laserdose.transport.backend import available_backends, cuda_simulated, splitmix64

TESTS = Path(__file__).parent
# The backend-parametrised physics checks, run on "cuda" under the simulator (ids end in [cuda]).
SIMULATOR_TESTS = [
    "test_properties.py::test_energy_is_conserved_photon_by_photon",
    "test_references.py::test_van_de_hulst_slab",
    "test_references.py::test_mcml_three_layer_sample",
    "test_cuda_backend.py::test_backends_agree",
    "test_cuda_backend.py::test_cuda_totals_are_reproducible",
    "cuda_simulator_checks.py",  # the CUDA build draws and scores exactly like kernel_cpu
]

# Two layers with mismatched indices and a clear medium below: Fresnel reflection, refraction, layer
# crossings, transmission and absorption all happen.
PARITY_STACK = Stack((Layer(0.3, 0.5, 5.0, 0.8, 1.4), Layer(0.5, 0.2, 2.0, 0.0, 1.33)), 1.0, 1.0)
PARITY_BEAMS = {
    "pencil": PencilBeam(),
    "flat": FlatBeam(2.0),
    "gaussian": GaussianBeam(2.0),
    "fibre": FibreBeam(0.22, 1.0, 0.2),
}


@pytest.mark.parametrize("beam", list(PARITY_BEAMS))
def test_backends_agree(backend, within, photons_for, beam):
    # Independent runs of one physics (the same kernel_cpu code compiled for each backend) agree within
    # their combined standard errors; on "cpu" this compares two seeds of the CPU kernel.
    photons = photons_for(40_000, simulated=600)
    cpu = simulate(PARITY_STACK, PARITY_BEAMS[beam], photons=photons, seed=21, backend="cpu")
    other = simulate(PARITY_STACK, PARITY_BEAMS[beam], photons=photons, seed=22, backend=backend)
    for name in ("diffuse_reflectance", "absorbed", "transmittance"):
        se = np.hypot(getattr(cpu, name + "_se"), getattr(other, name + "_se"))
        assert within(getattr(other, name), getattr(cpu, name), se), name
    for ours, theirs, se_a, se_b in zip(
        other.absorbed_by_layer, cpu.absorbed_by_layer, other.absorbed_by_layer_se,
        cpu.absorbed_by_layer_se, strict=True,
    ):  # fmt: skip
        assert within(ours, theirs, np.hypot(se_a, se_b))
    if beam != "fibre":  # normal incidence: Rsp = ((n1 - n0) / (n1 + n0))^2 exactly (Fresnel)
        assert other.specular_reflectance == pytest.approx(((1.4 - 1.0) / 2.4) ** 2, abs=1e-12)
    # A = mua * phi bin by bin (MCML, Wang et al. 1995, eq. 4.19) in the first layer's bins (z < 0.3 mm).
    top = other.z_edges_mm[1:] <= 0.3
    np.testing.assert_allclose(
        other.absorbed_density_per_mm3[:, top], 0.5 * other.fluence_rate_per_mm2[:, top], rtol=1e-9
    )
    _check_binned_totals(other)


def _check_binned_totals(result):
    """The bins (shared, atomic adds on CUDA) hold the totals (private per stream): no add is lost.

    The 10 mm grid holds all but the light that leaves beyond r = 10 mm (~40 scattering lengths in this
    0.8 mm stack), so each binned sum lies between 99% of its total and the total.
    """
    area_mm2 = np.pi * np.diff(result.r_edges_mm**2)
    volume_mm3 = area_mm2[:, None] * np.diff(result.z_edges_mm)[None, :]
    for binned, total in (
        ((result.absorbed_density_per_mm3 * volume_mm3).sum(), result.absorbed),
        ((result.reflectance_by_radius * area_mm2).sum(), result.diffuse_reflectance),
        ((result.transmittance_by_radius * area_mm2).sum(), result.transmittance),
    ):
        assert 0.99 * total <= binned <= total * (1 + 1e-9)


def test_cuda_totals_are_reproducible(backend, photons_for):
    # Streams own their generators (seeded from the seed alone) and per-stream totals are summed in a
    # fixed order, so totals repeat exactly; r-z bins shared through atomic adds (CUDA) may differ in
    # the last bits from the order of the adds.
    runs = [
        simulate(
            PARITY_STACK, FlatBeam(2.0), photons=photons_for(5_000, simulated=100), seed=5, backend=backend
        )
        for _ in range(2)
    ]
    first, second = (run.to_json_dict() | {"photons_per_second": 0} for run in runs)
    assert first == second
    np.testing.assert_allclose(runs[0].fluence_rate_per_mm2, runs[1].fluence_rate_per_mm2, rtol=1e-12)
    other_seed = simulate(PARITY_STACK, FlatBeam(2.0), photons=photons_for(5_000, simulated=100), seed=6,
                          backend=backend)  # fmt: skip
    assert other_seed.diffuse_reflectance != runs[0].diffuse_reflectance


def test_parity_tests_pass_on_cuda_under_the_simulator():
    # Runs the parity tests above on "cuda" with numba-cuda's simulator (the kernel as Python threads).
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    selected = [str(TESTS / test) for test in SIMULATOR_TESTS]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not cpu", *selected]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    # 1 energy property + van de Hulst + MCML sample + 4 beams + reproducibility, each on [cuda] only,
    # + the same-states and device-seeding checks.
    assert re.search(r"\b10 passed\b", run.stdout), run.stdout[-2000:]
    assert "failed" not in run.stdout and "skipped" not in run.stdout


def test_kernel_compiles_to_ptx_for_an_h100(monkeypatch, tmp_path):
    # The simulator runs Python, not the CUDA target: compiling to PTX for sm_90 (H100) checks that
    # the real CUDA compiler types and lowers the kernel (NVVM from the cu12 wheels; no GPU needed).
    from numba import cuda
    from numba import types as nb

    if cuda_simulated():
        pytest.fail("run this file without NUMBA_ENABLE_CUDASIM: the simulator has no PTX compiler")
    from numba.cuda import dispatcher

    from laserdose.transport import kernel_cuda

    # Device functions ask the current GPU for its compute capability; without a GPU, say sm_90.
    monkeypatch.setattr(
        dispatcher, "get_current_device", lambda: types.SimpleNamespace(compute_capability=(9, 0))
    )
    f1, f2 = nb.float64[::1], nb.float64[:, ::1]
    geometry = (f1, f1, f1, f1, f1, f1, nb.float64, nb.float64, nb.int64, f1, nb.float64, nb.float64)
    planes = f1  # importance planes: [inf] on the GPU (no variance reduction there)
    outputs = (f2, f2, f1, f1, f2, f2, f1)
    sets = (f2, nb.float64[:, :, ::1])  # no absorption sets on the GPU: dmua (0, layers) and its tally
    # The kernel the backend launches (seeded on the device) and the one fed explicit states.
    ptx, _ = cuda.compile_ptx(
        kernel_cuda._trace_seeded.py_func,
        (nb.int64, nb.uint64, *geometry, planes, *outputs, *sets),
        cc=(9, 0),
    )
    cuda.compile_ptx(
        kernel_cuda._trace.py_func,
        (nb.int64[::1], nb.uint64[:, ::1], *geometry, planes, *outputs, *sets),
        cc=(9, 0),
    )
    assert ".target sm_90" in ptx
    assert ".entry" in ptx
    # The five shared tallies (Rd(r), T(r), A(r,z), phi(r,z), phi(z)) are float64 atomic adds.
    assert len(re.findall(r"(?:atom|red)\.global\.add\.f64", ptx)) == 5
    # Every device function is inlined: the only callable left is libdevice's rare trig slow path.
    functions = set(re.findall(r"^\.func\s+(?:\([^)]*\)\s*)?(\w+)", ptx, flags=re.MULTILINE))
    assert functions <= {"__internal_trig_reduction_slowpathd"}, functions
    _check_registers_do_not_spill(ptx, tmp_path)


def _check_registers_do_not_spill(ptx, tmp_path):
    """NVIDIA's assembler (ptxas, from the cu12 wheels) fits the kernel in registers: no spills to memory."""
    import nvidia.cuda_nvcc

    ptxas = Path(next(iter(nvidia.cuda_nvcc.__path__))) / "bin" / "ptxas"
    source = tmp_path / "trace.ptx"
    source.write_text(ptx)
    run = subprocess.run(
        [str(ptxas), "-arch=sm_90", "-v", str(source), "-o", str(tmp_path / "trace.cubin")],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    kernel = run.stderr.split("Function properties for")[1]  # the kernel's block comes first
    assert "0 bytes spill stores, 0 bytes spill loads" in kernel, run.stderr
    registers = int(re.search(r"Used (\d+) registers", run.stderr).group(1))
    assert registers <= 128, run.stderr  # 128 x 128 threads: at least 4 blocks fit an SM's 64K registers


def test_splitmix64_matches_its_reference_outputs():
    # SplitMix64 started at 0 (Vigna's splitmix64.c; Steele, Lea & Flood 2014): the published first outputs.
    expected = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC]
    assert [int(word) for word in splitmix64(0, 4)] == expected


def test_cuda_backend_without_a_gpu_is_a_clear_error(cli, tmp_path):
    stack = tmp_path / "stack.json"
    layer = {"thickness_mm": 0.5, "mua_per_mm": 0.1, "mus_per_mm": 5.0, "g": 0.8, "n": 1.4}
    stack.write_text(json.dumps({"n_above": 1.0, "n_below": 1.0, "layers": [layer]}))
    result = cli("simulate", "--stack", stack, "--photons", "1000", "--backend", "cuda", "--json")
    if "cuda" in available_backends():  # a GPU here: the same command runs
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["photons"] == 1000
    else:
        assert result.exit_code == 2
        assert "CUDA backend not available" in result.stderr
        assert "NUMBA_ENABLE_CUDASIM=1" in result.stderr
        assert "Traceback" not in result.output


def test_without_numba_cuda_the_error_says_what_to_install(monkeypatch):
    from laserdose.errors import InputError
    from laserdose.transport import backend as backends

    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    backends.cuda_unavailable_reason.cache_clear()
    try:
        assert backends.available_backends() == ("cpu",)
        with pytest.raises(
            InputError, match=r"numba-cuda is not installed \(pip install 'laserdose\[cuda\]'\)"
        ):
            backends.check_backend("cuda")
    finally:
        monkeypatch.undo()
        backends.cuda_unavailable_reason.cache_clear()
