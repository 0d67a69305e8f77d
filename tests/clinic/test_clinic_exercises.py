"""The exercise library and a course's home programme: roles, rules, history, audit and the handout PDF."""

import datetime as dt
import subprocess

import pytest
from factories import make_course, make_patient, make_user
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from laserdose.clinic import exercises
from laserdose.clinic.handout import REPORT_AT_ONCE, handout_pdf
from laserdose.clinic.models import AuditEntry, Exercise
from laserdose.clinic.users import Forbidden
from laserdose.clinical.exercises import Dosage, dosage, drawing_svg, parse_drawing, shipped_library
from laserdose.errors import InputError

TODAY = dt.date(2026, 12, 2)


def _by_name(session, name):
    return session.scalar(select(Exercise).where(Exercise.name == name))


def test_every_clinic_database_starts_with_the_shipped_library(session):
    clinician = make_user(session)
    names = [e.name for e in exercises.library(session=session, actor=clinician)]
    assert names == sorted(e.name for e in shipped_library())
    assert all(_by_name(session, name).evidence_note for name in names)


def test_a_clinician_prescribes_and_stops_an_exercise_and_the_history_stays(session):
    clinician = make_user(session)
    course = make_course(session, clinician, make_patient(session, clinician))
    bridge = _by_name(session, "Bridge")
    entry = exercises.assign(
        session=session,
        actor=clinician,
        course_id=course.id,
        exercise_id=bridge.id,
        dosage=Dosage(3, 12, 5, 4),
    )
    with pytest.raises(InputError, match="already in this programme"):
        exercises.assign(
            session=session,
            actor=clinician,
            course_id=course.id,
            exercise_id=bridge.id,
            dosage=Dosage(1, 1, 0, 1),
        )
    exercises.stop(session=session, actor=clinician, course_id=course.id, entry_id=entry.id)
    with pytest.raises(InputError, match="already stopped"):
        exercises.stop(session=session, actor=clinician, course_id=course.id, entry_id=entry.id)
    again = exercises.assign(
        session=session,
        actor=clinician,
        course_id=course.id,
        exercise_id=bridge.id,
        dosage=Dosage(2, 10, 5, 5),
    )
    rows = exercises.programme(session=session, actor=clinician, course_id=course.id)
    assert [(r.id, r.stopped_at is None) for r in rows] == [(again.id, True), (entry.id, False)]
    assert (rows[1].sets, rows[1].repetitions) == (3, 12)  # the stopped prescription keeps its dosage
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "course")).all()
    assert actions.count("course.exercise.assign") == 2 and actions.count("course.exercise.stop") == 1


def test_only_clinicians_prescribe_or_add_exercises(session):
    clinician, operator = make_user(session), make_user(session, role="operator")
    course = make_course(session, clinician, make_patient(session, clinician))
    walking = _by_name(session, "Walking")
    with pytest.raises(Forbidden):
        exercises.assign(
            session=session,
            actor=operator,
            course_id=course.id,
            exercise_id=walking.id,
            dosage=Dosage(1, 1, 600, 5),
        )
    with pytest.raises(Forbidden):
        exercises.add_exercise(
            session=session, actor=operator, name="Plank", instructions="x", dosage=Dosage(1, 1, 20, 3)
        )
    assert (
        exercises.programme(session=session, actor=operator, course_id=course.id) == []
    )  # reading is allowed


def test_a_clinic_exercise_needs_a_new_name_and_a_valid_drawing(session):
    clinician = make_user(session)
    made = exercises.add_exercise(
        session=session, actor=clinician, name="  Side   plank ", instructions="Lie on your side...",
        dosage=Dosage(2, 1, 20, 3), drawing="line 10 50 100 40\ncircle 105 38 4",
    )  # fmt: skip
    assert made.name == "Side plank" and not made.shipped
    with pytest.raises(InputError, match="already has an exercise named 'Side plank'"):
        exercises.add_exercise(
            session=session, actor=clinician, name="Side plank", instructions="y", dosage=Dosage(1, 1, 0, 1)
        )
    with pytest.raises(InputError, match="Drawing line 2"):
        exercises.add_exercise(
            session=session, actor=clinician, name="Plank", instructions="y", dosage=Dosage(1, 1, 0, 1),
            drawing="line 1 2 3 4\nsquare 1 2 3",
        )  # fmt: skip


def test_a_retired_exercise_cannot_be_prescribed(session):
    clinician = make_user(session)
    course = make_course(session, clinician, make_patient(session, clinician))
    knee = _by_name(session, "Knee to chest")
    knee.retired = True
    assert "Knee to chest" not in [e.name for e in exercises.library(session=session, actor=clinician)]
    with pytest.raises(InputError, match="retired"):
        exercises.assign(
            session=session,
            actor=clinician,
            course_id=course.id,
            exercise_id=knee.id,
            dosage=Dosage(1, 3, 20, 7),
        )


@pytest.mark.parametrize(
    ("args", "field"),
    [((0, 8, 5, 5), "Sets"), ((2, 101, 5, 5), "Repetitions"), ((2, 8, -1, 5), "Hold"),
     ((2, 8, 5, 15), "Days a week"), ((True, 8, 5, 5), "Sets"), ((2.5, 8, 5, 5), "Sets")],
)  # fmt: skip
def test_dosage_outside_its_bounds_is_refused_with_the_field_named(args, field):
    with pytest.raises(InputError, match=f"^{field} must be a whole number"):
        dosage(*args)


@given(st.text(max_size=200))
def test_any_text_is_either_refused_or_drawn_with_numbers_only(text):
    try:
        svg = drawing_svg(text, "<script>")
    except InputError:
        return
    assert "<script>" not in svg and svg.count("<line") + svg.count("<circle") == len(parse_drawing(text))


def test_the_handout_lists_the_programme_advice_and_what_to_report_on_every_page(session, tmp_path):
    clinician = make_user(session)
    patient = make_patient(session, clinician, name="Ada Handout", birth_date=dt.date(1961, 4, 9))
    course = make_course(session, clinician, patient, advice="Keep active; short walks every day.")
    for exercise in exercises.library(session=session, actor=clinician):
        exercises.assign(
            session=session, actor=clinician, course_id=course.id, exercise_id=exercise.id,
            dosage=exercises.dosage_of(exercise), note="Start gently.",
        )  # fmt: skip
    stopped = exercises.programme(session=session, actor=clinician, course_id=course.id)[0]
    exercises.stop(session=session, actor=clinician, course_id=course.id, entry_id=stopped.id)
    pdf = tmp_path / "handout.pdf"
    pdf.write_bytes(handout_pdf(session=session, actor=clinician, course=course, today=TODAY))
    pages = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    texts = pages.stdout.split("\f")[:-1]
    assert len(texts) >= 2
    for number, page in enumerate(texts, start=1):
        assert "Ada Handout, born 1961-04-09, record" in page
        assert f"page {number} of {len(texts)}" in page
    whole = " ".join(" ".join(pages.stdout.split()).split())
    for exercise in exercises.library(session=session, actor=clinician):
        assert (exercise.name in whole) == (exercise.id != stopped.exercise_id), exercise.name
    assert "Keep active; short walks every day." in whole
    assert "12 of 12 laser sessions to come, 3 a week" in whole
    # the next six planned sessions by date, the other six counted (schedule.course_appointments)
    assert [f"- session {n}:" in whole for n in range(1, 8)] == [True] * 6 + [False]
    assert "- and 6 more, as arranged with the clinic" in whole
    assert all(" ".join(item.split()[:6]) in whole for item in REPORT_AT_ONCE)
