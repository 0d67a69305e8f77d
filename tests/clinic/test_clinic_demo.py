"""The demo clinic: its courses hold the planner's plans, signed through the signing gate."""

import datetime as dt

import pytest
from sqlalchemy import select

from laserdose.clinic import consent, demo, plans, schedule
from laserdose.clinic.models import AuditEntry, Course, TreatmentSession, User
from laserdose.domain.plan import TreatmentPlan, fingerprint
from laserdose.planning.physics import default_physics

PHYSICS = default_physics()


def test_demo_courses_are_planned_and_signed_through_the_gate(session):
    demo.seed_demo(session=session, start=dt.date(2026, 1, 5), physics=PHYSICS)
    courses = session.scalars(select(Course).order_by(Course.id)).all()
    assert len(courses) == len(demo.DEMO_PATIENTS) + 1  # and the patient whose course starts today
    signings = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.sign")).all()
    assert [entry.entity_id for entry in signings] == [course.id for course in courses]
    reader = session.scalars(select(User).where(User.username == "operator")).one()
    for course, entry in zip(courses, signings, strict=True):
        # Made again from the stored inputs, the plan is the stored one (course_plan raises otherwise).
        plan, _patient = plans.course_plan(
            session=session, actor=reader, course_id=course.id, physics=PHYSICS
        )
        assert isinstance(plan, TreatmentPlan) and plan == plans.stored_plan(course)
        assert entry.details["plan_sha256"] == fingerprint(plan)
        first_day = dt.date(2026, 2, 2) if course is courses[-1] else dt.date(2026, 1, 5)  # Mondays
        assert course.signed_at == dt.datetime.combine(first_day, dt.time(8), dt.UTC)
        assert consent.course_consent(session=session, actor=reader, course_id=course.id) is not None
        states = [e.state for e in schedule.course_appointments(
            session=session, actor=reader, course_id=course.id, today=dt.date(2026, 2, 2))]  # fmt: skip
        # Three a week from a Monday's signing for 4 weeks: the history delivered every one.
        assert states == (["planned"] * 12 if course is courses[-1] else ["done"] * 12)
        # A plan outside the band is signed with the clinician's acknowledgement.
        assert plan.feasible or plans.outside_window(course.plan)["reason"] == demo.DEMO_REASON
        records = session.scalars(select(TreatmentSession).where(TreatmentSession.course_id == course.id))
        for record in records:
            assert record.duration_s == pytest.approx(plan.delivery.duration_s)
            assert sum(record.energy_j_by_wavelength.values()) == pytest.approx(plan.delivery.total_energy_j)
