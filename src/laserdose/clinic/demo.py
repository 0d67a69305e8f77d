"""A demo clinic: one user per role with random passwords, and patients with made-up histories.

The patients and scores are invented for demonstration. Each course holds DEMO_PLAN (examples/plan.json:
the 15w-dual demo machine at 6 W + 4 W for 300 s), which the treatment console can deliver on the
simulator that `make run` starts; the seeded past sessions delivered exactly that plan.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laserdose.clinic import courses, outcomes, patients, qa, screenings, treatment, users
from laserdose.clinic.models import User
from laserdose.device.qa import set_points
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile

DEMO_PLAN = {
    "decision": "treat", "device": "15w-dual", "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
    "mode": "cw", "handpiece": "large-standoff", "duration_s": 300, "total_energy_j": 3000,
}  # fmt: skip
DEMO_MACHINE = "15w-dual"  # the machine of DEMO_PLAN, which `make run` simulates
DEMO_DRIFT_PER_CHECK = 0.015  # the demo machine's 810 nm output rises 1.5 % a month (made up)
# (name, birth date, skin type, BMI, weekly pain NRS over a 4-week course)
DEMO_PATIENTS = [
    ("Demo Patient Alvarez", dt.date(1971, 3, 14), 4, 27.5, [7, 6, 5, 4, 3]),
    ("Demo Patient Berger", dt.date(1958, 11, 2), 2, 31.0, [6, 6, 5, 5, 5]),
    ("Demo Patient Chen", dt.date(1985, 6, 21), 3, 22.8, [5, 4, 2, 1, 0]),
]


def seed_demo(*, session: Session, start: dt.date) -> dict[str, str]:
    """Create the demo users and patients in an empty database; return {username: password}.

    Args:
        session: open database session (the caller commits).
        start: date of the first assessment; the course runs three sessions a week from it.
    """
    if session.scalar(select(func.count()).select_from(User)):
        raise InputError("the database already has users; the demo clinic is only seeded into an empty one")
    passwords = {role: secrets.token_urlsafe(12) for role in ("admin", "clinician", "operator")}
    made = {
        role: users.create_user(session=session, username=role, password=pw, role=role, actor_name="demo")
        for role, pw in passwords.items()
    }
    for name, born, skin_type, bmi, pain in DEMO_PATIENTS:
        seed_patient_history(
            session, made["clinician"], made["operator"], (name, born, skin_type, bmi), pain, start
        )
    seed_power_checks(session, made["operator"], start)
    return passwords


def seed_power_checks(session: Session, operator: User, start: dt.date) -> None:
    """Monthly power checks of the simulator's machine (SIM-0001), the last one 21 days after `start`.

    Made-up readings: the 810 nm output creeps up by DEMO_DRIFT_PER_CHECK a month, 980 nm stays put, so the
    machine's page has a trend to show while every check passes.
    """
    points = set_points(load_profile(DEMO_MACHINE))
    for month in range(4):
        at = dt.datetime.combine(start + dt.timedelta(days=21 - 30 * (3 - month)), dt.time(7, 30), dt.UTC)
        drift = {810.0: DEMO_DRIFT_PER_CHECK * month}
        rows = [
            {"wavelength_nm": p.wavelength_nm, "handpiece": p.handpiece, "set_power_w": p.power_w,
             "monitor_w": p.power_w, "meter_w": round(p.power_w * (1 + drift.get(p.wavelength_nm, 0.0)), 3)}
            for p in points
        ]  # fmt: skip
        qa.record_check(
            session=session, actor=operator, machine_serial="SIM-0001", machine_profile=DEMO_MACHINE,
            readings=rows, meter_id="demo thermopile meter",
            meter_calibrated_on=at.date() - dt.timedelta(days=120), at=at,
        )  # fmt: skip


def seed_patient_history(
    session: Session, clinician: User, operator: User, who: tuple[str, dt.date, int, float], pain: list[int],
    start: dt.date,
) -> None:  # fmt: skip
    """Add one demo patient with a screening, a signed course, weekly outcomes and three sessions a week."""
    name, born, skin_type, bmi = who
    patient = patients.add_patient(
        session=session, actor=clinician, name=name, birth_date=born, skin_type=skin_type, bmi_kg_m2=bmi
    )
    screening = screenings.record_screening(
        session=session, actor=clinician, patient_id=patient.id, decision="treat", answers={"demo": True},
        reasons=["no red flags (demo)"],
    )  # fmt: skip
    course = courses.create_course(
        session=session, actor=clinician, patient_id=patient.id, condition="chronic_nslbp", protocol="demo",
        plan=dict(DEMO_PLAN), sessions_planned=12, sessions_per_week=3,
        home_exercise="daily walking and core exercises", advice="stay active",
    )  # fmt: skip
    courses.sign_course(session=session, actor=clinician, course_id=course.id)
    first_visit = dt.datetime.combine(start, dt.time(8), dt.UTC)  # the demo history starts at `start`
    screening.at = course.created_at = course.signed_at = first_visit
    for week, nrs in enumerate(pain):
        day = start + dt.timedelta(weeks=week)
        odi = [min(5, max(0, round(nrs / 2)))] * 10
        outcomes.record_outcome(
            session=session, actor=clinician, patient_id=patient.id, course_id=course.id, assessed_on=day,
            nrs=nrs, odi_sections=odi, rmdq_ticked=[i < 2 * nrs for i in range(24)],
        )  # fmt: skip
        if week < len(pain) - 1:
            _seed_week_of_sessions(session, operator, course.id, day)


def _seed_week_of_sessions(session: Session, operator: User, course_id: int, monday: dt.date) -> None:
    for visit in range(3):
        started = dt.datetime.combine(monday + dt.timedelta(days=2 * visit), dt.time(9), dt.UTC)
        treatment.record_session(
            db=session, actor=operator, course_id=course_id, started_at=started, duration_s=300.0,
            energy_j_by_wavelength={810: 1800.0, 980: 1200.0}, interruptions=[], completed=True,
        )  # fmt: skip
