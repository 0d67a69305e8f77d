"""Migration 0010_clinic_day on SQLite and PostgreSQL: signed courses get the appointments signing makes."""

import datetime as dt

from sqlalchemy import MetaData, select
from test_clinic_outcome_courses import empty_url  # noqa: F401 - fixture: a new SQLite or PostgreSQL database

from laserdose.clinic import db
from laserdose.clinic.models import Appointment, TreatmentSession


def test_existing_signed_courses_get_their_sessions_planned_and_delivered_ones_linked(empty_url):  # noqa: F811
    engine = db.make_engine(empty_url)
    db.upgrade(engine, "0017_medications")  # before this one (and before 0009_patient_names)
    tables = MetaData()
    tables.reflect(engine)
    monday = dt.datetime(2026, 2, 2, 8, 0, tzinfo=dt.UTC)  # Monday 2 February 2026 (calendar)

    def insert(connection, table: str, **values) -> int:
        return connection.execute(tables.tables[table].insert().values(**values)).inserted_primary_key[0]

    with engine.begin() as connection:
        user = insert(connection, "users", username="old", password_hash="x", role="clinician", active=True,
                      created_at=monday)  # fmt: skip
        patient = insert(connection, "patients", name="Old Patient", birth_date=dt.date(1970, 1, 1),
                         skin_type=3, bmi_kg_m2=25.0, created_at=monday)  # fmt: skip
        course = {"patient_id": patient, "clinician_id": user, "condition": "x", "protocol": "demo",
                  "plan": {}, "sessions_planned": 4, "sessions_per_week": 2, "home_exercise": "",
                  "advice": "", "created_at": monday}  # fmt: skip
        signed = insert(connection, "courses", signed_by_id=user, signed_at=monday, **course)
        unsigned = insert(connection, "courses", **course)
        delivered = [
            insert(
                connection,
                "treatment_sessions",
                course_id=signed,
                operator_id=user,
                started_at=monday + dt.timedelta(days=days, hours=1),
                duration_s=60.0,
                energy_j_by_wavelength={"810": 100.0},
                interruptions=[],
                completed=True,
            )  # fmt: skip
            for days in (3, 0)  # the Thursday's first in the table: the order is by start time
        ]
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        planned = session.scalars(
            select(Appointment).order_by(Appointment.course_id, Appointment.number)
        ).all()
        # Two a week from a Monday: Monday and Thursday, at the signing's time, for two weeks.
        assert [(a.course_id, a.number, a.planned_at) for a in planned] == [
            (signed, 1, monday), (signed, 2, monday + dt.timedelta(days=3)),
            (signed, 3, monday + dt.timedelta(days=7)), (signed, 4, monday + dt.timedelta(days=10)),
        ]  # fmt: skip
        assert unsigned not in {a.course_id for a in planned}
        links = {r.id: r.appointment_id for r in session.scalars(select(TreatmentSession))}
        assert links == {delivered[1]: planned[0].id, delivered[0]: planned[1].id}
    engine.dispose()
