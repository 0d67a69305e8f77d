"""Outcomes belong to a course of their patient: the service's rule, the linking migration, the listing."""

import datetime as dt
import json
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from laserdose.cli.main import app
from laserdose.clinic import chart, course_report, db, outcomes, reports
from laserdose.clinic.models import Outcome
from laserdose.errors import InputError

DAY = dt.date(2026, 3, 1)


def test_an_outcome_without_course_goes_on_the_single_active_course(session):
    clinician = make_user(session)
    patient = make_patient(session, clinician)
    make_course(session, clinician, patient, signed=False)  # a draft is not active
    course = make_course(session, clinician, patient)
    outcome = outcomes.record_outcome(
        session=session, actor=clinician, patient_id=patient.id, assessed_on=DAY, nrs=6
    )
    assert outcome.course_id == course.id
    series = outcomes.outcome_series(session=session, actor=clinician, patient_id=patient.id)
    assert [point.course_id for point in series] == [course.id]


def test_a_patient_without_signed_course_keeps_the_outcome_unlinked(session):
    clinician = make_user(session)
    patient = make_patient(session, clinician)  # a baseline before any course
    outcome = outcomes.record_outcome(
        session=session, actor=clinician, patient_id=patient.id, assessed_on=DAY, nrs=6
    )
    assert outcome.course_id is None
    assert outcome in outcomes.unlinked_outcomes(session)
    events = chart.timeline(session=session, actor=clinician, patient_id=patient.id)
    assert [e.summary for e in events if e.kind == "outcome"] == [
        "pain NRS 6/10, not on a course (not counted in course reports)"
    ]


def test_several_active_courses_need_an_explicit_choice(session):
    clinician = make_user(session)
    patient = make_patient(session, clinician)
    first, second = make_course(session, clinician, patient), make_course(session, clinician, patient)
    with pytest.raises(InputError, match=rf"several active courses \({second.id}, {first.id}\)"):
        outcomes.record_outcome(
            session=session, actor=clinician, patient_id=patient.id, assessed_on=DAY, nrs=6
        )
    chosen = outcomes.record_outcome(
        session=session, actor=clinician, patient_id=patient.id, assessed_on=DAY, nrs=6, course_id=first.id
    )
    assert chosen.course_id == first.id
    # The form's default is the latest signed course.
    assert [c.id for c in outcomes.active_courses(session, patient.id)][0] == second.id


def test_another_patients_course_is_refused(session):
    clinician = make_user(session)
    patient, other = make_patient(session, clinician), make_patient(session, clinician)
    theirs = make_course(session, clinician, other)
    for course_id in (theirs.id, 987654):
        with pytest.raises(InputError, match=f"course {course_id} is not one of this patient's courses"):
            outcomes.record_outcome(
                session=session, actor=clinician, patient_id=patient.id, assessed_on=DAY, nrs=6,
                course_id=course_id,
            )  # fmt: skip
    assert session.query(Outcome).filter_by(patient_id=patient.id).count() == 0


def test_outcomes_recorded_without_course_reach_the_dashboard_and_the_course_report(session):
    clinician = make_user(session)
    patient = make_patient(session, clinician)
    course = make_course(session, clinician, patient, protocol="linked-outcomes")
    for day, nrs in ((DAY, 7), (DAY + dt.timedelta(weeks=4), 3)):
        outcomes.record_outcome(
            session=session, actor=clinician, patient_id=patient.id, assessed_on=day, nrs=nrs
        )
    rates = {r.protocol: r for r in reports.responder_rates(session=session, actor=clinician)}
    # NRS 7 -> 3 is 4 points >= 2 (Ostelo 2008): one course assessed, one responder.
    assert (rates["linked-outcomes"].assessed["nrs"], rates["linked-outcomes"].responders["nrs"]) == (1, 1)
    pdf = course_report.course_report_pdf(session=session, actor=clinician, course_id=course.id, today=DAY)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    # NRS plotted (its MIC line at max(7 - 2, 0.7 x 7) = 5, Ostelo 2008); ODI, RMDQ and analgesic use are not
    # assessed.
    assert text.count("not assessed") == 3 and "MIC 5" in text


def _history(url: str) -> dict[str, int]:
    """A database at 0004 with outcomes saved without course: on a one-course and a two-course patient.

    Rows go in through the tables as they were at 0004 (reflected), not the ORM models of today, so that
    columns added by later migrations do not matter here.
    """
    engine = db.make_engine(url)
    db.upgrade(engine, "0004_power_checks")
    tables = MetaData()
    tables.reflect(engine)
    now = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)

    def insert(connection, table: str, **values) -> int:
        return connection.execute(tables.tables[table].insert().values(**values)).inserted_primary_key[0]

    with engine.begin() as connection:
        clinician = insert(connection, "users", username="old-clinician", password_hash="x", role="clinician",
                           active=True, created_at=now)  # fmt: skip
        one, two = (
            insert(
                connection,
                "patients",
                name=name,
                birth_date=dt.date(1970, 5, 17),
                skin_type=3,
                bmi_kg_m2=26.0,
                created_at=now,
            )  # fmt: skip
            for name in ("One Course", "Two Courses")
        )
        course = {"clinician_id": clinician, "condition": "chronic_nslbp", "protocol": "demo", "plan": {},
                  "sessions_planned": 12, "sessions_per_week": 3, "home_exercise": "", "advice": "",
                  "created_at": now, "signed_by_id": clinician, "signed_at": now}  # fmt: skip
        first = insert(connection, "courses", patient_id=one, **course)
        (
            insert(connection, "courses", patient_id=two, **course),
            insert(connection, "courses", patient_id=two, **course),
        )
        outcome = {"recorded_by_id": clinician, "assessed_on": DAY}
        ids = {"one": insert(connection, "outcomes", patient_id=one, nrs=5, **outcome)}
        ids["two"] = insert(connection, "outcomes", patient_id=two, nrs=4, **outcome)
    engine.dispose()
    return {"course": first, **ids, "two_patient": two}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new database on the test run's PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
        return
    server = make_url(request.getfixturevalue("postgres_url"))
    name = f"migration_{uuid.uuid4().hex[:12]}"
    admin = db.make_engine(server.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def test_migration_links_only_unambiguous_outcomes_and_the_cli_lists_the_rest(empty_url):
    url = empty_url
    ids = _history(url)
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        assert session.get(Outcome, ids["one"]).course_id == ids["course"]
        assert session.get(Outcome, ids["two"]).course_id is None
    result = CliRunner().invoke(app, ["db", "unlinked-outcomes", "--database-url", url, "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["unlinked_outcomes"]
    assert [(row["outcome_id"], row["patient_id"]) for row in listed] == [(ids["two"], ids["two_patient"])]
    assert len(listed[0]["patient_course_ids"]) == 2
    table = CliRunner().invoke(app, ["db", "unlinked-outcomes", "--database-url", url])
    assert table.exit_code == 0 and "Outcomes without a course: 1" in table.stdout
