"""Screening and planning services on SQLite and PostgreSQL: stored decisions, signed plans, roles."""

import datetime as dt
from dataclasses import replace

import pytest
from factories import make_patient, make_user
from sqlalchemy import select

from laserdose.clinic import courses, plans, screenings
from laserdose.clinic.models import AuditEntry, Course
from laserdose.clinic.users import Forbidden
from laserdose.clinical.patient import parse_patient
from laserdose.clinical.protocols import get_protocol
from laserdose.device.plan import parse_plan
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.planning.physics import default_physics
from laserdose.planning.plan import make_plan
from plan_protocols import WIDE_PROTOCOL, write_wide_protocol

PHYSICS = default_physics()  # the shipped Monte Carlo fluence table
TODAY = dt.date(2026, 11, 23)
CLEAN = {"diagnosis": "chronic-nonspecific-lbp"}


@pytest.fixture(autouse=True)
def clinic_protocols(tmp_path, monkeypatch):
    monkeypatch.setenv("LASERDOSE_PROTOCOLS_DIR", str(write_wide_protocol(tmp_path / "protocols")))


def _inputs(screening_id, **changes):
    fields = {
        "protocol": "chronic-nonspecific-lbp", "device": "15w-dual", "area_cm2": 150.0, "skin_limit_c": 43.0,
        "fat_mm": None, "bmi": 27.0, "screening_id": screening_id,
    }  # fmt: skip
    return plans.PlanInputs(**(fields | changes))


def _screened(session, answers=CLEAN, **patient):
    clinician = make_user(session)
    record = make_patient(session, clinician, **patient)
    screening, decision = screenings.screen_patient(
        session=session, actor=clinician, patient_id=record.id, answers=answers, today=TODAY
    )
    return clinician, record, screening, decision


@pytest.mark.parametrize(
    ("birth", "years"),
    [(dt.date(1970, 11, 23), 56), (dt.date(1970, 11, 24), 55), (dt.date(2000, 2, 29), 26)],
)
def test_age_counts_completed_years(birth, years):
    # Completed years: the birthday itself counts, the day before does not (2026-11-23).
    assert screenings.age_years(birth, TODAY) == years


def test_screening_is_stored_with_its_reasons_sources_and_an_audit_entry(session):
    _clinician, _record, screening, decision = _screened(
        session, {**CLEAN, "red_flags": ["urinary-retention"]}
    )
    # NICE CKS sciatica: new urinary retention suggests cauda equina syndrome, an emergency referral.
    assert (decision.decision, decision.urgency) == ("refer", "emergency")
    assert screening.decision == "refer (emergency)"
    assert (
        screening.reasons[0]["code"] == "urinary-retention" and "[NICECKS]" in screening.reasons[0]["source"]
    )
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "screening.create")).one()
    assert entry.entity_id == screening.id and "urinary-retention" not in str(entry.details)


def test_the_patient_record_adds_dark_skin_and_age_rules(session):
    # [LightForce]: Fitzpatrick V-VI is a precaution.
    assert _screened(session, skin_type=5)[3].decision == "treat-with-precautions"
    # AHCPR 1994: back pain under age 20 is a red flag (routine referral here, [U]).
    young = _screened(session, birth_date=dt.date(2010, 1, 1))[3]
    assert (young.decision, young.urgency) == ("refer", "routine")


def test_only_clinicians_screen_and_unknown_terms_are_refused(session):
    clinician, record, _screening, _decision = _screened(session)
    operator = make_user(session, role="operator")
    with pytest.raises(Forbidden):
        screenings.screen_patient(
            session=session, actor=operator, patient_id=record.id, answers=CLEAN, today=TODAY
        )
    with pytest.raises(InputError, match="unknown precaution 'garlic'"):
        screenings.screen_patient(
            session=session, actor=clinician, patient_id=record.id,
            answers={**CLEAN, "precautions": ["garlic"]}, today=TODAY,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"skin_limit_c": 44.0}, "skin limit must be between 34 and 43 C"),  # IEC 60601-1 ed. 3: 43 C
        ({"skin_limit_c": float("nan")}, "skin limit must be a finite number"),
        ({"device": "60w-dream"}, "unknown device '60w-dream'"),
        ({"protocol": "moonlight"}, "unknown protocol 'moonlight'"),
        ({"bmi": None}, "give the fat thickness or the BMI"),
        ({"area_cm2": 0.5}, "treatment area must be between 1 and 3500"),
    ],
)
def test_plan_inputs_are_validated(changes, message):
    with pytest.raises(InputError, match=message):
        _inputs(1, **changes)


def test_a_signed_course_holds_a_plan_the_device_accepts_and_its_report_plan_matches(session):
    clinician, record, screening, _decision = _screened(session)
    inputs = _inputs(screening.id, protocol=WIDE_PROTOCOL)
    plan, _patient = plans.propose_plan(
        session=session, actor=clinician, patient_id=record.id, inputs=inputs, physics=PHYSICS, today=TODAY
    )
    course = plans.create_signed_course(
        session=session, actor=clinician, patient_id=record.id, plan=plan, inputs=inputs, advice="Stay active"
    )
    assert course.signed_by_id == clinician.id and course.advice == "Stay active"
    assert parse_plan(course.plan, load_profile("15w-dual")).handpiece == plan.handpiece
    operator = make_user(session, role="operator")  # operators read the signed plan (and its report)
    again, _patient = plans.course_plan(session=session, actor=operator, course_id=course.id, physics=PHYSICS)
    assert again.to_json_dict()["duration_s"] == course.plan["duration_s"]
    course.plan = {**course.plan, "duration_s": course.plan["duration_s"] * 2}  # not what the planner gives
    session.flush()
    with pytest.raises(InputError, match="the planner now gives another plan"):
        plans.course_plan(session=session, actor=clinician, course_id=course.id, physics=PHYSICS)


@pytest.fixture(scope="module")
def underpowered_plan():
    """class3b-probe.toml: 0.5 W for at most 1800 s = 900 J, 7.8 J/cm2 over 115 cm2 < the 8 J/cm2 minimum."""
    patient = parse_patient({"skin_type": 3, "bmi": 27.0, "area_cm2": 115.0, "screening": CLEAN})
    protocol = get_protocol("chronic-nonspecific-lbp")
    return make_plan(patient, protocol, load_profile("class3b-probe"), PHYSICS)  # once for both databases


def test_refer_and_infeasible_plans_are_not_signed(session, underpowered_plan):
    clinician, record, screening, _decision = _screened(session, {**CLEAN, "red_flags": ["fever"]})
    inputs = _inputs(screening.id)
    plan, _patient = plans.propose_plan(
        session=session, actor=clinician, patient_id=record.id, inputs=inputs, physics=PHYSICS, today=TODAY
    )
    with pytest.raises(plans.PlanRefused, match="refer \\(urgent\\): no laser plan"):
        plans.create_signed_course(
            session=session, actor=clinician, patient_id=record.id, plan=plan, inputs=inputs
        )
    assert not underpowered_plan.outcome.feasible
    weak = _inputs(screening.id, device="class3b-probe", area_cm2=115.0)
    for acknowledgement in (None, plans.WindowAcknowledgement(False, "a long enough reason"),
                            plans.WindowAcknowledgement(True, "  short  ")):  # fmt: skip
        with pytest.raises(
            plans.AcknowledgementNeeded, match="outside the protocol's window \\(machine power\\)"
        ):
            plans.create_signed_course(
                session=session, actor=clinician, patient_id=record.id, plan=underpowered_plan, inputs=weak,
                acknowledgement=acknowledgement,
            )  # fmt: skip
    assert session.scalars(select(Course)).all() == []


REASON = "Surface dose at the clinical standard; window from cell studies"


def test_a_shipped_protocol_plan_is_signed_outside_the_window_with_an_acknowledgement(session):
    clinician, record, screening, _decision = _screened(session)
    inputs = _inputs(screening.id)  # chronic-nonspecific-lbp as shipped, window 0.5-4 J/cm2
    plan, _patient = plans.propose_plan(
        session=session, actor=clinician, patient_id=record.id, inputs=inputs, physics=PHYSICS, today=TODAY
    )
    assert not plan.outcome.feasible and plans.safety_problem(plan) is None
    operator = make_user(session, role="operator")
    with pytest.raises(Forbidden):
        plans.create_signed_course(
            session=session, actor=operator, patient_id=record.id, plan=plan, inputs=inputs,
            acknowledgement=plans.WindowAcknowledgement(True, REASON),
        )  # fmt: skip
    course = plans.create_signed_course(
        session=session, actor=clinician, patient_id=record.id, plan=plan, inputs=inputs,
        acknowledgement=plans.WindowAcknowledgement(True, f"  {REASON} "),
    )  # fmt: skip
    stored = course.plan["acknowledged_outside_window"]
    assert stored == {
        "by": clinician.username, "reason": REASON, "binding_limit": plan.outcome.binding,
        "target_dose_range_j_per_cm2": list(plan.outcome.target_dose_range_j_per_cm2),
        "window_j_per_cm2": [0.5, 4.0],  # chronic-nonspecific-lbp.toml
    }  # fmt: skip
    assert course.signed_at is not None
    assert parse_plan(course.plan, load_profile("15w-dual")).duration_s == course.plan["duration_s"]
    sign = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.sign")).one()
    assert sign.details == {"outside_window": True, "binding_limit": plan.outcome.binding}
    again, _patient = plans.course_plan(
        session=session, actor=clinician, course_id=course.id, physics=PHYSICS
    )
    assert plans.outside_window(course.plan)["reason"] == REASON and not again.outcome.feasible


def test_a_plan_breaking_a_safety_limit_is_refused_even_with_an_acknowledgement(session, underpowered_plan):
    clinician, record, screening, _decision = _screened(session)
    weak = _inputs(screening.id, device="class3b-probe", area_cm2=115.0)
    # Forged outcomes, one safety limit broken each: the planner never proposes them (tests/planning).
    outcome = underpowered_plan.outcome
    protocol = underpowered_plan.protocol
    broken = {
        "the peak skin temperature is above the skin limit": {"skin_rise_k": 10.5},  # 33 + 10.5 > 43 C
        "the surface dose is above the protocol's maximum": {
            "surface_dose_j_per_cm2": protocol.surface_dose_j_per_cm2[1] * 1.01
        },
        "the target dose may be above the window's top": {
            "target_dose_range_j_per_cm2": (0.1, protocol.targets[0].window_j_per_cm2[1] * 1.01)
        },
        # class3b-probe.toml: its 810 nm source gives at most 0.5 W.
        "a source's power is above its maximum": {"power_w_by_wavelength": {810.0: 0.6}},
    }
    for message, change in broken.items():
        forged = replace(underpowered_plan, outcome=replace(outcome, **change))
        with pytest.raises(plans.PlanRefused, match=message):
            plans.create_signed_course(
                session=session, actor=clinician, patient_id=record.id, plan=forged, inputs=weak,
                acknowledgement=plans.WindowAcknowledgement(True, REASON),
            )  # fmt: skip
    assert session.scalars(select(Course)).all() == []


def test_a_protocol_for_another_diagnosis_and_an_operator_are_refused(session):
    clinician, record, screening, _decision = _screened(session)
    with pytest.raises(InputError, match="protocol facet-pain treats facet-pain"):
        plans.propose_plan(
            session=session, actor=clinician, patient_id=record.id,
            inputs=_inputs(screening.id, protocol="facet-pain"), physics=PHYSICS, today=TODAY,
        )  # fmt: skip
    operator = make_user(session, role="operator")
    with pytest.raises(Forbidden):
        plans.propose_plan(
            session=session, actor=operator, patient_id=record.id, inputs=_inputs(screening.id),
            physics=PHYSICS, today=TODAY,
        )  # fmt: skip


def test_an_unsigned_course_is_signed_only_with_the_planners_plan_and_its_acknowledgement(session):
    # A course created outside the editor (the API) may carry a plan JSON with editor inputs.
    clinician, record, screening, _decision = _screened(session)
    inputs = _inputs(screening.id)  # shipped chronic-nonspecific-lbp: no plan reaches the window
    plan, _patient = plans.propose_plan(
        session=session, actor=clinician, patient_id=record.id, inputs=inputs, physics=PHYSICS, today=TODAY
    )
    planner_json = plan.to_json_dict() | {"inputs": inputs.to_dict()}

    def unsigned(plan_json):
        return courses.create_course(
            session=session, actor=clinician, patient_id=record.id, condition="chronic-nonspecific-lbp",
            protocol="chronic-nonspecific-lbp", plan=plan_json, sessions_planned=12, sessions_per_week=3,
        )  # fmt: skip

    raw = unsigned({"power_w_by_wavelength": {"810": 15.0}, "duration_s": 3600})
    with pytest.raises(plans.PlanRefused, match="not made by the planner"):
        plans.sign_planned_course(session=session, actor=clinician, course_id=raw.id, physics=PHYSICS)
    tampered = unsigned(planner_json | {"duration_s": 3600.0})
    with pytest.raises(InputError, match="another plan"):
        plans.sign_planned_course(session=session, actor=clinician, course_id=tampered.id, physics=PHYSICS)
    unacknowledged = unsigned(planner_json)
    with pytest.raises(plans.AcknowledgementNeeded):
        plans.sign_planned_course(
            session=session, actor=clinician, course_id=unacknowledged.id, physics=PHYSICS
        )
    acknowledged = unsigned(planner_json | {plans.OUTSIDE_WINDOW_KEY: {"by": "x", "reason": REASON}})
    signed = plans.sign_planned_course(
        session=session, actor=clinician, course_id=acknowledged.id, physics=PHYSICS
    )
    assert signed.signed_at is not None and unacknowledged.signed_at is None
