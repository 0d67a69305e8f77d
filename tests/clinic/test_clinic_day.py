"""The clinic's day on SQLite and PostgreSQL: the schedule signing makes, moves, consent, the checklist."""

import datetime as dt

import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import select

from daykit import ALL_CONFIRMED
from laserdose.clinic import checklists, consent, schedule, treatment
from laserdose.clinic.models import Appointment, AuditEntry, TreatmentSession, utcnow
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError
from laserdose.safety.checklist import ITEMS, MAX_AGE_S
from qakit import MACHINE, record_check

UTC = dt.UTC


def _at(day: str, hh_mm: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hh_mm}:00+00:00")


# -- the schedule: dates read off a calendar (December 2026: Monday 7th, Wednesday 9th, Saturday 12th) ----


def test_three_a_week_from_a_monday_is_monday_wednesday_friday_for_four_weeks():
    times = schedule.session_times(_at("2026-12-07", "09:00"), 12, 3)
    days = [t.date().isoformat() for t in times]
    assert days == [
        "2026-12-07", "2026-12-09", "2026-12-11", "2026-12-14", "2026-12-16", "2026-12-18",
        "2026-12-21", "2026-12-23", "2026-12-25", "2026-12-28", "2026-12-30", "2027-01-01",
    ]  # fmt: skip
    assert {t.time() for t in times} == {dt.time(9, 0)}


def test_the_pattern_starts_on_the_signing_day_and_skips_weekends():
    # Signed on a Wednesday, three a week: weekdays 0, 2, 4 of each run of five from that day.
    days = [t.date().isoformat() for t in schedule.session_times(_at("2026-12-09"), 6, 3)]
    assert days == ["2026-12-09", "2026-12-11", "2026-12-15", "2026-12-16", "2026-12-18", "2026-12-22"]
    # Signed on a Saturday: the first session is on the Monday.
    assert schedule.session_times(_at("2026-12-12"), 1, 2)[0].date() == dt.date(2026, 12, 14)
    # Two a week from a Monday: Monday and Thursday.
    days = [t.date().isoformat() for t in schedule.session_times(_at("2026-12-07"), 4, 2)]
    assert days == ["2026-12-07", "2026-12-10", "2026-12-14", "2026-12-17"]
    # Seven a week cannot skip weekends: every weekday, and no Saturday or Sunday.
    week = schedule.session_times(_at("2026-12-07"), 7, 7)
    assert [t.weekday() for t in week] == [0, 1, 2, 3, 4, 0, 1]


def test_sessions_start_on_the_next_quarter_hour_of_the_signing():
    assert schedule.session_times(_at("2026-12-07", "09:07"), 1, 3)[0] == _at("2026-12-07", "09:15")
    assert schedule.session_times(_at("2026-12-07", "09:15"), 1, 3)[0] == _at("2026-12-07", "09:15")
    assert schedule.session_times(_at("2026-12-07", "23:50"), 1, 3)[0] == _at("2026-12-08", "00:00")
    with pytest.raises(InputError, match="time zone"):
        schedule.session_times(dt.datetime(2026, 12, 7, 9), 1, 3)


# -- states and moves --------------------------------------------------------------------------------


@pytest.fixture
def day(session):
    clinician = make_user(session, "clinician")
    operator = make_user(session, "operator")
    course = make_course(session, clinician, make_patient(session, clinician), sessions_planned=3)
    record_check(session, operator)  # the machine passed its power check today
    return clinician, operator, course


def test_the_day_lists_each_session_with_its_state(session, day):
    clinician, operator, course = day
    today = utcnow().date()
    entries = schedule.day_list(session=session, actor=operator, day=today, today=today)
    assert [(e.appointment.number, e.state) for e in entries if e.course.id == course.id] == [
        (1, "planned"), (2, "planned"), (3, "planned"),
    ]  # fmt: skip
    first = entries[0].appointment
    treatment.record_session(
        db=session, actor=operator, course_id=course.id, started_at=utcnow(), duration_s=10.0,
        energy_j_by_wavelength={810: 5.0}, interruptions=[], completed=False, appointment_id=first.id,
    )  # fmt: skip
    states = [e.state for e in schedule.course_appointments(session=session, actor=operator,
                                                           course_id=course.id, today=today)]  # fmt: skip
    assert states == ["interrupted", "planned", "planned"]
    # Tomorrow, the two sessions nobody gave are missed; the interrupted one stays interrupted.
    tomorrow = today + dt.timedelta(days=1)
    later = [e.state for e in schedule.course_appointments(
        session=session, actor=operator, course_id=course.id, today=tomorrow)]  # fmt: skip
    assert later == ["interrupted", "missed", "missed"]


def test_a_move_is_audited_with_both_times_and_a_reason(session, day):
    _clinician, operator, course = day
    first = session.scalars(select(Appointment).where(Appointment.course_id == course.id)).first()
    before, now = first.planned_at, utcnow()
    target = now + dt.timedelta(days=2)
    for bad, message in ((" ", "reason"), ("x" * 501, "at most 500")):
        with pytest.raises(InputError, match=message):
            schedule.move_appointment(session=session, actor=operator, appointment_id=first.id,
                                      planned_at=target, reason=bad, now=now)  # fmt: skip
    with pytest.raises(InputError, match="time zone"):
        schedule.move_appointment(session=session, actor=operator, appointment_id=first.id,
                                  planned_at=target.replace(tzinfo=None), reason="ill", now=now)  # fmt: skip
    with pytest.raises(InputError, match="within 366 days"):
        schedule.move_appointment(session=session, actor=operator, appointment_id=first.id,
                                  planned_at=now + dt.timedelta(days=400), reason="ill", now=now)  # fmt: skip
    schedule.move_appointment(session=session, actor=operator, appointment_id=first.id, planned_at=target,
                              reason="patient has a cold", now=now)  # fmt: skip
    assert first.planned_at == target and first.move_reason == "patient has a cold"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "appointment.move")).one()
    assert (
        entry.details["moved_from"] == before.isoformat() and entry.details["moved_to"] == target.isoformat()
    )
    assert "cold" not in str(entry.details)  # the audit log keeps field names, not what was written


def test_a_session_done_cannot_be_moved(session, day):
    _clinician, operator, course = day
    first = session.scalars(select(Appointment).where(Appointment.course_id == course.id)).first()
    treatment.record_session(
        db=session, actor=operator, course_id=course.id, started_at=utcnow(), duration_s=10.0,
        energy_j_by_wavelength={810: 5.0}, interruptions=[], completed=True, appointment_id=first.id,
    )  # fmt: skip
    with pytest.raises(InputError, match="session 1 is done"):
        schedule.move_appointment(session=session, actor=operator, appointment_id=first.id,
                                  planned_at=utcnow(), reason="again", now=utcnow())  # fmt: skip


# -- consent -----------------------------------------------------------------------------------------


def test_consent_is_recorded_once_by_a_clinician_with_the_name_and_date(session, day):
    clinician, operator, course = day
    today = utcnow().date()
    given = consent.ConsentGiven("Ada Lovelace", today)
    with pytest.raises(Forbidden):
        consent.record_consent(session=session, actor=operator, course_id=course.id, given=given, today=today)
    for bad, message in (
        (consent.ConsentGiven("  ", today), "name"),
        (consent.ConsentGiven("Ada\x00Lovelace", today), "control characters"),
        (consent.ConsentGiven("Ada", today + dt.timedelta(days=1)), "today or earlier"),
    ):
        with pytest.raises(InputError, match=message):
            consent.record_consent(
                session=session, actor=clinician, course_id=course.id, given=bad, today=today
            )
    recorded = consent.record_consent(session=session, actor=clinician, course_id=course.id, given=given,
                                      today=today)  # fmt: skip
    assert (recorded.patient_name, recorded.signed_on, recorded.taken_by_id) == (
        "Ada Lovelace",
        today,
        clinician.id,
    )
    assert recorded.form_version == consent.FORM_VERSION
    with pytest.raises(InputError, match="recorded already"):
        consent.record_consent(
            session=session, actor=clinician, course_id=course.id, given=given, today=today
        )


# -- the checklist gate: no ARM without the checklist of that session -------------------------------------


def _open(session, operator, course):
    return treatment.open_session(db=session, actor=operator, course_id=course.id, device=MACHINE)


def test_no_session_opens_without_a_checklist(session, day):
    _clinician, operator, course = day
    with pytest.raises(checklists.ChecklistRefused, match="complete the safety checklist of session 1"):
        _open(session, operator, course)
    assert session.scalars(select(TreatmentSession)).all() == []


def test_an_incomplete_checklist_is_refused_naming_the_missing_item(session, day):
    _clinician, operator, course = day
    first = session.scalars(select(Appointment).where(Appointment.course_id == course.id)).first()
    for item in ITEMS:
        answers = ALL_CONFIRMED | {item.key: False}
        with pytest.raises(
            InputError, match="not confirmed: " + item.label.split(" (")[0].replace("(", r"\(")
        ):
            checklists.record_checklist(session=session, actor=operator, appointment_id=first.id,
                                        answers=answers, eyewear=[], now=utcnow())  # fmt: skip
    # Only True confirms: "yes" or 1 written in a file or form is not a confirmation.
    with pytest.raises(InputError, match="not confirmed"):
        checklists.record_checklist(session=session, actor=operator, appointment_id=first.id,
                                    answers=ALL_CONFIRMED | {"eyewear": 1}, eyewear=[],
                                    now=utcnow())  # fmt: skip
    with pytest.raises(checklists.ChecklistRefused):
        _open(session, operator, course)


def test_a_checklist_serves_one_start_of_its_own_session_within_the_hour(session, day):
    clinician, operator, course = day
    other = make_course(session, clinician, make_patient(session, clinician))
    appointments = session.scalars(select(Appointment).where(Appointment.course_id == course.id)).all()
    other_first = session.scalars(select(Appointment).where(Appointment.course_id == other.id)).first()
    record = dict(session=session, actor=operator, answers=ALL_CONFIRMED, eyewear=[])  # noqa: C408
    # Another course's checklist does not count.
    checklists.record_checklist(appointment_id=other_first.id, now=utcnow(), **record)
    with pytest.raises(checklists.ChecklistRefused):
        _open(session, operator, course)
    # Nor one completed more than an hour ago (completed now, then aged: an hour ago may be yesterday).
    stale = checklists.record_checklist(appointment_id=appointments[0].id, now=utcnow(), **record)
    stale.completed_at -= dt.timedelta(seconds=MAX_AGE_S + 60)
    session.flush()
    with pytest.raises(checklists.ChecklistRefused):
        _open(session, operator, course)
    # Nor a later session's of the same course (session 2 moved to tomorrow first).
    tomorrow = utcnow() + dt.timedelta(days=1)
    schedule.move_appointment(session=session, actor=operator, appointment_id=appointments[1].id,
                              planned_at=tomorrow, reason="moved", now=utcnow())  # fmt: skip
    with pytest.raises(InputError, match="not today"):
        checklists.record_checklist(appointment_id=appointments[1].id, now=utcnow(), **record)
    fresh = checklists.record_checklist(appointment_id=appointments[0].id, now=utcnow(), **record)
    opened = _open(session, operator, course)
    assert (opened.appointment_id, opened.checklist_id) == (appointments[0].id, fresh.id)
    assert stale.id != fresh.id
    # Used once: the next start of the same session needs a new checklist.
    treatment.close_session(db=session, actor_name=operator.username, session_id=opened.id, completed=False,
                            reason="stopped by operator")  # fmt: skip
    with pytest.raises(checklists.ChecklistRefused):
        _open(session, operator, course)
    start = session.scalars(select(AuditEntry).where(AuditEntry.action == "session.start")).one()
    assert start.details["checklist_id"] == fresh.id
