"""The planner: screening first, then a dose template's reference dose at the target, then the optimiser.

`make_plan` is the service the CLI and the web app call; it returns the plan document (domain/plan.py):
a treatment plan, or a refusal with the screening's reasons. The plan aims at the reference dose of the
protocol's dose template (planning/reference.py): in the mode `equivalent-at-target` this patient's
nominal target dose is made equal to it, in `as-in-source` the template's surface dose is delivered as
published and the target dose is reported against it. The physics (how much light reaches the
target and how much the skin heats, per watt) comes from a `PhysicsModel`, so that tables can answer at
interactive speed and full Monte Carlo can verify.
"""

import math
from dataclasses import dataclass, replace
from typing import Protocol, cast

from laserdose.clinical.patient import Patient
from laserdose.clinical.protocols import Protocol as ClinicalProtocol
from laserdose.clinical.screening import ScreeningDecision, screen
from laserdose.clinical.templates import DoseTemplate
from laserdose.domain.plan import (
    PRESCRIPTION_MODES,
    TREATABLE_DECISIONS,
    CourseSchedule,
    Delivery,
    Prescription,
    Reason,
    ReferenceDose,
    Refusal,
    TargetDose,
    TreatableDecision,
    TreatmentPlan,
)
from laserdose.domain.quantities import SKIN_LIMIT
from laserdose.domain.wavelengths import wavelength_nm
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile, Handpiece
from laserdose.optics.back import dose_upper_bound_reason
from laserdose.planning.optimise import Aim, Limits, OptimiserResult, WavelengthResponse, optimise
from laserdose.planning.reference import reference_dose

# Skin contact limit 43 C for contact of 10 min or more [IEC60601-1] ed. 3 [U];
# a clinic may set 41 C (ed. 2) [S].
DEFAULT_SKIN_LIMIT_C = SKIN_LIMIT.high  # 43 C: the highest the domain allows
# Skin surface at rest near 33 C (the bioheat steady state).
SKIN_START_C = 33.0
# Hand scanning speeds used with Class 4 handpieces, 25-75 mm/s.
DEFAULT_SCAN_SPEED_MM_PER_S = 50.0
DEFAULT_MODE = "equivalent-at-target"


@dataclass(frozen=True)
class TargetLight:
    """Fluence at the target per unit surface radiant exposure over the patient's uncertainty [-].

    Attributes:
        low: least favourable case (target deepest, most fat) [-].
        nominal: the patient's nominal depth [-].
        high: most favourable case [-].
        optics_log_shift: the part of the spread due to the tissues' optics alone: the 2-SD shift of
            ln(fluence) [-] (None when the physics does not say).
    """

    low: float
    nominal: float
    high: float
    optics_log_shift: float | None = None


class PhysicsModel(Protocol):
    """How light reaches a target and heats the skin, per unit exposure or per watt."""

    def target_light(
        self, patient: Patient, wavelength_nm: float, structure: str, area_cm2: float
    ) -> tuple[float, TargetLight]:
        """The target's nominal depth [mm] and its light factors at `wavelength_nm`."""
        ...

    def skin_rise_k_per_w(
        self,
        patient: Patient,
        wavelength_nm: float,
        handpiece: Handpiece,
        scan_speed_mm_per_s: float,
        area_cm2: float,
        duration_s: float,
    ) -> float:
        """Peak skin temperature rise per watt over a session of `duration_s` [K/W]."""
        ...


@dataclass(frozen=True)
class PlanSettings:
    """What the clinic sets for a plan.

    Attributes:
        skin_limit_c: highest allowed skin temperature [C].
        scan_speed_mm_per_s: hand scanning speed [mm/s].
        duration_range_s: shortest and longest session [s].
        template: the protocol's dose template to aim at (None: its default).
        mode: "equivalent-at-target" or "as-in-source".
    """

    skin_limit_c: float = DEFAULT_SKIN_LIMIT_C
    scan_speed_mm_per_s: float = DEFAULT_SCAN_SPEED_MM_PER_S
    duration_range_s: tuple[float, float] = (60.0, 1800.0)
    template: str | None = None
    mode: str = DEFAULT_MODE

    def __post_init__(self) -> None:
        """Refuse a skin limit outside the domain's (domain/quantities.py) or an unknown mode."""
        SKIN_LIMIT.check(self.skin_limit_c)
        if self.mode not in PRESCRIPTION_MODES:
            raise InputError(f"unknown mode {self.mode!r}; allowed: {', '.join(PRESCRIPTION_MODES)}")


def make_plan(
    patient: Patient,
    protocol: ClinicalProtocol,
    device: DeviceProfile,
    physics: PhysicsModel,
    settings: PlanSettings = PlanSettings(),
) -> TreatmentPlan | Refusal:
    """Screen, then plan the best handpiece, powers and duration for the protocol's first target.

    A screening plan limit (a precaution such as dark skin or a tattoo) is honoured: sources outside its
    wavelengths get no power, and the skin limit is the lower of the clinic's and the precaution's.
    """
    decision = screen(patient.screening)
    settings, allowed_nm = _screened_settings(decision, settings)
    reasons = [Reason(code=r.code, text=r.text, source=r.source) for r in decision.reasons]
    if decision.decision not in TREATABLE_DECISIONS:
        return Refusal.model_validate(
            {"decision": decision.decision, "urgency": decision.urgency, "reasons": reasons,
             "condition": protocol.name, "device": device.name}
        )  # fmt: skip
    if allowed_nm is not None and not any(s.wavelength_nm in allowed_nm for s in device.sources):
        allowed = ", ".join(f"{w:g} nm" for w in allowed_nm) or "no wavelength"
        raise InputError(
            f"the screening allows only {allowed} for this patient and the {device.name} machine has no "
            "source there: plan on a machine that has one"
        )
    target = protocol.primary_target
    template = protocol.template(settings.template)
    reference = reference_dose(template, protocol, physics)
    lights: dict[float, TargetLight] = {}
    depth_mm = 0.0
    for source in device.sources:
        depth_mm, lights[source.wavelength_nm] = physics.target_light(
            patient, source.wavelength_nm, target.structure, patient.area_cm2
        )
    rules = protocol.prescription
    aim = Aim(
        reference_j_per_cm2=reference.target_dose_j_per_cm2,
        band=rules.band,
        max_target_ratio=rules.max_target_ratio,
        surface_j_per_cm2=template.dose_at_skin_j_per_cm2 if settings.mode == "as-in-source" else None,
        shares=_published_shares(template, device, allowed_nm, settings.mode),
    )
    limits = Limits(
        area_cm2=patient.area_cm2,
        max_surface_dose_j_per_cm2=protocol.max_surface_dose_j_per_cm2,
        skin_start_c=SKIN_START_C,
        skin_limit_c=settings.skin_limit_c,
        max_total_power_w=device.max_total_power_w,
        duration_range_s=settings.duration_range_s,
    )
    device_for_plan = _restricted(device, _emitting(allowed_nm, template, device, settings.mode))
    candidates = []
    for handpiece in device.handpieces:
        handpiece_limits = replace(limits, max_irradiance_power_w=_irradiance_power_w(protocol, handpiece))
        outcome = _plan_with(
            handpiece, patient, device_for_plan, physics, settings, lights, handpiece_limits, aim
        )
        candidates.append((handpiece, outcome))
    handpiece, outcome = max(candidates, key=lambda item: _preference(item[1]))
    delivery = Delivery(
        device=device.name,
        power_w_by_wavelength={wavelength_nm(w): p for w, p in outcome.power_w_by_wavelength.items()},
        mode="cw",
        handpiece=handpiece.name,
        duration_s=outcome.duration_s,
        total_energy_j=outcome.total_energy_j,
    )
    extrapolations = _extrapolations(template, protocol, outcome)
    upper_bound = dose_upper_bound_reason(target.structure)
    prescription = Prescription(
        template=template.id,
        source=template.source,
        kind=template.kind,  # type: ignore[arg-type]  # one of TEMPLATE_KINDS, checked on parsing
        mode=settings.mode,  # type: ignore[arg-type]  # one of PRESCRIPTION_MODES, checked above
        reference=ReferenceDose(
            skin_type=reference.participant.skin_type,
            bmi=reference.participant.bmi,
            reported=reference.participant.skin_type_reported and reference.participant.bmi_reported,
            depth_mm=reference.depth_mm,
            target_dose_j_per_cm2=reference.target_dose_j_per_cm2,
            target_dose_range_j_per_cm2=reference.target_dose_range_j_per_cm2,
        ),
        equivalence=outcome.equivalence,
        band=rules.band,
        extrapolated=bool(extrapolations),
    )
    return TreatmentPlan(
        decision=cast(TreatableDecision, decision.decision),  # one of TREATABLE_DECISIONS, checked above
        reasons=tuple(reasons),
        condition=protocol.name,
        delivery=delivery,
        area_cm2=patient.area_cm2,
        scan_speed_mm_per_s=settings.scan_speed_mm_per_s,
        feasible=outcome.feasible,
        binding_limit=outcome.binding or None,
        advice=outcome.advice or None,
        surface_dose_j_per_cm2=outcome.surface_dose_j_per_cm2,
        target=TargetDose(
            structure=target.structure,
            depth_mm=depth_mm,
            dose_j_per_cm2=outcome.target_dose_j_per_cm2,
            dose_range_j_per_cm2=outcome.target_dose_range_j_per_cm2,
            optics_spread_factor=_optics_spread_factor(lights, outcome),
            dose_is_upper_bound=upper_bound is not None,
            upper_bound_reason=upper_bound,
        ),
        prescription=prescription,
        skin_start_c=SKIN_START_C,
        peak_skin_temperature_c=SKIN_START_C + outcome.skin_rise_k,
        skin_limit_c=settings.skin_limit_c,
        course=CourseSchedule(sessions=protocol.course.sessions, per_week=protocol.course.per_week),
        notes=(*PLAN_NOTES, *extrapolations, *_limit_notes(decision, device)),
    )


def _optics_spread_factor(lights: dict[float, TargetLight], outcome: OptimiserResult) -> float | None:
    """The target dose's 2-SD factor from the tissues' optics alone [-], >= 1; None when unknown.

    Each emitting wavelength's 2-SD shift of ln(fluence), weighted by its share of the nominal target
    dose; None when nothing emits or the physics does not give a shift.
    """
    shares = {w: p * lights[w].nominal for w, p in outcome.power_w_by_wavelength.items() if p > 0}
    shifts = {w: lights[w].optics_log_shift for w in shares}
    total = sum(shares.values())
    if total <= 0 or any(shift is None for shift in shifts.values()):
        return None
    return math.exp(sum(share * (shifts[w] or 0.0) for w, share in shares.items()) / total)


def _emitting(
    allowed_nm: tuple[float, ...] | None, template: DoseTemplate, device: DeviceProfile, mode: str
) -> tuple[float, ...] | None:
    """The wavelengths that may emit (None: every source).

    The screening's; as-in-source, the template's where the machine has them all.
    """
    if mode != "as-in-source":
        return allowed_nm
    machine_nm = {s.wavelength_nm for s in device.sources}
    wanted = tuple(w for w in template.wavelengths_nm if allowed_nm is None or w in allowed_nm)
    if not wanted or not set(wanted) <= machine_nm:
        return allowed_nm
    return wanted


def _published_shares(
    template: DoseTemplate, device: DeviceProfile, allowed_nm: tuple[float, ...] | None, mode: str
) -> tuple[tuple[float, float], ...] | None:
    """As-in-source on a machine that may emit every published wavelength: the published energy shares."""
    if mode != "as-in-source" or _emitting(allowed_nm, template, device, mode) != template.wavelengths_nm:
        return None
    return tuple(zip(template.wavelengths_nm, template.energy_fractions, strict=True))


def _irradiance_power_w(protocol: ClinicalProtocol, handpiece: Handpiece) -> float | None:
    """The total power at which the beam reaches the protocol's highest irradiance [W] (None: no limit)."""
    if protocol.max_irradiance_w_per_cm2 is None:
        return None
    beam_area_cm2 = math.pi * (handpiece.beam_diameter_mm / 20.0) ** 2
    return protocol.max_irradiance_w_per_cm2 * beam_area_cm2


def _extrapolations(
    template: DoseTemplate, protocol: ClinicalProtocol, outcome: OptimiserResult
) -> tuple[str, ...]:
    """How the plan goes beyond its source, in words (empty when it does not)."""
    notes = []
    emitted = {w for w, p in outcome.power_w_by_wavelength.items() if p > 0}
    missing = [w for w in template.wavelengths_nm if w not in emitted]
    if missing:
        nm = ", ".join(f"{w:g} nm" for w in missing)
        notes.append(
            f"Extrapolated beyond the source: {template.id} used {nm}, which this plan does not emit; it "
            "aims at the same dose at the target, not at the same light."
        )
    if template.mode != "cw":
        notes.append(
            f"Extrapolated beyond the source: {template.id} was {template.mode}; this plan is CW at the same "
            "target dose."
        )
    if protocol.borrowed:
        notes.append(
            f"Extrapolated beyond the source: {template.id} comes from "
            f"{protocol.prescription.templates_from}, not from a trial of {protocol.title.lower()}."
        )
    return tuple(notes)


PLAN_NOTES = (
    "Target dose is the fluence under the centre of the treated area; at its edge about half.",
    "CW emission: at hand-scanning speeds pulsing changes neither the dose nor the mean skin heating "
    "at equal average power.",
)


def _screened_settings(
    decision: ScreeningDecision, settings: PlanSettings
) -> tuple[PlanSettings, tuple[float, ...] | None]:
    """The settings with the screening's skin limit applied, and the wavelengths it allows (None: all)."""
    limit = decision.plan_limit
    if limit is None:
        return settings, None
    if limit.skin_limit_c is not None and limit.skin_limit_c < settings.skin_limit_c:
        settings = replace(settings, skin_limit_c=limit.skin_limit_c)
    return settings, limit.wavelengths_nm


def _restricted(device: DeviceProfile, allowed_nm: tuple[float, ...] | None) -> DeviceProfile:
    """The device with every source outside `allowed_nm` unable to emit (0 W); all sources when None."""
    if allowed_nm is None:
        return device
    sources = tuple(
        s if s.wavelength_nm in allowed_nm else replace(s, max_power_w=0.0, min_power_w=0.0)
        for s in device.sources
    )
    return replace(device, sources=sources)


def _limit_notes(decision: ScreeningDecision, device: DeviceProfile) -> tuple[str, ...]:
    """What the screening's plan limit changed, in words."""
    limit = decision.plan_limit
    if limit is None:
        return ()
    notes = []
    if limit.wavelengths_nm is not None:
        allowed = ", ".join(f"{w:g} nm" for w in limit.wavelengths_nm) or "none"
        notes.append(f"Screening precaution: only {allowed} may emit.")
        if not any(s.wavelength_nm in limit.wavelengths_nm for s in device.sources):
            notes.append(f"This machine has no source at {allowed}: it cannot treat this patient here.")
    if limit.skin_limit_c is not None:
        notes.append(f"Screening precaution: skin limit at most {limit.skin_limit_c:g} C.")
    return tuple(notes)


def _plan_with(
    handpiece: Handpiece,
    patient: Patient,
    device: DeviceProfile,
    physics: PhysicsModel,
    settings: PlanSettings,
    lights: dict[float, TargetLight],
    limits: Limits,
    aim: Aim,
) -> OptimiserResult:
    """Optimise with the skin heating of one handpiece.

    Skin heating grows with the session's length, which the optimiser chooses: first plan with the
    heating of the longest session, then again with sessions capped at the length found (any session
    up to it heats no more, so the cap keeps the skin bound true), and report the heating of the
    session finally chosen.
    """
    shortest, longest = limits.duration_range_s
    responses = _responses(handpiece, patient, device, physics, settings, lights, longest)
    outcome = optimise(responses, limits, aim)
    if outcome.duration_s > shortest:
        capped = replace(limits, duration_range_s=(shortest, outcome.duration_s))
        responses = _responses(handpiece, patient, device, physics, settings, lights, outcome.duration_s)
        outcome = optimise(responses, capped, aim)
    emitting = {w for w, p in outcome.power_w_by_wavelength.items() if p > 0}
    final = _responses(handpiece, patient, device, physics, settings, lights, outcome.duration_s, emitting)
    rise_k = sum(outcome.power_w_by_wavelength[r.wavelength_nm] * r.skin_rise_k_per_w for r in final)
    return replace(outcome, skin_rise_k=rise_k)


def _responses(
    handpiece: Handpiece,
    patient: Patient,
    device: DeviceProfile,
    physics: PhysicsModel,
    settings: PlanSettings,
    lights: dict[float, TargetLight],
    session_s: float,
    emitting: set[float] | None = None,
) -> list[WavelengthResponse]:
    """Each source's light at the target and its skin heating per watt over a session of `session_s`.

    The skin model runs only for sources that can emit (and, given `emitting`, do): a source held at
    0 W heats nothing whatever its rise per watt, so it gets 0.
    """
    return [
        WavelengthResponse(
            wavelength_nm=source.wavelength_nm,
            target_factor_low=lights[source.wavelength_nm].low,
            target_factor_high=lights[source.wavelength_nm].high,
            target_factor=lights[source.wavelength_nm].nominal,
            skin_rise_k_per_w=physics.skin_rise_k_per_w(
                patient,
                source.wavelength_nm,
                handpiece,
                settings.scan_speed_mm_per_s,
                patient.area_cm2,
                session_s,
            )
            if source.max_power_w > 0 and (emitting is None or source.wavelength_nm in emitting)
            else 0.0,
            max_power_w=source.max_power_w,
            min_power_w=source.min_power_w,
        )
        for source in device.sources
    ]


def _preference(outcome: OptimiserResult) -> tuple[bool, float, float]:
    """Feasible plans first, the shortest session among them; else the equivalence nearest 1.

    Ties (equal to 6 digits: the surface dose cap often fixes the dose) go to the cooler skin.
    """
    if outcome.feasible:
        return True, -outcome.duration_s, -outcome.skin_rise_k
    distance = abs(math.log(max(outcome.equivalence, 1e-300)))
    return False, -float(f"{distance:.6g}"), -outcome.skin_rise_k
