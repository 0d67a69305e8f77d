"""`laserdose tables build`: the planning tables, built with the Monte Carlo engine."""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json
from laserdose.errors import require_range
from laserdose.transport.cluster import check_scheduler
from laserdose.transport.tables import DEFAULT_WAVELENGTHS_NM, build_table

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
        with Progress() as bar:
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
