"""Counting doses, completing an interrupted session, a second dose on one day, closing a course.

Runs on SQLite and PostgreSQL (the `session` fixture). Energies are the plan's power x time: 6 W and 4 W
for 30 s give 180 J + 120 J = 300 J per session.
"""

import datetime as dt

import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import select

from daykit import complete_checklist, earlier_today
from laserdose.clinic import audit, course_closing, dose_accounting, outcomes, treatment
from laserdose.clinic.completion import SameDay, SameDayConfirmationNeeded, completion_of
from laserdose.clinic.course_closing import CourseClosed
from laserdose.clinic.models import AuditEntry, utcnow
from laserdose.clinic.records import Conflict
from laserdose.errors import InputError
from qakit import MACHINE, record_check

PLAN = {
    "decision": "treat", "device": "15w-dual", "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
    "mode": "cw", "handpiece": "large-standoff", "duration_s": 30, "total_energy_j": 300.0,
}  # fmt: skip
YESTERDAY = utcnow() - dt.timedelta(days=1)


@pytest.fixture
def people(session):
    clinician = make_user(session, "clinician")
    operator = make_user(session, "operator")
    patient = make_patient(session, clinician)
    course = make_course(session, clinician, patient, plan=PLAN, sessions_planned=10)
    return clinician, operator, patient, course


def _record(session, operator, course, energy, completed, **extra):
    return treatment.record_session(
        db=session, actor=operator, course_id=course.id, started_at=extra.pop("at", YESTERDAY),
        duration_s=10.0, energy_j_by_wavelength=energy, interruptions=extra.pop("interruptions", []),
        completed=completed, **extra,
    )  # fmt: skip


def test_complete_and_interrupted_are_counted_apart(session, people):
    _, operator, _, course = people
    for days in (5, 4, 3):
        _record(session, operator, course, {"810": 180.0, "980": 120.0}, True,
                at=utcnow() - dt.timedelta(days=days))  # fmt: skip
    _record(session, operator, course, {"810": 40.8, "980": 27.2}, False,
            interruptions=[{"at_s": 6.8, "reason": "footswitch released"}])  # fmt: skip
    session.expire_all()
    count = dose_accounting.count_doses(course)
    assert (count.delivered, count.interrupted, count.planned_j) == (3, 1, 300.0)
    assert count.sentence() == "3 of 10 delivered, 1 interrupted (68 J of 300 J)"


def test_an_interrupted_session_and_its_completion_count_as_one_delivered(session, people):
    _, operator, _, course = people
    first = _record(session, operator, course, {"810": 72.0, "980": 48.0}, False,
                    interruptions=[{"at_s": 12.0, "reason": "device trip: interlock-open"}])  # fmt: skip
    session.expire_all()
    found = completion_of(course, first.id)
    # what remains: 180 - 72 = 108 J and 120 - 48 = 72 J, at the planned powers for 18 s
    assert found.delivery.energy_j_by_wavelength == {810: pytest.approx(108.0), 980: pytest.approx(72.0)}
    assert found.delivery.duration_s == pytest.approx(18.0)
    second = _record(session, operator, course, {"810": 108.0, "980": 72.0}, True,
                     completes_session_id=first.id, at=YESTERDAY + dt.timedelta(minutes=5))  # fmt: skip
    session.expire_all()
    assert second.completes_session_id == first.id
    assert dose_accounting.count_doses(course).sentence() == "1 of 10 delivered"
    with pytest.raises(Conflict, match="part of a dose that is delivered"):
        completion_of(course, first.id)


def test_a_completion_that_delivered_more_than_remained_is_refused(session, people):
    _, operator, _, course = people
    first = _record(session, operator, course, {"810": 72.0, "980": 48.0}, False)
    with pytest.raises(Conflict, match=r"at most 108.0 J at 810 nm"):
        _record(session, operator, course, {"810": 180.0, "980": 72.0}, True, completes_session_id=first.id)


@pytest.mark.parametrize(
    ("energy", "reason", "message"),
    [
        ({"810": 72.0, "980": 48.0}, "link lost: no answer", "energy is uncertain"),
        ({"810": 72.0, "980": 48.0}, treatment.SERVER_LOST, "energy is uncertain"),
        (
            {"810": 72.0, "980": 48.0},
            "810 nm host integral 80.1 J vs device counter 72 J",
            "energy is uncertain",
        ),
        ({"810": 72.0, "980": 48.0}, "console error: RuntimeError: boom", "energy is uncertain"),
        ({"810": 72.0}, "footswitch released", r"recorded energy for \['810'\] nm"),
    ],
)
def test_a_record_without_trustworthy_energy_cannot_be_completed(session, people, energy, reason, message):
    _, operator, _, course = people
    first = _record(session, operator, course, energy, False, interruptions=[{"at_s": 3.0, "reason": reason}])
    session.expire_all()
    with pytest.raises(Conflict, match=message):
        completion_of(course, first.id)


def test_a_second_dose_on_the_same_day_needs_a_recorded_confirmation(session, people):
    _, operator, _, course = people
    now = utcnow()
    first_at = earlier_today(now, dt.timedelta(minutes=30))
    _record(session, operator, course, {"810": 180.0, "980": 120.0}, True, at=first_at)
    with pytest.raises(SameDayConfirmationNeeded, match="already had a dose on .* \\(clinic time, UTC\\)"):
        _record(session, operator, course, {"810": 180.0, "980": 120.0}, True, at=now)
    with pytest.raises(SameDayConfirmationNeeded):  # a reason of a few words at least
        _record(session, operator, course, {"810": 1.0, "980": 1.0}, False, at=now, same_day=SameDay("ok"))
    second = _record(session, operator, course, {"810": 180.0, "980": 120.0}, True, at=now,
                     same_day=SameDay("split dose prescribed for acute flare"))  # fmt: skip
    assert second.same_day_confirmed_by_id == operator.id and second.same_day_confirmed_at is not None
    assert second.same_day_reason == "split dose prescribed for acute flare"


def test_the_same_day_is_the_clinics_calendar_day(session, people, monkeypatch):
    _, operator, _, course = people
    # 23:30 and 00:30 UTC are one calendar day in New York (18:30 and 19:30, winter time): refused there
    late = dt.datetime(2026, 1, 14, 23, 30, tzinfo=dt.UTC)
    _record(session, operator, course, {"810": 180.0, "980": 120.0}, True, at=late)
    monkeypatch.setenv("LASERDOSE_CLINIC_TIMEZONE", "America/New_York")
    with pytest.raises(SameDayConfirmationNeeded, match="2026-01-14 \\(clinic time, America/New_York\\)"):
        _record(session, operator, course, {"810": 1.0, "980": 1.0}, False, at=late + dt.timedelta(hours=1))
    monkeypatch.setenv("LASERDOSE_CLINIC_TIMEZONE", "UTC")  # two days in UTC: no confirmation needed
    _record(session, operator, course, {"810": 1.0, "980": 1.0}, False, at=late + dt.timedelta(hours=1))


def test_completing_on_the_same_day_needs_no_confirmation(session, people):
    _, operator, _, course = people
    now = utcnow()
    first = _record(
        session, operator, course, {"810": 72.0, "980": 48.0}, False, at=now - dt.timedelta(hours=1)
    )
    _record(
        session, operator, course, {"810": 108.0, "980": 72.0}, True, at=now, completes_session_id=first.id
    )


def test_the_console_refuses_a_second_dose_today_before_anything_is_opened(session, people):
    _, operator, _, course = people
    record_check(session, operator)
    first_at = earlier_today(utcnow(), dt.timedelta(hours=1))
    _record(session, operator, course, {"810": 180.0, "980": 120.0}, True, at=first_at)
    session.expire_all()
    complete_checklist(session, operator, course.id)  # the safety checklist of the session
    with pytest.raises(SameDayConfirmationNeeded):
        treatment.open_session(db=session, actor=operator, course_id=course.id, device=MACHINE)
    assert len(course.sessions) == 1
    opened = treatment.open_session(db=session, actor=operator, course_id=course.id, device=MACHINE,
                                    same_day=SameDay("second half of a split dose"))  # fmt: skip
    assert opened.same_day_reason == "second half of a split dose"


def test_a_second_active_course_for_the_same_condition_cannot_be_signed(session, people):
    clinician, _, patient, course = people
    from laserdose.clinic import signing

    second = make_course(session, clinician, patient, signed=False, plan=PLAN)
    with pytest.raises(Conflict, match=f"already has an active course for chronic nslbp: course {course.id}"):
        signing.sign(session=session, actor=clinician, course_id=second.id, physics=None)  # type: ignore[arg-type]
    assert course_closing.active_course_conflict(session, patient.id, "acute_nslbp") is None


def test_a_closed_course_is_read_only_and_closing_and_reopening_are_audited(session, people):
    clinician, operator, patient, course = people
    for day, nrs in ((dt.date(2026, 1, 5), 7), (dt.date(2026, 2, 5), 3)):
        outcomes.record_outcome(session=session, actor=clinician, patient_id=patient.id, assessed_on=day,
                                nrs=nrs, course_id=course.id)  # fmt: skip
    closure = course_closing.close_course(session=session, actor=clinician, course_id=course.id,
                                          reason="completed", note="pain much better")  # fmt: skip
    assert closure.summary["nrs"] == {
        "first": 7,
        "first_on": "2026-01-05",
        "last": 3,
        "last_on": "2026-02-05",
    }
    assert closure.summary["odi_percent"] is None and closure.summary["assessments"] == 2
    with pytest.raises(CourseClosed, match=f"course {course.id} was closed on .* \\(course completed\\)"):
        _record(session, operator, course, {"810": 1.0, "980": 1.0}, False)
    with pytest.raises(CourseClosed, match="recording an outcome"):
        outcomes.record_outcome(session=session, actor=clinician, patient_id=patient.id,
                                assessed_on=dt.date(2026, 3, 1), nrs=2, course_id=course.id)  # fmt: skip
    assert outcomes.active_courses(session, patient.id) == []
    with pytest.raises(InputError, match="reason for reopening"):
        course_closing.reopen_course(session=session, actor=clinician, course_id=course.id, reason="x")
    course_closing.reopen_course(session=session, actor=clinician, course_id=course.id,
                                 reason="flare-up two weeks after discharge")  # fmt: skip
    _record(session, operator, course, {"810": 1.0, "980": 1.0}, False)
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.index("course.close") < actions.index("course.reopen")
    assert audit.verify(session=session).broken is None


def test_only_a_clinician_closes_and_with_a_known_reason(session, people):
    clinician, operator, _, course = people
    from laserdose.clinic.users import Forbidden

    with pytest.raises(Forbidden):
        course_closing.close_course(session=session, actor=operator, course_id=course.id,
                                    reason="completed", note="")  # fmt: skip
    with pytest.raises(InputError, match="reason must be one of"):
        course_closing.close_course(session=session, actor=clinician, course_id=course.id,
                                    reason="bored", note="")  # fmt: skip


def test_a_closed_course_takes_no_exercise_changes(session, people):
    from laserdose.clinic import exercises
    from laserdose.clinic.models import Exercise
    from laserdose.clinical.exercises import Dosage

    clinician, _, _, course = people
    bridge = session.scalars(select(Exercise).where(Exercise.name == "Bridge")).one()
    entry = exercises.assign(session=session, actor=clinician, course_id=course.id, exercise_id=bridge.id,
                             dosage=Dosage(3, 12, 5, 4))  # fmt: skip
    course_closing.close_course(
        session=session, actor=clinician, course_id=course.id, reason="referred", note=""
    )
    with pytest.raises(CourseClosed, match="changing its exercise programme"):
        exercises.stop(session=session, actor=clinician, course_id=course.id, entry_id=entry.id)
    with pytest.raises(CourseClosed, match=r"\(referred\)"):
        exercises.assign(session=session, actor=clinician, course_id=course.id, exercise_id=bridge.id,
                         dosage=Dosage(3, 12, 5, 4))  # fmt: skip


def test_a_closed_course_takes_no_visit_note_and_no_body_chart_change(session, people):
    from laserdose.clinic import body_charts, visit_notes

    clinician, _, _, course = people
    course_closing.close_course(
        session=session, actor=clinician, course_id=course.id, reason="referred", note=""
    )
    note = visit_notes.NoteInput(visit_on=dt.date.today(), subjective="better")
    with pytest.raises(CourseClosed, match="adding a visit note"):
        visit_notes.record_note(session=session, actor=clinician, course_id=course.id, note=note,
                                today=dt.date.today())  # fmt: skip
    with pytest.raises(CourseClosed, match="changing its body chart"):
        body_charts.mark(session=session, actor=clinician, course_id=course.id, zones=[])


def test_an_outcome_after_every_course_was_closed_is_refused_not_left_unlinked(session, people):
    clinician, _, patient, course = people
    course_closing.close_course(
        session=session, actor=clinician, course_id=course.id, reason="completed", note=""
    )
    with pytest.raises(
        CourseClosed, match=f"every course of this patient is closed \\(latest: course {course.id}\\)"
    ):
        outcomes.record_outcome(session=session, actor=clinician, patient_id=patient.id,
                                assessed_on=dt.date(2026, 3, 1), nrs=2)  # fmt: skip


def test_the_console_opens_no_session_on_a_closed_course(session, people):
    clinician, operator, _, course = people
    record_check(session, operator)
    course_closing.close_course(
        session=session, actor=clinician, course_id=course.id, reason="referred", note=""
    )
    with pytest.raises(CourseClosed, match="starting a session is not possible"):
        treatment.open_session(db=session, actor=operator, course_id=course.id, device=MACHINE)
