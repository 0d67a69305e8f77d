"""Factories for clinic test data: valid defaults, overridable per test, unique where the schema says so."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from daykit import plan_today
from laserdose.clinic import courses, patients, users
from laserdose.clinic.models import Course, Patient, User, utcnow

_counter = itertools.count(1)
# Courses of the factory began early in 2026, so that records dated in 2026 may lie on them (a record is
# not dated before its course was created).
COURSE_CREATED = dt.datetime(2026, 1, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


def make_user(session: Session, role: str = "clinician", **overrides: Any) -> User:
    fields = {"username": f"{role}{next(_counter)}", "password": PASSWORD, "role": role, "actor_name": "test"}
    return users.create_user(session=session, **{**fields, **overrides})


def make_patient(session: Session, actor: User, **overrides: Any) -> Patient:
    fields = {
        "name": f"Patient {next(_counter)}",
        "birth_date": dt.date(1970, 5, 17),
        "skin_type": 3,
        "bmi_kg_m2": 26.0,
    }
    return patients.add_patient(session=session, actor=actor, **{**fields, **overrides})


def make_course(
    session: Session, actor: User, patient: Patient, signed: bool = True, **overrides: Any
) -> Course:
    created_at = overrides.pop("created_at", COURSE_CREATED)
    fields = {
        "condition": "chronic_nslbp",
        "protocol": "demo",
        "plan": {"power_w": 10.0},
        "sessions_planned": 12,
        "sessions_per_week": 3,
    }
    course = courses.create_course(
        session=session, actor=actor, patient_id=patient.id, **{**fields, **overrides}
    )
    course.created_at = created_at
    if signed:
        mark_signed(session, course, actor)
    return course


def mark_signed(session: Session, course: Course, actor: User) -> None:
    """The row of a course as the signing gate leaves it, for tests of what follows signing.

    The plan here is a placeholder the gate would refuse (it signs only the planner's plans); the gate
    itself is tested in test_clinic_signing.py. Its sessions are all planned today (daykit.plan_today).
    """
    course.signed_by_id, course.signed_at = actor.id, utcnow()
    session.flush()
    plan_today(session, course)
