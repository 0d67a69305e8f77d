"""`laserdose patients`: add a patient (given and family names, record number) and list them in pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.cli.options import DatabaseUrl, JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.clinic import db, patients
from laserdose.clinic.models import Patient, User
from laserdose.errors import InputError

patients_app = typer.Typer(help="Add and list the clinic's patients.", no_args_is_help=True)
ActingUser = Annotated[
    str, typer.Option("--as", help="The clinic user (admin or clinician) the change is made and audited as.")
]


def _acting_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise InputError(f"no user {username!r}; give --as an existing admin or clinician")
    return user


def _row(patient: Patient) -> dict[str, object]:
    return {
        "id": patient.id, "record_number": patient.record_number, "family_name": patient.family_name,
        "given_name": patient.given_name, "name": patient.name, "birth_date": patient.birth_date.isoformat(),
        "skin_type": patient.skin_type, "bmi": patient.bmi_kg_m2,
    }  # fmt: skip


@patients_app.command("add")
def add(
    acting: ActingUser,
    family_name: Annotated[str, typer.Option("--family", help="Family name (the list sorts by it).")],
    birth_date: Annotated[str, typer.Option("--born", help="Date of birth, YYYY-MM-DD.")],
    skin_type: Annotated[int, typer.Option("--skin-type", help="Fitzpatrick skin type 1-6.")],
    bmi: Annotated[float, typer.Option("--bmi", help="Body mass index [kg/m2].")],
    given_name: Annotated[str, typer.Option("--given", help="Given name(s).")] = "",
    record_number: Annotated[
        str, typer.Option("--record-number", help="The clinic's record number; default LD-<id>.")
    ] = "",
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a patient."""
    try:
        born = dt.date.fromisoformat(birth_date)
    except ValueError:
        raise InputError(f"--born must be a date as YYYY-MM-DD, got {birth_date!r}") from None
    engine = db.make_engine(database_url)
    with db.session_factory(engine).begin() as session:
        patient = patients.add_patient(
            session=session, actor=_acting_user(session, acting), given_name=given_name,
            family_name=family_name, record_number=record_number or None, birth_date=born,
            skin_type=skin_type, bmi_kg_m2=bmi,
        )  # fmt: skip
        row = _row(patient)
    if as_json:
        print_json(row)
    else:
        typer.echo(f"added {row['name']} (record {row['record_number']}, id {row['id']})")


@patients_app.command("list")
def list_patients(
    acting: ActingUser,
    search: Annotated[str, typer.Option("--search", help="Text in the name or the record number.")] = "",
    page: Annotated[int, typer.Option("--page", min=1, help="Page number, from 1.")] = 1,
    size: Annotated[int, typer.Option("--size", min=1, max=patients.MAX_PAGE_SIZE, help="Page size.")] = 50,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """List patients by family name, one page at a time, with how many match in all."""
    engine = db.make_engine(database_url)
    with db.session_factory(engine).begin() as session:
        found = patients.page_patients(
            session=session, actor=_acting_user(session, acting), query=search, offset=(page - 1) * size,
            limit=size,
        )  # fmt: skip
        rows = [_row(patient) for patient in found.patients]
    if as_json:
        print_json({"items": rows, "total": found.total, "offset": found.offset, "limit": found.limit})
        return
    columns = ["record", "family name", "given name", "born", "skin type", "BMI"]
    title = f"Patients {found.first}-{found.last} of {found.total}"
    keys = ("record_number", "family_name", "given_name", "birth_date", "skin_type", "bmi")
    print_table(title, columns, [[row[key] for key in keys] for row in rows])
