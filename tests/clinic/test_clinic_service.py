"""Clinic services on SQLite and PostgreSQL: patients, roles, courses, sessions, outcomes, timeline."""

import datetime as dt

import pytest
from factories import PASSWORD, make_course, make_patient, make_user
from sqlalchemy.exc import IntegrityError

from laserdose.clinic import chart, courses, outcomes, patients, treatment, users
from laserdose.clinic.models import Patient
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError


def test_patient_round_trip_and_search(session):
    clinician = make_user(session)
    make_patient(session, clinician, name="Anna Berg")
    make_patient(session, clinician, name="Bruno Costa")
    found = patients.search_patients(session=session, actor=clinician, query="BERG")
    assert [p.name for p in found] == ["Anna Berg"]
    patient = patients.get_patient(session=session, actor=clinician, patient_id=found[0].id)
    assert (patient.birth_date, patient.skin_type, patient.bmi_kg_m2) == (dt.date(1970, 5, 17), 3, 26.0)


def test_search_treats_wildcards_literally(session):
    clinician = make_user(session)
    make_patient(session, clinician, name="Anna Berg")
    assert patients.search_patients(session=session, actor=clinician, query="%") == []
    assert patients.search_patients(session=session, actor=clinician, query="_") == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("skin_type", 7, "Fitzpatrick skin type must be between 1 and 6, got 7"),
        ("bmi_kg_m2", 5.0, "BMI must be between 18 and 50 kg/m2, got 5 kg/m2"),
        (
            "birth_date",
            dt.date(2999, 1, 1),
            "birth date must be between 1900-01-01 and today, got 2999-01-01",
        ),
        ("name", "  ", "Name is required."),
    ],
)
def test_patient_fields_are_validated(session, field, value, message):
    clinician = make_user(session)
    with pytest.raises(InputError, match=message):
        make_patient(session, clinician, **{field: value})


def test_database_check_constraints_back_the_service(session):
    # Even a write that bypasses the service cannot store skin type 9.
    session.add(Patient(name="X", birth_date=dt.date(1980, 1, 1), skin_type=9, bmi_kg_m2=20.0))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_roles_are_enforced(session):
    operator = make_user(session, "operator")
    clinician = make_user(session)
    with pytest.raises(Forbidden, match="operator"):
        make_patient(session, operator)
    patient = make_patient(session, clinician)
    with pytest.raises(Forbidden):
        courses.create_course(
            session=session,
            actor=operator,
            patient_id=patient.id,
            condition="c",
            protocol="p",
            plan={},
            sessions_planned=12,
            sessions_per_week=3,
        )
    # Operators may read patients (to run sessions).
    assert patients.get_patient(session=session, actor=operator, patient_id=patient.id).id == patient.id


def test_unsigned_course_cannot_be_run(session):
    clinician, operator = make_user(session), make_user(session, "operator")
    course = make_course(session, clinician, make_patient(session, clinician), signed=False)
    with pytest.raises(InputError, match="no signed plan"):
        treatment.record_session(
            db=session,
            actor=operator,
            course_id=course.id,
            started_at=dt.datetime.now(dt.UTC),
            duration_s=10.0,
            energy_j_by_wavelength={810: 100.0},
            interruptions=[],
            completed=True,
        )


def test_session_and_outcomes_make_a_timeline(session):
    clinician, operator = make_user(session), make_user(session, "operator")
    patient = make_patient(session, clinician)
    course = make_course(session, clinician, patient)
    treatment.record_session(
        db=session,
        actor=operator,
        course_id=course.id,
        started_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        duration_s=300.0,
        energy_j_by_wavelength={810: 1500.0, 980: 1500.0},
        interruptions=[{"at_s": 120.0, "reason": "footswitch released"}],
        completed=False,
    )
    outcomes.record_outcome(
        session=session,
        actor=clinician,
        patient_id=patient.id,
        assessed_on=dt.date(2026, 3, 1),
        nrs=7,
        odi_sections=[3, 2, 3, 2, 3, 3, 2, None, 2, 3],
        rmdq_ticked=[True] * 12 + [False] * 12,
    )
    outcomes.record_outcome(
        session=session,
        actor=operator,
        patient_id=patient.id,
        assessed_on=dt.date(2026, 4, 1),
        nrs=4,
        rmdq_ticked=[True] * 9 + [False] * 15,
    )
    events = chart.timeline(session=session, actor=clinician, patient_id=patient.id)
    events = [e for e in events if e.kind != "course"]
    dated = [(e.when, e.kind) for e in events]
    assert dated == [
        (dt.date(2026, 3, 1), "outcome"),
        (dt.date(2026, 3, 2), "session"),
        (dt.date(2026, 4, 1), "outcome"),
    ]
    # ODI: 23 / (5 x 9) x 100 = 51.1 % (Fairbank & Pynsent 2000 formula, one section missed).
    assert "ODI 51 %" in events[0].summary
    assert "3000 J, interrupted (1 interruption(s))" in events[1].summary
    series = outcomes.outcome_series(session=session, actor=clinician, patient_id=patient.id)
    # NRS 7 -> 4 is 3 points >= 2 (Ostelo 2008); RMDQ 12 -> 9 is 3 points < 5.
    assert series[1].responder == {"nrs": True, "rmdq": False}


def test_outcome_needs_a_measure_and_valid_scores(session):
    clinician = make_user(session)
    patient = make_patient(session, clinician)
    with pytest.raises(InputError, match="at least one"):
        outcomes.record_outcome(
            session=session, actor=clinician, patient_id=patient.id, assessed_on=dt.date.today()
        )
    with pytest.raises(InputError, match="pain NRS"):
        outcomes.record_outcome(
            session=session, actor=clinician, patient_id=patient.id, assessed_on=dt.date.today(), nrs=11
        )


def test_nul_and_control_characters_never_reach_the_database(session):
    # PostgreSQL refuses NUL in text; found by schemathesis on /api/v1/token.
    clinician = make_user(session)
    assert users.authenticate(session=session, username="a\x00b", password=PASSWORD) is None
    assert patients.search_patients(session=session, actor=clinician, query="\x00") == []
    with pytest.raises(InputError, match="must not contain control characters"):
        make_patient(session, clinician, name="Anna\x00Berg")


def test_users_and_authentication(session):
    user = make_user(session, "operator", username="olga")
    assert user.password_hash.startswith("$argon2id$")
    assert users.authenticate(session=session, username="olga", password=PASSWORD).id == user.id
    assert users.authenticate(session=session, username="olga", password="wrong password!") is None
    assert users.authenticate(session=session, username="nobody", password=PASSWORD) is None
    with pytest.raises(InputError, match="already exists"):
        make_user(session, username="olga")
    with pytest.raises(InputError, match="at least 15"):
        make_user(session, username="short", password="abc")
    with pytest.raises(InputError, match="unknown role"):
        make_user(session, role="root", username="rooty")
