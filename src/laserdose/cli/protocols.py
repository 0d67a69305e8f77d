"""`laserdose protocols list|show`: the treatment protocols (shipped, plus a clinic's own directory)."""

from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.clinical.protocols import ENV_DIR, Protocol, get_protocol, load_protocols
from laserdose.clinical.templates import DoseTemplate
from laserdose.planning.physics import default_physics
from laserdose.planning.reference import ReferenceDose, reference_dose

app = typer.Typer(help="Treatment protocols: targets, dose templates, limits, course.", no_args_is_help=True)

_DIR_HELP = f"Directory of protocol TOML files that add or override (also ${ENV_DIR})."
_DirOption = Annotated[Path | None, typer.Option("--dir", help=_DIR_HELP)]


def _range(values: tuple[float, float]) -> str:
    return f"{values[0]:g}-{values[1]:g}"


@app.command("list")
def list_protocols(
    directory: _DirOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List every protocol with its targets, default template, band and course."""
    protocols = sorted(load_protocols(directory).values(), key=lambda p: p.name)
    if as_json:
        print_json({"protocols": [p.to_dict() for p in protocols]})
        return
    rows = [_summary_row(p) for p in protocols]
    columns = ["name", "targets", "template", "band", "skin max", "course", "referral"]
    print_table("Treatment protocols (doses in J/cm2)", columns, rows)
    if any(p.borrowed for p in protocols):
        typer.echo("* borrowed from another protocol (an extrapolation); band: target dose / reference dose")


def _summary_row(protocol: Protocol) -> tuple[object, ...]:
    targets = " ".join(t.structure for t in protocol.targets)
    template = protocol.template(None).id + ("*" if protocol.borrowed else "")
    referral = "first" if protocol.referral_first else "-"
    return (
        protocol.name,
        targets,
        template,
        _range(protocol.prescription.band),
        f"{protocol.max_surface_dose_j_per_cm2:g}",
        f"{protocol.course.sessions} x {protocol.course.per_week}/wk",
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
    references = _references(protocol)
    if as_json:
        data = protocol.to_dict()
        for template, reference in zip(data["templates"], references, strict=True):
            template["reference"] = reference.to_dict()
        print_json(data)
        return
    typer.echo(f"{protocol.name}: {protocol.title} (diagnosis {protocol.diagnosis})")
    if protocol.referral_first:
        typer.echo("Referral first: medical opinion before any laser; laser only as an adjunct.")
    typer.echo(f"Highest surface dose: {protocol.max_surface_dose_j_per_cm2:g} J/cm2")
    if protocol.max_irradiance_w_per_cm2 is not None:
        typer.echo(f"Highest irradiance under the beam: {protocol.max_irradiance_w_per_cm2:g} W/cm2")
    rules = protocol.prescription
    typer.echo(
        f"Prescription: template {protocol.template(None).id}"
        + (f" (from {rules.templates_from})" if rules.templates_from else "")
        + f"; target dose {_range(rules.band)} x the reference, never above {rules.max_target_ratio:g} x"
    )
    typer.echo(f"Course: {protocol.course.sessions} sessions, {protocol.course.per_week} per week")
    rows = [(t.structure, t.why) for t in protocol.targets]
    print_table("Targets (first = primary)", ["structure", "why"], rows)
    for note in protocol.notes:
        typer.echo(f"- {note}")
    _show_templates(protocol, references)
    typer.echo("Sources: " + "; ".join(protocol.sources))
    typer.echo(f"File: {protocol.origin}")


def _references(protocol: Protocol) -> list[ReferenceDose]:
    physics = default_physics()
    return [reference_dose(template, protocol, physics) for template in protocol.templates]


def _show_templates(protocol: Protocol, references: list[ReferenceDose]) -> None:
    target = protocol.primary_target.structure
    columns = ["template", "kind", "delivery", "course", "participant", f"at {target} J/cm2"]
    rows = [_template_row(t, r) for t, r in zip(protocol.templates, references, strict=True)]
    print_table("Dose templates and reference doses", columns, rows)
    for template in protocol.templates:
        result = template.result
        outcome = "; ".join(
            f"{label}: {text}"
            for label, text in (
                ("control", result.control),
                ("pain", result.pain),
                ("disability", result.disability),
            )
            if text
        )
        typer.echo(f"- {template.id} ({template.source}): {outcome}. {template.evidence}")


def _template_row(template: DoseTemplate, reference: ReferenceDose) -> tuple[object, ...]:
    wavelengths = "+".join(f"{w:g}" for w in template.wavelengths_nm)
    if template.surface_dose_j_per_cm2 is not None:
        dose = f"{template.surface_dose_j_per_cm2:g} J/cm2 over {template.area_cm2:g} cm2"
    else:
        dose = f"{template.energy_per_point_j:g} J x {template.points or 1} points"
    participant = reference.participant
    who = f"type {participant.skin_type}{'' if participant.skin_type_reported else ' [U]'}, "
    who += f"BMI {participant.bmi:g}{'' if participant.bmi_reported else ' [U]'}"
    course = f"{template.sessions} x, {template.per_week}/week"
    at_target = f"{reference.target_dose_j_per_cm2:.3g} at {reference.depth_mm:.1f} mm"
    return (template.id, template.kind, f"{wavelengths} nm {template.mode}, {dose}", course, who, at_target)
