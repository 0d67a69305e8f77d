"""Figure of merit of variance reduction for deep fluence: the same engine with it on and off, one run.

For the back model (skin type III, BMI 27) at 810 and 980 nm, traces a pencil beam with variance
reduction off and on (weight windows at importance planes [Booth1985]), one after the other in the same
process and on one thread, so both arms see the same machine load, and reports for the broad-beam
fluence at 10, 30 and 45 mm:

    FOM = 1 / (relative variance x CPU seconds),  relative variance = (SE / value)^2,

the FOM ratio (on / off) and the agreement of the two values in combined standard errors. CPU seconds
are the process's CPU time for the run (time.process_time), compilation excluded. The SEs come from
independent batches: 50 for the plain arm, 1,000 for the variance-reduced one, whose broad-beam fluence
is corrected by its control variates (they need 10 batches per control; the extra batches' overhead
counts against it). One run's FOM carries up to ~20 % sampling error of its own (more at 45 mm, where the
plain run's tally is heavy-tailed); each arm is therefore repeated with independent seeds (--repeats,
default 6) and the repeats pooled as one run: the mean of their values, SE sqrt(sum SE^2) / n and the sum
of their CPU seconds. The FOM ratio of each repeat is reported too, to show the spread.

Targets: FOM ratio >= 30 at 45 mm, >= 10 at 30 mm, >= 0.8 at 10 mm; agreement within 4 combined SE.

Usage: python benchmarks/deep_fluence.py [--quick] [--repeats N]; writes benchmarks/results/deep_fluence.json.
benchmarks/transport.py prints the same table (`measure`) after its speed figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

from laserdose.optics.back import back_model
from laserdose.transport import Grid, PencilBeam, Stack, simulate

HERE = Path(__file__).parent
DEPTHS_MM = [10.0, 30.0, 45.0]
TARGETS = {10.0: 0.8, 30.0: 10.0, 45.0: 30.0}
WAVELENGTHS_NM = [810.0, 980.0]
GRID = Grid(dr_mm=1.0, nr=100, dz_mm=1.0, nz=60)
# As `laserdose simulate --depths 10,30,45` does: planes down to two bins below the deepest depth.
SPLIT_TO_MM = 47.0
BATCHES = {"off": 50, "on": 1000}  # independent batches per run, by arm
PHOTONS = {"off": 200_000, "on": 50_000}
# Independent seeds: repeat k runs the plain arm with OFF_SEED + k, the variance-reduced one with
# ON_SEED + k.
OFF_SEED = 11
ON_SEED = 1011


def run_arm(stack: Stack, photons: int, variance_reduction: bool, seed: int) -> dict[str, Any]:
    """One run; its CPU seconds and the broad-beam fluence with SE and FOM at each depth."""
    start = time.process_time()
    result = simulate(
        stack, PencilBeam(), photons, seed, GRID, threads=1,
        batches=BATCHES["on" if variance_reduction else "off"],
        variance_reduction=variance_reduction, split_to_mm=SPLIT_TO_MM,
    )  # fmt: skip
    cpu_s = time.process_time() - start
    depths = []
    for entry in result.broad_beam_fluence(DEPTHS_MM):
        relative_variance = (entry.ratio_se / entry.ratio) ** 2
        depths.append(entry.to_json_dict() | {"fom": 1.0 / (relative_variance * cpu_s)})
    return {"photons": photons, "cpu_s": cpu_s, "depths": depths}


def pool(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Independent runs of one arm as one run: mean value, SE sqrt(sum SE^2) / n, summed CPU seconds."""
    n = len(runs)
    cpu_s = sum(run["cpu_s"] for run in runs)
    depths = []
    for entries in zip(*(run["depths"] for run in runs), strict=True):
        ratio = sum(entry["ratio"] for entry in entries) / n
        ratio_se = math.sqrt(sum(entry["ratio_se"] ** 2 for entry in entries)) / n
        depths.append({
            "depth_mm": entries[0]["depth_mm"], "ratio": ratio, "ratio_se": ratio_se,
            "fom": 1.0 / ((ratio_se / ratio) ** 2 * cpu_s),
        })  # fmt: skip
    return {"photons": sum(run["photons"] for run in runs), "cpu_s": cpu_s, "depths": depths}


def compare(off: dict[str, Any], on: dict[str, Any]) -> list[dict[str, Any]]:
    """FOM ratio (on / off), its target, and the two values' difference in combined SE, depth by depth."""
    rows = []
    for a, b in zip(off["depths"], on["depths"], strict=True):
        combined_se = math.hypot(a["ratio_se"], b["ratio_se"])
        ratio = b["fom"] / a["fom"]
        target = TARGETS[a["depth_mm"]]
        rows.append({
            "depth_mm": a["depth_mm"], "fom_ratio": ratio, "target": target, "met": ratio >= target,
            "difference_in_combined_se": abs(a["ratio"] - b["ratio"]) / combined_se,
        })  # fmt: skip
    return rows


def measure(repeats: int, scale: int = 1) -> dict[str, Any]:
    """Both arms at both wavelengths, `repeats` times; prints each wavelength's table, returns the report."""
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}; one thread per arm",
        "grid": {"dr_mm": GRID.dr_mm, "nr": GRID.nr, "dz_mm": GRID.dz_mm, "nz": GRID.nz},
        "split_to_mm": SPLIT_TO_MM, "batches": BATCHES, "repeats": repeats,
        "load_average_1min_at_start": os.getloadavg()[0], "wavelengths": {},
    }  # fmt: skip
    for wavelength in WAVELENGTHS_NM:
        stack = Stack.from_layers(back_model(3, wavelength, bmi=27).layers)
        simulate(stack, PencilBeam(), 200, 1, GRID, threads=1, variance_reduction=True)  # compile
        runs = [
            (run_arm(stack, PHOTONS["off"] // scale, False, OFF_SEED + k),
             run_arm(stack, PHOTONS["on"] // scale, True, ON_SEED + k))
            for k in range(repeats)
        ]  # fmt: skip
        off, on = pool([a for a, _ in runs]), pool([b for _, b in runs])
        rows = compare(off, on)
        for k, row in enumerate(rows):
            row["fom_ratio_by_repeat"] = [compare(a, b)[k]["fom_ratio"] for a, b in runs]
        report["wavelengths"][f"{wavelength:g}"] = {
            "off": off, "on": on, "comparison": rows,
            "repeats": [{"off": a, "on": b} for a, b in runs],
        }  # fmt: skip
        print(f"\nback model, skin type III, BMI 27, {wavelength:g} nm "
              f"(pooled over {repeats} repeats; off: {off['photons']:,} photons "
              f"{off['cpu_s']:.1f} CPU s; on: {on['photons']:,} photons "
              f"{on['cpu_s']:.1f} CPU s)")  # fmt: skip
        print(f"  {'depth':>6} {'ratio off':>22} {'ratio on':>22} {'FOM off':>9} {'FOM on':>9} "
              f"{'FOM x':>7} {'target':>7} {'|diff|/SE':>9}")  # fmt: skip
        for a, b, row in zip(off["depths"], on["depths"], rows, strict=True):
            print(f"  {a['depth_mm']:>4g}mm {a['ratio']:>11.4g} +/- {a['ratio_se']:<7.2g} "
                  f"{b['ratio']:>11.4g} +/- {b['ratio_se']:<7.2g} {a['fom']:>9.3g} {b['fom']:>9.3g} "
                  f"{row['fom_ratio']:>7.2f} {'>=' + format(row['target'], 'g'):>7} "
                  f"{row['difference_in_combined_se']:>9.2f}  repeats "
                  + " ".join(f"{x:.2f}" for x in row["fom_ratio_by_repeat"]))  # fmt: skip
    report["load_average_1min_at_end"] = os.getloadavg()[0]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the photons")
    parser.add_argument("--repeats", type=int, default=6, help="independent runs pooled per arm")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "deep_fluence.json")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    report = measure(args.repeats, 10 if args.quick else 1)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
