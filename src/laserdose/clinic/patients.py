"""Patient records: create, change, look up and search.

Like every clinic service: the database session is keyword-only and never committed (the caller owns the
transaction); every change is checked against the actor's role and audited with field names only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laserdose.clinic import corrections
from laserdose.clinic.models import Course, Patient, User
from laserdose.clinic.records import audit_change, get_course, get_row
from laserdose.clinic.users import EDITORS, READERS, require_role
from laserdose.domain.quantities import BMI, SKIN_TYPE, check_birth_date
from laserdose.errors import InputError


def _check_patient_fields(name: str, birth_date: dt.date, skin_type: int, bmi_kg_m2: float) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200 or any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InputError("name must have 1-200 characters and no control characters")
    check_birth_date(birth_date)
    SKIN_TYPE.check_whole(skin_type)
    BMI.check(bmi_kg_m2)
    return name


def add_patient(
    *, session: Session, actor: User, name: str, birth_date: dt.date, skin_type: int, bmi_kg_m2: float
) -> Patient:
    """Create a patient (clinician or admin).

    Args:
        session: open database session.
        actor: the user doing it.
        name: full name.
        birth_date: date of birth.
        skin_type: Fitzpatrick skin type [1-6].
        bmi_kg_m2: body mass index [kg/m2].
    """
    require_role(actor, *EDITORS)
    name = _check_patient_fields(name, birth_date, skin_type, bmi_kg_m2)
    patient = Patient(name=name, birth_date=birth_date, skin_type=skin_type, bmi_kg_m2=bmi_kg_m2)
    session.add(patient)
    session.flush()
    audit_change(session, actor, "patient.create", "patients", patient.id)
    return patient


def update_patient(*, session: Session, actor: User, patient_id: int, reason: str, **changes: Any) -> Patient:
    """Correct some of name, birth_date, skin_type, bmi_kg_m2 of a patient (clinician or admin).

    The previous version is kept with `reason` (corrections.py). A new birth date may not come after
    any of the patient's dated records (the date rules of domain/record_dates.py).
    """
    require_role(actor, *EDITORS)
    get_patient(session=session, actor=actor, patient_id=patient_id)
    row, kept = corrections.begin_edit(
        session=session, actor=actor, kind="patients", record_id=patient_id, reason=reason, changes=changes
    )
    patient: Patient = row
    merged = {
        "name": patient.name, "birth_date": patient.birth_date, "skin_type": patient.skin_type,
        "bmi_kg_m2": patient.bmi_kg_m2, **changes,
    }  # fmt: skip
    merged["name"] = _check_patient_fields(**merged)
    first = corrections.first_record_day(session, patient_id)
    if first is not None and merged["birth_date"] > first:
        raise InputError(
            f"birth date {merged['birth_date']} is after the patient's first record ({first}); "
            "correct or void that record first"
        )
    for field, value in merged.items():
        setattr(patient, field, value)
    corrections.finish_edit(
        session=session, actor=actor, kind="patients", row=patient, kept=kept, fields=list(changes)
    )
    return patient


def get_patient(*, session: Session, actor: User, patient_id: int) -> Patient:
    """Return a patient or raise `NotFound`."""
    require_role(actor, *READERS)
    return get_row(session, Patient, patient_id, "patient")


def live_patient(*, session: Session, actor: User, patient_id: int) -> Patient:
    """The patient, if the record stands: a voided patient takes no new records (InputError, NotFound)."""
    patient = get_patient(session=session, actor=actor, patient_id=patient_id)
    refuse_voided_patient(patient)
    return patient


def refuse_voided_patient(patient: Patient) -> None:
    """InputError if `patient` was voided (new records go on the record that stands)."""
    if patient.voided_at is not None:
        raise InputError(
            f"patient {patient.id} was voided ({patient.void_reason}); "
            "record on the patient's record that stands"
        )


def search_patients(*, session: Session, actor: User, query: str = "", limit: int = 50) -> list[Patient]:
    """Return patients whose name contains `query` (case-insensitive), by name; voided ones are left out."""
    require_role(actor, *READERS)
    statement = (
        select(Patient).where(corrections.live(Patient)).order_by(Patient.name, Patient.id).limit(limit)
    )
    if query.strip():
        query = "".join(char for char in query if ord(char) >= 32)  # PostgreSQL refuses NUL in text
        escaped = query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(func.lower(Patient.name).like(f"%{escaped}%", escape="\\"))
    return list(session.scalars(statement))


def readable_course(*, session: Session, actor: User, course_id: int) -> Course:
    """Return a course whose patient `actor` may read (its `patient` attribute is loaded), or `NotFound`."""
    require_role(actor, *READERS)
    return get_course(session, course_id)
