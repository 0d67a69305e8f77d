"""Throughput and agreement of our MCML engine against pmcxcl (MCX over OpenCL, here on the CPU via PoCL).

Runs both engines on the same problems in one run: MCML's 3-layer sample and a thick back model at
980 nm (stack files beside this script). Prints photons/s, their ratio and the diffuse reflectances in
one convention (ours, MCML's: fractions of the incident power, Rsp excluded), and writes JSON.

MCX launches unit weight after the specular reflection (REFERENCES.md section 2), so its Rd is multiplied
by (1 - Rsp) here. It is voxelised; we rebuild each stack on its grid, one air voxel above the surface.
MCX detects every photon leaving the volume; those leaving through the top face are the diffuse
reflectance, weighted by exp(-sum mua_i L_i) over their partial path lengths.

Usage: LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libstdc++.so.6 python benchmarks/transport.py [--quick]
(the LD_PRELOAD lets PoCL build MCX's kernel here; `make bench` sets it).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.transport import Grid, PencilBeam, Stack, simulate

HERE = Path(__file__).parent
# MCML 1.2.2 (C, one thread) on the 2-core reference machine: ~128,000 photons/s (REFERENCES.md section 2).
MCML_C_PHOTONS_PER_S = 128_000

PROBLEMS = {
    # name: (stack file, MCX voxel [mm], lateral extent [mm], our photons, MCX photons)
    "mcml_sample": ("mcml_sample.json", 0.05, 20.0, 1_000_000, 100_000),
    "back_980nm": ("back_980nm.json", 0.25, 60.0, 100_000, 20_000),
}


def load_stack(name: str) -> Stack:
    data = json.loads((HERE / name).read_text())
    return Stack.from_json_dict(data)


def run_ours(stack: Stack, photons: int) -> dict[str, Any]:
    simulate(stack, PencilBeam(), photons=1000, seed=1)  # compile outside the timing
    result = simulate(stack, PencilBeam(), photons=photons, seed=1, grid=Grid(0.1, 50, 0.1, 40))
    return {
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


def run_mcx(stack: Stack, voxel_mm: float, lateral_mm: float, photons: int) -> dict[str, Any]:
    import pmcxcl

    volume, props = mcx_volume(stack, voxel_mm, lateral_mm)
    side = volume.shape[0]
    config = {
        "nphoton": photons, "vol": volume, "prop": props, "unitinmm": voxel_mm,
        "tstart": 0.0, "tend": 5e-9, "tstep": 5e-9, "srcpos": [side / 2, side / 2, 1], "srcdir": [0, 0, 1],
        "issrcfrom0": 1, "isreflect": 1, "issavedet": 1, "savedetflag": "dpx", "autopilot": 1,
        "detpos": [[side / 2, side / 2, 0, side]], "gpuid": 1,
    }  # fmt: skip
    start = time.perf_counter()
    result = pmcxcl.run(config)
    wall_s = time.perf_counter() - start
    detected = np.asarray(result["detp"])
    n_layers = len(stack.layers)
    paths_mm = detected[1 : 1 + n_layers] * voxel_mm
    weights = np.exp(-np.array([layer.mua_per_mm for layer in stack.layers]) @ paths_mm)
    exit_z = detected[1 + n_layers + 2]
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


def _per_photon_se(detected_weights: np.ndarray, photons: int) -> float:
    """SE of the mean weight per launched photon (undetected photons count as 0)."""
    mean = float(detected_weights.sum()) / photons
    mean_square = float((detected_weights**2).sum()) / photons
    return math.sqrt(max(0.0, mean_square - mean**2) / photons)


def _print_problem(name: str, ours: dict[str, Any], mcx: dict[str, Any], ratio: float) -> None:
    print(f"\n{name}")
    for label, entry in (("laserdose", ours), ("pmcxcl", mcx)):
        rate, rd, se = (
            entry["photons_per_second"],
            entry["diffuse_reflectance"],
            entry["diffuse_reflectance_se"],
        )
        print(f"  {label:<10}: {rate:>10,.0f} photons/s   Rd {rd:.5f} +/- {se:.5f}")
    print(f"  (MCX's own Rd, after the specular reflection: {mcx['diffuse_reflectance_mcx_convention']:.5f})")
    speed_vs_mcml = ours["photons_per_second"] / MCML_C_PHOTONS_PER_S
    print(f"  ratio     : {ratio:.1f}x pmcxcl; {speed_vs_mcml:.1f}x MCML (C, 1 thread, REFERENCES.md)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the photons")
    parser.add_argument("--out", type=Path, default=HERE / "transport_results.json")
    args = parser.parse_args()
    report: dict[str, Any] = {"mcml_c_photons_per_second": MCML_C_PHOTONS_PER_S, "problems": {}}
    for name, (stack_file, voxel_mm, lateral_mm, ours_n, mcx_n) in PROBLEMS.items():
        scale = 10 if args.quick else 1
        stack = load_stack(stack_file)
        ours = run_ours(stack, ours_n // scale)
        mcx = run_mcx(stack, voxel_mm, lateral_mm, mcx_n // scale)
        ratio = ours["photons_per_second"] / mcx["photons_per_second"]
        report["problems"][name] = {"laserdose": ours, "pmcxcl": mcx, "speed_ratio": ratio}
        _print_problem(name, ours, mcx, ratio)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
