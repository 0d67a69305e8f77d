"""Planning in the clinic: a plan made from a stored screening and signed into a course.

Like every clinic service: keyword-only database session, no commits, role checks, audit entries with
field names only.
The physics comes from the caller (the web app passes `planning.physics.default_physics()`), so the clinic
layer never loads a fluence table itself.

A course's `plan` is the plan JSON (`Plan.to_json_dict()`, what device/plan.py `parse_plan`
accepts) with one more key, "inputs": what the clinician chose in the editor and the screening it rests
on, so that the plan can be made again for its report and checked against what was signed.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import courses, patients
from laserdose.clinic.models import Course, Role, Screening, User
from laserdose.clinic.models import Patient as PatientRecord
from laserdose.clinic.records import get_course
from laserdose.clinic.referrals import planning_open
from laserdose.clinic.screenings import decision_label, get_screening, questionnaire
from laserdose.clinic.users import require_role
from laserdose.clinical.patient import AREA_CM2_RANGE, BMI_RANGE, FAT_MM_RANGE, Patient
from laserdose.clinical.protocols import get_protocol
from laserdose.errors import InputError, require_range
from laserdose.machines.profile import load_profile, shipped_profiles
from laserdose.planning.plan import (
    DEFAULT_SKIN_LIMIT_C,
    SKIN_START_C,
    PhysicsModel,
    Plan,
    PlanSettings,
    make_plan,
)

# The skin limit a clinic may set: above the resting skin (SKIN_START_C, else no light at all could be
# given) and never above the 43 C contact limit of IEC 60601-1 ed. 3 (planning/plan.py) [U].
SKIN_LIMIT_RANGE_C = (SKIN_START_C + 1.0, DEFAULT_SKIN_LIMIT_C)
MAX_TEXT_CHARS = 4000  # home exercise programme and advice: a page of text


# The shortest clinical reason accepted for signing a plan outside its target window: a few words at least.
MIN_REASON_CHARS = 10
OUTSIDE_WINDOW_KEY = "acknowledged_outside_window"
# Stored with the course's plan but not part of what the planner makes (course_plan compares the rest).
COURSE_ONLY_KEYS = ("inputs", OUTSIDE_WINDOW_KEY)
SAFETY_TOLERANCE = 1e-9  # relative: the optimiser scales powers so its limits hold to rounding


class PlanRefused(InputError):
    """A plan that may not become a signed course (screening says no, or a safety limit is broken)."""


class AcknowledgementNeeded(PlanRefused):
    """A safe plan that misses its target window, signed without the clinician's acknowledgement."""


@dataclass(frozen=True)
class WindowAcknowledgement:
    """The clinician's acceptance that the predicted target dose is outside the protocol's window.

    Attributes:
        accepted: the box "I accept that the predicted target dose is outside the protocol's window".
        reason: the clinical reason, free text of at least MIN_REASON_CHARS characters.
    """

    accepted: bool
    reason: str


def safety_problem(plan: Plan) -> str | None:
    """The safety limit a plan's parameters break, or None.

    The safety limits are the skin limit, each source's and the machine's power, the protocol's highest
    surface dose, and the top of the target window (no overdose at the target). The optimiser keeps all
    of them even when it reports no feasible plan (planning/optimise.py: the powers come from the skin
    and power LP, the duration is the first upper bound); this check makes signing not depend on that.
    """
    outcome = plan.outcome
    if outcome is None:
        return None
    slack = 1 + SAFETY_TOLERANCE
    powers = outcome.power_w_by_wavelength
    if any(p > plan.device.source(w).max_power_w * slack for w, p in powers.items()):
        return "a source's power is above its maximum"
    if sum(powers.values()) > plan.device.max_total_power_w * slack:
        return "the total power is above the machine's maximum"
    if outcome.skin_rise_k > (plan.skin_limit_c - plan.skin_start_c) * slack:
        return "the peak skin temperature is above the skin limit"
    if outcome.surface_dose_j_per_cm2 > plan.protocol.surface_dose_j_per_cm2[1] * slack:
        return "the surface dose is above the protocol's maximum"
    if outcome.target_dose_range_j_per_cm2[1] > plan.protocol.targets[0].window_j_per_cm2[1] * slack:
        return "the target dose may be above the window's top"
    return None


def acknowledgement_problem(acknowledgement: WindowAcknowledgement | None) -> dict[str, str]:
    """An error per acknowledgement field (the box, the reason), empty when both are given."""
    errors: dict[str, str] = {}
    if acknowledgement is None or not acknowledgement.accepted:
        errors["accept_outside_window"] = "tick the box to sign a plan outside the target window"
    reason = acknowledgement.reason.strip() if acknowledgement else ""
    if len(reason) < MIN_REASON_CHARS:
        errors["outside_window_reason"] = f"give the clinical reason (at least {MIN_REASON_CHARS} characters)"
    elif len(reason) > MAX_TEXT_CHARS:
        errors["outside_window_reason"] = f"at most {MAX_TEXT_CHARS} characters"
    return errors


@dataclass(frozen=True)
class PlanInputs:
    """What the clinician chooses in the plan editor, validated on construction.

    Attributes:
        protocol: protocol name (clinical/protocols.py).
        device: shipped device profile name (laserdose.machines.profile).
        area_cm2: treatment area [cm^2].
        skin_limit_c: highest allowed skin temperature [C].
        fat_mm: subcutaneous fat measured by ultrasound [mm], or None to estimate it from `bmi`.
        bmi: body mass index [kg/m^2], used when `fat_mm` is None.
        screening_id: the screening the plan rests on.
    """

    protocol: str
    device: str
    area_cm2: float
    skin_limit_c: float
    fat_mm: float | None
    bmi: float | None
    screening_id: int

    def __post_init__(self) -> None:
        get_protocol(self.protocol)  # unknown names raise, listing the known ones
        if self.device not in shipped_profiles():
            raise InputError(f"unknown device {self.device!r}; allowed: {', '.join(shipped_profiles())}")
        _finite_in("treatment area", self.area_cm2, AREA_CM2_RANGE, "cm^2")
        _finite_in("skin limit", self.skin_limit_c, SKIN_LIMIT_RANGE_C, "C")
        if self.fat_mm is not None:
            _finite_in("fat thickness", self.fat_mm, FAT_MM_RANGE, "mm")
        elif self.bmi is not None:
            _finite_in("BMI", self.bmi, BMI_RANGE, "kg/m^2")
        else:
            raise InputError("give the fat thickness or the BMI")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the course's plan JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanInputs:
        """Read back what `to_dict` stored."""
        try:
            return cls(**data)
        except TypeError as exc:
            raise InputError(f"stored plan inputs are incomplete: {exc}") from None


def _finite_in(name: str, value: float, bounds: tuple[float, float], unit: str) -> None:
    if not math.isfinite(value):
        raise InputError(f"{name} must be a finite number of {unit}")
    require_range(name, value, *bounds, unit=unit)


def planning_patient(
    record: PatientRecord, screening: Screening, inputs: PlanInputs, today: dt.date
) -> Patient:
    """The planner's patient: the record's skin type and age, the screening's answers, the editor's body."""
    answers = questionnaire(record, screening.answers, today, referral_cleared=planning_open(screening))
    return Patient(
        skin_type=record.skin_type, area_cm2=inputs.area_cm2, screening=answers,
        bmi=inputs.bmi if inputs.fat_mm is None else None, fat_mm=inputs.fat_mm,
        age_years=answers.age_years,
    )  # fmt: skip


def propose_plan(
    *, session: Session, actor: User, patient_id: int, inputs: PlanInputs, physics: PhysicsModel,
    today: dt.date,
) -> tuple[Plan, Patient]:  # fmt: skip
    """Make the plan for the editor's inputs (clinician); the screening must be this patient's.

    Raises:
        InputError: the screening belongs to someone else, or the protocol treats another diagnosis.
    """
    require_role(actor, Role.CLINICIAN)
    record = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    screening = get_screening(session=session, actor=actor, screening_id=inputs.screening_id)
    if screening.patient_id != patient_id:
        raise InputError(f"screening {inputs.screening_id} is not this patient's")
    protocol = get_protocol(inputs.protocol)
    diagnosis = screening.answers.get("diagnosis")
    if protocol.diagnosis != diagnosis:
        raise InputError(
            f"protocol {protocol.name} treats {protocol.diagnosis}, but the diagnosis is {diagnosis}"
        )
    patient = planning_patient(record, screening, inputs, today)
    settings = PlanSettings(skin_limit_c=inputs.skin_limit_c)
    return make_plan(patient, protocol, load_profile(inputs.device), physics, settings), patient


def create_signed_course(
    *, session: Session, actor: User, patient_id: int, plan: Plan, inputs: PlanInputs,
    home_exercise: str = "", advice: str = "", acknowledgement: WindowAcknowledgement | None = None,
) -> Course:  # fmt: skip
    """Save a treatable, safe plan as a course and sign it (clinician); each step audited.

    A plan that keeps every safety limit but misses its target window (any binding limit: the optimiser
    never breaks a safety limit to reach the window) is signed only with `acknowledgement`, which is
    stored in the plan JSON under "acknowledged_outside_window" and named in the signing's audit entry.

    Raises:
        PlanRefused: the screening does not allow laser, or the plan breaks a safety limit.
        AcknowledgementNeeded: the plan misses its window and the acknowledgement is missing or empty.
    """
    require_role(actor, Role.CLINICIAN)
    if not plan.treat or plan.outcome is None:
        raise PlanRefused(f"the screening decision is {decision_label(plan.screening)}: no laser plan")
    problem = safety_problem(plan)
    if problem:
        raise PlanRefused(f"{problem}; the plan cannot be signed")
    extra: dict[str, Any] = {"inputs": inputs.to_dict()}
    if not plan.outcome.feasible:
        extra[OUTSIDE_WINDOW_KEY] = _outside_window(plan, actor, acknowledgement)
    for name, text in (("home exercise", home_exercise), ("advice", advice)):
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"{name} must have at most {MAX_TEXT_CHARS} characters")
    protocol = plan.protocol
    course = courses.create_course(
        session=session, actor=actor, patient_id=patient_id, condition=protocol.diagnosis,
        protocol=protocol.name, plan=plan.to_json_dict() | extra,
        sessions_planned=protocol.course.sessions, sessions_per_week=protocol.course.per_week,
        home_exercise=home_exercise.strip(), advice=advice.strip(),
    )  # fmt: skip
    outside = extra.get(OUTSIDE_WINDOW_KEY)
    details = {"outside_window": True, "binding_limit": outside["binding_limit"]} if outside else {}
    return courses.sign_course(session=session, actor=actor, course_id=course.id, **details)


def _outside_window(plan: Plan, actor: User, acknowledgement: WindowAcknowledgement | None) -> dict[str, Any]:
    """The stored acknowledgement of a plan outside its window; raises when it is missing."""
    assert plan.outcome is not None  # checked by the caller
    errors = acknowledgement_problem(acknowledgement)
    if errors or acknowledgement is None:
        binding = plan.outcome.binding
        raise AcknowledgementNeeded(
            f"the target dose is outside the protocol's window ({binding}): "
            + "; ".join(errors.values() or ["acknowledge it"])
        )
    return {
        "by": actor.username,
        "reason": acknowledgement.reason.strip(),
        "binding_limit": plan.outcome.binding,
        "target_dose_range_j_per_cm2": list(plan.outcome.target_dose_range_j_per_cm2),
        "window_j_per_cm2": list(plan.protocol.targets[0].window_j_per_cm2),
    }


def outside_window(plan_json: dict[str, Any]) -> dict[str, Any] | None:
    """A course plan's acknowledgement of a target dose outside the window, or None."""
    value = plan_json.get(OUTSIDE_WINDOW_KEY)
    return value if isinstance(value, dict) else None


def course_plan(
    *, session: Session, actor: User, course_id: int, physics: PhysicsModel
) -> tuple[Plan, Patient]:
    """Make a course's plan again from its stored inputs (any reader) and check it is the signed one.

    Raises:
        InputError: the course has no editor inputs, or the planner now gives another plan (for example
            after a new fluence table); the report would then not show what was signed.
    """
    course = get_course(session, course_id)
    record = patients.get_patient(session=session, actor=actor, patient_id=course.patient_id)
    if "inputs" not in course.plan:
        raise InputError(f"course {course_id} was not made in the plan editor; it has no plan report")
    inputs = PlanInputs.from_dict(course.plan["inputs"])
    screening = get_screening(session=session, actor=actor, screening_id=inputs.screening_id)
    protocol = get_protocol(inputs.protocol)
    patient = planning_patient(record, screening, inputs, course.created_at.date())
    settings = PlanSettings(skin_limit_c=inputs.skin_limit_c)
    plan = make_plan(patient, protocol, load_profile(inputs.device), physics, settings)
    stored = {key: value for key, value in course.plan.items() if key not in COURSE_ONLY_KEYS}
    if _rounded(plan.to_json_dict()) != _rounded(stored):
        raise InputError(
            f"the planner now gives another plan for course {course_id} than the one signed "
            "(the physics tables changed?); make and sign a new plan"
        )
    return plan, patient


def _rounded(value: Any) -> Any:
    """JSON data with floats to 9 significant digits (a database round trip may change the last bits)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def sign_planned_course(*, session: Session, actor: User, course_id: int, physics: PhysicsModel) -> Course:
    """Sign an unsigned course (clinician) only when its plan is the planner's and keeps every limit.

    Courses made in the plan editor are signed there; a course created another way (the API, an import)
    holds a plan nobody checked against the skin limit or the target window, so it is refused.
    """
    require_role(actor, Role.CLINICIAN)
    course = get_course(session, course_id)
    if "inputs" not in course.plan:
        raise PlanRefused(
            f"course {course_id}: its plan was not made by the planner (skin and dose limits unchecked):"
            " make and sign the plan in the plan editor"
        )
    plan, _ = course_plan(session=session, actor=actor, course_id=course_id, physics=physics)
    problem = safety_problem(plan)
    if problem is not None:
        raise PlanRefused(f"course {course_id} cannot be signed: {problem}")
    if plan.outcome is not None and not plan.outcome.feasible and OUTSIDE_WINDOW_KEY not in course.plan:
        raise AcknowledgementNeeded(
            "the plan misses its target window: sign it in the plan editor with the acknowledgement"
        )
    return courses.sign_course(session=session, actor=actor, course_id=course_id)
