"""Hand-made plan documents for tests that need a plan with chosen numbers rather than the planner's."""

from __future__ import annotations

from typing import Any

from laserdose.domain.plan import TreatmentPlan

REASON = {"code": "chronic-nonspecific-lbp", "text": "Chronic non-specific LBP", "source": "test"}


def treatment_plan(
    powers: dict[float, float] | None = None, duration_s: float = 600.0, **changes: Any
) -> TreatmentPlan:
    """A 15w-dual cw plan (810 nm 6 W + 980 nm 3 W for 600 s unless given), 150 cm2, abdelbasset2020."""
    powers = powers or {810.0: 6.0, 980.0: 3.0}
    energy_j = sum(powers.values()) * duration_s
    fields: dict[str, Any] = {
        "decision": "treat", "reasons": [REASON], "condition": "chronic-nonspecific-lbp",
        "delivery": {
            "device": "15w-dual", "power_w_by_wavelength": powers, "mode": "cw",
            "handpiece": "large-standoff", "duration_s": duration_s, "total_energy_j": energy_j,
        },
        "area_cm2": 150.0, "scan_speed_mm_per_s": 50.0, "feasible": True,
        "surface_dose_j_per_cm2": energy_j / 150.0,
        "target": {
            "structure": "multifidus", "depth_mm": 23.0, "dose_j_per_cm2": 1.0,
            "dose_range_j_per_cm2": [0.6, 1.8], "optics_spread_factor": 1.5, "dose_is_upper_bound": False,
        },
        "prescription": {
            "template": "abdelbasset2020", "source": "Abdelbasset 2020", "kind": "trial",
            "mode": "equivalent-at-target",
            "reference": {
                "skin_type": 3, "bmi": 27.0, "reported": False, "depth_mm": 23.0,
                "target_dose_j_per_cm2": 1.0, "target_dose_range_j_per_cm2": [0.5, 2.0],
            },
            "equivalence": 1.0, "band": [0.8, 1.25], "extrapolated": True,
        },
        "skin_start_c": 33.0, "peak_skin_temperature_c": 40.0, "skin_limit_c": 43.0,
        "course": {"sessions": 12, "per_week": 3},
    }  # fmt: skip
    return TreatmentPlan.model_validate(fields | changes)
