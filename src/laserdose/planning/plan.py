"""The plan: screening first, then the protocol's window at the target, then the optimiser.

`make_plan` is the service the CLI and the web app call. The physics (how much light reaches the target
and how much the skin heats, per watt) comes from a `PhysicsModel`, so that tables can answer at
interactive speed and full Monte Carlo can verify.
"""

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from laserdose.clinical.patient import Patient
from laserdose.clinical.protocols import Protocol as ClinicalProtocol
from laserdose.clinical.screening import ScreeningDecision, screen
from laserdose.machines.profile import DeviceProfile, Handpiece
from laserdose.planning.optimise import Limits, OptimiserResult, WavelengthResponse, optimise

TREATABLE = ("treat", "treat-with-precautions")
# Skin contact limit 43 C for contact of 10 min or more [IEC60601-1] ed. 3 [U];
# a clinic may set 41 C (ed. 2) [S].
DEFAULT_SKIN_LIMIT_C = 43.0
# Skin surface at rest near 33 C (the bioheat steady state).
SKIN_START_C = 33.0
# Hand scanning speeds used with Class 4 handpieces, 25-75 mm/s.
DEFAULT_SCAN_SPEED_MM_PER_S = 50.0


@dataclass(frozen=True)
class TargetLight:
    """Fluence at the target per unit surface radiant exposure over the patient's uncertainty [-].

    Attributes:
        low: least favourable case (target deepest, most fat) [-].
        nominal: the patient's nominal depth [-].
        high: most favourable case [-].
    """

    low: float
    nominal: float
    high: float


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
    """

    skin_limit_c: float = DEFAULT_SKIN_LIMIT_C
    scan_speed_mm_per_s: float = DEFAULT_SCAN_SPEED_MM_PER_S
    duration_range_s: tuple[float, float] = (60.0, 1800.0)


@dataclass(frozen=True)
class Plan:
    """A plan for one patient, protocol and machine; parameters only where the decision is to treat."""

    screening: ScreeningDecision
    protocol: ClinicalProtocol
    device: DeviceProfile
    area_cm2: float
    handpiece: str | None = None
    scan_speed_mm_per_s: float | None = None
    outcome: OptimiserResult | None = None
    target_depth_mm: float | None = None
    target_nominal_dose_j_per_cm2: float | None = None
    skin_start_c: float = SKIN_START_C
    skin_limit_c: float = DEFAULT_SKIN_LIMIT_C
    notes: tuple[str, ...] = field(default=())

    @property
    def treat(self) -> bool:
        """True when the screening allows treatment."""
        return self.screening.decision in TREATABLE

    def to_json_dict(self) -> dict[str, Any]:
        """The plan as its JSON document (what `laserdose plan --json` prints)."""
        payload: dict[str, Any] = self.screening.to_dict()
        payload |= {"condition": self.protocol.name, "device": self.device.name}
        if self.outcome is None:
            return payload
        outcome = self.outcome
        target = self.protocol.targets[0]
        payload |= {
            "feasible": outcome.feasible,
            "binding_limit": outcome.binding or None,
            "advice": outcome.advice or None,
            "power_w_by_wavelength": {f"{w:g}": p for w, p in outcome.power_w_by_wavelength.items()},
            "mode": "cw",
            "handpiece": self.handpiece,
            "scan_speed_mm_per_s": self.scan_speed_mm_per_s,
            "area_cm2": self.area_cm2,
            "duration_s": outcome.duration_s,
            "total_energy_j": outcome.total_energy_j,
            "surface_dose_j_per_cm2": outcome.surface_dose_j_per_cm2,
            "target": {
                "name": target.structure,
                "depth_mm": self.target_depth_mm,
                "dose_j_per_cm2": self.target_nominal_dose_j_per_cm2,
                "dose_range_j_per_cm2": list(outcome.target_dose_range_j_per_cm2),
                "window_j_per_cm2": list(target.window_j_per_cm2),
            },
            "peak_skin_temperature_c": self.skin_start_c + outcome.skin_rise_k,
            "skin_limit_c": self.skin_limit_c,
            "course": {"sessions": self.protocol.course.sessions, "per_week": self.protocol.course.per_week},
            "notes": list(self.notes),
        }
        return payload


def make_plan(
    patient: Patient,
    protocol: ClinicalProtocol,
    device: DeviceProfile,
    physics: PhysicsModel,
    settings: PlanSettings = PlanSettings(),
) -> Plan:
    """Screen, then plan the best handpiece, powers and duration for the protocol's first target.

    A screening plan limit (a precaution such as dark skin or a tattoo) is honoured: sources outside its
    wavelengths get no power, and the skin limit is the lower of the clinic's and the precaution's.
    """
    decision = screen(patient.screening)
    settings, allowed_nm = _screened_settings(decision, settings)
    base = Plan(
        screening=decision,
        protocol=protocol,
        device=device,
        area_cm2=patient.area_cm2,
        skin_limit_c=settings.skin_limit_c,
    )
    if decision.decision not in TREATABLE:
        return base
    target = protocol.targets[0]
    lights: dict[float, TargetLight] = {}
    depth_mm = 0.0
    for source in device.sources:
        depth_mm, lights[source.wavelength_nm] = physics.target_light(
            patient, source.wavelength_nm, target.structure, patient.area_cm2
        )
    limits = Limits(
        area_cm2=patient.area_cm2,
        window_j_per_cm2=target.window_j_per_cm2,
        surface_range_j_per_cm2=protocol.surface_dose_j_per_cm2,
        skin_start_c=SKIN_START_C,
        skin_limit_c=settings.skin_limit_c,
        max_total_power_w=device.max_total_power_w,
        duration_range_s=settings.duration_range_s,
    )
    device_for_plan = _restricted(device, allowed_nm)
    candidates = [
        (handpiece, _plan_with(handpiece, patient, device_for_plan, physics, settings, lights, limits))
        for handpiece in device.handpieces
    ]
    handpiece, outcome = max(candidates, key=lambda item: _preference(item[1]))
    nominal = (
        sum(power * lights[wavelength].nominal for wavelength, power in outcome.power_w_by_wavelength.items())
        * outcome.duration_s
        / patient.area_cm2
    )
    return Plan(
        screening=decision,
        protocol=protocol,
        device=device,
        area_cm2=patient.area_cm2,
        handpiece=handpiece.name,
        scan_speed_mm_per_s=settings.scan_speed_mm_per_s,
        outcome=outcome,
        target_depth_mm=depth_mm,
        target_nominal_dose_j_per_cm2=nominal,
        skin_limit_c=settings.skin_limit_c,
        notes=(
            "Target dose is the fluence under the centre of the treated area; at its edge about half.",
            "CW emission: at hand-scanning speeds pulsing changes neither the dose nor the mean skin heating "
            "at equal average power.",
            *_limit_notes(decision, device),
        ),
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
) -> OptimiserResult:
    """Optimise with the skin heating of one handpiece.

    Skin heating grows with the session's length, which the optimiser chooses: first plan with the
    heating of the longest session, then again with sessions capped at the length found (any session
    up to it heats no more, so the cap keeps the skin bound true), and report the heating of the
    session finally chosen.
    """
    shortest, longest = limits.duration_range_s
    outcome = optimise(_responses(handpiece, patient, device, physics, settings, lights, longest), limits)
    if outcome.duration_s > shortest:
        capped = replace(limits, duration_range_s=(shortest, outcome.duration_s))
        responses = _responses(handpiece, patient, device, physics, settings, lights, outcome.duration_s)
        outcome = optimise(responses, capped)
    final = _responses(handpiece, patient, device, physics, settings, lights, outcome.duration_s)
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
) -> list[WavelengthResponse]:
    """Each source's light at the target and its skin heating per watt over a session of `session_s`."""
    return [
        WavelengthResponse(
            wavelength_nm=source.wavelength_nm,
            target_factor_low=lights[source.wavelength_nm].low,
            target_factor_high=lights[source.wavelength_nm].high,
            skin_rise_k_per_w=physics.skin_rise_k_per_w(
                patient,
                source.wavelength_nm,
                handpiece,
                settings.scan_speed_mm_per_s,
                patient.area_cm2,
                session_s,
            ),
            max_power_w=source.max_power_w,
            min_power_w=source.min_power_w,
        )
        for source in device.sources
    ]


def _preference(outcome: OptimiserResult) -> tuple[bool, float, float]:
    """Feasible plans first, the shortest session among them; else the most dose the target is sure to get.

    Ties (equal to 6 digits: the surface dose cap often fixes the dose) go to the cooler skin.
    """
    if outcome.feasible:
        return True, -outcome.duration_s, -outcome.skin_rise_k
    return False, float(f"{outcome.target_dose_range_j_per_cm2[0]:.6g}"), -outcome.skin_rise_k
