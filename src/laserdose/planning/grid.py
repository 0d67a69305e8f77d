"""The planner over a grid of patients: skin type x BMI, one plan each, with its equivalence and limit.

What `laserdose study grid` prints: for one protocol and machine, each Fitzpatrick type and BMI planned
for equivalence (or as in the source) over the same area, the equivalence reached (this patient's target
dose / the template's reference dose), the limit that binds and the predicted peak skin temperature. The
share of patients inside the band over a region of the grid is what a clinic can expect of the machine.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from laserdose.clinical.patient import Patient
from laserdose.clinical.protocols import Protocol as ClinicalProtocol
from laserdose.clinical.screening import ScreeningAnswers
from laserdose.domain.plan import TreatmentPlan
from laserdose.machines.profile import DeviceProfile
from laserdose.planning.plan import PhysicsModel, PlanSettings, make_plan


@dataclass(frozen=True)
class GridCell:
    """One patient of the grid and the plan's outcome.

    Attributes:
        skin_type: Fitzpatrick skin type [-].
        bmi: body mass index [kg/m^2].
        decision: the screening decision (a dark skin is treated with precautions).
        feasible: True when the plan reaches the band.
        equivalence: target dose / reference dose [-].
        binding_limit: the limit that binds, or None.
        peak_skin_temperature_c: predicted peak skin temperature [C].
        skin_limit_c: the skin limit the plan was made under [C].
        duration_s: session duration [s].
        surface_dose_j_per_cm2: radiant exposure at the skin [J/cm^2].
    """

    skin_type: int
    bmi: float
    decision: str
    feasible: bool
    equivalence: float
    binding_limit: str | None
    peak_skin_temperature_c: float
    skin_limit_c: float
    duration_s: float
    surface_dose_j_per_cm2: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def plan_grid(
    protocol: ClinicalProtocol,
    device: DeviceProfile,
    physics: PhysicsModel,
    skin_types: Sequence[int],
    bmis: Sequence[float],
    area_cm2: float,
    settings: PlanSettings | None = None,
) -> list[GridCell]:
    """Plan every (skin type, BMI) of the grid with nothing else in the screening but the diagnosis.

    The screening sees the skin type (types V-VI add the dark-skin precaution: 980 nm only, skin <= 41 C);
    a referral-first protocol is planned as with medical clearance.
    """
    settings = settings or PlanSettings()
    cells = []
    for skin_type in skin_types:
        for bmi in bmis:
            answers = ScreeningAnswers(
                diagnosis=protocol.diagnosis, skin_type=skin_type, medical_clearance=protocol.referral_first
            )
            patient = Patient(skin_type=skin_type, area_cm2=area_cm2, screening=answers, bmi=bmi)
            plan = make_plan(patient, protocol, device, physics, settings)
            if not isinstance(plan, TreatmentPlan) or plan.prescription is None:
                raise RuntimeError(f"type {skin_type}, BMI {bmi:g}: the screening gave {plan.decision}")
            cells.append(
                GridCell(
                    skin_type=skin_type, bmi=bmi, decision=plan.decision, feasible=plan.feasible,
                    equivalence=plan.prescription.equivalence, binding_limit=plan.binding_limit,
                    peak_skin_temperature_c=plan.peak_skin_temperature_c, skin_limit_c=plan.skin_limit_c,
                    duration_s=plan.delivery.duration_s, surface_dose_j_per_cm2=plan.surface_dose_j_per_cm2,
                )
            )  # fmt: skip
    return cells


def fraction_in_band(
    cells: Sequence[GridCell], skin_types: Sequence[int], bmi_range: tuple[float, float]
) -> float:
    """The share of the cells of `skin_types` with BMI in `bmi_range` (ends included) planned in the band."""
    chosen = [c for c in cells if c.skin_type in skin_types and bmi_range[0] <= c.bmi <= bmi_range[1]]
    if not chosen:
        raise ValueError("no grid cell in that region")
    return sum(c.feasible for c in chosen) / len(chosen)
