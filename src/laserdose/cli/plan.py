"""`laserdose plan`: screen a patient and plan the treatment for a condition on a machine."""

from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag, SkinLimit
from laserdose.cli.output import print_json, print_table
from laserdose.clinical.patient import Patient, load_patient
from laserdose.clinical.protocols import get_protocol
from laserdose.domain.plan import Refusal, TreatmentPlan, plan_json, plan_schema
from laserdose.errors import InputError, require_range
from laserdose.machines.profile import DeviceProfile, load_profile
from laserdose.planning.plan import (
    DEFAULT_MODE,
    DEFAULT_SCAN_SPEED_MM_PER_S,
    DEFAULT_SKIN_LIMIT_C,
    PlanSettings,
    make_plan,
)


def plan(
    patient: Annotated[
        Path | None, typer.Option("--patient", help="patient.toml (skin type, BMI or fat, area).")
    ] = None,
    condition: Annotated[
        str | None, typer.Option("--condition", help="Protocol name, e.g. chronic-nonspecific-lbp.")
    ] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="Shipped profile name or a profile .toml path.")
    ] = None,
    as_json: JsonFlag = False,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the plan document's JSON Schema and exit.")
    ] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write the plan report (PDF).")] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Re-simulate the plan with full Monte Carlo and heat (minutes).")
    ] = False,
    skin_limit: SkinLimit = DEFAULT_SKIN_LIMIT_C,
    scan_speed: Annotated[
        float, typer.Option(help="Hand scanning speed [mm/s].")
    ] = DEFAULT_SCAN_SPEED_MM_PER_S,
    template: Annotated[
        str | None, typer.Option("--template", help="Dose template id (default: the protocol's).")
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="equivalent-at-target or as-in-source.")] = DEFAULT_MODE,
    photons: Annotated[float, typer.Option(help="Photons per wavelength for --verify.")] = 2e5,
    seed: Annotated[int, typer.Option(help="Seed for --verify.")] = 1,
) -> None:
    """Screen, then choose wavelengths, powers, handpiece and time that give the template's target dose."""
    if schema:
        print_json(plan_schema())
        return
    if patient is None or condition is None or device is None:
        raise InputError("plan needs --patient, --condition and --device (or --schema alone)")
    settings = PlanSettings(
        skin_limit_c=skin_limit,
        scan_speed_mm_per_s=require_range("scan speed", scan_speed, 5.0, 200.0, "mm/s"),
        template=template,
        mode=mode,
    )
    count = int(require_range("photons", photons, 1e3, 1e8))
    # Imported here: the physics, the report (matplotlib) and the re-simulation load only when a plan is
    # made, not on every start of the CLI.
    from laserdose.planning.physics import default_physics
    from laserdose.planning.report import write_plan_report
    from laserdose.planning.verify import verify_plan

    person = load_patient(patient)
    physics = default_physics()
    protocol, machine = get_protocol(condition), load_profile(device)
    result = make_plan(person, protocol, machine, physics, settings)
    payload = plan_json(result)
    if verify and isinstance(result, TreatmentPlan):
        chosen = protocol.template(settings.template)
        payload["verification"] = verify_plan(result, person, machine, count, seed, chosen).to_dict()
    if report is not None:
        write_plan_report(report, result, person, (machine, protocol), physics)
    if as_json:
        print_json(payload)
    else:
        _print_plan(result, person, machine, payload.get("verification"))
        if report is not None:
            typer.echo(f"wrote the plan report to {report}")


def _print_plan(
    plan: TreatmentPlan | Refusal,
    patient: Patient,
    device: DeviceProfile,
    verification: dict[str, float | None] | None,
) -> None:
    """The plan as the report's table, with the re-simulation beside it when there is one."""
    from laserdose.planning.report import plan_rows

    rows = plan_rows(plan, patient, device)
    if verification is not None:
        rows += [
            ("verified", key, f"{value:.4g}") for key, value in verification.items() if value is not None
        ]
    print_table("Plan", ["section", "item", "value"], rows)
