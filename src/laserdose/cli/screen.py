"""`laserdose screen`: screen a patient before laser therapy (decision, urgency, reasons, sources)."""

from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.clinical.patient import load_patient
from laserdose.clinical.screening import screen as screen_answers
from laserdose.clinical.screening_table import COLUMNS, plan_change, rule_rows
from laserdose.errors import InputError


def screen(
    patient: Annotated[
        Path | None, typer.Option("--patient", help="patient.toml with a [screening] table.")
    ] = None,
    rules: Annotated[
        bool, typer.Option("--rules", help="Print the rule table instead (every code).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Screen a patient: treat, treat-with-precautions, do-not-treat or refer (with urgency)."""
    if rules:
        _print_rules(as_json)
        return
    if patient is None:
        raise InputError("give --patient patient.toml, or --rules for the rule table")
    decision = screen_answers(load_patient(patient).screening)
    if as_json:
        print_json(decision.to_dict())
        return
    urgency = f" ({decision.urgency})" if decision.urgency else ""
    typer.echo(f"Decision: {decision.decision}{urgency}")
    change = plan_change(decision.plan_limit)
    if change:
        typer.echo(f"The plan must honour: {change}")
    rows = [(reason.code, reason.text, reason.source) for reason in decision.reasons]
    print_table("Reasons (most cautious first)", ["code", "reason", "source"], rows)


def _print_rules(as_json: bool) -> None:
    rows = rule_rows()
    if as_json:
        print_json({"rules": [dict(zip(COLUMNS, row, strict=True)) for row in rows]})
        return
    print_table("Screening rules (one table for the CLI, the API and the web form)", list(COLUMNS), rows)
