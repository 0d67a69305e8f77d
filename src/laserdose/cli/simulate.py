"""`laserdose simulate`: Monte Carlo light transport in a layered stack (a thin shell over `simulate`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import console, print_json, print_table, progress_bar
from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.transport import Grid, Stack, TransportResult
from laserdose.transport import simulate as run_simulation
from laserdose.transport.geometry import beam_from_spec

BEAM_HELP = "pencil | flat:D_MM | gauss:D_1E2_MM | fibre:NA:STANDOFF_MM:CORE_MM."
PLAIN_BATCHES = 10
# The deep fluence's control variates need MIN_BATCHES_PER_CONTROL batches per control (transport/
# batch_stats.py): 36 controls in the back model at 810 nm, 44 at 980 nm; more batches cost ~0.5 ms each.
REDUCED_BATCHES = 1000
PHOTONS_PER_REDUCED_BATCH = 20


def simulate(
    stack: Annotated[
        Path | None,
        typer.Option("--stack", help="stack.json: n_above, n_below, layers (docs/guide/simulate.md)."),
    ] = None,
    skin_type: Annotated[
        int | None, typer.Option("--skin-type", help="Back model instead of --stack: Fitzpatrick 1-6.")
    ] = None,
    fat_mm: Annotated[float | None, typer.Option("--fat-mm", help="Back model: measured fat [mm].")] = None,
    bmi: Annotated[
        float | None, typer.Option("--bmi", help="Back model: BMI, when fat is not measured.")
    ] = None,
    wavelength: Annotated[
        float | None, typer.Option("--wavelength", help="Back model: wavelength [nm].")
    ] = None,
    photons: Annotated[str, typer.Option("--photons", help="Photon packets, e.g. 1e6.")] = "1e6",
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed and threads, same result.")] = 1,
    beam: Annotated[str, typer.Option("--beam", help=BEAM_HELP)] = "pencil",
    dr_mm: Annotated[
        float | None, typer.Option("--dr", help="Radial bin width [mm]; 0.1 for a stack, 1 for a back.")
    ] = None,
    nr: Annotated[int, typer.Option("--nr", help="Radial bins.")] = 100,
    dz_mm: Annotated[
        float | None, typer.Option("--dz", help="Depth bin height [mm]; 0.1 for a stack, 1 for a back.")
    ] = None,
    nz: Annotated[int, typer.Option("--nz", help="Depth bins.")] = 100,
    batches: Annotated[
        int | None,
        typer.Option(
            "--batches",
            help="Independent batches for standard errors; default 10, with variance reduction one per 20 "
            "photons up to 1,000 (what its control variates need).",
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", help="cpu | cuda (an NVIDIA GPU; pip install 'laserdose[cuda]').")
    ] = "cpu",
    as_json: JsonFlag = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write every array to this .npz file.")] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG of axial fluence vs depth.")
    ] = None,
    depths: Annotated[
        str | None,
        typer.Option(
            "--depths",
            help="Depths [mm], e.g. 10,20,30,45: add the broad-beam fluence / incident irradiance there.",
        ),
    ] = None,
    variance_reduction: Annotated[
        bool | None,
        typer.Option(
            "--variance-reduction/--no-variance-reduction",
            help="Split and roulette packets at depth (unbiased, cpu only); on by default with --depths.",
        ),
    ] = None,
) -> None:
    """Trace photons through a layered stack or a patient's back; print R, A and T per W of incident power."""
    layers = _stack(stack, skin_type, fat_mm, bmi, wavelength)
    # A back is tens of mm deep: 1 mm bins reach its targets (10-80 mm, docs/design.md); stack files are thin.
    default_bin_mm = 0.1 if stack is not None else 1.0
    grid = Grid(dr_mm=dr_mm or default_bin_mm, nr=nr, dz_mm=dz_mm or default_bin_mm, nz=nz)
    depth_list = _depths(depths, grid)
    count = _photon_count(photons)
    reduced = bool(depth_list) if variance_reduction is None else variance_reduction
    if batches is None:
        batches = (
            min(REDUCED_BATCHES, max(PLAIN_BATCHES, count // PHOTONS_PER_REDUCED_BATCH))
            if reduced
            else PLAIN_BATCHES
        )
    arguments: dict[str, Any] = {
        "grid": grid,
        "batches": batches,
        "backend": backend,
        "variance_reduction": reduced,
        # Planes below the deepest depth asked for would only add cost.
        "split_to_mm": min(max(depth_list) + 2 * grid.dz_mm, grid.nz * grid.dz_mm) if depth_list else None,
    }
    if as_json:
        result = run_simulation(layers, beam_from_spec(beam), count, seed, **arguments)
    else:
        counted = TextColumn("{task.completed:,.0f} photons")
        with progress_bar(TextColumn("tracing"), BarColumn(), counted, TimeRemainingColumn()) as bar:
            task = bar.add_task("trace", total=count)
            arguments["progress"] = lambda done, total: bar.update(task, completed=done)
            result = run_simulation(layers, beam_from_spec(beam), count, seed, **arguments)
    if out is not None:
        result.save_npz(out)
    if plot is not None:
        from laserdose.transport.plots import plot_centre_line_fluence

        plot_centre_line_fluence([(beam, result)], plot)
    at_depth = result.broad_beam_fluence(depth_list) if depth_list else []
    if as_json:
        payload = result.to_json_dict()
        if depth_list:
            payload["broad_beam_fluence"] = [entry.to_json_dict() for entry in at_depth]
        print_json(payload)
    else:
        _print_people(result)
        if at_depth:
            rows = [[entry.depth_mm, entry.ratio, entry.ratio_se] for entry in at_depth]
            print_table(
                "broad-beam fluence / incident irradiance", ["depth [mm]", "ratio", "std. error"], rows
            )


def _depths(text: str | None, grid: Grid) -> list[float]:
    """--depths as a list of mm, each within the grid's depth-bin centres (checked before tracing)."""
    if text is None:
        return []
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(
            f"--depths must be numbers in mm separated by commas, e.g. 10,20,30; got {text!r}"
        ) from None
    low, high = grid.dz_mm / 2, (grid.nz - 0.5) * grid.dz_mm
    for value in values:
        if not (math.isfinite(value) and low <= value <= high):
            raise InputError(
                f"--depths: each depth must be between {low:g} and {high:g} mm (the grid's depth-bin "
                f"centres; see --dz and --nz), got {value:g}"
            )
    return values


def _stack(
    path: Path | None,
    skin_type: int | None,
    fat_mm: float | None,
    bmi: float | None,
    wavelength: float | None,
) -> Stack:
    """The stack from --stack, or from the back-model options; exactly one of the two ways."""
    back_options = (skin_type, fat_mm, bmi, wavelength)
    if path is not None:
        if any(option is not None for option in back_options):
            raise InputError(
                "give either --stack or the back model (--skin-type, --fat-mm | --bmi, --wavelength)"
            )
        return Stack.from_json_dict(_read_json(path))
    if skin_type is None or wavelength is None:
        raise InputError(
            "give --stack, or --skin-type and --wavelength with --fat-mm or --bmi for a back model"
        )
    return Stack.from_layers(back_model(skin_type, wavelength, fat_mm=fat_mm, bmi=bmi).layers)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"cannot read stack file {str(path)!r}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"stack file {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None


def _photon_count(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--photons must be a number such as 1e6, got {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise InputError(f"--photons must be a whole number, got {text!r}")
    return int(value)


def _print_people(result: TransportResult) -> None:
    rows: list[list[Any]] = [
        ["specular reflectance", result.specular_reflectance, None],
        ["diffuse reflectance", result.diffuse_reflectance, result.diffuse_reflectance_se],
        ["absorbed", result.absorbed, result.absorbed_se],
        *(
            [f"  absorbed in layer {i + 1}", value, se]
            for i, (value, se) in enumerate(
                zip(result.absorbed_by_layer, result.absorbed_by_layer_se, strict=True)
            )
        ),
        ["transmittance", result.transmittance, result.transmittance_se],
    ]
    print_table(
        f"{result.photons:,} photons, fractions of incident power", ["quantity", "value", "std. error"], rows
    )
    console.print(f"{result.photons_per_second:,.0f} photons/s")
