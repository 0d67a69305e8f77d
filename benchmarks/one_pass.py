"""One pass for all six skin types against six passes: the cost of a fluence table entry to 2 %.

Skin types differ only in epidermal melanin, so a table build traces each wavelength and fat once and
scores all six types on the lightest type's paths (absorption sets, transport/tables.disk_fluences). For
a sample of (wavelength, fat), one round of `transport/precise_tables.py` (variance reduction on, one
thread, the depth the planner reads there) is run both ways in one process, one after the other:

- six passes: each skin type traced alone; CPU to reach 2 % = sum over types of CPU x (SE / 2 %)^2;
- one pass: all six scored together; CPU to reach 2 % = its CPU x (worst SE of the six / 2 %)^2, since
  a pass runs until its worst entry meets the target.

The SE of a mean falls as 1 / sqrt(photons), so each figure is what the adaptive build would spend from
there. Prints each type's worst relative SE over the read region both ways (what the reweighting adds
to a darker type's variance) and the ratio of the two CPU figures.

Usage: python benchmarks/one_pass.py [--photons 32000] [--batches 16]
writes benchmarks/results/one_pass.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from laserdose.planning.table_reads import read_depths_mm
from laserdose.transport.precise_tables import EntryTask, Precision, run_entries
from laserdose.transport.tables import DEFAULT_RADII_MM, DEFAULT_SKIN_TYPES, TableEntry

HERE = Path(__file__).parent
TARGET = 0.02
SAMPLE = ((810.0, 10.0), (980.0, 10.0), (810.0, 30.0), (650.0, 20.0))


def compare(wavelength_nm: float, fat_mm: float, photons: int, batches: int) -> dict[str, object]:
    """One round both ways for one wavelength and fat."""
    read_mm = read_depths_mm()[fat_mm]
    precision = Precision(TARGET, read_mm, batches, photons, photons)
    entries = [
        TableEntry(wavelength_nm, t, fat_mm, DEFAULT_RADII_MM, photons, 11 + t) for t in DEFAULT_SKIN_TYPES
    ]
    alone = [run_entries(EntryTask((k,), (entry,), precision, None, 1))[0] for k, entry in enumerate(entries)]
    together = run_entries(EntryTask(tuple(range(len(entries))), tuple(entries), precision, None, 1))
    separate_cpu_s = sum(o.cpu_s * (o.worst_relative_se / TARGET) ** 2 for o in alone)
    pass_cpu_s = sum(o.cpu_s for o in together)  # the pass's CPU, shared equally among its entries
    worst = max(o.worst_relative_se for o in together)
    one_pass_cpu_s = pass_cpu_s * (worst / TARGET) ** 2
    return {
        "wavelength_nm": wavelength_nm, "fat_mm": fat_mm, "read_depth_mm": read_mm, "photons": photons,
        "skin_types": list(DEFAULT_SKIN_TYPES),
        "worst_se_alone": [o.worst_relative_se for o in alone],
        "worst_se_in_one_pass": [o.worst_relative_se for o in together],
        "cpu_s_alone": [o.cpu_s for o in alone], "cpu_s_one_pass": pass_cpu_s,
        "cpu_s_to_target_six_passes": separate_cpu_s, "cpu_s_to_target_one_pass": one_pass_cpu_s,
        "gain": separate_cpu_s / one_pass_cpu_s,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photons", type=int, default=32_000)
    parser.add_argument("--batches", type=int, default=16)
    args = parser.parse_args()
    compare(810.0, 10.0, 16 * args.batches, args.batches)  # compile / load the kernel first
    rows = []
    for wavelength_nm, fat_mm in SAMPLE:
        row = compare(wavelength_nm, fat_mm, args.photons, args.batches)
        rows.append(row)
        se_alone = " ".join(f"{v:.3f}" for v in row["worst_se_alone"])  # type: ignore[union-attr]
        se_pass = " ".join(f"{v:.3f}" for v in row["worst_se_in_one_pass"])  # type: ignore[union-attr]
        print(
            f"{wavelength_nm:g} nm, fat {fat_mm:g} mm (read to {row['read_depth_mm']:.1f} mm): worst SE of "
            f"types I-VI alone {se_alone} | one pass {se_pass}; CPU s to 2 %: six passes "
            f"{row['cpu_s_to_target_six_passes']:.0f}, one pass {row['cpu_s_to_target_one_pass']:.0f}, "
            f"{row['gain']:.2f}x",
            flush=True,
        )  # fmt: skip
    out = {
        "machine": f"{platform.processor() or platform.machine()}, 2 shared cores, one thread per run",
        "measured_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "target_relative_se": TARGET, "batches": args.batches, "rows": rows,
    }  # fmt: skip
    (HERE / "results" / "one_pass.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
