"""`laserdose protocols list|show`: the treatment protocols (shipped, plus a clinic's own directory)."""

from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.clinical.protocols import ENV_DIR, Protocol, get_protocol, load_protocols

app = typer.Typer(
    help="Treatment protocols: targets, dose windows, surface dose, course.", no_args_is_help=True
)

_DIR_HELP = f"Directory of protocol TOML files that add or override (also ${ENV_DIR})."
_DirOption = Annotated[Path | None, typer.Option("--dir", help=_DIR_HELP)]


def _range(values: tuple[float, float]) -> str:
    return f"{values[0]:g}-{values[1]:g}"


@app.command("list")
def list_protocols(
    directory: _DirOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List every protocol with its targets, windows and course."""
    protocols = sorted(load_protocols(directory).values(), key=lambda p: p.name)
    if as_json:
        print_json({"protocols": [p.to_dict() for p in protocols]})
        return
    rows = [_summary_row(p) for p in protocols]
    columns = ["name", "targets", "window", "skin", "sessions", "/week", "referral"]
    print_table("Treatment protocols (doses in J/cm2)", columns, rows)


def _summary_row(protocol: Protocol) -> tuple[object, ...]:
    targets = " ".join(t.structure for t in protocol.targets)
    window = _range(protocol.primary_target.window_j_per_cm2)
    surface = _range(protocol.surface_dose_j_per_cm2)
    referral = "first" if protocol.referral_first else "-"
    return (
        protocol.name,
        targets,
        window,
        surface,
        protocol.course.sessions,
        protocol.course.per_week,
        referral,
    )


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Protocol name, e.g. chronic-nonspecific-lbp.")],
    directory: _DirOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one protocol in full, with its evidence notes and sources."""
    protocol = get_protocol(name, directory)
    if as_json:
        print_json(protocol.to_dict())
        return
    typer.echo(f"{protocol.name}: {protocol.title} (diagnosis {protocol.diagnosis})")
    if protocol.referral_first:
        typer.echo("Referral first: medical opinion before any laser; laser only as an adjunct.")
    typer.echo(f"Surface dose: {_range(protocol.surface_dose_j_per_cm2)} J/cm2")
    typer.echo(f"Course: {protocol.course.sessions} sessions, {protocol.course.per_week} per week")
    rows = [(t.structure, _range(t.window_j_per_cm2), t.why, t.window_basis) for t in protocol.targets]
    print_table("Targets (first = primary)", ["structure", "window J/cm2", "why", "window basis"], rows)
    for note in protocol.notes:
        typer.echo(f"- {note}")
    typer.echo("Sources: " + "; ".join(protocol.sources))
    typer.echo(f"File: {protocol.origin}")
