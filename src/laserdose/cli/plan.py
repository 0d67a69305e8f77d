"""`laserdose plan`: screen a patient and plan the treatment for a condition on a machine."""

from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.output import print_json, print_table
from laserdose.clinical.patient import Patient, load_patient
from laserdose.clinical.protocols import get_protocol
from laserdose.errors import require_range
from laserdose.machines.profile import load_profile
from laserdose.planning.physics import default_physics
from laserdose.planning.plan import (
    DEFAULT_SCAN_SPEED_MM_PER_S,
    DEFAULT_SKIN_LIMIT_C,
    Plan,
    PlanSettings,
    make_plan,
)
from laserdose.planning.report import plan_rows, write_plan_report
from laserdose.planning.verify import verify_plan


def plan(
    patient: Annotated[Path, typer.Option("--patient", help="patient.toml (skin type, BMI or fat, area).")],
    condition: Annotated[
        str, typer.Option("--condition", help="Protocol name, e.g. chronic-nonspecific-lbp.")
    ],
    device: Annotated[str, typer.Option("--device", help="Shipped profile name or a profile .toml path.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write the plan report (PDF).")] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Re-simulate the plan with full Monte Carlo and heat (minutes).")
    ] = False,
    skin_limit: Annotated[
        float, typer.Option(help="Highest allowed skin temperature [C].")
    ] = DEFAULT_SKIN_LIMIT_C,
    scan_speed: Annotated[
        float, typer.Option(help="Hand scanning speed [mm/s].")
    ] = DEFAULT_SCAN_SPEED_MM_PER_S,
    photons: Annotated[float, typer.Option(help="Photons per wavelength for --verify.")] = 2e5,
    seed: Annotated[int, typer.Option(help="Seed for --verify.")] = 1,
) -> None:
    """Screen, then choose wavelengths, powers, handpiece and time that put the target in its window."""
    settings = PlanSettings(
        skin_limit_c=require_range("skin limit", skin_limit, 37.0, 45.0, "C"),
        scan_speed_mm_per_s=require_range("scan speed", scan_speed, 5.0, 200.0, "mm/s"),
    )
    count = int(require_range("photons", photons, 1e3, 1e8))
    person = load_patient(patient)
    physics = default_physics()
    result = make_plan(person, get_protocol(condition), load_profile(device), physics, settings)
    payload = result.to_json_dict()
    if verify and result.outcome is not None:
        payload["verification"] = verify_plan(result, person, count, seed).to_dict()
    if report is not None:
        write_plan_report(report, result, person, physics)
    if as_json:
        print_json(payload)
    else:
        _print_plan(result, person, payload.get("verification"))
        if report is not None:
            typer.echo(f"wrote the plan report to {report}")


def _print_plan(plan: Plan, patient: Patient, verification: dict[str, float] | None) -> None:
    """The plan as the report's table, with the re-simulation beside it when there is one."""
    rows = plan_rows(plan, patient)
    if verification is not None:
        rows += [("verified", key, f"{value:.4g}") for key, value in verification.items()]
    print_table("Plan", ["section", "item", "value"], rows)
