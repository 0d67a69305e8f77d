"""Planning in the clinic: a plan made from a stored screening, and a course's stored plan read back.

Like every clinic service: keyword-only database session, no commits, role checks, audit entries with
field names only.
The physics comes from the caller (the web app passes `planning.physics.default_physics()`), so the clinic
layer never loads a fluence table itself. Signing is the gate's (clinic/signing.py).

A course's `plan` is the plan document's JSON (domain/plan.py) with two more keys: "inputs", what the
clinician chose in the editor and the screening it rests on, so that the plan can be made again for its
report and checked against what was signed; and, for a plan signed outside its band (before
prescriptions: its window), the clinician's "acknowledged_outside_window". Plans stored before the
document had a version are upgraded as they are read (`stored_plan`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import patients
from laserdose.clinic.models import Course, Role, Screening, User
from laserdose.clinic.models import Patient as PatientRecord
from laserdose.clinic.records import get_course
from laserdose.clinic.referrals import planning_open
from laserdose.clinic.screenings import get_screening, questionnaire
from laserdose.clinic.users import require_role
from laserdose.clinical.patient import Patient
from laserdose.clinical.protocols import get_protocol
from laserdose.domain.plan import PRESCRIPTION_MODES, Refusal, TreatmentPlan, read_plan_document
from laserdose.domain.quantities import BMI, FAT_THICKNESS, SKIN_LIMIT, TREATMENT_AREA
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile, shipped_profiles
from laserdose.planning.plan import (
    DEFAULT_MODE,
    PhysicsModel,
    PlanSettings,
    make_plan,
)

MAX_TEXT_CHARS = 4000  # home exercise programme and advice: a page of text


INPUTS_KEY = "inputs"
OUTSIDE_WINDOW_KEY = "acknowledged_outside_window"
# Stored with the course's plan but not part of the plan document.
COURSE_ONLY_KEYS = (INPUTS_KEY, OUTSIDE_WINDOW_KEY)


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
        template: the protocol's dose template aimed at (None: its default; stored plans made before
            templates have none).
        mode: "equivalent-at-target" or "as-in-source".
    """

    protocol: str
    device: str
    area_cm2: float
    skin_limit_c: float
    fat_mm: float | None
    bmi: float | None
    screening_id: int
    template: str | None = None
    mode: str = DEFAULT_MODE

    def __post_init__(self) -> None:
        protocol = get_protocol(self.protocol)  # unknown names raise, listing the known ones
        if self.template is not None:
            protocol.template(self.template)  # unknown ids raise, listing the known ones
        if self.mode not in PRESCRIPTION_MODES:
            raise InputError(f"unknown mode {self.mode!r}; allowed: {', '.join(PRESCRIPTION_MODES)}")
        if self.device not in shipped_profiles():
            raise InputError(f"unknown device {self.device!r}; allowed: {', '.join(shipped_profiles())}")
        TREATMENT_AREA.check(self.area_cm2)
        SKIN_LIMIT.check(self.skin_limit_c)
        if self.fat_mm is not None:
            FAT_THICKNESS.check(self.fat_mm)
        elif self.bmi is not None:
            BMI.check(self.bmi)
        else:
            raise InputError("give the fat thickness or the BMI")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the course's plan JSON."""
        return asdict(self)

    def settings(self) -> PlanSettings:
        """The planner's settings these inputs give."""
        return PlanSettings(skin_limit_c=self.skin_limit_c, template=self.template, mode=self.mode)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanInputs:
        """Read back what `to_dict` stored."""
        try:
            return cls(**data)
        except TypeError as exc:
            raise InputError(f"stored plan inputs are incomplete: {exc}") from None


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
) -> tuple[TreatmentPlan | Refusal, Patient]:  # fmt: skip
    """Make the plan for the editor's inputs (clinician); the screening must be this patient's.

    Raises:
        InputError: the screening belongs to someone else, or the protocol treats another diagnosis.
    """
    require_role(actor, Role.CLINICIAN)
    record = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    screening = get_screening(session=session, actor=actor, screening_id=inputs.screening_id)
    if screening.patient_id != patient_id:
        raise InputError(f"screening {inputs.screening_id} is not this patient's")
    if screening.voided_at is not None:
        raise InputError(
            f"screening {screening.id} was voided ({screening.void_reason}); plan from a live one"
        )
    protocol = get_protocol(inputs.protocol)
    diagnosis = screening.answers.get("diagnosis")
    if protocol.diagnosis != diagnosis:
        raise InputError(
            f"protocol {protocol.name} treats {protocol.diagnosis}, but the diagnosis is {diagnosis}"
        )
    patient = planning_patient(record, screening, inputs, today)
    settings = inputs.settings()
    return make_plan(patient, protocol, load_profile(inputs.device), physics, settings), patient


def outside_window(plan_json: dict[str, Any]) -> dict[str, Any] | None:
    """A course plan's acknowledgement of a target dose outside the band, or None."""
    value = plan_json.get(OUTSIDE_WINDOW_KEY)
    return value if isinstance(value, dict) else None


def stored_plan_json(course: Course) -> dict[str, Any]:
    """The plan document's JSON as a course stores it, without the course's own keys."""
    return {key: value for key, value in course.plan.items() if key not in COURSE_ONLY_KEYS}


def stored_plan(course: Course) -> TreatmentPlan | Refusal:
    """The course's plan document (a plan stored before versions is upgraded); InputError if none."""
    return read_plan_document(stored_plan_json(course))


def course_plan(
    *, session: Session, actor: User, course_id: int, physics: PhysicsModel
) -> tuple[TreatmentPlan | Refusal, Patient]:
    """Make a course's plan again from its stored inputs (any reader) and check it is the stored one.

    Raises:
        InputError: the course has no editor inputs, or the planner now gives another plan (for example
            after a new fluence table); the report would then not show what was signed.
    """
    course = get_course(session, course_id)
    record = patients.get_patient(session=session, actor=actor, patient_id=course.patient_id)
    if INPUTS_KEY not in course.plan:
        raise InputError(f"course {course_id} was not made in the plan editor; it has no plan report")
    inputs = PlanInputs.from_dict(course.plan[INPUTS_KEY])
    screening = get_screening(session=session, actor=actor, screening_id=inputs.screening_id)
    protocol = get_protocol(inputs.protocol)
    patient = planning_patient(record, screening, inputs, course.created_at.date())
    settings = inputs.settings()
    plan = make_plan(patient, protocol, load_profile(inputs.device), physics, settings)
    if plan != stored_plan(course):
        raise InputError(
            f"the planner now gives another plan for course {course_id} than the one stored "
            "(the physics tables changed?); make and sign a new plan"
        )
    return plan, patient
