"""Patient records: create, change, look up and search.

Like every clinic service: the database session is keyword-only and never committed (the caller owns the
transaction); every change is checked against the actor's role and audited with field names only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from laserdose.clinic import corrections
from laserdose.clinic.models import Course, Patient, User
from laserdose.clinic.patient_names import MAX_NAME_CHARS, check_name_part, join_name, split_name
from laserdose.clinic.records import audit_change, get_course, get_row
from laserdose.clinic.users import EDITORS, READERS, require_role
from laserdose.domain.quantities import BMI, SKIN_TYPE, check_birth_date
from laserdose.errors import InputError

AUTO_RECORD_PREFIX = "LD-"  # record numbers laserdose gives: "LD-" and the patient's id
_RECORD_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,31}")
PATIENT_FIELDS = (
    "name",
    "given_name",
    "family_name",
    "record_number",
    "birth_date",
    "skin_type",
    "bmi_kg_m2",
)


def _names(name: str | None, given_name: str | None, family_name: str | None) -> tuple[str, str]:
    """(given, family) from the two parts, or from one full name split as the clinic writes it."""
    if given_name is None and family_name is None:
        if name is None:
            raise InputError("Family name is required.")
        given_name, family_name = split_name(check_name_part("Name", name, required=True))
    elif name is not None and join_name(given_name or "", family_name or "") != " ".join(name.split()):
        raise InputError("Give either the full name or the given and family names, not both.")
    given = check_name_part("Given name", given_name or "", required=False)
    family = check_name_part("Family name", family_name or "", required=True)
    if len(join_name(given, family)) > MAX_NAME_CHARS:
        raise InputError(f"The given and family names together can have at most {MAX_NAME_CHARS} characters.")
    return given, family


def _check_record_number(session: Session, record_number: str, patient_id: int | None) -> str:
    record_number = record_number.strip()
    if not _RECORD_NUMBER.fullmatch(record_number):
        raise InputError(
            "Record number must be 1-32 letters, digits, '/', '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if (
        record_number.upper().startswith(AUTO_RECORD_PREFIX)
        and record_number != f"{AUTO_RECORD_PREFIX}{patient_id}"
    ):
        raise InputError(
            f"Record numbers starting with {AUTO_RECORD_PREFIX} are given by laserdose; "
            "leave the field empty to get one, or type the clinic's own number."
        )
    taken = session.scalars(
        select(Patient.id).where(func.lower(Patient.record_number) == record_number.lower())
    ).first()
    if taken is not None and taken != patient_id:
        raise InputError(f"Record number {record_number} already belongs to another patient.")
    return record_number


def _check_body(birth_date: dt.date, skin_type: int, bmi_kg_m2: float) -> None:
    check_birth_date(birth_date)
    SKIN_TYPE.check_whole(skin_type)
    BMI.check(bmi_kg_m2)


def add_patient(
    *, session: Session, actor: User, birth_date: dt.date, skin_type: int, bmi_kg_m2: float,
    name: str | None = None, given_name: str | None = None, family_name: str | None = None,
    record_number: str | None = None,
) -> Patient:  # fmt: skip
    """Create a patient (clinician or admin).

    Args:
        session: open database session.
        actor: the user doing it.
        birth_date: date of birth.
        skin_type: Fitzpatrick skin type [1-6].
        bmi_kg_m2: body mass index [kg/m2].
        name: full name, split as "Family, Given" or with the last word as family name; or give
        given_name: given name(s), and
        family_name: family name.
        record_number: the clinic's record number; None or "" gives "LD-" and the patient's id.
    """
    require_role(actor, *EDITORS)
    given, family = _names(name, given_name, family_name)
    _check_body(birth_date, skin_type, bmi_kg_m2)
    typed_number = _check_record_number(session, record_number, None) if record_number else None
    patient = Patient(
        name=join_name(given, family), given_name=given, family_name=family, record_number=typed_number,
        birth_date=birth_date, skin_type=skin_type, bmi_kg_m2=bmi_kg_m2,
    )  # fmt: skip
    session.add(patient)
    session.flush()
    if typed_number is None:
        patient.record_number = f"{AUTO_RECORD_PREFIX}{patient.id}"
        session.flush()
    audit_change(session, actor, "patient.create", "patients", patient.id)
    return patient


def update_patient(*, session: Session, actor: User, patient_id: int, reason: str, **changes: Any) -> Patient:
    """Correct some of name (or its parts), record number, birth date, skin type, BMI (clinician, admin).

    The previous version is kept with `reason` (corrections.py). A new birth date may not come after
    any of the patient's dated records (the date rules of domain/record_dates.py). Every value is checked
    before any is changed.
    """
    require_role(actor, *EDITORS)
    get_patient(session=session, actor=actor, patient_id=patient_id)
    row, kept = corrections.begin_edit(
        session=session, actor=actor, kind="patients", record_id=patient_id, reason=reason, changes=changes
    )
    patient: Patient = row
    names = None
    if {"name", "given_name", "family_name"} & set(changes):
        parts = {key: changes.get(key) for key in ("name", "given_name", "family_name")}
        if parts["name"] is None:  # one part changed: the other stays
            parts["given_name"] = patient.given_name if parts["given_name"] is None else parts["given_name"]
            parts["family_name"] = (
                patient.family_name if parts["family_name"] is None else parts["family_name"]
            )
        names = _names(**parts)
    record_number = None
    if changes.get("record_number") is not None:
        record_number = (
            _check_record_number(session, changes["record_number"], patient.id)
            if changes["record_number"].strip()
            else f"{AUTO_RECORD_PREFIX}{patient.id}"
        )
    body = {key: changes.get(key, getattr(patient, key)) for key in ("birth_date", "skin_type", "bmi_kg_m2")}
    _check_body(**body)
    first = corrections.first_record_day(session, patient_id)
    if first is not None and body["birth_date"] > first:
        raise InputError(
            f"birth date {body['birth_date']} is after the patient's first record ({first}); "
            "correct or void that record first"
        )
    if names is not None:
        given, family = names
        patient.given_name, patient.family_name, patient.name = given, family, join_name(given, family)
    if record_number is not None:
        patient.record_number = record_number
    for field, value in body.items():
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


@dataclass(frozen=True)
class PatientPage:
    """One page of a patient search.

    Attributes:
        patients: the patients on this page, by family name, given name, id.
        total: how many patients match the search in all.
        offset: how many matching patients come before this page.
        limit: the page size asked for.
    """

    patients: list[Patient]
    total: int
    offset: int
    limit: int

    @property
    def first(self) -> int:
        """The 1-based position of the first patient shown (0 when none)."""
        return self.offset + 1 if self.patients else 0

    @property
    def last(self) -> int:
        """The 1-based position of the last patient shown (0 when none)."""
        return self.offset + len(self.patients)


MAX_PAGE_SIZE = 200


def _matching(query: str) -> Select[tuple[Patient]]:
    statement = select(Patient).where(corrections.live(Patient))  # a voided patient is not listed
    query = "".join(char for char in query if ord(char) >= 32).strip()  # PostgreSQL refuses NUL in text
    if query:
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            or_(
                func.lower(Patient.name).like(pattern, escape="\\"),
                func.lower(Patient.record_number).like(pattern, escape="\\"),
            )
        )
    return statement


def page_patients(
    *, session: Session, actor: User, query: str = "", offset: int = 0, limit: int = 50
) -> PatientPage:
    """Return one page of the patients whose name or record number contains `query`, by family name.

    Args:
        session: open database session.
        actor: the user asking.
        query: text to look for in the name or the record number (case-insensitive); "" lists everyone.
        offset: how many matching patients to skip (0 or more).
        limit: the page size, 1-200.
    """
    require_role(actor, *READERS)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InputError(f"Page size must be between 1 and {MAX_PAGE_SIZE}; it was {limit}.")
    if offset < 0:
        raise InputError(f"The page must start at 0 or later; it was {offset}.")
    statement = _matching(query)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    ordered = (
        statement.order_by(func.lower(Patient.family_name), func.lower(Patient.given_name), Patient.id)
        .offset(offset)
        .limit(limit)
    )
    return PatientPage(list(session.scalars(ordered)), total, offset, limit)


def search_patients(*, session: Session, actor: User, query: str = "", limit: int = 50) -> list[Patient]:
    """Return the first `limit` patients whose name or record number contains `query`, by family name."""
    return page_patients(session=session, actor=actor, query=query, limit=limit).patients


def readable_course(*, session: Session, actor: User, course_id: int) -> Course:
    """Return a course whose patient `actor` may read (its `patient` attribute is loaded), or `NotFound`."""
    require_role(actor, *READERS)
    return get_course(session, course_id)
