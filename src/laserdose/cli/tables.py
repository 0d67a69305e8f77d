"""`laserdose tables build | precise | check`: the planning tables, built with the Monte Carlo engine.

`build` traces a fixed number of photons per entry; `precise` adds photons to each entry until its
standard error meets a target where the planner reads it (transport/precise_tables.py); `check` says
whether a table meets such a target and whether more fat can raise a target dose (planning/table_checks.py).
"""

import dataclasses
import functools
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json, progress_bar
from laserdose.domain.quantities import FAT_THICKNESS, SKIN_TYPE
from laserdose.errors import require_range
from laserdose.planning.table_checks import entry_precision, fat_order, structure_offsets_mm
from laserdose.planning.table_reads import read_depths_mm
from laserdose.transport.backend import MIN_STREAMS
from laserdose.transport.cluster import check_scheduler
from laserdose.transport.precise_tables import PreciseBuild, Precision, build_precise_table
from laserdose.transport.tables import (
    DEFAULT_FAT_MM,
    DEFAULT_SKIN_TYPES,
    DEFAULT_WAVELENGTHS_NM,
    TABLE_GRID,
    FluenceTable,
    build_table,
)

app = typer.Typer(help="Precomputed transport tables for planning.", no_args_is_help=True)


@app.command("build")
def build(
    out: Annotated[Path, typer.Option(help="Where to write the table (.npz).")] = Path("fluence_table.npz"),
    photons: Annotated[float, typer.Option(help="Photons per entry (wavelength x skin type x fat).")] = 2e5,
    seed: Annotated[int, typer.Option(help="Base seed; entry k uses seed + k.")] = 1,
    wavelength: Annotated[
        list[float] | None, typer.Option("--wavelength", help="Wavelength [nm]; repeat for several.")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Where entries run: omit for this process, 'local' for a LocalCluster, or a Dask "
            "scheduler address (tcp://HOST:8786). The table is the same bit for bit."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the fluence table over wavelength, skin type I-VI and fat thickness."""
    count = int(require_range("photons", photons, 1e3, 1e9))
    require_range("seed", seed, 0, 2**31 - 1)
    check_scheduler(scheduler)
    wavelengths = tuple(wavelength or DEFAULT_WAVELENGTHS_NM)
    start = time.perf_counter()
    if as_json:
        table = build_table(count, seed, wavelengths, scheduler=scheduler)
    else:
        with progress_bar() as bar:
            task = bar.add_task("Monte Carlo runs", total=None)
            table = build_table(
                count,
                seed,
                wavelengths,
                progress=lambda d, n: bar.update(task, completed=d, total=n),
                scheduler=scheduler,
            )
    elapsed_s = time.perf_counter() - start
    table.save(out)
    entries = int(table.factors[..., 0, 0].size)
    where = scheduler or "this process"
    if as_json:
        print_json(
            {
                "out": str(out),
                "entries": entries,
                "photons_per_entry": count,
                "scheduler": where,
                "seconds": round(elapsed_s, 2),
            }
        )
    else:
        typer.echo(f"wrote {entries} entries ({count} photons each) to {out} in {elapsed_s:.1f} s on {where}")


@app.command("precise")
def precise(
    out: Annotated[Path, typer.Option(help="Where to write the table (.npz).")] = Path("fluence_table.npz"),
    target_se: Annotated[
        float,
        typer.Option(help="Worst relative standard error allowed where the planner reads (0.02 = 2 %)."),
    ] = 0.02,
    to_depth: Annotated[
        float | None,
        typer.Option(
            help="Depth every entry must be precise to [mm]; omit for the depth the planner reads from each "
            "fat entry (planning/table_reads.py)."
        ),
    ] = None,
    first_photons: Annotated[float, typer.Option(help="Photons of each entry's first round.")] = 3.2e5,
    max_photons: Annotated[float, typer.Option(help="The most photons an entry may have (reported).")] = 1e8,
    batches: Annotated[
        int, typer.Option(help="Independent batches per entry, for the standard errors.")
    ] = 32,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="Folder for per-entry checkpoints: run again with it to resume an interrupted build."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Base seed; entry k uses seed + k.")] = 1,
    wavelength: Annotated[
        list[float] | None, typer.Option("--wavelength", help="Wavelength [nm]; repeat for several.")
    ] = None,
    skin_type: Annotated[
        list[int] | None, typer.Option("--skin-type", help="Skin type 1-6; repeat for several.")
    ] = None,
    fat: Annotated[
        list[float] | None, typer.Option("--fat", help="Fat thickness [mm]; repeat for several.")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="Kernel threads per entry, 1-16 (1 with --scheduler local); the same table."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Where entries run: omit for this process, 'local' or a Dask scheduler address."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the fluence table until every entry meets a standard-error target; print its cost."""
    check_scheduler(scheduler)
    require_range("seed", seed, 0, 2**31 - 1)
    if threads is not None:
        require_range("threads", threads, 1, MIN_STREAMS)
    precision = Precision(
        target_relative_se=target_se,
        to_depth_mm=to_depth if to_depth is not None else TABLE_GRID.nz * TABLE_GRID.dz_mm - 1.0,
        batches=batches,
        first_photons=int(require_range("first photons", first_photons, 1e3, 1e10)),
        max_photons=int(require_range("max photons", max_photons, 1e3, 1e10)),
    )
    fats = tuple(fat or DEFAULT_FAT_MM)
    reads = None if to_depth is not None else read_depths_mm(fats)
    run = functools.partial(
        build_precise_table, precision, seed, tuple(wavelength or DEFAULT_WAVELENGTHS_NM),
        tuple(SKIN_TYPE.check_whole(s) for s in skin_type or DEFAULT_SKIN_TYPES),
        tuple(FAT_THICKNESS.check(f) for f in fats), checkpoint=checkpoint, scheduler=scheduler,
        threads=threads, read_depths_mm=reads,
    )  # fmt: skip
    if as_json:
        built = run()
    else:
        with progress_bar() as bar:
            task = bar.add_task("passes to precision (all skin types of a wavelength and fat)", total=None)
            built = run(progress=lambda d, n: bar.update(task, completed=d, total=n))
    built.table.save(out)
    _report_precise(built, out, scheduler or "this process", as_json)


def _report_precise(built: PreciseBuild, out: Path, where: str, as_json: bool) -> None:
    worst = built.worst
    t = built.table
    iw, isk, ifat = np.unravel_index(worst.index, t.factors.shape[:3])
    capped = [o for o in built.outcomes if not o.reached]
    w = {
        "wavelength_nm": float(t.wavelengths_nm[iw]),
        "skin_type": int(t.skin_types[isk]),
        "fat_mm": float(t.fat_mm[ifat]),
        "relative_se": worst.worst_relative_se,
        "radius_mm": worst.worst_radius_mm,
        "depth_mm": worst.worst_depth_mm,
        "photons": worst.photons,
    }
    payload = {
        "out": str(out),
        "entries": len(built.outcomes),
        "photons": built.photons,
        "cpu_hours": round(built.cpu_hours, 4),
        "wall_seconds": round(built.wall_s, 2),
        "scheduler": where,
        "worst": w,
        "entries_at_cap": len(capped),
    }
    if as_json:
        print_json(payload)
        return
    typer.echo(
        f"wrote {payload['entries']} entries ({payload['photons']:.3g} photons) to {out}: "
        f"{payload['cpu_hours']:.3f} CPU hours, {built.wall_s:.1f} s on {where}"
    )
    typer.echo(
        f"worst relative SE {w['relative_se']:.2%} at {w['wavelength_nm']:g} nm, type {w['skin_type']}, "
        f"fat {w['fat_mm']:g} mm, R {w['radius_mm']:g} mm, depth {w['depth_mm']:g} mm"
    )
    if capped:
        typer.echo(f"{len(capped)} entries stopped at the photon cap before the target")


@app.command("check")
def check(
    table: Annotated[Path, typer.Argument(help="The fluence table (.npz) to check.")],
    target_se: Annotated[
        float, typer.Option(help="Worst relative standard error allowed where the planner reads.")
    ] = 0.02,
    as_json: JsonFlag = False,
) -> None:
    """Check a table where the planner reads it: its worst standard error, and that more fat lowers F.

    Exits 1 when the worst entry misses `--target-se` or a thicker fat can raise a nominal target fluence.
    """
    loaded = FluenceTable.load(table).with_exponential_tail()
    rows = entry_precision(loaded, read_depths_mm(tuple(float(f) for f in loaded.fat_mm)))
    worst = max(rows, key=lambda row: row.relative_se)
    order = fat_order(loaded, structure_offsets_mm())
    ok = worst.relative_se <= target_se and order.largest_per_mm < 0
    payload = {
        "table": str(table),
        "worst_entry": dataclasses.asdict(worst),
        "entries_over_target": sum(row.relative_se > target_se for row in rows),
        "fat_order": dataclasses.asdict(order),
        "passed": ok,
    }
    if as_json:
        print_json(payload)
    else:
        typer.echo(
            f"worst relative SE {worst.relative_se:.2%} (target {target_se:.0%}) at {worst.wavelength_nm:g} "
            f"nm, type {worst.skin_type}, fat {worst.fat_mm:g} mm, R {worst.radius_mm:g} mm, depth "
            f"{worst.depth_mm:g} mm; {payload['entries_over_target']} of {len(rows)} entries over the target"
        )
        typer.echo(
            f"largest d log F / d fat {order.largest_per_mm:+.4f} /mm ({order.where[0]}, {order.where[1]:g} "
            f"nm, type {order.where[2]}, fat {order.where[3]:g} mm, R {order.where[4]:g} mm): "
            + ("more fat always lowers the target fluence" if order.largest_per_mm < 0 else "NOT monotone")
            + f"; closest {order.standard_errors:.1f} SE from a reversal"
        )
    if not ok:
        raise typer.Exit(1)
