"""Corrections without deletion on SQLite and PostgreSQL: edit and void with a reason, history, exclusions.

Also the date rules where the services apply them (assessments, sessions, screenings, birth dates).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from factories import COURSE_CREATED, make_course, make_patient, make_user
from sqlalchemy import select

from laserdose.clinic import (
    audit,
    chart,
    completion,
    corrections,
    course_closing,
    courses,
    outcomes,
    patients,
    plans,
    reports,
    screenings,
    treatment,
)
from laserdose.clinic.completion import SameDay
from laserdose.clinic.course_closing import CourseClosed
from laserdose.clinic.models import AuditEntry, RecordVersion
from laserdose.clinic.records import Conflict, NotFound
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError
from laserdose.planning.physics import default_physics
from plan_protocols import write_wide_protocol

DAY = dt.date(2026, 3, 1)
TODAY = dt.date.today()
LBP = {"diagnosis": "chronic-nonspecific-lbp"}


def _outcome(session, actor, patient, course, day=DAY, **scores):
    scores = scores or {"nrs": 7}
    return outcomes.record_outcome(
        session=session, actor=actor, patient_id=patient.id, course_id=course.id, assessed_on=day, **scores
    )


def _session(
    session, operator, course, when=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), energy_j=1500.0, same_day=None
):
    return treatment.record_session(
        db=session, actor=operator, course_id=course.id, started_at=when, duration_s=300.0,
        energy_j_by_wavelength={810: energy_j}, interruptions=[], completed=True, same_day=same_day,
    )  # fmt: skip


@pytest.fixture
def clinic(session):
    clinician, operator = make_user(session), make_user(session, "operator")
    patient = make_patient(session, clinician)
    return clinician, operator, patient, make_course(session, clinician, patient)


def _actions(session, entity_id, table):
    statement = select(AuditEntry).where(AuditEntry.entity == table, AuditEntry.entity_id == entity_id)
    return [(e.action, e.details) for e in session.scalars(statement.order_by(AuditEntry.id))]


def test_an_outcome_correction_keeps_the_previous_version_rescores_and_is_audited(session, clinic):
    clinician, _, patient, course = clinic
    outcome = _outcome(session, clinician, patient, course, nrs=7, rmdq_ticked=[True] * 12 + [False] * 12)
    outcomes.correct_outcome(
        session=session, actor=clinician, outcome_id=outcome.id, reason="NRS typed as 7, patient said 5",
        nrs=5, rmdq_ticked=[True] * 10 + [False] * 14,
    )  # fmt: skip
    assert (outcome.nrs, outcome.rmdq) == (5, 10)  # RMDQ: one point per ticked statement (Roland 1983)
    [version] = corrections.history(session=session, actor=clinician, kind="outcomes", record_id=outcome.id)
    assert (version.version, version.action, version.reason) == (1, "edit", "NRS typed as 7, patient said 5")
    assert version.by == clinician.username and version.snapshot["nrs"] == 7
    changed = {change.field: (change.before, change.after) for change in version.changes}
    assert changed["nrs"] == (7, 5) and changed["rmdq"] == (12, 10)
    assert _actions(session, outcome.id, "outcomes")[-1] == (
        "outcomes.correct",
        {"fields": ["nrs", "rmdq_ticked"], "version": 1},
    )  # field names and the version, never the values nor the reason's text
    assert audit.verify(session=session).broken is None


def test_a_second_correction_is_version_two_and_each_diff_is_against_the_next(session, clinic):
    clinician, _, patient, course = clinic
    outcome = _outcome(session, clinician, patient, course, nrs=7)
    for nrs, reason in ((6, "first fix"), (4, "second fix")):
        outcomes.correct_outcome(
            session=session, actor=clinician, outcome_id=outcome.id, reason=reason, nrs=nrs
        )
    versions = corrections.history(session=session, actor=clinician, kind="outcomes", record_id=outcome.id)
    assert [(v.version, [(c.before, c.after) for c in v.changes]) for v in versions] == [
        (1, [(7, 6)]),
        (2, [(6, 4)]),
    ]


def test_a_correction_obeys_the_rules_of_a_new_record(session, clinic):
    clinician, _, patient, course = clinic
    outcome = _outcome(session, clinician, patient, course)
    cases = [
        ({"assessed_on": dt.date(2999, 1, 1)}, "date of assessment 2999-01-01 is in the future"),
        ({"assessed_on": dt.date(2025, 12, 31)}, "is before the course was created (2026-01-02)"),
        ({"nrs": None}, "at least one of pain NRS, ODI or RMDQ"),
        ({"nrs": 11}, "pain NRS"),
        ({"weight": 3}, "cannot change weight; a correction may change assessed_on, course_id, nrs"),
    ]
    for changes, message in cases:
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            outcomes.correct_outcome(
                session=session, actor=clinician, outcome_id=outcome.id, reason="fix", **changes
            )
    with pytest.raises(InputError, match="reason is required"):
        outcomes.correct_outcome(session=session, actor=clinician, outcome_id=outcome.id, reason="  ", nrs=3)
    session.flush()
    assert corrections.history(session=session, actor=clinician, kind="outcomes", record_id=outcome.id) == []
    assert session.scalars(select(RecordVersion)).all() == []  # a refused correction keeps no version


def test_a_voided_outcome_leaves_the_series_the_course_report_and_the_dashboard(session, clinic):
    clinician, _, patient, course = clinic
    first = _outcome(session, clinician, patient, course, DAY, nrs=8)
    last = _outcome(session, clinician, patient, course, DAY + dt.timedelta(days=28), nrs=3)
    rates = reports.responder_rates(session=session, actor=clinician)
    assert [(r.courses, r.responders["nrs"]) for r in rates] == [(1, 1)]  # 8 -> 3 reaches the MIC
    corrections.void(session=session, actor=clinician, kind="outcomes", record_id=last.id,
                     reason="entered on the wrong patient")  # fmt: skip
    series = outcomes.outcome_series(session=session, actor=clinician, patient_id=patient.id)
    assert [point.outcome_id for point in series] == [first.id]
    assert reports.responder_rates(session=session, actor=clinician) == []  # one assessment: no course
    events = chart.timeline(session=session, actor=clinician, patient_id=patient.id)
    voided = [e for e in events if e.record == ("outcomes", last.id)]
    assert [e.void_reason for e in voided] == ["entered on the wrong patient"]  # kept, with its reason
    with pytest.raises(InputError, match=f"outcome {last.id} is voided"):
        outcomes.correct_outcome(session=session, actor=clinician, outcome_id=last.id, reason="x", nrs=2)
    with pytest.raises(InputError, match="is voided"):
        corrections.void(session=session, actor=clinician, kind="outcomes", record_id=last.id, reason="again")
    assert _actions(session, last.id, "outcomes")[-1] == ("outcomes.void", {"version": 1})


def test_a_voided_session_is_not_counted_and_a_corrected_one_keeps_its_first_version(session, clinic):
    clinician, operator, patient, course = clinic
    kept = _session(session, operator, course, energy_j=1500.0)
    wrong = _session(session, operator, course, energy_j=900.0, same_day=SameDay("sent twice by the machine"))
    corrections.void(session=session, actor=operator, kind="sessions", record_id=wrong.id,
                     reason="recorded twice by the machine")  # fmt: skip
    [summary] = courses.course_summaries(session=session, actor=clinician, patient_id=patient.id)
    assert (summary.count.delivered, summary.count.energy_j) == (1, 1500.0)
    day, zone = dt.date(2026, 3, 2), ZoneInfo("UTC")
    assert [d.first.id for d in completion.same_day_doses(course, day, zone, besides=None)] == [kept.id]
    later = dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)
    treatment.correct_session(
        db=session, actor=operator, session_id=kept.id, reason="machine clock a day behind", started_at=later
    )
    assert kept.started_at == later
    [version] = corrections.history(session=session, actor=clinician, kind="sessions", record_id=kept.id)
    assert version.snapshot["started_at"].startswith("2026-03-02T09:00:00")
    with pytest.raises(InputError, match="session start .* is in the future"):
        treatment.correct_session(db=session, actor=operator, session_id=kept.id, reason="x",
                                  started_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))  # fmt: skip
    with pytest.raises(InputError, match="cannot change course_id"):
        treatment.correct_session(db=session, actor=operator, session_id=kept.id, reason="x", course_id=1)


def test_a_patient_correction_keeps_the_old_details_and_guards_the_birth_date(session, clinic):
    clinician, _, patient, course = clinic
    _outcome(session, clinician, patient, course, DAY)
    patients.update_patient(session=session, actor=clinician, patient_id=patient.id,
                            reason="married name", name="Anna Lind")  # fmt: skip
    [version] = corrections.history(session=session, actor=clinician, kind="patients", record_id=patient.id)
    assert version.snapshot["name"] != "Anna Lind" and version.changes[0].after == "Anna Lind"
    with pytest.raises(InputError, match="birth date 2026-03-02 is after the patient's first record"):
        patients.update_patient(session=session, actor=clinician, patient_id=patient.id, reason="x",
                                birth_date=dt.date(2026, 3, 2))  # fmt: skip
    with pytest.raises(InputError, match="birth date must be between 1900-01-01 and today"):
        patients.update_patient(session=session, actor=clinician, patient_id=patient.id, reason="x",
                                birth_date=dt.date(1899, 12, 31))  # fmt: skip


def test_a_voided_patient_leaves_the_list_and_the_dashboard(session, clinic):
    clinician, _, patient, course = clinic
    _outcome(session, clinician, patient, course, DAY, nrs=8)
    _outcome(session, clinician, patient, course, DAY + dt.timedelta(days=7), nrs=2)
    assert reports.responder_rates(session=session, actor=clinician)
    corrections.void(session=session, actor=clinician, kind="patients", record_id=patient.id,
                     reason="duplicate of another record")  # fmt: skip
    assert patient.id not in [p.id for p in patients.search_patients(session=session, actor=clinician)]
    assert reports.responder_rates(session=session, actor=clinician) == []
    assert patients.get_patient(session=session, actor=clinician, patient_id=patient.id).void_reason


def test_roles_and_kinds(session, clinic):
    clinician, operator, patient, course = clinic
    admin = make_user(session, "admin")
    outcome = _outcome(session, clinician, patient, course)
    with pytest.raises(Forbidden):  # admins manage users and patients, they do not record outcomes
        corrections.void(session=session, actor=admin, kind="outcomes", record_id=outcome.id, reason="x")
    with pytest.raises(Forbidden):
        corrections.void(session=session, actor=operator, kind="patients", record_id=patient.id, reason="x")
    with pytest.raises(InputError, match="'courses' cannot be corrected"):
        corrections.void(session=session, actor=clinician, kind="courses", record_id=course.id, reason="x")
    with pytest.raises(NotFound, match="no outcome with id 987654"):
        corrections.void(session=session, actor=clinician, kind="outcomes", record_id=987654, reason="x")
    assert session.scalars(select(RecordVersion)).all() == []  # nothing refused left a version behind


@pytest.fixture
def clinic_protocols(tmp_path, monkeypatch):
    monkeypatch.setenv("LASERDOSE_PROTOCOLS_DIR", str(write_wide_protocol(tmp_path / "protocols")))


def test_a_screening_is_voided_not_edited_and_a_voided_one_plans_nothing(session, clinic, clinic_protocols):
    clinician, _, patient, _ = clinic
    screening, _ = screenings.screen_patient(
        session=session, actor=clinician, patient_id=patient.id, answers=LBP, today=TODAY
    )
    with pytest.raises(InputError, match="a screening is not edited: void it with a reason"):
        corrections.begin_edit(session=session, actor=clinician, kind="screenings", record_id=screening.id,
                               reason="x", changes={})  # fmt: skip
    corrections.void(session=session, actor=clinician, kind="screenings", record_id=screening.id,
                     reason="answers of another patient")  # fmt: skip
    assert screenings.latest_screening(session=session, actor=clinician, patient_id=patient.id) is None
    inputs = plans.PlanInputs(
        protocol="chronic-nonspecific-lbp", device="15w-dual", area_cm2=150.0, skin_limit_c=43.0,
        fat_mm=None, bmi=27.0, screening_id=screening.id,
    )  # fmt: skip
    with pytest.raises(InputError, match=f"screening {screening.id} was voided"):
        plans.propose_plan(session=session, actor=clinician, patient_id=patient.id, inputs=inputs,
                           physics=default_physics(), today=TODAY)  # fmt: skip


def test_the_services_apply_the_date_rules(session, clinic):
    clinician, operator, patient, course = clinic
    tomorrow = TODAY + dt.timedelta(days=1)
    with pytest.raises(InputError, match=f"date of assessment {tomorrow} is in the future"):
        _outcome(session, clinician, patient, course, tomorrow)
    with pytest.raises(InputError, match="date of assessment 0001-01-01 is before the patient's birth date"):
        _outcome(session, clinician, patient, course, dt.date(1, 1, 1))
    day_before = COURSE_CREATED.date() - dt.timedelta(days=1)
    with pytest.raises(InputError, match=f"{day_before} is before the course was created"):
        _outcome(session, clinician, patient, course, day_before)
    assert _outcome(session, clinician, patient, course, COURSE_CREATED.date()).id  # the day itself is fine
    with pytest.raises(InputError, match="session start .* is in the future"):
        _session(session, operator, course, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30))
    with pytest.raises(InputError, match="before the course was created"):
        _session(session, operator, course, COURSE_CREATED - dt.timedelta(days=2))
    with pytest.raises(InputError, match=f"screening date {tomorrow} is in the future"):
        screenings.screen_patient(
            session=session, actor=clinician, patient_id=patient.id, answers=LBP, today=tomorrow
        )


def test_a_visit_note_is_voided_through_the_same_registry(session, clinic):
    from laserdose.clinic import visit_notes

    clinician, _, patient, course = clinic
    note = visit_notes.record_note(
        session=session, actor=clinician, course_id=course.id, today=TODAY,
        note=visit_notes.NoteInput(visit_on=DAY, assessment="less pain on flexion", pain_before=6),
    )  # fmt: skip
    corrections.void(
        session=session, actor=clinician, kind="notes", record_id=note.id, reason="other patient"
    )
    [event] = [
        e for e in chart.timeline(session=session, actor=clinician, patient_id=patient.id) if e.kind == "note"
    ]
    assert (event.record, event.void_reason) == (("notes", note.id), "other patient")
    assert [v.action for v in event.versions] == ["void"]


def test_a_voided_patient_takes_no_new_records(session, clinic):
    clinician, operator, patient, course = clinic
    corrections.void(
        session=session, actor=clinician, kind="patients", record_id=patient.id, reason="duplicate"
    )
    refused = f"patient {patient.id} was voided \\(duplicate\\); record on the patient's record that stands"
    with pytest.raises(InputError, match=refused):
        _outcome(session, clinician, patient, course)
    with pytest.raises(InputError, match=refused):
        _session(session, operator, course)
    with pytest.raises(InputError, match=refused):
        screenings.screen_patient(
            session=session, actor=clinician, patient_id=patient.id, answers=LBP, today=TODAY
        )
    with pytest.raises(InputError, match=refused):
        make_course(session, clinician, patient)


def test_an_interrupted_session_voided_is_no_longer_counted_nor_completed(session, clinic):
    clinician, operator, patient, course = clinic
    cut = treatment.record_session(
        db=session, actor=operator, course_id=course.id, started_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        duration_s=100.0, energy_j_by_wavelength={810: 500.0}, interruptions=[], completed=False,
    )  # fmt: skip
    assert (
        courses.course_summaries(session=session, actor=clinician, patient_id=patient.id)[0].count.interrupted
        == 1
    )
    corrections.void(session=session, actor=operator, kind="sessions", record_id=cut.id, reason="a test shot")
    [summary] = courses.course_summaries(session=session, actor=clinician, patient_id=patient.id)
    assert (summary.count.delivered, summary.count.interrupted, summary.count.energy_j) == (0, 0, 0.0)
    with pytest.raises(Conflict, match=f"treatment session {cut.id} is not a session of course"):
        completion.completion_of(course, cut.id)


def test_a_closed_course_refuses_corrections_of_its_records_until_reopened(session, clinic):
    clinician, operator, patient, course = clinic
    record = _session(session, operator, course)
    outcome = _outcome(session, clinician, patient, course, nrs=6)
    course_closing.close_course(
        session=session, actor=clinician, course_id=course.id, reason="completed", note=""
    )
    with pytest.raises(CourseClosed, match=f"voiding treatment session {record.id} is not possible"):
        corrections.void(
            session=session, actor=operator, kind="sessions", record_id=record.id, reason="wrong"
        )
    with pytest.raises(CourseClosed, match=f"correcting outcome {outcome.id} is not possible"):
        outcomes.correct_outcome(
            session=session, actor=clinician, outcome_id=outcome.id, reason="typo", nrs=5
        )
    assert corrections.history(session=session, actor=clinician, kind="outcomes", record_id=outcome.id) == []
    course_closing.reopen_course(
        session=session, actor=clinician, course_id=course.id, reason="the NRS was typed wrong"
    )
    outcomes.correct_outcome(session=session, actor=clinician, outcome_id=outcome.id, reason="typo", nrs=5)
    assert outcome.nrs == 5
