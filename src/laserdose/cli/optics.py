"""`laserdose optics`: tissue optical properties, a patient's back model, and spectra."""

from pathlib import Path
from typing import Annotated, Any

import typer

from laserdose.cli.output import print_json, print_table
from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.optics.tissues import TISSUES, OpticalProperties, optical_properties, tissue_spectrum

app = typer.Typer(
    help="Tissue optics: optical properties, a patient's back model, spectra.", no_args_is_help=True
)

_TISSUE_HELP = f"Tissue: {', '.join(TISSUES)}."
_SKIN_HELP = "Fitzpatrick skin type 1-6 (sets epidermal melanin)."
_WAVELENGTH_HELP = "Wavelength [nm], 600-1100."


def _properties_dict(props: OpticalProperties) -> dict[str, float]:
    return {"mua_per_mm": props.mua_per_mm, "mus_per_mm": props.mus_per_mm, "g": props.g, "n": props.n}


@app.command()
def tissue(
    tissue: str = typer.Option(..., "--tissue", help=_TISSUE_HELP),
    wavelength: float = typer.Option(..., "--wavelength", help=_WAVELENGTH_HELP),
    skin_type: int = typer.Option(2, "--skin-type", help=_SKIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Optical properties (mua, mus, g, n) of one tissue at one wavelength."""
    props = optical_properties(tissue, wavelength, skin_type)
    payload: dict[str, Any] = {"tissue": tissue, "wavelength_nm": wavelength, **_properties_dict(props)}
    if as_json:
        print_json(payload)
        return
    print_table(
        f"{tissue} at {wavelength:g} nm (skin type {skin_type})",
        ["mua [1/mm]", "mus [1/mm]", "mus' [1/mm]", "g", "n"],
        [[props.mua_per_mm, props.mus_per_mm, props.musp_per_mm, props.g, props.n]],
    )


@app.command()
def back(
    skin_type: int = typer.Option(..., "--skin-type", help=_SKIN_HELP),
    wavelength: float = typer.Option(..., "--wavelength", help=_WAVELENGTH_HELP),
    fat_mm: float | None = typer.Option(None, "--fat-mm", help="Measured subcutaneous fat [mm], 2-45."),
    bmi: float | None = typer.Option(None, "--bmi", help="Body mass index [kg/m2], 18-50 (fat estimated)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Layered model of a patient's lower back and the depths of the treatment targets."""
    if (fat_mm is None) == (bmi is None):
        raise InputError("give exactly one of --fat-mm (measured subcutaneous fat, mm) or --bmi (kg/m2)")
    model = back_model(skin_type, wavelength, fat_mm=fat_mm, bmi=bmi)
    if as_json:
        print_json(model.to_dict())
        return
    source = "measured" if fat_mm is not None else f"from BMI {bmi:g}"
    print_table(
        f"Back, skin type {skin_type}, fat {model.fat_mm:.1f} mm ({source}), {wavelength:g} nm",
        ["layer", "thickness [mm]", "mua [1/mm]", "mus [1/mm]", "g", "n"],
        [[lay.name, lay.thickness_mm, lay.mua_per_mm, lay.mus_per_mm, lay.g, lay.n] for lay in model.layers],
    )
    print_table(
        "Target depths",
        ["target", "depth [mm]", "SD [mm]"],
        [[name, t.depth_mm, t.sd_mm] for name, t in model.targets.items()],
    )


@app.command()
def spectrum(
    tissue: str = typer.Option(..., "--tissue", help=_TISSUE_HELP),
    start_nm: float = typer.Option(600.0, "--from", help="First wavelength [nm], 600-1100."),
    stop_nm: float = typer.Option(1100.0, "--to", help="Last wavelength [nm], up to 1100."),
    step_nm: float = typer.Option(10.0, "--step", help="Wavelength step [nm]."),
    skin_type: int = typer.Option(2, "--skin-type", help=_SKIN_HELP),
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a figure (PNG, PDF, SVG).")] = None,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Optical properties of a tissue across a wavelength range: a table, JSON or a figure."""
    if plot is not None and not plot.parent.is_dir():
        raise InputError(f"cannot write plot {plot}: folder {plot.parent} does not exist")
    points = tissue_spectrum(tissue, start_nm, stop_nm, step_nm, skin_type)
    if plot is not None:
        from laserdose.optics.plots import save_spectrum_plot  # matplotlib only when asked

        save_spectrum_plot(tissue, points, plot)
        typer.echo(f"wrote {plot}")
    elif as_json:
        rows = [{"wavelength_nm": nm, **_properties_dict(p)} for nm, p in points]
        print_json({"tissue": tissue, "skin_type": skin_type, "points": rows})
    else:
        print_table(
            f"{tissue} spectrum (skin type {skin_type})",
            ["nm", "mua [1/mm]", "mus [1/mm]", "mus' [1/mm]", "g", "n"],
            [[nm, p.mua_per_mm, p.mus_per_mm, p.musp_per_mm, p.g, p.n] for nm, p in points],
        )
