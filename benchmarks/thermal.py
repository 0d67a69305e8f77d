"""Benchmark: a 10-minute scanned Class 4 treatment over 10 x 15 cm (the target: under 60 s on 2 cores).

10 W at 810 nm (analytic kernel: Gaussian 1/e radius 15 mm, mu_eff 0.25/mm, 60 % absorbed), zig-zag at
50 mm/s with 15 mm line spacing, skin 2 mm / fat 8 mm / muscle, convective surface, core at 30 mm.
Prints the wall time, the grid and the peak temperatures, then one JSON line. No peer program exists for
this, so it is timed alone.
"""

import json
import os
import sys
import time
from pathlib import Path

from laserdose.thermal.config import load_toml
from laserdose.thermal.service import run_config

CASE = Path(__file__).resolve().parents[1] / "tests" / "thermal" / "cases" / "treatment_scanned.toml"
LIMIT_S = 60.0


def main() -> int:
    config = load_toml(CASE)
    config["time"]["duration_s"] = 600.0
    started = time.perf_counter()
    run = run_config(config)
    wall = time.perf_counter() - started
    grid = run.payload["grid"]
    cells = grid["nx"] * grid["ny"] * grid["nz"]
    steps = round(run.payload["duration_s"] / grid["dt_s"])
    print(f"thermal benchmark: 600 s scanned treatment over 100 x 150 mm, {os.cpu_count()} CPUs visible")
    print(
        f"  grid {grid['nx']} x {grid['ny']} x {grid['nz']} = {cells} cells, dx {grid['dx_mm']} mm, "
        f"dt {grid['dt_s']} s, {steps} steps"
    )
    print(f"  wall time {wall:.1f} s (solver {run.payload['wall_s']:.1f} s), limit {LIMIT_S:.0f} s")
    print(
        f"  peak skin {run.payload['peak_skin_temperature_c']:.2f} C, "
        f"peak basal {run.payload['peak_basal_temperature_c']:.2f} C, "
        f"baseline surface {run.payload['baseline_surface_c']:.2f} C"
    )
    summary = {
        "benchmark": "thermal-scanned-600s",
        "wall_s": wall,
        "cells": cells,
        "steps": steps,
        "limit_s": LIMIT_S,
        "grid": grid,
    }
    print(json.dumps(summary))
    return 0 if wall < LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main())
