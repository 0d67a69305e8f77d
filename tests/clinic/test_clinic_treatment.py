"""Console sessions in the database: opened before arming, rewritten per heartbeat, closed, recovered."""

import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import select

from daykit import complete_checklist
from laserdose.clinic import audit, chart, treatment
from laserdose.clinic.models import AuditEntry
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError
from qakit import MACHINE, record_check


@pytest.fixture
def course_and_operator(session):
    clinician = make_user(session, "clinician")
    course = make_course(session, clinician, make_patient(session, clinician))
    operator = make_user(session, "operator")
    record_check(session, operator)  # the machine passed its power check today
    complete_checklist(session, operator, course.id)  # the safety checklist of today's session
    return course, operator


def _actions(session):
    return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_session_is_opened_rewritten_and_closed_with_audit(session, course_and_operator):
    course, operator = course_and_operator
    record = treatment.open_session(db=session, actor=operator, course_id=course.id, device=MACHINE)
    assert record.status == "running" and record.energy_j_by_wavelength == {}
    events = chart.timeline(session=session, actor=operator, patient_id=course.patient_id)
    assert events[-1].summary == "session 0 J, running"
    treatment.save_heartbeat(
        db=session, session_id=record.id, duration_s=2.5, energy_j_by_wavelength={"810": 15.0},
        interruptions=[],
    )  # fmt: skip
    who = {"db": session, "actor_name": operator.username, "session_id": record.id}
    treatment.audit_emission(**who, started=True, reason="footswitch")
    treatment.close_session(**who, completed=False, reason="stopped by operator")
    assert (record.status, record.completed, record.energy_j_by_wavelength) == ("ended", False, {"810": 15.0})
    assert _actions(session)[-3:] == ["session.start", "emission.start", "session.end"]
    assert audit.verify(session=session).broken is None
    with pytest.raises(InputError, match="has ended"):  # an ended record is final
        treatment.save_heartbeat(db=session, session_id=record.id, duration_s=3.0,
                                 energy_j_by_wavelength={"810": 99.0}, interruptions=[])  # fmt: skip


def test_only_an_operator_opens_a_session_and_only_on_a_signed_plan(session):
    clinician = make_user(session, "clinician")
    patient = make_patient(session, clinician)
    signed = make_course(session, clinician, patient)
    unsigned = make_course(session, clinician, patient, signed=False)
    operator = make_user(session, "operator")
    with pytest.raises(Forbidden):
        treatment.open_session(db=session, actor=clinician, course_id=signed.id, device={})
    with pytest.raises(InputError, match="no signed plan"):
        treatment.open_session(db=session, actor=operator, course_id=unsigned.id, device={})


def test_recovery_closes_running_sessions_keeping_the_last_heartbeat(session, course_and_operator):
    course, operator = course_and_operator
    running = treatment.open_session(db=session, actor=operator, course_id=course.id, device=MACHINE)
    treatment.save_heartbeat(db=session, session_id=running.id, duration_s=4.0,
                             energy_j_by_wavelength={"810": 24.0, "980": 16.0}, interruptions=[])  # fmt: skip
    assert treatment.recover_running_sessions(db=session) == [running.id]
    assert running.status == "ended" and not running.completed
    assert running.energy_j_by_wavelength == {"810": 24.0, "980": 16.0}
    assert treatment.SERVER_LOST in running.interruptions[-1]["reason"]
    assert treatment.recover_running_sessions(db=session) == []  # nothing left running
    assert _actions(session)[-1] == "session.recover"
