"""The plan document: one typed plan from the planner to the clinic, the machine and the cohort study.

A plan is either a `TreatmentPlan` (the screening allows laser: what the machine does, and what the
planner predicts it does to the patient) or a `Refusal` (the screening does not: its reasons). The two
are told apart by the screening decision, so a refusal cannot carry parameters and a treatment plan
cannot lack them. `PlanDocument` is their union; `PLAN_DOCUMENT` parses and validates it.

Every document says its `schema_version`. Older plans are read by `read_plan_document`, which upgrades
them: version 1 (the same fields flat at the top level), version 2 (a dose window at the target
instead of a prescription; its plans have no `prescription` and keep their verdict) and version 3 (no
word on whether the target dose is an upper bound, nor on the optics' share of its range: both read as
null, "not assessed").

"Is this still the plan that was signed?" is model equality, or `fingerprint`: the SHA-256 of the
document's canonical JSON (sorted keys, no spaces, floats as Python writes them, which round-trip).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from laserdose.domain.quantities import Dose, Energy, Power, SkinLimit, TreatmentArea, Wavelength
from laserdose.domain.wavelengths import wavelength_key, wavelength_nm
from laserdose.errors import InputError

SCHEMA_VERSION = 4
TreatableDecision = Literal["treat", "treat-with-precautions"]
RefusedDecision = Literal["do-not-treat", "refer"]
Urgency = Literal["routine", "urgent", "emergency"]
# The screening decisions under which laser may be given: the one list every layer uses.
TREATABLE_DECISIONS: tuple[str, ...] = get_args(TreatableDecision)
REFUSED_DECISIONS: tuple[str, ...] = get_args(RefusedDecision)
EMISSION_MODES = ("cw", "pulsed")
MAX_DURATION_S = 3600.0  # one session; longer plans are not therapy sessions we drive
ENERGY_CONSISTENCY = 0.01  # total_energy_j must match power x duration x duty within 1 %

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reason(_Model):
    """One screening rule that applied: its term, why it matters, and its source."""

    code: Name
    text: Text
    source: Text


class Delivery(_Model):
    """What the machine does: the part of a treatment plan the device layer delivers.

    Attributes:
        device: the machine profile's name.
        power_w_by_wavelength: peak power per wavelength [W]; keys are wavelengths in whole nm (810), in
            JSON their decimal strings ("810"), as every wavelength key (domain/wavelengths.py).
        mode: "cw" or "pulsed".
        frequency_hz: pulse repetition frequency [Hz] (0 for cw).
        duty_cycle: fraction of each period with emission [-] (1 for cw).
        handpiece: the profile's handpiece name.
        duration_s: emission time [s].
        total_energy_j: planned energy over all wavelengths, power x duration x duty [J].
    """

    device: Name
    power_w_by_wavelength: dict[Wavelength, Power] = Field(min_length=1)
    mode: Literal["cw", "pulsed"] = "cw"
    frequency_hz: NonNegative = 0.0
    duty_cycle: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    handpiece: Name
    duration_s: Annotated[float, Field(gt=0, le=MAX_DURATION_S, allow_inf_nan=False)]
    total_energy_j: Energy

    @field_validator("power_w_by_wavelength", mode="before")
    @classmethod
    def _each_wavelength_once(cls, powers: Any) -> Any:
        if isinstance(powers, dict):
            try:
                keys = [wavelength_nm(key) for key in powers]
            except InputError as exc:
                raise ValueError(str(exc)) from None
            if len(set(keys)) != len(keys):
                raise ValueError("names one wavelength twice")
        return powers

    @field_serializer("power_w_by_wavelength")
    def _wavelength_keys(self, powers: dict[int, float]) -> dict[str, float]:
        return {wavelength_key(wavelength): power for wavelength, power in powers.items()}

    @model_validator(mode="after")
    def _consistent(self) -> Delivery:
        if self.mode == "cw" and (self.frequency_hz != 0.0 or self.duty_cycle != 1.0):
            raise ValueError("mode cw needs frequency_hz 0 and duty_cycle 1")
        if self.mode == "pulsed" and self.frequency_hz <= 0.0:
            raise ValueError("mode pulsed needs frequency_hz > 0")
        expected = sum(self.energy_j_by_wavelength.values())
        if abs(self.total_energy_j - expected) > ENERGY_CONSISTENCY * expected:
            raise ValueError(
                f"total_energy_j {self.total_energy_j:g} J disagrees with power x duration x duty"
                f" = {expected:g} J"
            )
        return self

    @property
    def energy_j_by_wavelength(self) -> dict[int, float]:
        """Planned energy per wavelength, power x duration x duty [J]."""
        return {wl: p * self.duration_s * self.duty_cycle for wl, p in self.power_w_by_wavelength.items()}


class TargetDose(_Model):
    """The planned dose at the protocol's primary target.

    Attributes:
        structure: the target structure (facet_joint, multifidus, ...).
        depth_mm: its nominal depth for this patient [mm].
        dose_j_per_cm2: fluence at the nominal depth under the centre of the area [J/cm^2].
        dose_range_j_per_cm2: the fluence over the patient's uncertainty (low, high) [J/cm^2]: anatomy
            and the tissues' optical spread, each +/- 2 SD, in quadrature.
        optics_spread_factor: the part of that range due to the tissues' optical spread alone: the dose
            lies within nominal / f to nominal x f at +/- 2 SD [-] (None: not assessed, as in version 3).
        dose_is_upper_bound: True when the model cannot reach lower than the real dose at this target
            (the light crosses tissue it does not represent); None: a plan upgraded from version 3.
        upper_bound_reason: why, in one sentence with its sources (only when dose_is_upper_bound).
    """

    structure: Name
    depth_mm: Positive
    dose_j_per_cm2: Dose
    dose_range_j_per_cm2: tuple[Dose, Dose]
    optics_spread_factor: Annotated[float, Field(ge=1, allow_inf_nan=False)] | None
    dose_is_upper_bound: bool | None
    upper_bound_reason: Text | None = None

    @model_validator(mode="after")
    def _reason_with_bound(self) -> TargetDose:
        if bool(self.dose_is_upper_bound) != (self.upper_bound_reason is not None):
            raise ValueError("an upper-bound dose has an upper_bound_reason; any other dose has none")
        return self


TEMPLATE_KINDS = ("trial", "guideline", "manufacturer")
PRESCRIPTION_MODES = ("equivalent-at-target", "as-in-source")


class ReferenceDose(_Model):
    """What the dose template's reference participant received at the same target.

    Attributes:
        skin_type: the participant's Fitzpatrick skin type [-].
        bmi: the participant's body mass index [kg/m^2].
        reported: True when the source reports both; False when a population default stands in [U].
        depth_mm: the target's nominal depth in the participant [mm].
        target_dose_j_per_cm2: fluence at the nominal target depth under the template's delivery [J/cm^2].
        target_dose_range_j_per_cm2: the same over the participant's uncertainty (low, high) [J/cm^2].
    """

    skin_type: Annotated[int, Field(ge=1, le=6)]
    bmi: Positive
    reported: bool
    depth_mm: Positive
    target_dose_j_per_cm2: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    target_dose_range_j_per_cm2: tuple[Dose, Dose]


class Prescription(_Model):
    """What the plan aims at: a cited dose template, and this patient's target dose against its reference.

    Attributes:
        template: the template's id in its protocol.
        source: the source, with its reference key.
        kind: trial, guideline or manufacturer.
        mode: equivalent-at-target (this patient gets the reference dose at the target) or as-in-source
            (the template's surface prescription as published).
        reference: the reference participant and the dose they received at the target.
        equivalence: this patient's nominal target dose / the reference dose [-].
        band: the equivalence the plan must reach (low, high) [-].
        extrapolated: True when the plan goes beyond the source: another wavelength, mode or condition.
    """

    template: Name
    source: Text
    kind: Literal["trial", "guideline", "manufacturer"]
    mode: Literal["equivalent-at-target", "as-in-source"]
    reference: ReferenceDose
    equivalence: NonNegative
    band: tuple[Positive, Positive]
    extrapolated: bool

    @model_validator(mode="after")
    def _ordered_band(self) -> Prescription:
        if not self.band[0] <= 1.0 <= self.band[1]:
            raise ValueError("band must satisfy low <= 1 <= high")
        return self

    @property
    def in_band(self) -> bool:
        """True when the equivalence lies in the band (both ends included, to 1e-9)."""
        return self.band[0] * (1 - 1e-9) <= self.equivalence <= self.band[1] * (1 + 1e-9)


class CourseSchedule(_Model):
    """The protocol's course: how many sessions, how many a week."""

    sessions: Annotated[int, Field(ge=1, le=60)]
    per_week: Annotated[int, Field(ge=1, le=7)]


class TreatmentPlan(_Model):
    """A plan the screening allows: the machine's delivery and what the planner predicts of it.

    Attributes:
        schema_version: the document's version (SCHEMA_VERSION).
        decision: treat or treat-with-precautions.
        reasons: every screening rule that applied, most cautious first.
        condition: the protocol's name.
        delivery: what the machine does.
        area_cm2: treated area [cm^2].
        scan_speed_mm_per_s: hand scanning speed [mm/s].
        feasible: True when the plan delivers its prescription: every limit holds and the equivalence
            lies in its band.
        binding_limit: the limit that keeps the plan from it (None when feasible).
        advice: what would change that, for the clinician (None when feasible).
        surface_dose_j_per_cm2: radiant exposure at the skin [J/cm^2].
        target: the dose at the primary target.
        prescription: the template aimed at and the equivalence reached (None in plans upgraded from
            version 2, made for a dose window).
        skin_start_c: skin temperature before treatment [C].
        peak_skin_temperature_c: predicted peak skin temperature [C].
        skin_limit_c: the highest skin temperature the plan was made under [C].
        course: the protocol's sessions.
        notes: what the numbers mean, for the reader.
    """

    schema_version: Literal[4] = 4
    decision: TreatableDecision
    reasons: tuple[Reason, ...] = Field(min_length=1)
    condition: Name
    delivery: Delivery
    area_cm2: TreatmentArea
    scan_speed_mm_per_s: Positive
    feasible: bool
    binding_limit: Name | None = None
    advice: Text | None = None
    surface_dose_j_per_cm2: Dose
    target: TargetDose
    prescription: Prescription | None = None
    skin_start_c: Finite
    peak_skin_temperature_c: Finite
    skin_limit_c: SkinLimit
    course: CourseSchedule
    notes: tuple[Text, ...] = ()

    @model_validator(mode="after")
    def _verdict(self) -> TreatmentPlan:
        if self.feasible != (self.binding_limit is None) or self.feasible != (self.advice is None):
            raise ValueError("a feasible plan has no binding_limit or advice; an infeasible one has both")
        return self

    @property
    def device(self) -> str:
        """The machine profile's name."""
        return self.delivery.device


class Refusal(_Model):
    """No laser plan: the screening decided not to treat, or to refer, for its reasons.

    Attributes:
        schema_version: the document's version (SCHEMA_VERSION).
        decision: do-not-treat or refer.
        urgency: routine, urgent or emergency for a referral; None otherwise.
        reasons: every screening rule that applied, most cautious first.
        condition: the protocol's name.
        device: the machine profile's name.
    """

    schema_version: Literal[4] = 4
    decision: RefusedDecision
    urgency: Urgency | None
    reasons: tuple[Reason, ...] = Field(min_length=1)
    condition: Name
    device: Name

    @model_validator(mode="after")
    def _urgency_only_for_referrals(self) -> Refusal:
        if (self.decision == "refer") != (self.urgency is not None):
            raise ValueError("a referral has an urgency; a decision not to treat has none")
        return self


PlanDocument = Annotated[TreatmentPlan | Refusal, Field(discriminator="decision")]
# Some mypy versions cannot see that an Annotated union is a type form TypeAdapter accepts.
PLAN_DOCUMENT: TypeAdapter[TreatmentPlan | Refusal] = TypeAdapter(PlanDocument)  # type: ignore[arg-type, unused-ignore]


def plan_json(document: TreatmentPlan | Refusal) -> dict[str, Any]:
    """The document as JSON data (wavelength keys as strings, tuples as lists)."""
    return document.model_dump(mode="json")


def canonical_json(document: TreatmentPlan | Refusal) -> str:
    """The document's canonical JSON text: sorted keys, no spaces, NaN refused."""
    return json.dumps(plan_json(document), sort_keys=True, separators=(",", ":"), allow_nan=False)


def fingerprint(document: TreatmentPlan | Refusal) -> str:
    """SHA-256 of the canonical JSON, in hex: equal for equal documents, whatever stored them."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan document (what `laserdose plan --json` prints)."""
    schema = PLAN_DOCUMENT.json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "laserdose plan document",
        "description": f"A treatment plan or a refusal, schema_version {SCHEMA_VERSION}.",
        **schema,
    }


def read_plan_document(data: Any) -> TreatmentPlan | Refusal:
    """Validate plan JSON data, upgrading a version 1, 2 or 3 plan; InputError if invalid."""
    if isinstance(data, dict) and "schema_version" not in data:
        data = upgrade_v1(data)
    if isinstance(data, dict) and data.get("schema_version") == 2:
        data = upgrade_v2(data)
    if isinstance(data, dict) and data.get("schema_version") == 3:
        data = upgrade_v3(data)
    try:
        return PLAN_DOCUMENT.validate_python(data)
    except ValidationError as exc:
        raise InputError(f"not a valid plan document: {_first_error(exc)}") from None


def read_delivery(data: Any) -> Delivery:
    """What a plan has the machine do: a treatment plan's delivery, or that of a version 1 plan file.

    Version 1 plan files written by hand for the device layer name only the decision and the delivery
    (examples from before the document had a version); they are read as such.
    """
    if isinstance(data, dict) and "schema_version" not in data and "target" not in data:
        decision = data.get("decision")
        if decision not in TREATABLE_DECISIONS:
            raise InputError(_refused(decision))
        try:
            return Delivery.model_validate(_v1_delivery(data))
        except ValidationError as exc:
            raise InputError(f"not a valid plan: {_first_error(exc)}") from None
    document = read_plan_document(data)
    if not isinstance(document, TreatmentPlan):
        raise InputError(_refused(document.decision))
    return document.delivery


def _refused(decision: Any) -> str:
    return f"plan decision is {decision!r}; only {' or '.join(TREATABLE_DECISIONS)} may be delivered"


def upgrade_v3(data: dict[str, Any]) -> dict[str, Any]:
    """A version 3 plan in the version 4 shape: its target says nothing of an upper bound or optics.

    Version 3 planners did not assess either, so both read as null ("not assessed"), never as false.
    """
    upgraded = {**data, "schema_version": 4}
    if isinstance(data.get("target"), dict):
        upgraded["target"] = {**data["target"], "optics_spread_factor": None, "dose_is_upper_bound": None}
    return upgraded


def upgrade_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A version 2 plan in the version 3 shape: its target window goes, it has no prescription.

    Its feasibility, binding limit and advice stay as they were made (against the window).
    """
    upgraded = {**data, "schema_version": 3}
    if isinstance(data.get("target"), dict):
        upgraded["target"] = {k: v for k, v in data["target"].items() if k != "window_j_per_cm2"}
    return upgraded


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A version 1 plan (the fields flat, as the planner wrote them before) in the version 2 shape.

    Version 1 had no schema_version and no skin_start_c: its plans were all made from skin at
    `V1_SKIN_START_C`. Its `target.name` is now `target.structure`.
    """
    if data.get("decision") not in TREATABLE_DECISIONS:
        keys = ("decision", "urgency", "reasons", "condition", "device")
        return {"schema_version": 2, **{key: data[key] for key in keys if key in data}}
    target = dict(data.get("target") or {})
    if "name" in target:
        target["structure"] = target.pop("name")
    kept = ("decision", "reasons", "condition", *_V1_TREATMENT_KEYS, "notes")
    return {
        "schema_version": 2,
        **{key: data[key] for key in kept if key in data},
        "delivery": _v1_delivery(data),
        "target": target,
        "skin_start_c": V1_SKIN_START_C,
    }


# Skin at rest before treatment, which every version 1 plan assumed (the planner's SKIN_START_C then).
V1_SKIN_START_C = 33.0
_V1_DELIVERY_KEYS = ("device", "power_w_by_wavelength", "mode", "handpiece", "duration_s", "total_energy_j")
_V1_TREATMENT_KEYS = (
    "area_cm2", "scan_speed_mm_per_s", "feasible", "binding_limit", "advice", "surface_dose_j_per_cm2",
    "peak_skin_temperature_c", "skin_limit_c", "course",
)  # fmt: skip


def _v1_delivery(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in (*_V1_DELIVERY_KEYS, "frequency_hz", "duty_cycle") if key in data}


def _first_error(exc: ValidationError) -> str:
    """The first validation error in one line: where, then what."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"] if not _is_variant(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _is_variant(part: Any) -> bool:
    """A location part that names the union's variant (the decision), not a field."""
    return part in TREATABLE_DECISIONS or part in REFUSED_DECISIONS
