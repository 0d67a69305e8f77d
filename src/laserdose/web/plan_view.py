"""What the plan editor shows of a plan: its table, its curves as SVG and the laser safety summary."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastapi import Request
from markupsafe import Markup

from laserdose.clinic.plans import safety_problem
from laserdose.clinical.patient import Patient
from laserdose.machines.profile import DeviceProfile
from laserdose.planning.curves import depth_dose_curve, skin_temperature_curve
from laserdose.planning.physics import TablePhysics, default_physics
from laserdose.planning.plan import Plan
from laserdose.safety.summary import SafetySummary, safety_summary, summary_rows
from laserdose.web.plan_charts import depth_dose_svg, skin_temperature_svg


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
        plan: the plan.
        patient: the planner's patient it was made for.
        payload: its plan JSON (Plan.to_json_dict).
        depth_svg: dose against depth, or None when there are no parameters.
        skin_svg: skin temperature against time, or None.
        safety_rows: the laser safety summary as (section, item, value), for the session's exposure.
    """

    plan: Plan
    patient: Patient
    payload: dict[str, Any]
    depth_svg: Markup | None
    skin_svg: Markup | None
    safety_rows: list[tuple[str, str, str]]

    @property
    def skin_limit_c(self) -> float:
        """The clinic's skin limit the plan was made under [C]."""
        return self.plan.skin_limit_c

    @property
    def decision(self) -> str:
        """The screening decision with its urgency."""
        urgency = self.plan.screening.urgency
        return self.plan.screening.decision + (f" ({urgency})" if urgency else "")

    @property
    def signable(self) -> bool:
        """True when the screening allows laser and the plan keeps every safety limit."""
        return self.plan.treat and self.plan.outcome is not None and safety_problem(self.plan) is None

    @property
    def needs_acknowledgement(self) -> bool:
        """True when the plan is safe but its target dose is outside the window (sign with a reason)."""
        return self.signable and self.plan.outcome is not None and not self.plan.outcome.feasible

    @property
    def refusal(self) -> str:
        """Why the plan cannot be signed ("" when it can)."""
        if self.plan.screening.decision == "refer":
            return "the screening refers the patient: record the referral's outcome or override it first"
        if not self.plan.treat or self.plan.outcome is None:
            return "the screening does not allow laser"
        return safety_problem(self.plan) or ""


def plan_view(plan: Plan, patient: Patient, physics: TablePhysics) -> PlanView:
    """Draw the plan's curves and collect its safety summary."""
    payload = plan.to_json_dict()
    if plan.outcome is None or not any(p > 0 for p in plan.outcome.power_w_by_wavelength.values()):
        return PlanView(plan, patient, payload, None, None, [])
    depth = depth_dose_curve(plan, patient, physics)
    depth_svg = depth_dose_svg(
        [float(v) for v in depth.depth_mm], [float(v) for v in depth.low], [float(v) for v in depth.nominal],
        [float(v) for v in depth.high], depth.target_depth_mm, depth.window_j_per_cm2,
    )  # fmt: skip
    times_s, temperature_c = skin_temperature_curve(plan, patient, physics)
    skin_svg = skin_temperature_svg(
        [float(t) for t in times_s], [float(c) for c in temperature_c], plan.skin_limit_c
    )
    rows = summary_rows(_safety(plan.device, plan.outcome.duration_s))
    return PlanView(plan, patient, payload, depth_svg, skin_svg, rows)
