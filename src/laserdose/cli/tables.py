"""`laserdose tables build`: the planning tables, built with the Monte Carlo engine."""

from pathlib import Path

import typer
from rich.progress import Progress

from laserdose.cli.output import print_json
from laserdose.errors import require_range
from laserdose.transport.tables import DEFAULT_WAVELENGTHS_NM, build_table

app = typer.Typer(help="Precomputed transport tables for planning.", no_args_is_help=True)


@app.command("build")
def build(
    out: Path = typer.Option(Path("fluence_table.npz"), help="Where to write the table (.npz)."),
    photons: float = typer.Option(2e5, help="Photons per entry (wavelength x skin type x fat thickness)."),
    seed: int = typer.Option(1, help="Base seed; entry k uses seed + k."),
    wavelength: list[float] = typer.Option(
        list(DEFAULT_WAVELENGTHS_NM), "--wavelength", help="Wavelengths [nm]; repeat the option for several."
    ),
    json: bool = typer.Option(False, "--json", help="Print a JSON summary and no progress bar."),
) -> None:
    """Build the fluence table over wavelength, skin type I-VI and fat thickness."""
    count = int(require_range("photons", photons, 1e3, 1e9))
    require_range("seed", seed, 0, 2**31 - 1)
    if json:
        table = build_table(count, seed, tuple(wavelength))
    else:
        with Progress() as bar:
            task = bar.add_task("Monte Carlo runs", total=None)
            table = build_table(
                count, seed, tuple(wavelength), progress=lambda d, n: bar.update(task, completed=d, total=n)
            )
    table.save(out)
    summary = {"out": str(out), "entries": int(table.factors[..., 0, 0].size), "photons_per_entry": count}
    if json:
        print_json(summary)
    else:
        typer.echo(f"wrote {summary['entries']} entries ({count} photons each) to {out}")
