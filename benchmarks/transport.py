"""Throughput and agreement of our MCML engine against MCX: pmcxcl (OpenCL, CPU via PoCL) and pmcx (CUDA).

Runs the engines on the same problems in one run: MCML's 3-layer sample and a thick back model at
980 nm (stack files beside this script). CPU rows: our CPU backend and pmcxcl. GPU rows: our CUDA backend
and pmcx on the same GPU, with the same photon count; skipped, with the reason printed, where there is no
GPU. Prints photons/s, the ratios and the diffuse reflectances in one convention (ours, MCML's: fractions
of the incident power, Rsp excluded), and writes JSON.

MCX launches unit weight after the specular reflection [Fang2009], so its Rd is multiplied
by (1 - Rsp) here. It is voxelised; we rebuild each stack on its grid, one air voxel above the surface.
MCX detects every photon leaving the volume; those leaving through the top face are the diffuse
reflectance, weighted by exp(-sum mua_i L_i) over their partial path lengths.

Usage: LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libstdc++.so.6 python benchmarks/transport.py [--quick]
(the LD_PRELOAD lets PoCL build MCX's kernel here; `make bench` sets it). On a GPU machine:
pip install -e '.[dev,bench,cuda]'; python benchmarks/transport.py --gpu-only (docs/gpu.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.transport import Grid, PencilBeam, Stack, simulate
from laserdose.transport.backend import cuda_simulated, cuda_unavailable_reason

HERE = Path(__file__).parent
# MCML 1.2.2 (C, one thread) on the 2-core reference machine: ~128,000 photons/s (older build)
# [McmlSpeed2026].
MCML_C_PHOTONS_PER_S = 128_000

PROBLEMS = {
    # name: (stack file, MCX voxel [mm], lateral extent [mm], our photons, MCX photons)
    "mcml_sample": ("mcml_sample.json", 0.05, 20.0, 1_000_000, 100_000),
    "back_980nm": ("back_980nm.json", 0.25, 60.0, 100_000, 20_000),
}
# On a GPU both engines trace this many photons per problem (enough for seconds of kernel time).
GPU_PHOTONS = {"mcml_sample": 10_000_000, "back_980nm": 10_000_000}
GRID = Grid(0.1, 50, 0.1, 40)


def load_stack(name: str) -> Stack:
    data = json.loads((HERE / name).read_text())
    return Stack.from_json_dict(data)


def run_ours(stack: Stack, photons: int, backend: str = "cpu") -> dict[str, Any]:
    # Compile outside the timing (simulate also warms up; photons/s counts the batches only).
    simulate(stack, PencilBeam(), photons=1000, seed=1, grid=GRID, backend=backend)
    result = simulate(stack, PencilBeam(), photons=photons, seed=1, grid=GRID, backend=backend)
    return {
        "backend": backend,
        "photons": photons,
        "photons_per_second": result.photons_per_second,
        "specular_reflectance": result.specular_reflectance,
        "diffuse_reflectance": result.diffuse_reflectance,
        "diffuse_reflectance_se": result.diffuse_reflectance_se,
        "absorbed": result.absorbed,
    }


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
    print(f"\n{name}")
    for label, entry in entries.items():
        _print_row(label, entry)
    if "photons_per_second" in entries["laserdose"]:
        speed_vs_mcml = entries["laserdose"]["photons_per_second"] / MCML_C_PHOTONS_PER_S
        print(f"  {'':<15}  CPU backend: {speed_vs_mcml:.1f}x MCML (C, 1 thread, docs/references.md)")
    for label, ratio in ratios.items():
        print(f"  {label:<30}: " + ("-" if ratio is None else f"{ratio:,.2f}x"))


def run_cpu_rows(name: str, stack: Stack, scale: int) -> dict[str, dict[str, Any]]:
    _, voxel_mm, lateral_mm, ours_n, mcx_n = PROBLEMS[name]
    return {
        "laserdose": run_ours(stack, ours_n // scale),
        "pmcxcl": run_mcx(stack, voxel_mm, lateral_mm, mcx_n // scale),
    }


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
    command = [str(Path(sys.executable).with_name("laserdose")), "simulate", "--stack"]
    command += [str(HERE / "mcml_sample.json"), "--photons", "1000", "--json"]
    walls = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    return {"first_run_s": walls[0], "best_wall_s": min(walls[1:]), "target_s": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the photons")
    parser.add_argument("--gpu-only", action="store_true", help="only the GPU rows (CUDA backend, pmcx)")
    parser.add_argument(
        "--out",
        type=Path,
        help="JSON file (default transport_results.json, or "
        "transport_gpu_results.json with --gpu-only, which docs/validation.py does not read)",
    )
    args = parser.parse_args()
    out = args.out or HERE / ("transport_gpu_results.json" if args.gpu_only else "transport_results.json")
    report: dict[str, Any] = {"mcml_c_photons_per_second": MCML_C_PHOTONS_PER_S, "problems": {}}
    if reason := gpu_skip_reason():
        print(f"GPU rows skipped: {reason}")
    scale = 10 if args.quick else 1
    for name, (stack_file, *_) in PROBLEMS.items():
        stack = load_stack(stack_file)
        entries = {"laserdose": {"skipped": "--gpu-only"}, "pmcxcl": {"skipped": "--gpu-only"}}
        if not args.gpu_only:
            entries = run_cpu_rows(name, stack, scale)
        entries |= run_gpu_rows(name, stack, scale)
        ratios = {
            "CPU backend / pmcxcl": _ratio(entries, "laserdose", "pmcxcl"),
            "CUDA backend / pmcx (same GPU)": _ratio(entries, "laserdose_cuda", "pmcx"),
            "CUDA backend / CPU backend": _ratio(entries, "laserdose_cuda", "laserdose"),
        }
        report["problems"][name] = entries | {"speed_ratio": ratios["CPU backend / pmcxcl"], "ratios": ratios}
        _print_problem(name, entries, ratios)
    if not args.gpu_only:
        report["small_command"] = small = small_command_wall_s()
        print(
            f"\nlaserdose simulate, 1,000 photons, whole command: {small['best_wall_s']:.2f} s wall "
            f"(first run {small['first_run_s']:.2f} s; target < {small['target_s']:.0f} s)"
        )
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
