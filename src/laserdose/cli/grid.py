"""`laserdose grid`: one protocol planned on one machine for every skin type x BMI of a grid."""

from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag, SkinLimit
from laserdose.cli.output import print_json, print_table
from laserdose.clinical.protocols import get_protocol
from laserdose.domain.quantities import BMI, SKIN_TYPE, TREATMENT_AREA
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.planning.plan import DEFAULT_MODE, DEFAULT_SKIN_LIMIT_C, PlanSettings

DEFAULT_BMIS = "20,22.5,25,27.5,30,32.5,35,40"
# The region a clinic plans most (the acceptance region of the planner): types I-IV, BMI 20-35.
REGION_TYPES, REGION_BMI = (1, 2, 3, 4), (20.0, 35.0)
SHORT = {
    "skin temperature": "skin", "machine power": "machine", "surface dose": "surface", "irradiance": "irrad.",
    "session time": "session", "biphasic upper bound": "biphasic", "as published": "published",
}  # fmt: skip


def grid(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name, e.g. chronic-nonspecific-lbp.")],
    device: Annotated[str, typer.Option("--device", help="Shipped profile name or a profile .toml path.")],
    bmis: Annotated[str, typer.Option("--bmi", help="Comma-separated BMIs [kg/m2].")] = DEFAULT_BMIS,
    skin_types: Annotated[
        str, typer.Option("--skin-types", help="Comma-separated types 1-6.")
    ] = "1,2,3,4,5,6",
    area: Annotated[float, typer.Option("--area", help="Treatment area [cm2].")] = 150.0,
    template: Annotated[str | None, typer.Option("--template", help="Dose template id.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="equivalent-at-target or as-in-source.")] = DEFAULT_MODE,
    skin_limit: SkinLimit = DEFAULT_SKIN_LIMIT_C,
    as_json: JsonFlag = False,
) -> None:
    """Plan each skin type x BMI: equivalence, binding limit and peak skin temperature per cell."""
    from laserdose.planning.grid import fraction_in_band, plan_grid
    from laserdose.planning.physics import default_physics

    types = [SKIN_TYPE.check_whole(_number(v, "skin type")) for v in skin_types.split(",")]
    values = [BMI.check(_number(v, "BMI")) for v in bmis.split(",")]
    settings = PlanSettings(skin_limit_c=skin_limit, template=template, mode=mode)
    cells = plan_grid(
        get_protocol(protocol), load_profile(device), default_physics(), types, values,
        TREATMENT_AREA.check(area), settings,
    )  # fmt: skip
    region = [t for t in types if t in REGION_TYPES]
    share = fraction_in_band(cells, region, REGION_BMI) if region else None
    if as_json:
        data = {"protocol": protocol, "device": device, "area_cm2": area}
        print_json(
            data | {"cells": [c.to_dict() for c in cells], "fraction_in_band_types_1_4_bmi_20_35": share}
        )
        return
    rows = []
    for skin_type in types:
        row = [c for c in cells if c.skin_type == skin_type]
        rows.append(
            [str(skin_type), *(_cell(c.equivalence, c.binding_limit, c.peak_skin_temperature_c) for c in row)]
        )
    title = f"{protocol} on {device}, {area:g} cm2: equivalence / binding limit / peak skin C"
    print_table(title, ["type", *(f"BMI {b:g}" for b in values)], rows)
    if share is not None:
        typer.echo(f"inside the band, types I-IV with BMI 20-35: {share:.0%}")


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{name} must be a number, got {text.strip()!r}") from None


def _cell(equivalence: float, binding: str | None, peak_c: float) -> str:
    return f"{equivalence:.2f} / {SHORT.get(binding or '', '-')} / {peak_c:.1f}"
