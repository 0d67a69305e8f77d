"""A demo clinic: one user per role with random passwords, and patients with made-up histories.

The patients and scores are invented for demonstration. Each patient is screened, planned by the planner
on the 15w-dual demo machine (the machine the simulator of `make run` plays), consents, and the plan is
signed through the signing gate like any other; the seeded past sessions delivered exactly that plan at
the course's appointments. One more patient's course is signed on the day the history ends, so that
the operator's Today page has sessions to run. A plan that cannot reach the band around its template's
reference dose (dark skin, high BMI) is signed by the demo clinician with the acknowledgement and a
reason, as a clinic would.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laserdose.clinic import outcomes, patients, plans, qa, schedule, screenings, signing, treatment, users
from laserdose.clinic.consent import ConsentGiven
from laserdose.clinic.models import Course, User
from laserdose.device.qa import set_points
from laserdose.domain.plan import TreatmentPlan
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.planning.plan import DEFAULT_SKIN_LIMIT_C, PhysicsModel

DEMO_PROTOCOL = "chronic-nonspecific-lbp"
DEMO_DEVICE = "15w-dual"
DEMO_AREA_CM2 = 100.0
DEMO_REASON = "Demo: the nearest the safety limits allow to the reference dose"
DEMO_DRIFT_PER_CHECK = 0.015  # the demo machine's 810 nm output rises 1.5 % a month (made up)
# (name, birth date, skin type, BMI, weekly pain NRS over a 4-week course)
DEMO_PATIENTS = [
    ("Demo Patient Alvarez", dt.date(1971, 3, 14), 4, 27.5, [7, 6, 5, 4, 3]),
    ("Demo Patient Berger", dt.date(1958, 11, 2), 2, 31.0, [6, 6, 5, 5, 5]),
    ("Demo Patient Chen", dt.date(1985, 6, 21), 3, 22.8, [5, 4, 2, 1, 0]),
]
# A patient whose course starts on the day the history ends (baseline pain only).
DEMO_NEW_PATIENT = ("Demo Patient Dubois", dt.date(1979, 8, 30), 2, 24.5, [6])


def seed_demo(*, session: Session, start: dt.date, physics: PhysicsModel) -> dict[str, str]:
    """Create the demo users and patients in an empty database; return {username: password}.

    Args:
        session: open database session (the caller commits).
        start: date of the first assessment; the course runs three sessions a week from it.
        physics: the planner's physics (`planning.physics.default_physics()`).
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
            session, made["clinician"], made["operator"], (name, born, skin_type, bmi), pain, start, physics
        )
    name, born, skin_type, bmi, pain = DEMO_NEW_PATIENT
    last_day = start + dt.timedelta(weeks=len(DEMO_PATIENTS[0][4]) - 1)
    seed_patient_history(
        session, made["clinician"], made["operator"], (name, born, skin_type, bmi), pain, last_day, physics
    )
    seed_power_checks(session, made["operator"], start)
    return passwords


def seed_power_checks(session: Session, operator: User, start: dt.date) -> None:
    """Monthly power checks of the simulator's machine (SIM-0001), the last one 21 days after `start`.

    Made-up readings: the 810 nm output creeps up by DEMO_DRIFT_PER_CHECK a month, 980 nm stays put, so the
    machine's page has a trend to show while every check passes.
    """
    points = set_points(load_profile(DEMO_DEVICE))
    for month in range(4):
        at = dt.datetime.combine(start + dt.timedelta(days=21 - 30 * (3 - month)), dt.time(7, 30), dt.UTC)
        drift = {810.0: DEMO_DRIFT_PER_CHECK * month}
        rows = [
            {"wavelength_nm": p.wavelength_nm, "handpiece": p.handpiece, "set_power_w": p.power_w,
             "monitor_w": p.power_w, "meter_w": round(p.power_w * (1 + drift.get(p.wavelength_nm, 0.0)), 3)}
            for p in points
        ]  # fmt: skip
        qa.record_check(
            session=session, actor=operator, machine_serial="SIM-0001", machine_profile=DEMO_DEVICE,
            readings=rows, meter_id="demo thermopile meter",
            meter_calibrated_on=at.date() - dt.timedelta(days=120), at=at,
        )  # fmt: skip


def seed_patient_history(
    session: Session, clinician: User, operator: User, who: tuple[str, dt.date, int, float], pain: list[int],
    start: dt.date, physics: PhysicsModel,
) -> None:  # fmt: skip
    """Add one demo patient: a screening, consent, a planned and signed course, weekly outcomes, sessions.

    The course's appointments before the last week of `pain` are delivered; the rest stay planned.
    """
    name, born, skin_type, bmi = who
    patient = patients.add_patient(
        session=session, actor=clinician, name=name, birth_date=born, skin_type=skin_type, bmi_kg_m2=bmi
    )
    screening, _ = screenings.screen_patient(
        session=session, actor=clinician, patient_id=patient.id, answers={"diagnosis": DEMO_PROTOCOL},
        today=start,
    )  # fmt: skip
    inputs = plans.PlanInputs(
        protocol=DEMO_PROTOCOL, device=DEMO_DEVICE, area_cm2=DEMO_AREA_CM2, skin_limit_c=DEFAULT_SKIN_LIMIT_C,
        fat_mm=None, bmi=bmi, screening_id=screening.id,
    )  # fmt: skip
    plan, _ = plans.propose_plan(
        session=session, actor=clinician, patient_id=patient.id, inputs=inputs, physics=physics,
        today=dt.datetime.now(dt.UTC).date(),
    )  # fmt: skip
    if not isinstance(plan, TreatmentPlan):
        raise InputError(f"the demo patient {name} was refused laser: {plan.decision}")
    first_visit = dt.datetime.combine(start, dt.time(8), dt.UTC)  # the demo history starts at `start`
    acknowledgement = None if plan.feasible else signing.WindowAcknowledgement(True, DEMO_REASON)
    course = signing.create_signed_course(
        session=session, actor=clinician, patient_id=patient.id, plan=plan, inputs=inputs, physics=physics,
        home_exercise="daily walking and core exercises", advice="stay active",
        acknowledgement=acknowledgement, signed_at=first_visit, given=ConsentGiven(name, start),
    )  # fmt: skip
    screening.at = course.created_at = first_visit
    for week, nrs in enumerate(pain):
        day = start + dt.timedelta(weeks=week)
        odi = [min(5, max(0, round(nrs / 2)))] * 10
        outcomes.record_outcome(
            session=session, actor=clinician, patient_id=patient.id, course_id=course.id, assessed_on=day,
            nrs=nrs, odi_sections=odi, rmdq_ticked=[i < 2 * nrs for i in range(24)],
        )  # fmt: skip
    _seed_sessions(session, operator, course, start + dt.timedelta(weeks=len(pain) - 1), plan)


def _seed_sessions(
    session: Session, operator: User, course: Course, until: dt.date, plan: TreatmentPlan
) -> None:
    """Sessions that delivered `plan` exactly, at each of the course's appointments before `until`."""
    energy = {round(wl): e for wl, e in plan.delivery.energy_j_by_wavelength.items() if e > 0}
    for entry in schedule.course_appointments(
        session=session, actor=operator, course_id=course.id, today=until
    ):
        if entry.appointment.planned_at.date() >= until:
            break
        treatment.record_session(
            db=session, actor=operator, course_id=course.id, started_at=entry.appointment.planned_at,
            duration_s=plan.delivery.duration_s, energy_j_by_wavelength=energy, interruptions=[],
            completed=True, appointment_id=entry.appointment.id,
        )  # fmt: skip
