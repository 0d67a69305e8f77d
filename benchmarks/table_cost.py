"""Cost of a fluence table built to 2 % relative SE: photons each entry needs, and CPU hours for all 210.

A pilot run (one round of `transport/precise_tables.py`, one skin type alone, variance reduction on, one
thread) of a sample of entries gives the worst relative standard error over the region the planner reads
from each entry (planning/table_reads.py) and over the 0-60 mm region; the SE of a mean falls as 1 /
sqrt(photons), so an entry needs about N_pilot (SE / 0.02)^2 photons. Photons per CPU-second come from the
same runs (time.process_time, compilation excluded by a warm-up run). Entries outside the sample are
estimated by interpolating log(photons) in fat thickness and, between skin types I and VI, in epidermal
melanin fraction (skin types differ only there). The adaptive build aims 20 % above the prediction
(batch_stats.AIM_MARGIN), so the build's cost is about 1.2 times the sum printed as "predicted", for
entries traced one by one; the build traces the six skin types of a wavelength and fat in one pass
(benchmarks/one_pass.py measures what that saves).

Caveat: a small pilot underestimates the variance of rare deep tallies more often than it overestimates
it (heavy-tailed scores), so deep, dark, 650 nm entries may need more than predicted; the build itself
keeps going until the measured SE meets the target, whatever this estimate said.

Usage: python benchmarks/table_cost.py [--photons 48000] [--batches 16] [--hard-photons 320000]
writes benchmarks/results/table_cost.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.optics.tissues import melanin_fraction
from laserdose.planning.table_reads import read_depths_mm
from laserdose.transport.batch_stats import worst_in
from laserdose.transport.precise_tables import EntryTask, Precision, read_region, run_entries
from laserdose.transport.tables import (
    DEFAULT_FAT_MM,
    DEFAULT_RADII_MM,
    DEFAULT_SKIN_TYPES,
    DEFAULT_WAVELENGTHS_NM,
    TableEntry,
    table_depths_mm,
)

HERE = Path(__file__).parent
TARGET = 0.02
SAMPLE_TYPES = (1, 6)
SAMPLE_FATS_MM = (2.0, 10.0, 20.0, 45.0)
HARD = ((650.0, 6, 45.0), (1064.0, 6, 45.0))


def pilot(wavelength_nm: float, skin_type: int, fat_mm: float, read_mm: float, photons: int, batches: int):
    """One round of an entry; photons needed for 2 % to 60 mm and to `read_mm`, and photons per CPU-s."""
    entry = TableEntry(wavelength_nm, skin_type, fat_mm, DEFAULT_RADII_MM, photons, 7)
    precision = Precision(TARGET, read_mm, batches, photons, photons)
    [outcome] = run_entries(EntryTask((0,), (entry,), precision, None, 1))
    row: dict[str, Any] = {
        "wavelength_nm": wavelength_nm, "skin_type": skin_type, "fat_mm": fat_mm, "read_depth_mm": read_mm,
        "photons": outcome.photons, "cpu_s": outcome.cpu_s,
        "photons_per_cpu_s": outcome.photons / outcome.cpu_s,
    }  # fmt: skip
    for name, depth in (("60mm", 60.0), ("read", read_mm)):
        region = read_region(table_depths_mm(), len(DEFAULT_RADII_MM), depth)
        worst = worst_in(outcome.factors, outcome.se, region)
        row[f"worst_se_{name}"] = worst.relative_se
        row[f"worst_at_{name}"] = [DEFAULT_RADII_MM[worst.index[0]], float(table_depths_mm()[worst.index[1]])]
        row[f"photons_needed_{name}"] = outcome.photons * (worst.relative_se / TARGET) ** 2
        row[f"cpu_s_needed_{name}"] = row[f"photons_needed_{name}"] / row["photons_per_cpu_s"]
    return row


def estimate_all(rows: list[dict[str, Any]], key: str) -> dict[tuple[float, int, float], float]:
    """`key` (photons or CPU-s) for every entry of the table, interpolated from the sample (docstring)."""
    sample = {(r["wavelength_nm"], r["skin_type"], r["fat_mm"]): r[key] for r in rows}
    m1, m6 = melanin_fraction(1), melanin_fraction(6)
    out = {}
    for w in DEFAULT_WAVELENGTHS_NM:
        by_type = {}
        for s in SAMPLE_TYPES:
            logs = np.log([sample[(w, s, f)] for f in SAMPLE_FATS_MM])
            by_type[s] = np.interp(DEFAULT_FAT_MM, SAMPLE_FATS_MM, logs)
        for s in DEFAULT_SKIN_TYPES:
            t = (melanin_fraction(s) - m1) / (m6 - m1)
            logs = (1 - t) * by_type[1] + t * by_type[6]
            for f, log_n in zip(DEFAULT_FAT_MM, logs, strict=True):
                out[(w, s, f)] = float(math.exp(log_n))
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Predicted photons and CPU hours for all entries, to 60 mm and to each entry's read depth."""
    summary = {}
    for name in ("60mm", "read"):
        photons = estimate_all(rows, f"photons_needed_{name}")
        cpu_s = estimate_all(rows, f"cpu_s_needed_{name}")
        largest = max(cpu_s.items(), key=lambda kv: kv[1])
        summary[name] = {
            "predicted_photons": sum(photons.values()),
            "predicted_cpu_hours": sum(cpu_s.values()) / 3600,
            "with_build_margin_cpu_hours": 1.2 * sum(cpu_s.values()) / 3600,
            "largest_entry": list(largest[0]),
            "largest_entry_cpu_hours": largest[1] / 3600,
            "largest_entry_photons": photons[largest[0]],
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photons", type=int, default=48_000)
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--hard-photons", type=int, default=320_000)
    parser.add_argument(
        "--fats", type=float, nargs="*", default=list(SAMPLE_FATS_MM), help="sample fats to run"
    )
    parser.add_argument("--no-hard", action="store_true", help="skip the two large pilots")
    parser.add_argument("--update", action="store_true", help="replace these rows in the existing JSON")
    args = parser.parse_args()
    path = HERE / "results" / "table_cost.json"
    old = json.loads(path.read_text()) if args.update else {"sample": [], "hard": []}
    reads = read_depths_mm()
    pilot(810.0, 3, 10.0, 30.0, 16 * args.batches, args.batches)  # compile / load the kernel first
    rows = []
    for w in DEFAULT_WAVELENGTHS_NM:
        for s in SAMPLE_TYPES:
            for f in args.fats:
                rows.append(pilot(w, s, f, reads[f], args.photons, args.batches))
                r = rows[-1]
                print(
                    f"{w:g} nm type {s} fat {f:g} mm (read to {reads[f]:.1f} mm): "
                    f"{r['photons_per_cpu_s']:.0f} photons/CPU-s; to 60 mm "
                    f"{r['photons_needed_60mm']:.3g}, to read depth {r['photons_needed_read']:.3g} photons",
                    flush=True,
                )  # fmt: skip
    hard = [] if args.no_hard else [pilot(w, s, f, reads[f], args.hard_photons, 32) for w, s, f in HARD]
    for r in hard:
        print(f"hard {r['wavelength_nm']:g} nm type {r['skin_type']} fat {r['fat_mm']:g}: {json.dumps(r)}")
    rows = _merged(old["sample"], rows)
    hard = _merged(old["hard"], hard)
    rate = sum(r["photons"] for r in rows + hard) / sum(r["cpu_s"] for r in rows + hard)
    summary = summarise(rows)
    for key, value in summary.items():
        print(f"{key}: {json.dumps(value)}")
    out = {
        "machine": f"{platform.processor() or platform.machine()}, 2 shared cores, one thread per run",
        "measured_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "photons_per_cpu_s": rate, "pilot_photons": args.photons, "pilot_batches": args.batches,
        "read_depths_mm": {str(k): v for k, v in reads.items()}, "sample": rows, "hard": hard,
        "summary": summary,
    }  # fmt: skip
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=1))


def _merged(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`old` rows with those of the same entry replaced by `new` ones (each row says when it was run)."""
    stamp = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
    for row in new:
        row["run_at"] = stamp
    key = lambda r: (r["wavelength_nm"], r["skin_type"], r["fat_mm"])  # noqa: E731
    fresh = {key(r) for r in new}
    return [r for r in old if key(r) not in fresh] + new


if __name__ == "__main__":
    main()
