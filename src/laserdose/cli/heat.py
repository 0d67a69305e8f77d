"""`laserdose heat`: skin and tissue temperature of an idealised case or a treatment."""

from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.thermal.report import plot_run
from laserdose.thermal.service import run_config_file

_SUMMARY_KEYS = (
    ("duration_s", "s"),
    ("center_surface_rise_k", "K"),
    ("peak_surface_rise_k", "K"),
    ("absorbed_fraction", "-"),
    ("baseline_surface_c", "C"),
    ("peak_skin_temperature_c", "C"),
    ("peak_basal_temperature_c", "C"),
    ("seconds_above_41c", "s"),
    ("seconds_above_43c", "s"),
    ("cem43_min", "min"),
    ("omega_max", "-"),
    ("wall_s", "s"),
)


def heat(
    config: Annotated[
        Path, typer.Option("--config", help="TOML case: [medium] (idealised) or [[layers]] (treatment).")
    ],
    as_json: JsonFlag = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG of the field and the temperatures.")
    ] = None,
) -> None:
    """Skin and tissue temperature (Pennes bioheat), thermal dose and damage of a laser case."""
    run = run_config_file(config)
    if plot is not None:
        plot_run(run.result, plot)
    if as_json:
        print_json(run.payload)
        return
    rows = [(key, run.payload[key], unit) for key, unit in _SUMMARY_KEYS if key in run.payload]
    rows.append(("grid", ", ".join(f"{k}={v}" for k, v in run.payload["grid"].items()), ""))
    print_table(f"heat: {config.name}", ("quantity", "value", "unit"), rows)
