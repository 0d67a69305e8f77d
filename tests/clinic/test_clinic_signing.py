"""The signing gate on SQLite and PostgreSQL: only the planner's plans, safe, acknowledged, are signed."""

import datetime as dt
import re
from pathlib import Path

import pytest
from factories import make_patient, make_user
from sqlalchemy import select

from daykit import consent_for, ensure_consent
from laserdose.clinic import consent, courses, plans, screenings, signing
from laserdose.clinic.models import Appointment, AuditEntry, Course
from laserdose.clinic.users import Forbidden
from laserdose.clinical.patient import parse_patient
from laserdose.clinical.protocols import get_protocol
from laserdose.device.plan import plan_delivery
from laserdose.domain.plan import fingerprint, plan_json
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.planning.physics import default_physics
from laserdose.planning.plan import make_plan
from plan_protocols import WIDE_PROTOCOL, write_wide_protocol

PHYSICS = default_physics()  # the shipped Monte Carlo fluence table
TODAY = dt.date(2026, 11, 23)
CLEAN = {"diagnosis": "chronic-nonspecific-lbp"}
REASON = "Surface dose at the protocol's maximum; high BMI, the reference is out of reach"
HEAVY = {"bmi": 45.0}  # type III at BMI 45: the 60 J/cm2 surface cap binds below the band
SRC = Path(__file__).resolve().parents[2] / "src" / "laserdose"


@pytest.fixture(autouse=True)
def clinic_protocols(tmp_path, monkeypatch):
    monkeypatch.setenv("LASERDOSE_PROTOCOLS_DIR", str(write_wide_protocol(tmp_path / "protocols")))


def _inputs(screening_id, **changes):
    fields = {
        "protocol": "chronic-nonspecific-lbp", "device": "15w-dual", "area_cm2": 150.0, "skin_limit_c": 43.0,
        "fat_mm": None, "bmi": 27.0, "screening_id": screening_id,
    }  # fmt: skip
    return plans.PlanInputs(**(fields | changes))


def _planned(session, answers=CLEAN, **changes):
    clinician = make_user(session)
    record = make_patient(session, clinician)
    screening, _ = screenings.screen_patient(
        session=session, actor=clinician, patient_id=record.id, answers=answers, today=TODAY
    )
    inputs = _inputs(screening.id, **changes)
    plan, _patient = plans.propose_plan(
        session=session, actor=clinician, patient_id=record.id, inputs=inputs, physics=PHYSICS, today=TODAY
    )
    return clinician, record, inputs, plan


def _sign_new(session, clinician, record, plan, inputs, **extra):
    return signing.create_signed_course(
        session=session, actor=clinician, patient_id=record.id, plan=plan, inputs=inputs, physics=PHYSICS,
        **({"given": consent_for(record.name)} | extra),
    )  # fmt: skip


def test_only_the_gate_sets_signed_at():
    # Every assignment to a course's signed_at in the product is in clinic/signing.py.
    # (an attribute assignment, not a keyword argument such as `signed_at=course.signed_at`)
    assigning = re.compile(r"\.signed_at\s*=(?!=)|signed_at\s*\)\s*=|,\s*\w*\.signed_at\s*=")
    places = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if any(assigning.search(line) for line in path.read_text(encoding="utf-8").splitlines()
               if ".signed_at" in line)
    )  # fmt: skip
    assert places == ["clinic/signing.py"]


def test_a_signed_course_holds_the_planners_document_which_the_device_delivers(session):
    clinician, record, inputs, plan = _planned(session, protocol=WIDE_PROTOCOL)
    assert (
        plan.feasible
        and signing.signing_problem(plan, load_profile("15w-dual"), get_protocol(WIDE_PROTOCOL)) is None
    )
    course = _sign_new(session, clinician, record, plan, inputs, advice="Stay active")
    assert (
        course.signed_by_id == clinician.id
        and course.signed_at is not None
        and course.advice == "Stay active"
    )
    assert plans.stored_plan(course) == plan
    assert plan_delivery(plans.stored_plan_json(course), load_profile("15w-dual")) == plan.delivery
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.sign")).one()
    assert entry.details == {"plan_sha256": fingerprint(plan)}
    operator = make_user(session, role="operator")  # operators read the signed plan (and its report)
    again, _patient = plans.course_plan(session=session, actor=operator, course_id=course.id, physics=PHYSICS)
    assert again == plan and fingerprint(again) == fingerprint(plan)
    with pytest.raises(InputError, match="already signed"):
        signing.sign(session=session, actor=clinician, course_id=course.id, physics=PHYSICS)


def test_a_stored_plan_that_is_not_the_planners_is_refused_by_the_report_and_the_gate(session):
    clinician, record, inputs, plan = _planned(session, protocol=WIDE_PROTOCOL)
    course = _sign_new(session, clinician, record, plan, inputs)
    tampered = plan_json(plan) | {"surface_dose_j_per_cm2": plan.surface_dose_j_per_cm2 * 2}
    course.plan = tampered | {plans.INPUTS_KEY: course.plan[plans.INPUTS_KEY]}
    session.flush()
    with pytest.raises(InputError, match="the planner now gives another plan"):
        plans.course_plan(session=session, actor=clinician, course_id=course.id, physics=PHYSICS)


def _version_1(plan):
    """The JSON the planner wrote before the document had a version: the fields flat at the top."""
    delivery, target = plan.delivery, plan.target
    return {
        "decision": plan.decision, "urgency": None,
        "reasons": [reason.model_dump() for reason in plan.reasons],
        "condition": plan.condition, "device": delivery.device, "feasible": plan.feasible,
        "binding_limit": plan.binding_limit, "advice": plan.advice,
        "power_w_by_wavelength": {f"{w:g}": p for w, p in delivery.power_w_by_wavelength.items()},
        "mode": "cw", "handpiece": delivery.handpiece, "scan_speed_mm_per_s": plan.scan_speed_mm_per_s,
        "area_cm2": plan.area_cm2, "duration_s": delivery.duration_s,
        "total_energy_j": delivery.total_energy_j, "surface_dose_j_per_cm2": plan.surface_dose_j_per_cm2,
        "target": {
            "name": target.structure, "depth_mm": target.depth_mm, "dose_j_per_cm2": target.dose_j_per_cm2,
            "dose_range_j_per_cm2": list(target.dose_range_j_per_cm2), "window_j_per_cm2": [0.5, 4.0],
        },
        "peak_skin_temperature_c": plan.peak_skin_temperature_c, "skin_limit_c": plan.skin_limit_c,
        "course": {"sessions": plan.course.sessions, "per_week": plan.course.per_week},
        "notes": list(plan.notes),
    }  # fmt: skip


def test_a_course_stored_before_prescriptions_still_loads_but_must_be_planned_again(session):
    clinician, record, inputs, plan = _planned(session, protocol=WIDE_PROTOCOL)
    old_inputs = {key: value for key, value in inputs.to_dict().items() if key not in ("template", "mode")}
    old = courses.create_course(
        session=session, actor=clinician, patient_id=record.id, condition="chronic-nonspecific-lbp",
        protocol=WIDE_PROTOCOL, plan=_version_1(plan) | {"inputs": old_inputs}, sessions_planned=12,
        sessions_per_week=3,
    )  # fmt: skip
    stored = plans.stored_plan(old)  # upgraded as it is read: no window, no prescription
    assert stored.prescription is None and stored.delivery == plan.delivery
    not_assessed = {"optics_spread_factor": None, "dose_is_upper_bound": None, "upper_bound_reason": None}
    target = plan.target.model_copy(update=not_assessed)  # a version 3 planner did not say
    assert stored == plan.model_copy(update={"prescription": None, "target": target})
    ensure_consent(session, clinician, old.id)
    assert plan_delivery(plans.stored_plan_json(old), load_profile("15w-dual")) == plan.delivery
    with pytest.raises(InputError, match="the planner now gives another plan"):
        signing.sign(session=session, actor=clinician, course_id=old.id, physics=PHYSICS)


@pytest.fixture(scope="module")
def underpowered_plan():
    """class3b-probe.toml: 0.5 W for at most 1800 s = 900 J, 7.8 J/cm2 over 115 cm2: far below the need."""
    patient = parse_patient({"skin_type": 3, "bmi": 27.0, "area_cm2": 115.0, "screening": CLEAN})
    protocol = get_protocol("chronic-nonspecific-lbp")
    return make_plan(patient, protocol, load_profile("class3b-probe"), PHYSICS)  # once for both databases


def test_refer_and_unacknowledged_plans_outside_the_band_are_not_signed(session, underpowered_plan):
    clinician, record, inputs, plan = _planned(session, {**CLEAN, "red_flags": ["fever"]})
    with pytest.raises(
        signing.PlanRefused, match="refers the patient \\(urgent\\): record the referral's outcome"
    ):
        _sign_new(session, clinician, record, plan, inputs)
    assert not underpowered_plan.feasible
    weak = _inputs(inputs.screening_id, device="class3b-probe", area_cm2=115.0)
    for acknowledgement in (None, signing.WindowAcknowledgement(False, "a long enough reason"),
                            signing.WindowAcknowledgement(True, "  short  ")):  # fmt: skip
        with pytest.raises(signing.AcknowledgementNeeded, match="outside the band \\(machine power\\)"):
            _sign_new(session, clinician, record, underpowered_plan, weak, acknowledgement=acknowledgement)
    assert session.scalars(select(Course)).all() == []


def test_a_shipped_protocol_plan_is_signed_outside_the_band_with_an_acknowledgement(session):
    clinician, record, inputs, plan = _planned(session, **HEAVY)  # chronic-nonspecific-lbp as shipped
    assert not plan.feasible and plan.binding_limit == "surface dose"
    assert signing.signing_problem(plan, load_profile("15w-dual"), get_protocol(inputs.protocol)) is None
    operator = make_user(session, role="operator")
    with pytest.raises(Forbidden):
        _sign_new(
            session,
            operator,
            record,
            plan,
            inputs,
            acknowledgement=signing.WindowAcknowledgement(True, REASON),
        )
    course = _sign_new(
        session,
        clinician,
        record,
        plan,
        inputs,
        acknowledgement=signing.WindowAcknowledgement(True, f"  {REASON} "),
    )
    stored = course.plan["acknowledged_outside_window"]
    assert stored == {
        "by": clinician.username, "reason": REASON, "binding_limit": plan.binding_limit,
        "target_dose_range_j_per_cm2": list(plan.target.dose_range_j_per_cm2),
        "template": "abdelbasset2020", "equivalence": plan.prescription.equivalence, "band": [0.8, 1.25],
        "reference_dose_j_per_cm2": plan.prescription.reference.target_dose_j_per_cm2,
    }  # fmt: skip
    assert course.signed_at is not None
    sign = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.sign")).one()
    assert sign.details == {
        "outside_window": True, "binding_limit": plan.binding_limit, "plan_sha256": fingerprint(plan)
    }  # fmt: skip
    again, _patient = plans.course_plan(
        session=session, actor=clinician, course_id=course.id, physics=PHYSICS
    )
    assert plans.outside_window(course.plan)["reason"] == REASON and not again.feasible


def test_a_plan_breaking_a_safety_limit_is_refused_even_with_an_acknowledgement(session, underpowered_plan):
    clinician, record, _inputs_, _plan = _planned(session)
    weak = _inputs(_inputs_.screening_id, device="class3b-probe", area_cm2=115.0)
    protocol = get_protocol("chronic-nonspecific-lbp")
    plan = underpowered_plan
    # Forged plans, one limit broken each: the planner never proposes them (tests/planning).
    broken = {
        "the peak skin temperature is above the skin limit": {"peak_skin_temperature_c": 43.5},
        "the surface dose is above the protocol's maximum": {
            "surface_dose_j_per_cm2": protocol.max_surface_dose_j_per_cm2 * 1.01
        },
        "the target dose is above the biphasic upper bound": {
            "prescription": plan.prescription.model_copy(
                update={"equivalence": protocol.prescription.max_target_ratio * 1.01}
            )
        },
        # class3b-probe.toml: its 810 nm source gives 0.01-0.5 W.
        "outside the machine's limits: 810 nm power 0.6 W outside 0.01-0.5 W": {
            "delivery": plan.delivery.model_copy(update={"power_w_by_wavelength": {810.0: 0.6}})
        },
        "outside the machine's limits: no handpiece 'laser-sword'": {
            "delivery": plan.delivery.model_copy(update={"handpiece": "laser-sword"})
        },
    }
    for message, change in broken.items():
        forged = plan.model_copy(update=change)
        with pytest.raises(signing.PlanRefused, match=re.escape(message)):
            _sign_new(
                session,
                clinician,
                record,
                forged,
                weak,
                acknowledgement=signing.WindowAcknowledgement(True, REASON),
            )
    assert session.scalars(select(Course)).all() == []


def test_an_unsigned_course_is_signed_only_with_the_planners_plan_and_its_acknowledgement(session):
    # A course created outside the editor (the API) may carry a plan JSON with editor inputs.
    clinician, record, inputs, plan = _planned(session, **HEAVY)  # shipped protocol: outside the band
    planner_json = plan_json(plan) | {"inputs": inputs.to_dict()}

    def unsigned(plan_json):
        return courses.create_course(
            session=session, actor=clinician, patient_id=record.id, condition="chronic-nonspecific-lbp",
            protocol="chronic-nonspecific-lbp", plan=plan_json, sessions_planned=12, sessions_per_week=3,
        )  # fmt: skip

    def sign(course):
        ensure_consent(session, clinician, course.id)
        return signing.sign(session=session, actor=clinician, course_id=course.id, physics=PHYSICS)

    raw = unsigned({"power_w_by_wavelength": {"810": 15.0}, "duration_s": 3600})
    with pytest.raises(signing.PlanRefused, match="not made by the planner"):
        sign(raw)
    tampered = unsigned(planner_json | {"skin_limit_c": 42.0})
    with pytest.raises(InputError, match="another plan"):
        sign(tampered)
    broken = unsigned(planner_json | {"schema_version": 7})
    with pytest.raises(InputError, match="not a valid plan document: schema_version"):
        sign(broken)
    unacknowledged = unsigned(planner_json)
    with pytest.raises(signing.AcknowledgementNeeded):
        sign(unacknowledged)
    acknowledged = unsigned(planner_json | {plans.OUTSIDE_WINDOW_KEY: {"by": "x", "reason": REASON}})
    with pytest.raises(Forbidden):
        signing.sign(
            session=session,
            actor=make_user(session, role="operator"),
            course_id=acknowledged.id,
            physics=PHYSICS,
        )
    assert sign(acknowledged).signed_at is not None
    assert (raw.signed_at, tampered.signed_at, broken.signed_at, unacknowledged.signed_at) == (None,) * 4


def test_no_plan_is_signed_without_the_patients_consent_and_signing_plans_the_sessions(session):
    clinician, record, inputs, plan = _planned(session, protocol=WIDE_PROTOCOL)
    with pytest.raises(signing.PlanRefused, match="consent to Class 4 laser treatment is not recorded"):
        _sign_new(session, clinician, record, plan, inputs, given=None)
    session.rollback()
    clinician, record, inputs, plan = _planned(session, protocol=WIDE_PROTOCOL)
    monday = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # a Monday (calendar)
    given = consent.ConsentGiven(record.name, monday.date())
    course = _sign_new(session, clinician, record, plan, inputs, signed_at=monday, given=given)
    recorded = consent.course_consent(session=session, actor=clinician, course_id=course.id)
    assert recorded is not None and recorded.patient_name == record.name
    planned = session.scalars(
        select(Appointment).where(Appointment.course_id == course.id).order_by(Appointment.number)
    ).all()
    # The wide protocol: 12 sessions, 3 a week: Monday, Wednesday, Friday at the signing's time.
    assert (course.sessions_planned, course.sessions_per_week) == (12, 3)
    assert [a.planned_at.date().isoformat() for a in planned[:4]] == [
        "2026-11-23", "2026-11-25", "2026-11-27", "2026-11-30",
    ]  # fmt: skip
    assert planned[-1].planned_at == dt.datetime(2026, 12, 18, 10, 0, tzinfo=dt.UTC)
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-4:] == ["course.create", "consent.record", "course.sign", "appointments.schedule"]
