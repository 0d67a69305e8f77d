"""The patient's analgesics, as the patient reports them: drug, dose, how often, started and stopped.

Each outcome assessment records the current use (none, as needed, daily); the list here says which drugs
were taken on any date, and the course report plots the use beside pain and disability, so that "less
reliance on medication" is seen, not assumed. A medication is stopped with a date, never deleted.
Like every clinic service: the session is keyword-only and never committed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic.models import Medication, User
from laserdose.clinic.patients import get_patient
from laserdose.clinic.records import NotFound, audit_change
from laserdose.clinic.users import RECORDERS, require_role
from laserdose.domain.record_dates import check_record_date
from laserdose.errors import InputError

DRUG_MAX, DOSE_MAX = 120, 60


def medication_problems(
    *, drug: str, dose: str, how_often: str, started_on: dt.date, birth_date: dt.date, today: dt.date
) -> dict[str, str]:
    """Each field's problem as a sentence (empty when the medication can be saved)."""
    problems = {}
    fields = (("drug", "Drug", drug, DRUG_MAX), ("dose", "Dose", dose, DOSE_MAX))
    for field, label, value, limit in (*fields, ("how_often", "How often", how_often, DOSE_MAX)):
        if not value.strip():
            problems[field] = f"{label} is needed (for example {_EXAMPLES[field]})."
        elif len(value) > limit:
            problems[field] = f"{label} must be at most {limit} characters."
    try:  # the clinic's date rules (domain/record_dates.py): not in the future, not before birth
        check_record_date("medication start", started_on, today=today, birth_date=birth_date)
    except InputError as exc:
        problems["started_on"] = str(exc)
    return problems


_EXAMPLES = {"drug": "ibuprofen", "dose": "400 mg", "how_often": "up to 3 times a day"}


def add_medication(
    *, session: Session, actor: User, patient_id: int, drug: str, dose: str, how_often: str,
    started_on: dt.date, today: dt.date,
) -> Medication:  # fmt: skip
    """Record an analgesic the patient takes (clinicians and operators)."""
    require_role(actor, *RECORDERS)
    patient = get_patient(session=session, actor=actor, patient_id=patient_id)
    problems = medication_problems(
        drug=drug, dose=dose, how_often=how_often, started_on=started_on, birth_date=patient.birth_date,
        today=today,
    )  # fmt: skip
    if problems:
        raise InputError(" ".join(problems.values()))
    row = Medication(
        patient_id=patient.id, drug=" ".join(drug.split()), dose=dose.strip(), how_often=how_often.strip(),
        started_on=started_on, recorded_by_id=actor.id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit_change(session, actor, "medication.add", "medication", row.id, patient=patient.id)
    return row


def stop_medication(
    *, session: Session, actor: User, patient_id: int, medication_id: int, stopped_on: dt.date, today: dt.date
) -> Medication:
    """Record that the patient stopped a medication on `stopped_on`; it stays in the list."""
    require_role(actor, *RECORDERS)
    get_patient(session=session, actor=actor, patient_id=patient_id)
    row = session.get(Medication, medication_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound(f"no medication {medication_id} for this patient")
    if row.stopped_on is not None:
        raise InputError(f"{row.drug} was already stopped on {row.stopped_on}.")
    if stopped_on > today:
        raise InputError(f"The stop date cannot be after today ({today}).")
    if stopped_on < row.started_on:
        raise InputError(f"The stop date cannot be before {row.drug} was started ({row.started_on}).")
    row.stopped_on = stopped_on
    audit_change(session, actor, "medication.stop", "medication", row.id, patient=patient_id)
    return row


def patient_medications(*, session: Session, actor: User, patient_id: int) -> list[Medication]:
    """The patient's medications, current ones first, then by start date."""
    get_patient(session=session, actor=actor, patient_id=patient_id)
    rows = session.scalars(select(Medication).where(Medication.patient_id == patient_id))
    return sorted(rows, key=lambda m: (m.stopped_on is not None, m.started_on, m.id))


def taken_on(medications: list[Medication], day: dt.date) -> list[Medication]:
    """The medications taken on `day` (started on or before it, not stopped before it)."""
    return [m for m in medications if m.started_on <= day and (m.stopped_on is None or m.stopped_on >= day)]
