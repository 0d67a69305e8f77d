"""Speed and agreement of our MCML engine: against MCML itself on one core, and against MCX.

One core (the acceptance figure): photons per CPU-second with threads=1, against MCML 1.2's single-thread
figures on this machine class [McmlSpeed2026], with the ratio and the 1-minute load average printed next
to every figure (the machine is shared: CPU seconds compare under load, wall seconds do not).

- In process: `simulate(..., threads=1)` on an already compiled kernel; CPU time from time.process_time
  (all of the process's threads, so Numba's idle workers would count too).
- Whole command: `laserdose simulate --stack FILE --photons N --json` in a child process with
  NUMBA_NUM_THREADS=1, at MCML's own photon counts; the child's user + system CPU time from the OS
  (getrusage), so interpreter start, imports, loading the compiled kernel from Numba's cache and the JSON
  output all count. The fixed part is measured alone (the same command with 10 photons) and so is the
  one-off JIT compilation (the first run with an empty Numba cache directory).

MCX rows: pmcxcl (OpenCL on this CPU through PoCL, both cores; its kernel time) and, where there is an
NVIDIA GPU, our CUDA backend against pmcx on the same GPU (skipped, with the reason, elsewhere). The
diffuse reflectances are printed in one convention (ours, MCML's: fractions of the incident power, Rsp
excluded). MCX launches unit weight after the specular reflection [Fang2009], so its Rd is multiplied by
(1 - Rsp) here. It is voxelised; we rebuild each stack on its grid, one air voxel above the surface. MCX
detects every photon leaving the volume; those leaving through the top face are the diffuse reflectance,
weighted by exp(-sum mua_i L_i) over their partial path lengths.

Variance reduction: the figure of merit for the broad-beam fluence at 10, 30 and 45 mm with it on and off
(deep_fluence.py's table, `--fom-repeats` pooled repeats, 0 to skip), in the JSON as "deep_fluence_fom".

Usage: LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libstdc++.so.6 python benchmarks/transport.py [--quick]
[--no-mcx] [--fom-repeats N] (the LD_PRELOAD lets PoCL build MCX's kernel here; `make bench` sets
it). On a GPU machine: pip install -e '.[dev,bench,cuda]'; python benchmarks/transport.py --gpu-only
(docs/gpu.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import deep_fluence  # benchmarks/, this script's directory
import numpy as np

from laserdose.transport import Grid, PencilBeam, Stack, simulate
from laserdose.transport.backend import cuda_simulated, cuda_unavailable_reason

HERE = Path(__file__).parent
# MCML 1.2 (C, one thread, gcc -O3 -march=native) on this machine class, photons per CPU-second
# [McmlSpeed2026]: 2e6 photons of the sample in 7.2 s of CPU, 1e5 of the back stack in 5.8 s.
MCML_PHOTONS_PER_CPU_S = {"mcml_sample": 278_000, "back_980nm": 17_300}
MCML_PHOTONS = {"mcml_sample": 2_000_000, "back_980nm": 100_000}
# The speed asked of our CPU kernel on one core: this many times MCML's.
TARGET_RATIO = 1.5

PROBLEMS = {
    # name: (stack file, MCX voxel [mm], lateral extent [mm], our photons in process, MCX photons)
    "mcml_sample": ("mcml_sample.json", 0.05, 20.0, 1_000_000, 100_000),
    "back_980nm": ("back_980nm.json", 0.25, 60.0, 100_000, 20_000),
}
# On a GPU both engines trace this many photons per problem (enough for seconds of kernel time).
GPU_PHOTONS = {"mcml_sample": 10_000_000, "back_980nm": 10_000_000}
GRID = Grid(0.1, 50, 0.1, 40)


def load_stack(name: str) -> Stack:
    data = json.loads((HERE / name).read_text())
    return Stack.from_json_dict(data)


def load_average() -> float:
    """The machine's 1-minute load average (2 cores: above 2, processes queue for a CPU)."""
    return os.getloadavg()[0]


def run_ours(stack: Stack, photons: int, backend: str = "cpu", threads: int | None = None) -> dict[str, Any]:
    """Our engine in this process: photons/s of its batches (wall) and, on the CPU, per CPU-second."""
    start = time.process_time()
    # Compile, or load from Numba's cache, outside the timing (simulate also warms up).
    simulate(stack, PencilBeam(), photons=1000, seed=1, grid=GRID, backend=backend, threads=threads)
    first_call_cpu_s = time.process_time() - start
    start = time.process_time()
    result = simulate(
        stack, PencilBeam(), photons=photons, seed=1, grid=GRID, backend=backend, threads=threads
    )
    cpu_s = time.process_time() - start
    entry = {
        "backend": backend,
        "threads": threads,
        "photons": photons,
        "photons_per_second": result.photons_per_second,
        "cpu_s": cpu_s,
        "first_call_cpu_s": first_call_cpu_s,
        "load_average": load_average(),
        "specular_reflectance": result.specular_reflectance,
        "diffuse_reflectance": result.diffuse_reflectance,
        "diffuse_reflectance_se": result.diffuse_reflectance_se,
        "absorbed": result.absorbed,
    }
    if backend == "cpu":
        entry["photons_per_cpu_second"] = photons / cpu_s
    return entry


def laserdose_command() -> str:
    """The `laserdose` script of this interpreter's environment."""
    return str(Path(sys.executable).with_name("laserdose"))


def command_cpu(stack_file: str, photons: int, cache_dir: str | None = None) -> dict[str, float]:
    """CPU seconds (user + system, from the OS) of `laserdose simulate` on one thread, as a child process."""
    command = [laserdose_command(), "simulate", "--stack", str(HERE / stack_file)]
    command += ["--photons", str(photons), "--json"]
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"photons": photons, "cpu_s": cpu_s, "wall_s": wall_s, "load_average": load_average()}


def command_fixed_costs(stack_file: str) -> dict[str, float]:
    """CPU seconds of the command that do not depend on the photon count, and of the one-off compilation.

    start-up: the same command with 10 photons (interpreter, imports, the kernel loaded from Numba's
    cache, output), the lower of two runs. JIT: the first run with an empty Numba cache directory, less
    the start-up (what a first run after installing pays once).
    """
    command_cpu(stack_file, 10)  # the cache is written if it was not
    startup = min((command_cpu(stack_file, 10) for _ in range(2)), key=lambda run: run["cpu_s"])
    with tempfile.TemporaryDirectory() as empty_cache:
        first = command_cpu(stack_file, 10, cache_dir=empty_cache)
    return {
        "startup_cpu_s": startup["cpu_s"],
        "startup_load_average": startup["load_average"],
        "jit_compile_cpu_s": first["cpu_s"] - startup["cpu_s"],
        "jit_load_average": first["load_average"],
    }


def one_core(name: str, stack: Stack, scale: int, fixed: dict[str, float]) -> dict[str, Any]:
    """Photons per CPU-second on one thread, in process and as a whole command, against MCML's figure."""
    stack_file, *_, ours_n, _ = PROBLEMS[name]
    in_process = run_ours(stack, ours_n // scale, threads=1)
    runs = [command_cpu(stack_file, MCML_PHOTONS[name] // scale) for _ in range(2)]
    cpu_s = sum(run["cpu_s"] for run in runs) / len(runs)
    command = {
        "photons": runs[0]["photons"],
        "runs": runs,
        "cpu_s": cpu_s,
        "photons_per_cpu_second": runs[0]["photons"] / cpu_s,
        "startup_cpu_s": fixed["startup_cpu_s"],
        "load_average": max(run["load_average"] for run in runs),
    }
    mcml = MCML_PHOTONS_PER_CPU_S[name]
    return {
        "mcml_photons_per_cpu_second": mcml,
        "target_ratio": TARGET_RATIO,
        "in_process": in_process | {"ratio_to_mcml": in_process["photons_per_cpu_second"] / mcml},
        "command": command | {"ratio_to_mcml": command["photons_per_cpu_second"] / mcml},
    }


def _print_one_core(name: str, entry: dict[str, Any]) -> None:
    mcml, target = entry["mcml_photons_per_cpu_second"], entry["target_ratio"]
    print(f"\n{name}: photons per CPU-second on one core (threads=1); MCML 1.2: {mcml:,} [McmlSpeed2026]")
    ours, command = entry["in_process"], entry["command"]
    print(
        f"  in process    : {ours['photons_per_cpu_second']:>9,.0f} = {ours['ratio_to_mcml']:.2f}x MCML "
        f"({ours['photons']:,} photons, {ours['cpu_s']:.2f} s CPU; load {ours['load_average']:.2f})"
    )
    print(
        f"  whole command : {command['photons_per_cpu_second']:>9,.0f} = "
        f"{command['ratio_to_mcml']:.2f}x MCML "
        f"({command['photons']:,} photons, {command['cpu_s']:.2f} s CPU, {command['startup_cpu_s']:.2f} s of "
        f"it start-up; load {command['load_average']:.2f})"
    )
    met = [
        f"{where} {'met' if e['ratio_to_mcml'] >= target else 'NOT met'}"
        for where, e in (("in process", ours), ("as a command", command))
    ]
    print(f"  target        : >= {target}x MCML: " + ", ".join(met))  # fmt: skip


def mcx_volume(stack: Stack, voxel_mm: float, lateral_mm: float) -> tuple[np.ndarray, list[list[float]]]:
    """Label volume (one air voxel on top) and MCX's property table [mua, mus, g, n] in 1/mm."""
    depths = [round(z / voxel_mm) for z in stack.boundaries_mm]
    side = round(lateral_mm / voxel_mm)
    volume = np.zeros((side, side, depths[-1] + 1), dtype=np.uint8)
    for label in range(len(stack.layers)):
        volume[:, :, 1 + depths[label] : 1 + depths[label + 1]] = label + 1
    props = [[0.0, 0.0, 1.0, stack.n_above]]
    props += [[layer.mua_per_mm, layer.mus_per_mm, layer.g, layer.n] for layer in stack.layers]
    return volume, props


def gpu_skip_reason() -> str | None:
    """Why the GPU rows cannot run here, or None."""
    if cuda_simulated():
        return "NUMBA_ENABLE_CUDASIM=1 is set: numba-cuda's simulator is not a GPU"
    return cuda_unavailable_reason()


def pmcx_skip_reason() -> str | None:
    """Why pmcx (MCX, CUDA) cannot run here, or None."""
    if reason := gpu_skip_reason():
        return reason
    try:
        import pmcx
    except ImportError:
        return "pmcx is not installed (pip install -e '.[bench]')"
    try:
        pmcx.gpuinfo()
    except RuntimeError as exc:
        return f"pmcx finds no CUDA GPU ({exc})"
    return None


def run_mcx(
    stack: Stack, voxel_mm: float, lateral_mm: float, photons: int, module: str = "pmcxcl"
) -> dict[str, Any]:
    """MCX through `module`: "pmcxcl" (OpenCL) or "pmcx" (CUDA); the same configuration and tallies."""
    mcx = importlib.import_module(module)
    volume, props = mcx_volume(stack, voxel_mm, lateral_mm)
    side = volume.shape[0]
    config = {
        "nphoton": photons, "vol": volume, "prop": props, "unitinmm": voxel_mm,
        "tstart": 0.0, "tend": 5e-9, "tstep": 5e-9, "srcpos": [side / 2, side / 2, 1], "srcdir": [0, 0, 1],
        "issrcfrom0": 1, "isreflect": 1, "issavedet": 1, "savedetflag": "dpx", "autopilot": 1,
        "detpos": [[side / 2, side / 2, 0, side]], "gpuid": 1,
    }  # fmt: skip
    start = time.perf_counter()
    result = mcx.run(config)
    wall_s = time.perf_counter() - start
    n_layers = len(stack.layers)
    paths_mm, exit_z = _detected_paths_and_exit_z(result["detp"], n_layers)
    paths_mm = paths_mm * voxel_mm
    weights = np.exp(-np.array([layer.mua_per_mm for layer in stack.layers]) @ paths_mm)
    top = exit_z < 1.5  # left through the tissue surface (z = 1 voxel), not the bottom or the sides
    rsp = ((stack.layers[0].n - stack.n_above) / (stack.layers[0].n + stack.n_above)) ** 2
    rd_after_specular = float(weights[top].sum() / photons)
    kernel_ms = float(result["stat"]["runtime"])
    return {
        "photons": photons,
        "photons_per_second": photons / (kernel_ms / 1000.0),
        "photons_per_second_wall": photons / wall_s,
        "diffuse_reflectance_mcx_convention": rd_after_specular,
        "diffuse_reflectance": rd_after_specular * (1.0 - rsp),
        "diffuse_reflectance_se": _per_photon_se(np.where(top, weights, 0.0), photons) * (1.0 - rsp),
        "voxel_mm": voxel_mm,
        "lateral_mm": lateral_mm,
    }


def _detected_paths_and_exit_z(detp: Any, n_layers: int) -> tuple[np.ndarray, np.ndarray]:
    """Partial paths [voxels] (layers x photons) and exit z [voxels] from MCX's savedetflag "dpx" output.

    run() returns the raw rows (detector id, one path length per medium, exit x, y, z); mcxlab() returns
    a dict ("ppath", "p"): accept both.
    """
    if isinstance(detp, dict):
        return np.asarray(detp["ppath"]).T, np.asarray(detp["p"])[:, 2]
    rows = np.asarray(detp)
    return rows[1 : 1 + n_layers], rows[1 + n_layers + 2]


def _per_photon_se(detected_weights: np.ndarray, photons: int) -> float:
    """SE of the mean weight per launched photon (undetected photons count as 0)."""
    mean = float(detected_weights.sum()) / photons
    mean_square = float((detected_weights**2).sum()) / photons
    return math.sqrt(max(0.0, mean_square - mean**2) / photons)


def _print_row(label: str, entry: dict[str, Any]) -> None:
    if "skipped" in entry:
        print(f"  {label:<15}: skipped: {entry['skipped']}")
        return
    rate, rd, se = entry["photons_per_second"], entry["diffuse_reflectance"], entry["diffuse_reflectance_se"]
    print(f"  {label:<15}: {rate:>13,.0f} photons/s   Rd {rd:.5f} +/- {se:.5f}")
    if "diffuse_reflectance_mcx_convention" in entry:
        print(f"  {'':<15}  (MCX's own Rd, after the specular reflection: "
              f"{entry['diffuse_reflectance_mcx_convention']:.5f})")  # fmt: skip


def _ratio(entries: dict[str, dict[str, Any]], faster: str, slower: str) -> float | None:
    if "photons_per_second" not in entries[faster] or "photons_per_second" not in entries[slower]:
        return None
    return float(entries[faster]["photons_per_second"] / entries[slower]["photons_per_second"])


def _print_problem(name: str, entries: dict[str, dict[str, Any]], ratios: dict[str, float | None]) -> None:
    print(f"\n{name}: against MCX (our CPU row: all threads, photons/s of the batches' wall time)")
    for label, entry in entries.items():
        _print_row(label, entry)
    for label, ratio in ratios.items():
        print(f"  {label:<30}: " + ("-" if ratio is None else f"{ratio:,.2f}x"))


def pmcxcl_skip_reason() -> str | None:
    """Why pmcxcl (MCX over OpenCL) cannot run here, or None."""
    try:
        importlib.import_module("pmcxcl")
    except ImportError:
        return "pmcxcl is not installed (pip install -e '.[bench]'; PoCL: Debian's pocl-opencl-icd)"
    return None


def run_cpu_rows(name: str, stack: Stack, scale: int, previous: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Our CPU backend (all threads) and pmcxcl; pmcxcl's last result is kept, marked, if it cannot run."""
    _, voxel_mm, lateral_mm, ours_n, mcx_n = PROBLEMS[name]
    reason = pmcxcl_skip_reason()
    if reason is None:
        mcx = run_mcx(stack, voxel_mm, lateral_mm, mcx_n // scale)
    elif "photons" in (earlier := previous.get("problems", {}).get(name, {}).get("pmcxcl", {})):
        mcx = earlier | {"carried_over": f"from an earlier run; not run now: {reason}"}
        print(f"pmcxcl {name}: not run now ({reason}); its last result is kept")
    else:
        mcx = {"skipped": reason}
    return {"laserdose": run_ours(stack, ours_n // scale), "pmcxcl": mcx}


def run_gpu_rows(name: str, stack: Stack, scale: int) -> dict[str, dict[str, Any]]:
    _, voxel_mm, lateral_mm, _, _ = PROBLEMS[name]
    photons = GPU_PHOTONS[name] // scale
    reason = gpu_skip_reason()
    cuda = {"skipped": reason} if reason else run_ours(stack, photons, backend="cuda")
    reason = pmcx_skip_reason()
    mcx = {"skipped": reason} if reason else run_mcx(stack, voxel_mm, lateral_mm, photons, module="pmcx")
    return {"laserdose_cuda": cuda, "pmcx": mcx}


def small_command_wall_s(repeats: int = 3) -> dict[str, float]:
    """Wall time of `laserdose simulate` with 1,000 photons as a whole command (target: under 1 s).

    The first run may compile or load numba's cache; the best of the following runs is the answer a
    user gets on a machine that has run laserdose before.
    """
    command = [laserdose_command(), "simulate", "--stack"]
    command += [str(HERE / "mcml_sample.json"), "--photons", "1000", "--json"]
    walls = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    return {
        "first_run_s": walls[0],
        "best_wall_s": min(walls[1:]),
        "target_s": 1.0,
        "load_average": load_average(),
    }


def cpu_report(report: dict[str, Any], scale: int, with_mcx: bool, previous: dict[str, Any]) -> None:
    """The one-core figures against MCML, then (unless with_mcx is False) the rows against pmcxcl."""
    fixed = command_fixed_costs(PROBLEMS["mcml_sample"][0])
    report["command_fixed_costs"] = fixed
    for name, (stack_file, *_) in PROBLEMS.items():
        stack = load_stack(stack_file)
        entry = report["problems"].setdefault(name, {})
        entry["one_core"] = one_core(name, stack, scale, fixed)
        _print_one_core(name, entry["one_core"])
    print(
        f"\ncommand start-up (10 photons, one thread): {fixed['startup_cpu_s']:.2f} s CPU "
        f"(load {fixed['startup_load_average']:.2f}); JIT compilation on a first run with an empty Numba "
        f"cache: {fixed['jit_compile_cpu_s']:.1f} s CPU more (load {fixed['jit_load_average']:.2f})"
    )
    if not with_mcx:
        return
    for name, (stack_file, *_) in PROBLEMS.items():
        entries = run_cpu_rows(name, load_stack(stack_file), scale, previous)
        ratio = _ratio(entries, "laserdose", "pmcxcl")
        report["problems"][name] |= entries | {"ratios": {"CPU backend / pmcxcl": ratio}}
        _print_problem(name, entries, {"CPU backend / pmcxcl (both on 2 cores)": ratio})


def gpu_report(report: dict[str, Any], scale: int) -> None:
    """Our CUDA backend against pmcx on the same GPU (each row skipped, with its reason, without one)."""
    if reason := gpu_skip_reason():
        print(f"\nGPU rows skipped: {reason}")
    for name, (stack_file, *_) in PROBLEMS.items():
        entries = run_gpu_rows(name, load_stack(stack_file), scale)
        ratios = {"CUDA backend / pmcx (same GPU)": _ratio(entries, "laserdose_cuda", "pmcx")}
        entry = report["problems"].setdefault(name, {})
        entry |= entries
        entry.setdefault("ratios", {}).update(ratios)
        if "skipped" not in entries["laserdose_cuda"] or "skipped" not in entries["pmcx"]:
            _print_problem(name, entries, ratios)


def keep_mcx_rows(report: dict[str, Any], previous: dict[str, Any]) -> None:
    """With --no-mcx: keep the last run's rows against pmcxcl (docs/validation.py reads them), marked."""
    for name, entry in previous.get("problems", {}).items():
        if "photons" not in entry.get("pmcxcl", {}) or name not in report["problems"]:
            continue
        kept = {key: entry[key] for key in ("laserdose", "pmcxcl", "ratios") if key in entry}
        note = "from an earlier run (this one had --no-mcx)"
        kept = {key: value | {"carried_over": value.get("carried_over", note)} for key, value in kept.items()}
        report["problems"][name] |= kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the photons")
    parser.add_argument("--gpu-only", action="store_true", help="only the GPU rows (CUDA backend, pmcx)")
    parser.add_argument("--no-mcx", action="store_true", help="only the one-core figures against MCML")
    parser.add_argument(
        "--fom-repeats", type=int, default=6, help="pooled repeats of the variance-reduction FOM; 0 skips it"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="JSON file (default transport_results.json, or "
        "transport_gpu_results.json with --gpu-only, which docs/validation.py does not read)",
    )
    args = parser.parse_args()
    if args.fom_repeats < 0:
        parser.error(f"--fom-repeats must be 0 or more, got {args.fom_repeats}")
    out = args.out or HERE / ("transport_gpu_results.json" if args.gpu_only else "transport_results.json")
    previous = json.loads(out.read_text()) if out.exists() else {}
    report: dict[str, Any] = {
        "mcml_photons_per_cpu_second": MCML_PHOTONS_PER_CPU_S,
        "mcml_photons": MCML_PHOTONS,
        "target_ratio": TARGET_RATIO,
        "machine": f"{os.cpu_count()} CPUs",
        "problems": {},
    }
    scale = 10 if args.quick else 1
    if not args.gpu_only:
        cpu_report(report, scale, with_mcx=not args.no_mcx, previous=previous)
        report["small_command"] = small = small_command_wall_s()
        print(
            f"\nlaserdose simulate, 1,000 photons, whole command, all threads: {small['best_wall_s']:.2f} s "
            f"wall (first run {small['first_run_s']:.2f} s; target < {small['target_s']:.0f} s; "
            f"load {small['load_average']:.2f})"
        )
        if args.fom_repeats > 0:
            print("\nvariance reduction, figure of merit of the broad-beam fluence (deep_fluence.py)")
            report["deep_fluence_fom"] = deep_fluence.measure(args.fom_repeats, scale)
    if args.no_mcx:
        keep_mcx_rows(report, previous)
    else:
        gpu_report(report, scale)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
