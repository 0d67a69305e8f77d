"""The chart reads each table once: the number of statements does not grow with courses or screenings."""

import datetime as dt

from factories import make_course, make_patient, make_user
from sqlalchemy import event

from laserdose.clinic import chart
from laserdose.clinic.models import Referral, Screening, TreatmentSession, VisitNote, utcnow

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


def _statements(session, clinician, patient_id):
    session.expunge_all()  # nothing from the identity map: every row is read
    run = []

    def count(*_args):
        run.append(1)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        found = chart.patient_chart(session=session, actor=clinician, patient_id=patient_id)
        # What the page template reads comes from the same rows, not from lazy loads.
        assert all(s.referral is not None for s in found.patient.screenings)
        assert all(len(course.sessions) == 2 for course in found.patient.courses)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    return len(run), found


def test_the_chart_reads_each_table_once_whatever_the_number_of_courses(session):
    clinician = make_user(session)
    small = _history(session, clinician, courses=1, screenings=1)
    large = _history(session, clinician, courses=3, screenings=4)
    small_count, _ = _statements(session, clinician, small.id)
    large_count, found = _statements(session, clinician, large.id)
    assert small_count == large_count == TABLES_READ
    kinds = [event.kind for event in found.events]
    assert kinds.count("session") == 6 and kinds.count("note") == 6 and kinds.count("referral") == 4
    assert [summary.count.delivered for summary in found.courses] == [2, 2, 2]
    assert len(found.patient.screenings) == 4
