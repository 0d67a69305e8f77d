"""What the plan editor shows of a plan: its table, its curves as SVG and the laser safety summary."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastapi import Request
from markupsafe import Markup

from laserdose.clinic.signing import signing_problem
from laserdose.clinical.patient import Patient
from laserdose.clinical.protocols import Protocol as ClinicalProtocol
from laserdose.clinical.templates import DoseTemplate
from laserdose.domain.plan import Refusal, TreatmentPlan, plan_json
from laserdose.machines.profile import DeviceProfile
from laserdose.planning.curves import depth_dose_curve, emitting_powers, skin_temperature_curve
from laserdose.planning.physics import TablePhysics, default_physics
from laserdose.safety.summary import SafetySummary, safety_summary, summary_rows
from laserdose.web.plan_charts import depth_dose_svg, equivalence_svg, skin_temperature_svg


def get_physics(request: Request) -> TablePhysics:
    """The planner's physics, loaded once per app (tests may set `app.state.physics` beforehand)."""
    physics: TablePhysics | None = getattr(request.app.state, "physics", None)
    if physics is None:
        physics = request.app.state.physics = default_physics()
    return physics


@lru_cache(maxsize=64)
def _safety(device: DeviceProfile, exposure_s: float) -> SafetySummary:
    return safety_summary(device, exposure_s)


@dataclass(frozen=True)
class PlanView:
    """A plan ready for the page.

    Attributes:
        plan: the plan document.
        patient: the planner's patient it was made for.
        device: the plan's machine.
        protocol: the plan's protocol.
        payload: its plan document's JSON.
        depth_svg: dose against depth, or None when there are no parameters.
        skin_svg: skin temperature against time, or None.
        safety_rows: the laser safety summary as (section, item, value), for the session's exposure.
        gauge_svg: the patient's target dose against the reference with the band, or None.
    """

    plan: TreatmentPlan | Refusal
    patient: Patient
    device: DeviceProfile
    protocol: ClinicalProtocol
    payload: dict[str, Any]
    depth_svg: Markup | None
    skin_svg: Markup | None
    safety_rows: list[tuple[str, str, str]]
    gauge_svg: Markup | None = None

    @property
    def template(self) -> DoseTemplate | None:
        """The dose template the plan aims at (None for a refusal or a plan made before templates)."""
        plan = self.treatment
        if plan is None or plan.prescription is None:
            return None
        return {t.id: t for t in self.protocol.templates}.get(plan.prescription.template)

    @property
    def treatment(self) -> TreatmentPlan | None:
        """The treatment plan, or None for a refusal."""
        return self.plan if isinstance(self.plan, TreatmentPlan) else None

    @property
    def decision(self) -> str:
        """The screening decision with its urgency."""
        urgency = self.plan.urgency if isinstance(self.plan, Refusal) else None
        return self.plan.decision + (f" ({urgency})" if urgency else "")

    @property
    def refusal(self) -> str:
        """Why the plan cannot be signed ("" when it can): the signing gate's own decision."""
        return signing_problem(self.plan, self.device, self.protocol) or ""

    @property
    def signable(self) -> bool:
        """True when the signing gate would sign it (outside the band: the acknowledgement besides)."""
        return not self.refusal

    @property
    def needs_acknowledgement(self) -> bool:
        """True when the plan is safe but its target dose is outside the band (sign with a reason)."""
        return self.signable and self.treatment is not None and not self.treatment.feasible


def plan_view(
    plan: TreatmentPlan | Refusal, patient: Patient, basis: tuple[DeviceProfile, ClinicalProtocol],
    physics: TablePhysics,
) -> PlanView:  # fmt: skip
    """Draw the plan's curves and collect its safety summary (`basis`: its machine and protocol)."""
    device, protocol = basis
    payload = plan_json(plan)
    if not isinstance(plan, TreatmentPlan) or not emitting_powers(plan):
        return PlanView(plan, patient, device, protocol, payload, None, None, [])
    depth = depth_dose_curve(plan, patient, physics)
    depth_svg = depth_dose_svg(
        [float(v) for v in depth.depth_mm], [float(v) for v in depth.low], [float(v) for v in depth.nominal],
        [float(v) for v in depth.high], depth.target_depth_mm, depth.band_j_per_cm2,
    )  # fmt: skip
    times_s, temperature_c = skin_temperature_curve(plan, patient, device, physics)
    skin_svg = skin_temperature_svg(
        [float(t) for t in times_s], [float(c) for c in temperature_c], plan.skin_limit_c
    )
    rows = summary_rows(_safety(device, plan.delivery.duration_s))
    gauge = None
    if plan.prescription is not None:
        ratio = protocol.prescription.max_target_ratio
        gauge = equivalence_svg(plan.prescription.equivalence, plan.prescription.band, ratio)
    return PlanView(plan, patient, device, protocol, payload, depth_svg, skin_svg, rows, gauge)
