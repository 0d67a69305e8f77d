"""Visit notes: on a course of the patient, naming one of its sessions, dated sensibly, on the timeline."""

import datetime as dt

import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import select

from laserdose.clinic import chart, treatment, visit_notes
from laserdose.clinic.models import AuditEntry, utcnow
from laserdose.clinic.users import Forbidden
from laserdose.clinic.visit_notes import NoteInput
from laserdose.errors import InputError


def _course(session):
    clinician, operator = make_user(session), make_user(session, role="operator")
    patient = make_patient(session, clinician)
    return clinician, operator, patient, make_course(session, clinician, patient)


def test_an_operator_notes_a_treated_visit_and_it_reaches_the_timeline(session):
    clinician, operator, patient, course = _course(session)
    record = treatment.record_session(
        db=session, actor=operator, course_id=course.id, started_at=utcnow() - dt.timedelta(minutes=5),
        duration_s=120.0, energy_j_by_wavelength={810: 600.0}, interruptions=[], completed=True,
    )  # fmt: skip
    today = dt.date.today()
    note = NoteInput(
        visit_on=today, subjective="Slept better this week.", assessment="Improving.", pain_before=6,
        pain_after=4, exercise_adherence_percent=80.0, session_id=record.id,
    )  # fmt: skip
    saved = visit_notes.record_note(
        session=session, actor=operator, course_id=course.id, note=note, today=today
    )
    assert [
        n.id for n in visit_notes.course_notes(session=session, actor=clinician, course_id=course.id)
    ] == [saved.id]
    events = chart.timeline(session=session, actor=clinician, patient_id=patient.id)
    assert [e.summary for e in events if e.kind == "note"] == [
        "visit note: pain 6 -> 4; home exercise 80 %; Improving."
    ]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "visit_note.add"))
    assert entry.details["fields"] == ["subjective", "assessment"] and "Slept" not in str(entry.details)


@pytest.mark.parametrize(
    ("change", "field_sentence"),
    [
        ({"visit_on": dt.date.today() + dt.timedelta(days=1)}, "is in the future"),
        ({"visit_on": dt.date(2000, 1, 1)}, "is before the course was created"),
        ({"pain_before": 11}, "Pain before must be a whole number from 0 to 10."),
        ({"exercise_adherence_percent": 120.0}, "adherence must be from 0 to 100 %"),
        ({"subjective": ""}, "Write at least one part of the note"),
        ({"subjective": "x" * 4001}, "Keep the subjective to 4000 characters."),
    ],
)
def test_a_bad_note_is_refused_with_the_field_in_words(session, change, field_sentence):
    _, operator, _, course = _course(session)
    note = NoteInput(**{"visit_on": dt.date.today(), "subjective": "ok", **change})
    with pytest.raises(InputError, match=field_sentence.replace("(", r"\(").replace(")", r"\)")):
        visit_notes.record_note(
            session=session, actor=operator, course_id=course.id, note=note, today=dt.date.today()
        )


def test_a_note_cannot_name_another_courses_session_and_admins_do_not_write_notes(session):
    clinician, operator, patient, course = _course(session)
    other = make_course(session, clinician, make_patient(session, clinician))
    record = treatment.record_session(
        db=session, actor=operator, course_id=other.id, started_at=utcnow() - dt.timedelta(minutes=5),
        duration_s=60.0, energy_j_by_wavelength={810: 300.0}, interruptions=[], completed=True,
    )  # fmt: skip
    note = NoteInput(visit_on=dt.date.today(), plan="Continue.", session_id=record.id)
    with pytest.raises(InputError, match=f"Session {record.id} is not a session of this course"):
        visit_notes.record_note(
            session=session, actor=operator, course_id=course.id, note=note, today=dt.date.today()
        )
    with pytest.raises(Forbidden):
        visit_notes.record_note(
            session=session, actor=make_user(session, role="admin"), course_id=course.id,
            note=NoteInput(visit_on=dt.date.today(), plan="Continue."), today=dt.date.today(),
        )  # fmt: skip
