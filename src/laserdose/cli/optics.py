"""`laserdose optics`: tissue optical properties, a patient's back model, and spectra."""

from pathlib import Path
from typing import Annotated, Any

import typer

from laserdose.cli.options import JsonFlag, span
from laserdose.cli.output import print_json, print_table
from laserdose.domain.quantities import BMI, FAT_THICKNESS, SKIN_TYPE, WAVELENGTH
from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.optics.tissues import TISSUES, OpticalProperties, optical_properties, tissue_spectrum

app = typer.Typer(
    help="Tissue optics: optical properties, a patient's back model, spectra.", no_args_is_help=True
)


Tissue = Annotated[str, typer.Option("--tissue", help=f"Tissue: {', '.join(TISSUES)}.")]
SkinType = Annotated[
    int,
    typer.Option("--skin-type", help=f"Fitzpatrick skin type {span(SKIN_TYPE)} (sets epidermal melanin)."),
]
Wavelength = Annotated[float, typer.Option("--wavelength", help=f"Wavelength [nm], {span(WAVELENGTH)}.")]


def _properties_dict(props: OpticalProperties) -> dict[str, float]:
    return {"mua_per_mm": props.mua_per_mm, "mus_per_mm": props.mus_per_mm, "g": props.g, "n": props.n}


@app.command()
def tissue(
    tissue: Tissue,
    wavelength: Wavelength,
    skin_type: SkinType = 2,
    as_json: JsonFlag = False,
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
    skin_type: SkinType,
    wavelength: Wavelength,
    fat_mm: Annotated[
        float | None, typer.Option("--fat-mm", help=f"Measured subcutaneous fat, {span(FAT_THICKNESS)}.")
    ] = None,
    bmi: Annotated[
        float | None, typer.Option("--bmi", help=f"Body mass index, {span(BMI)} (fat estimated).")
    ] = None,
    as_json: JsonFlag = False,
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
    tissue: Tissue,
    start_nm: Annotated[
        float, typer.Option("--from", help=f"First wavelength [nm], {span(WAVELENGTH)}.")
    ] = WAVELENGTH.low,
    stop_nm: Annotated[
        float, typer.Option("--to", help=f"Last wavelength [nm], up to {WAVELENGTH.high:g}.")
    ] = WAVELENGTH.high,
    step_nm: Annotated[float, typer.Option("--step", help="Wavelength step [nm].")] = 10.0,
    skin_type: SkinType = 2,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a figure (PNG, PDF, SVG).")] = None,
    as_json: JsonFlag = False,
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
