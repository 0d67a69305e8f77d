"""The chart reads each table once: the number of statements does not grow with courses or screenings."""

import contextlib
import datetime as dt

import psycopg
import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, event, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from laserdose.clinic import chart, chart_rows, corrections, patients, users
from laserdose.clinic.models import (
    Course,
    CourseClosure,
    Outcome,
    Referral,
    Screening,
    TreatmentSession,
    VisitNote,
    utcnow,
)
from laserdose.clinic.pipelined import read_all

# patient, screenings (with referrals), courses (with consents), sessions, course closures, visit notes,
# outcomes, and the earlier versions of every correctable record among them, the patient included (one query)
TABLES_READ = 8


def _history(session, clinician, courses: int, screenings: int):
    patient = make_patient(session, clinician)
    for number in range(screenings):
        screening = Screening(patient_id=patient.id, clinician_id=clinician.id, decision="refer", answers={})
        session.add(screening)
        session.flush()
        session.add(
            Referral(patient_id=patient.id, screening_id=screening.id, complaint="x", urgency="routine",
                     referred_by_id=clinician.id, status="overridden", override_reason=f"reason {number}",
                     override_by_id=clinician.id, override_at=utcnow())
        )  # fmt: skip
    for _ in range(courses):
        course = make_course(session, clinician, patient)
        for day in (1, 2):
            session.add(
                TreatmentSession(course_id=course.id, operator_id=clinician.id, started_at=utcnow(),
                                 duration_s=60.0, energy_j_by_wavelength={"810": 100.0}, completed=True)
            )  # fmt: skip
            session.add(
                VisitNote(course_id=course.id, author_id=clinician.id, visit_on=dt.date(2026, 1, day))
            )
    session.flush()
    return patient


def _statements(session, clinician, patient_id, monkeypatch):
    """(statements sent, round trips to the server, the chart): through SQLAlchemy, or a psycopg pipeline."""
    session.expunge_all()  # nothing from the identity map: every row is read
    sent = {"statements": 0, "trips": 0}
    in_pipeline = []

    def through_sqlalchemy(*_args):
        sent["statements"] += 1
        sent["trips"] += 1

    def counted_execute(self, *args, **kwargs):
        sent["statements"] += 1
        sent["trips"] += not in_pipeline
        return execute(self, *args, **kwargs)

    @contextlib.contextmanager
    def counted_pipeline(self):
        sent["trips"] += 1
        in_pipeline.append(1)
        try:
            with pipeline(self) as opened:
                yield opened
        finally:
            in_pipeline.pop()

    execute, pipeline = psycopg.Connection.execute, psycopg.Connection.pipeline
    monkeypatch.setattr(psycopg.Connection, "execute", counted_execute)
    monkeypatch.setattr(psycopg.Connection, "pipeline", counted_pipeline)
    connection = session.connection()
    event.listen(connection, "before_cursor_execute", through_sqlalchemy)
    try:
        found = chart.patient_chart(session=session, actor=clinician, patient_id=patient_id)
        # What the page template reads comes from the same rows, not from lazy loads.
        assert all(s.referral is not None for s in found.patient.screenings)
        assert all(len(course.sessions) == 2 for course in found.patient.courses)
    finally:
        event.remove(connection, "before_cursor_execute", through_sqlalchemy)
        monkeypatch.undo()
    return sent["statements"], sent["trips"], found


def test_the_chart_reads_each_table_once_whatever_the_number_of_courses(session, monkeypatch):
    clinician = make_user(session)
    small = _history(session, clinician, courses=1, screenings=1)
    large = _history(session, clinician, courses=3, screenings=4)
    small_count, _, _ = _statements(session, clinician, small.id, monkeypatch)
    large_count, trips, found = _statements(session, clinician, large.id, monkeypatch)
    assert small_count == large_count == TABLES_READ
    # PostgreSQL: every statement in one round trip (a psycopg pipeline); SQLite: in-process, one by one.
    assert trips == (1 if session.bind.dialect.name == "postgresql" else TABLES_READ)
    kinds = [event.kind for event in found.events]
    assert kinds.count("session") == 6 and kinds.count("note") == 6 and kinds.count("referral") == 4
    assert [summary.count.delivered for summary in found.courses] == [2, 2, 2]
    assert len(found.patient.screenings) == 4


def _first(session, model, patient_id):
    statement = select(model)
    if hasattr(model, "patient_id"):
        statement = statement.where(model.patient_id == patient_id)
    else:
        statement = statement.join(Course, Course.id == model.course_id).where(
            Course.patient_id == patient_id
        )
    return session.scalars(statement.order_by(model.id)).first()


def test_the_chart_shows_the_earlier_versions_of_this_patients_records_and_no_others(session):
    clinician = make_user(session)
    mine, other = (_history(session, clinician, courses=1, screenings=1) for _ in range(2))
    kinds = {"screenings": Screening, "outcomes": Outcome, "sessions": TreatmentSession, "notes": VisitNote}
    voided = {}
    for patient in (mine, other):
        day = dt.date(2026, 1, 3)
        session.add(Outcome(patient_id=patient.id, recorded_by_id=clinician.id, assessed_on=day, nrs=5))
        session.flush()
        patients.update_patient(
            session=session,
            actor=clinician,
            patient_id=patient.id,
            reason=f"bmi of {patient.id}",
            bmi_kg_m2=27.0,
        )
        for kind, model in kinds.items():
            row = _first(session, model, patient.id)
            corrections.void(session=session, actor=clinician, kind=kind, record_id=row.id,
                             reason=f"{kind} of {patient.id}")  # fmt: skip
            voided[patient.id, kind] = row.id
    found = chart.patient_chart(session=session, actor=clinician, patient_id=mine.id)
    shown = {
        event.record: [(v.action, v.reason) for v in event.versions]
        for event in found.events
        if event.versions
    }
    assert shown == {(kind, voided[mine.id, kind]): [("void", f"{kind} of {mine.id}")] for kind in kinds}
    assert [(v.action, v.reason, [c.field for c in v.changes]) for v in found.patient_versions] == [
        ("edit", f"bmi of {mine.id}", ["bmi_kg_m2"])
    ]


def test_a_corrected_record_is_compared_whole_and_a_column_the_chart_leaves_out_is_an_error(session):
    clinician = make_user(session)
    patient = _history(session, clinician, courses=1, screenings=0)
    ticked = [1] * 10 + [0] * 14
    day = dt.date(2026, 1, 3)
    outcome = Outcome(patient_id=patient.id, recorded_by_id=clinician.id, assessed_on=day, nrs=5, rmdq=10,
                      rmdq_answers=ticked)  # fmt: skip
    session.add(outcome)
    session.flush()
    row, kept = corrections.begin_edit(
        session=session,
        actor=clinician,
        kind="outcomes",
        record_id=outcome.id,
        reason="misread",
        changes={"nrs": 4},
    )
    row.nrs = 4
    corrections.finish_edit(
        session=session, actor=clinician, kind="outcomes", row=row, kept=kept, fields=["nrs"]
    )
    found = chart.patient_chart(session=session, actor=clinician, patient_id=patient.id)
    [event] = [event for event in found.events if event.record == ("outcomes", outcome.id)]
    # rmdq_answers is not read for the chart, but the corrected outcome is read whole: no change is invented
    assert [(c.field, c.before, c.after) for v in event.versions for c in v.changes] == [("nrs", 5, 4)]
    record = found.patient.courses[0].sessions[0]
    with pytest.raises(LookupError, match="device"):
        _ = record.device


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_on_postgresql_the_pipelined_rows_are_those_sqlalchemy_reads(session):
    """Every chart statement and the page's user: the same keys, values and types (UTC datetimes, JSON)."""
    clinician = make_user(session)
    patient = _history(session, clinician, courses=2, screenings=2)
    session.add(Outcome(patient_id=patient.id, recorded_by_id=clinician.id, assessed_on=dt.date(2026, 1, 3),
                        nrs=5, rmdq=1, rmdq_answers=[1] + [0] * 23))  # fmt: skip
    voided = _first(session, TreatmentSession, patient.id)
    corrections.void(
        session=session, actor=clinician, kind="sessions", record_id=voided.id, reason="wrong day"
    )
    session.add(CourseClosure(course_id=voided.course_id, closed_by_id=clinician.id, reason="completed",
                              summary={"nrs": [5, 3]}))  # fmt: skip
    session.flush()
    connection, parameters = session.connection(), {"patient_id": patient.id, "user_id": clinician.id}
    for statement in (*chart_rows._READS, users._USER_BY_ID):
        through_sqlalchemy = [dict(row) for row in connection.execute(statement, parameters).mappings()]
        [pipelined] = read_all(connection, [statement], parameters)
        assert through_sqlalchemy, "a statement with no rows compares nothing"
        assert repr(pipelined) == repr(through_sqlalchemy)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_database_error_in_the_pipeline_is_sqlalchemys_and_names_no_parameter(session):
    missing = Table("no_such_table", MetaData(), Column("id", Integer))
    with pytest.raises(ProgrammingError, match="no_such_table") as raised:
        read_all(session.connection(), [select(missing).where(missing.c.id == bindparam("secret"))],
                 {"secret": 123456789})  # fmt: skip
    assert isinstance(raised.value.orig, psycopg.errors.UndefinedTable)
    assert "123456789" not in str(raised.value)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_connection_lost_in_the_pipeline_is_an_operational_error_and_leaves_the_pool(engine):
    """The web app answers it with a 503 (`errors.database_busy`); the next request gets a live connection."""
    with engine.connect() as connection:
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend)})")
        with pytest.raises(OperationalError) as raised:
            read_all(connection, chart_rows._READS, {"patient_id": 1})
        assert raised.value.connection_invalidated
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != backend
        assert len(read_all(connection, chart_rows._READS, {"patient_id": -1})) == len(chart_rows._READS)
