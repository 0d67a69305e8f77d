"""The signing gate: the one place that decides whether a plan may be signed, and the one that signs.

`signing_problem` decides (the plan editor's preview asks it too); `sign` is the only code that sets a
course's `signed_at`. It signs a course only when its plan is the planner's: made again from the
course's stored editor inputs, it must be the very document stored (model equality; the audit entry
keeps its fingerprint), allowed by the screening, inside every safety limit and the machine's limits,
and, where its target dose misses the band around the template's reference dose, acknowledged by the
clinician with a reason.

It also signs no plan without the patient's recorded consent to Class 4 laser treatment (clinic/consent.py),
and a signed course gets its planned sessions (clinic/schedule.py). The plan editor
(`create_signed_course`), the API, the chart's "Sign plan" and the demo clinic all go through `sign`.
Like every clinic service: keyword-only session, no commits, role checks, audit entries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import consent, courses, plans, schedule
from laserdose.clinic.course_closing import active_course_conflict, require_open
from laserdose.clinic.models import Course, Role, User, utcnow
from laserdose.clinic.records import Conflict, audit_change, get_course
from laserdose.clinic.users import require_role
from laserdose.clinical.protocols import Protocol as ClinicalProtocol
from laserdose.clinical.protocols import get_protocol
from laserdose.domain.plan import Refusal, TreatmentPlan, fingerprint, plan_json
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile, load_profile, machine_limit_problem
from laserdose.planning.plan import PhysicsModel

# The shortest clinical reason accepted for signing a plan outside its band: a few words at least.
MIN_REASON_CHARS = 10
SAFETY_TOLERANCE = 1e-9  # relative: the optimiser scales powers so its limits hold to rounding


class PlanRefused(InputError):
    """A plan that may not become a signed course (screening says no, or a safety limit is broken)."""


class AcknowledgementNeeded(PlanRefused):
    """A safe plan outside its band, signed without the clinician's acknowledgement."""


@dataclass(frozen=True)
class WindowAcknowledgement:
    """The clinician's acceptance that the plan does not deliver its prescription (outside the band).

    Attributes:
        accepted: the box "I accept that the predicted target dose is outside the band".
        reason: the clinical reason, free text of at least MIN_REASON_CHARS characters.
    """

    accepted: bool
    reason: str


def signing_problem(
    plan: TreatmentPlan | Refusal, device: DeviceProfile, protocol: ClinicalProtocol
) -> str | None:
    """Why `plan` may not be signed, or None (a plan outside its band needs an acknowledgement besides).

    The limits are the machine's (each source's power, the total, the mode and handpiece:
    `machine_limit_problem`), the skin limit, the protocol's highest surface dose and the biphasic upper
    bound on the target dose (no overdose at the target). The optimiser keeps all of them even when it
    reports no feasible plan; this check makes signing not depend on that.
    """
    if isinstance(plan, Refusal) and plan.decision == "refer":
        return (
            f"the screening refers the patient ({plan.urgency}): record the referral's outcome or override it"
            " first"
        )
    if isinstance(plan, Refusal):
        return f"the screening decision is {plan.decision}: no laser plan"
    if (plan.device, plan.condition) != (device.name, protocol.name):
        return f"the plan is for {plan.device} and {plan.condition}, not {device.name} and {protocol.name}"
    delivery = plan.delivery
    machine = machine_limit_problem(
        device, delivery.power_w_by_wavelength, delivery.mode, delivery.frequency_hz, delivery.duty_cycle,
        delivery.handpiece,
    )  # fmt: skip
    if machine is not None:
        return f"the plan is outside the machine's limits: {machine}"
    slack = 1 + SAFETY_TOLERANCE
    if plan.peak_skin_temperature_c - plan.skin_start_c > (plan.skin_limit_c - plan.skin_start_c) * slack:
        return "the peak skin temperature is above the skin limit"
    if plan.surface_dose_j_per_cm2 > protocol.max_surface_dose_j_per_cm2 * slack:
        return "the surface dose is above the protocol's maximum"
    if plan.prescription is None:
        return "the plan was made for a dose window, before prescriptions: make it again in the plan editor"
    if plan.prescription.equivalence > protocol.prescription.max_target_ratio * slack:
        return "the target dose is above the biphasic upper bound"
    return None


def acknowledgement_problem(acknowledgement: WindowAcknowledgement | None) -> dict[str, str]:
    """An error per acknowledgement field (the box, the reason), empty when both are given."""
    errors: dict[str, str] = {}
    if acknowledgement is None or not acknowledgement.accepted:
        errors["accept_outside_window"] = "tick the box to sign a plan outside the band"
    reason = acknowledgement.reason.strip() if acknowledgement else ""
    if len(reason) < MIN_REASON_CHARS:
        errors["outside_window_reason"] = f"give the clinical reason (at least {MIN_REASON_CHARS} characters)"
    elif len(reason) > plans.MAX_TEXT_CHARS:
        errors["outside_window_reason"] = f"at most {plans.MAX_TEXT_CHARS} characters"
    return errors


def sign(
    *, session: Session, actor: User, course_id: int, physics: PhysicsModel,
    signed_at: dt.datetime | None = None,
) -> Course:  # fmt: skip
    """Sign a course's plan so that operators may run it (clinician), through every check of the gate.

    Args:
        session: open database session.
        actor: the signing clinician.
        course_id: the unsigned course.
        physics: the planner's physics, to make the plan again from the course's inputs.
        signed_at: when it was signed; now unless given (the demo clinic's invented history).

    Raises:
        PlanRefused: the course's plan was not made by the planner, or it may not be signed, or the
            patient's consent is not recorded.
        AcknowledgementNeeded: it is outside its band and nobody acknowledged that.
        InputError: the course is already signed, or the planner now gives another plan.
    """
    require_role(actor, Role.CLINICIAN)
    course = get_course(session, course_id)
    if course.signed_at is not None:
        raise InputError(f"course {course_id} is already signed")
    require_open(course, "signing it")
    other = active_course_conflict(session, course.patient_id, course.condition, course.id)
    if other is not None:
        raise Conflict(f"course {course_id} cannot be signed: {other}")
    if plans.INPUTS_KEY not in course.plan:
        raise PlanRefused(
            f"course {course_id}: its plan was not made by the planner (skin and dose limits unchecked):"
            " make and sign the plan in the plan editor"
        )
    plan, _ = plans.course_plan(session=session, actor=actor, course_id=course_id, physics=physics)
    inputs = plans.PlanInputs.from_dict(course.plan[plans.INPUTS_KEY])
    problem = signing_problem(plan, load_profile(inputs.device), get_protocol(inputs.protocol))
    if problem is not None or not isinstance(plan, TreatmentPlan):
        raise PlanRefused(f"course {course_id} cannot be signed: {problem}")
    outside = plans.outside_window(course.plan)
    if not plan.feasible and outside is None:
        raise AcknowledgementNeeded(
            f"the target dose is outside the band ({plan.binding_limit}): "
            "sign it in the plan editor with the acknowledgement"
        )
    if consent.course_consent(session=session, actor=actor, course_id=course_id) is None:
        raise PlanRefused(
            f"course {course_id} cannot be signed: the patient's consent to Class 4 laser treatment is not"
            " recorded; record it from the signed consent form first"
        )
    course.signed_by_id, course.signed_at = actor.id, signed_at or utcnow()
    session.flush()
    details: dict[str, Any] = {"plan_sha256": fingerprint(plan)}
    if outside is not None:
        details |= {"outside_window": True, "binding_limit": plan.binding_limit}
    audit_change(session, actor, "course.sign", "courses", course.id, **details)
    schedule.create_schedule(session=session, actor=actor, course=course)
    return course


def create_signed_course(
    *, session: Session, actor: User, patient_id: int, plan: TreatmentPlan | Refusal,
    inputs: plans.PlanInputs, physics: PhysicsModel, home_exercise: str = "", advice: str = "",
    acknowledgement: WindowAcknowledgement | None = None, signed_at: dt.datetime | None = None,
    given: consent.ConsentGiven | None = None,
) -> Course:  # fmt: skip
    """Save the editor's plan as a course and sign it through `sign` (clinician); each step audited.

    `given` is the patient's signed consent, recorded on the new course before it is signed (without it
    the course is signed only if it has a consent, which a new course has not: PlanRefused).

    A plan that keeps every safety limit but misses its band (any binding limit: the optimiser never
    breaks a safety limit to reach the reference dose) is signed only with `acknowledgement`, which is
    stored beside the plan under "acknowledged_outside_window" and named in the signing's audit entry.

    Raises:
        PlanRefused: the screening does not allow laser, or the plan breaks a safety limit.
        AcknowledgementNeeded: the plan misses its band and the acknowledgement is missing or empty.
    """
    require_role(actor, Role.CLINICIAN)
    protocol = get_protocol(inputs.protocol)
    other = active_course_conflict(session, patient_id, protocol.diagnosis)
    if other is not None:
        raise Conflict(f"the plan cannot be signed: {other}")
    problem = signing_problem(plan, load_profile(inputs.device), protocol)
    if problem is not None or not isinstance(plan, TreatmentPlan):
        raise PlanRefused(f"{problem}; the plan cannot be signed")
    extra: dict[str, Any] = {plans.INPUTS_KEY: inputs.to_dict()}
    if not plan.feasible:
        extra[plans.OUTSIDE_WINDOW_KEY] = _outside_window(plan, actor, acknowledgement)
    for name, text in (("home exercise", home_exercise), ("advice", advice)):
        if len(text) > plans.MAX_TEXT_CHARS:
            raise InputError(f"{name} must have at most {plans.MAX_TEXT_CHARS} characters")
    course = courses.create_course(
        session=session, actor=actor, patient_id=patient_id, condition=protocol.diagnosis,
        protocol=protocol.name, plan=plan_json(plan) | extra,
        sessions_planned=plan.course.sessions, sessions_per_week=plan.course.per_week,
        home_exercise=home_exercise.strip(), advice=advice.strip(),
    )  # fmt: skip
    if given is not None:
        today = (signed_at or utcnow()).date()
        consent.record_consent(session=session, actor=actor, course_id=course.id, given=given, today=today)
    return sign(session=session, actor=actor, course_id=course.id, physics=physics, signed_at=signed_at)


def _outside_window(
    plan: TreatmentPlan, actor: User, acknowledgement: WindowAcknowledgement | None
) -> dict[str, Any]:
    """The stored acknowledgement of a plan outside its band; raises when it is missing."""
    errors = acknowledgement_problem(acknowledgement)
    if errors or acknowledgement is None:
        raise AcknowledgementNeeded(
            f"the target dose is outside the band ({plan.binding_limit}): "
            + "; ".join(errors.values() or ["acknowledge it"])
        )
    return {
        "by": actor.username,
        "reason": acknowledgement.reason.strip(),
        "binding_limit": plan.binding_limit,
        "target_dose_range_j_per_cm2": list(plan.target.dose_range_j_per_cm2),
        **_prescription_summary(plan),
    }


def _prescription_summary(plan: TreatmentPlan) -> dict[str, Any]:
    """The template, reference dose, equivalence and band a plan was signed against."""
    prescription = plan.prescription
    if prescription is None:
        return {}
    return {
        "template": prescription.template,
        "reference_dose_j_per_cm2": prescription.reference.target_dose_j_per_cm2,
        "equivalence": prescription.equivalence,
        "band": list(prescription.band),
    }
