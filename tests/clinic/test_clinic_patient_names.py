"""Patients' given and family names, record numbers, the list's pages and order, and the names migration."""

import datetime as dt

import pytest
from factories import make_patient, make_user
from sqlalchemy import text

from laserdose.clinic import db, patients
from laserdose.clinic.patient_names import join_name, split_name
from laserdose.errors import InputError


@pytest.mark.parametrize(
    ("name", "given", "family"),
    [
        ("Anna Berg", "Anna", "Berg"),
        ("Anna Maria  Berg", "Anna Maria", "Berg"),
        ("Berg, Anna Maria", "Anna Maria", "Berg"),
        ("van der Berg, Anna", "Anna", "van der Berg"),
        ("Berg", "", "Berg"),
    ],
)
def test_a_full_name_splits_at_the_comma_or_the_last_word(name, given, family):
    assert split_name(name) == (given, family)
    assert join_name(given, family) == " ".join(f"{given} {family}".split())


def test_the_shown_name_always_equals_its_parts(session):
    clinician = make_user(session)
    patient = make_patient(session, clinician, name="Berg, Anna")
    assert (patient.given_name, patient.family_name, patient.name) == ("Anna", "Berg", "Anna Berg")
    patients.update_patient(
        session=session, actor=clinician, patient_id=patient.id, reason="married", family_name="Lind"
    )
    assert patient.name == "Anna Lind"
    patients.update_patient(
        session=session, actor=clinician, patient_id=patient.id, reason="full name", name="Eva Maria Holm"
    )
    assert (patient.given_name, patient.family_name) == ("Eva Maria", "Holm")
    with pytest.raises(InputError, match="Family name is required"):
        make_patient(session, clinician, name=None, given_name="Anna", family_name=" ")
    with pytest.raises(InputError, match="either the full name or the given and family names"):
        make_patient(session, clinician, name="Anna Berg", given_name="Eva", family_name="Berg")


def test_record_numbers_are_given_unique_and_searchable(session):
    clinician = make_user(session)
    given = make_patient(session, clinician, name="Anna Berg")
    assert given.record_number == f"LD-{given.id}"
    typed = make_patient(session, clinician, name="Bruno Costa", record_number="K-2024/117")
    with pytest.raises(InputError, match="already belongs to another patient"):
        make_patient(session, clinician, name="Carl Dahl", record_number="k-2024/117")
    with pytest.raises(InputError, match="given by laserdose"):
        make_patient(session, clinician, name="Carl Dahl", record_number="LD-999")
    with pytest.raises(InputError, match="Record number must be"):
        make_patient(session, clinician, name="Carl Dahl", record_number="a b")
    found = patients.page_patients(session=session, actor=clinician, query="2024/117")
    assert [p.id for p in found.patients] == [typed.id] and found.total == 1


def test_pages_sort_by_family_name_and_count_every_match(session):
    clinician = make_user(session)
    for given, family in [("Zoe", "Adams"), ("Anna", "Young"), ("Bob", "adams"), ("Eva", "Miller")]:
        make_patient(session, clinician, name=None, given_name=given, family_name=family)
    first = patients.page_patients(session=session, actor=clinician, limit=3)
    second = patients.page_patients(session=session, actor=clinician, offset=3, limit=3)
    # Case-insensitive by family, then given: adams Bob, Adams Zoe, Miller, Young.
    assert [p.name for p in first.patients] == ["Bob adams", "Zoe Adams", "Eva Miller"]
    assert [p.name for p in second.patients] == ["Anna Young"]
    assert (first.total, first.first, first.last, second.first, second.last) == (4, 1, 3, 4, 4)
    with pytest.raises(InputError, match="Page size must be between 1 and 200"):
        patients.page_patients(session=session, actor=clinician, limit=0)


def test_more_than_fifty_patients_are_all_reachable(session):
    clinician = make_user(session)
    for number in range(57):
        make_patient(session, clinician, name=f"Anna Family{number:03d}")
    pages = [patients.page_patients(session=session, actor=clinician, offset=o, limit=50) for o in (0, 50)]
    assert [len(page.patients) for page in pages] == [50, 7] and pages[1].total == 57
    assert pages[1].patients[-1].family_name == "Family056"


def test_the_migration_splits_existing_names(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    db.upgrade(engine, "0017_medications")  # the revision before ours
    with engine.begin() as connection:
        for name in ("Anna Maria Berg", "Costa, Bruno", "Dahl"):
            connection.execute(
                text(
                    "INSERT INTO patients (name, birth_date, skin_type, bmi_kg_m2, created_at) "
                    "VALUES (:name, :born, 3, 25.0, '2026-01-01 00:00:00')"
                ),
                {"name": name, "born": dt.date(1970, 1, 1)},
            )
    db.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, name, given_name, family_name, record_number FROM patients ORDER BY id")
        ).all()
    assert [tuple(row[1:]) for row in rows] == [
        ("Anna Maria Berg", "Anna Maria", "Berg", f"LD-{rows[0][0]}"),
        ("Bruno Costa", "Bruno", "Costa", f"LD-{rows[1][0]}"),
        ("Dahl", "", "Dahl", f"LD-{rows[2][0]}"),
    ]
    engine.dispose()
