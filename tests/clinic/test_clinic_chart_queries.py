"""The chart reads each table once: the number of statements does not grow with courses or screenings."""

import datetime as dt

import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import event, select

from laserdose.clinic import chart, corrections, patients
from laserdose.clinic.models import Course, Outcome, Referral, Screening, TreatmentSession, VisitNote, utcnow

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
