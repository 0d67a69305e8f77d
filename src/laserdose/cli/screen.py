"""`laserdose screen`: screen a patient before laser therapy (decision, urgency, reasons, sources)."""

from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.clinical.patient import load_patient
from laserdose.clinical.screening import screen as screen_answers


def screen(
    patient: Annotated[Path, typer.Option("--patient", help="patient.toml with a [screening] table.")],
    as_json: JsonFlag = False,
) -> None:
    """Screen a patient: treat, treat-with-precautions, do-not-treat or refer (with urgency)."""
    decision = screen_answers(load_patient(patient).screening)
    if as_json:
        print_json(decision.to_dict())
        return
    urgency = f" ({decision.urgency})" if decision.urgency else ""
    typer.echo(f"Decision: {decision.decision}{urgency}")
    rows = [(reason.code, reason.text, reason.source) for reason in decision.reasons]
    print_table("Reasons (most cautious first)", ["code", "reason", "source"], rows)
