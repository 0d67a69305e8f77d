"""Re-simulate a plan with full physics: Monte Carlo for the target dose, the 3-D heat solver for the skin.

The planner works from interpolated tables and a fast skin model; `verify_plan` redoes both from first
principles for the patient's exact anatomy: a fresh pencil-beam Monte Carlo run per wavelength (another
seed, the patient's own fat thickness, no interpolation in fat) gives the nominal target dose, and the
3-D scanned bioheat solver (thermal/scanned.py) with a Monte Carlo absorbed-power kernel gives the peak
skin temperature of the scanned session.

The wavelengths heat the skin along the same path, so their temperature rises add (the solver is
linear); adding each wavelength's own peak bounds the peak of the sum from above (conservative).
"""

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from laserdose.clinical.patient import Patient
from laserdose.planning.curves import emitting_powers, plan_handpiece, plan_scan
from laserdose.planning.dose import disk_radius_mm
from laserdose.planning.physics import patient_back
from laserdose.planning.plan import Plan
from laserdose.thermal.service import run_config
from laserdose.transport.engine import simulate
from laserdose.transport.geometry import PencilBeam, Stack
from laserdose.transport.tables import TABLE_GRID, disk_factors

# Skin at rest (planning/plan.py SKIN_START_C) is the planner's start; the solver finds its own baseline
# and we report its rise above that baseline on top of the same start.
HEAT_GRID_DX_MM = 2.5  # as in examples/heat_treatment_mc.toml: converged to ~1 % there (issue 4)
HEAT_DT_S = 0.1
BEAM_SPECS = {"flat": "flat", "gaussian": "gauss"}  # handpiece profile -> transport beam spec


@dataclass(frozen=True)
class Verification:
    """A plan re-simulated, beside what the planner predicted.

    Attributes:
        target_dose_j_per_cm2: nominal target dose from a fresh Monte Carlo run [J/cm^2].
        planned_target_dose_j_per_cm2: the planner's nominal target dose [J/cm^2].
        target_difference_percent: (verified - planned) / planned [%].
        peak_skin_temperature_c: peak skin temperature from the 3-D solver [C].
        planned_peak_skin_temperature_c: the planner's prediction [C].
        skin_difference_k: verified - planned peak skin temperature [K].
    """

    target_dose_j_per_cm2: float
    planned_target_dose_j_per_cm2: float
    target_difference_percent: float
    peak_skin_temperature_c: float
    planned_peak_skin_temperature_c: float
    skin_difference_k: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def verify_plan(plan: Plan, patient: Patient, photons: int, seed: int) -> Verification:
    """Re-simulate `plan` for `patient` (see the module docstring).

    Args:
        plan: a plan with parameters (the decision was to treat).
        patient: the patient it was made for.
        photons: photons per wavelength for the transport runs.
        seed: base seed; wavelength k of n uses seed + k for the target and seed + n + k for the skin.
    """
    powers = emitting_powers(plan)
    outcome = plan.outcome
    assert outcome is not None and plan.target_nominal_dose_j_per_cm2 is not None
    dose = 0.0
    rise_k = 0.0
    for index, (wavelength, power) in enumerate(sorted(powers.items())):
        exposure_j_per_cm2 = power * outcome.duration_s / plan.area_cm2
        dose += exposure_j_per_cm2 * _target_factor(plan, patient, wavelength, photons, seed + index)
        # Another stream for the skin kernel, so that the two checks' Monte Carlo errors are independent.
        rise_k += power * _skin_rise_k_per_w(plan, patient, wavelength, photons, seed + len(powers) + index)
    planned_skin_c = plan.skin_start_c + outcome.skin_rise_k
    planned_dose = plan.target_nominal_dose_j_per_cm2
    return Verification(
        target_dose_j_per_cm2=dose,
        planned_target_dose_j_per_cm2=planned_dose,
        target_difference_percent=100.0 * (dose - planned_dose) / planned_dose
        if planned_dose > 0
        else math.nan,
        peak_skin_temperature_c=plan.skin_start_c + rise_k,
        planned_peak_skin_temperature_c=planned_skin_c,
        skin_difference_k=plan.skin_start_c + rise_k - planned_skin_c,
    )


def _target_factor(plan: Plan, patient: Patient, wavelength_nm: float, photons: int, seed: int) -> float:
    """F(depth; R) at the target from a fresh pencil-beam run on the patient's exact back [-]."""
    assert plan.target_depth_mm is not None
    back = patient_back(patient, wavelength_nm)
    stack = Stack.from_layers(back.layers)
    result = simulate(stack, PencilBeam(), photons, seed, TABLE_GRID)
    radius = np.array([disk_radius_mm(plan.area_cm2)])
    by_depth = disk_factors(result.r_edges_mm, result.fluence_rate_per_mm2, radius)[0]
    return float(np.interp(plan.target_depth_mm, result.z_centres_mm, by_depth))


def _skin_rise_k_per_w(plan: Plan, patient: Patient, wavelength_nm: float, photons: int, seed: int) -> float:
    """Peak skin rise per watt of the scanned session from the 3-D solver [K/W]."""
    assert plan.outcome is not None and plan.handpiece is not None and plan.scan_speed_mm_per_s is not None
    handpiece, scan = plan_handpiece(plan), plan_scan(plan)
    back = patient_back(patient, wavelength_nm)
    config = {
        "beam": {"power_w": 1.0, "wavelength_nm": wavelength_nm},
        "kernel": {
            "kind": "monte-carlo",
            "skin_type": patient.skin_type,
            "fat_mm": back.fat_mm,
            "beam": f"{BEAM_SPECS[handpiece.beam_profile]}:{handpiece.beam_diameter_mm:g}",
            "photons": photons,
            "seed": seed,
        },
        "scan": {
            "pattern": "zigzag",
            "width_mm": scan.side_mm,
            "height_mm": scan.side_mm,
            "speed_mm_per_s": scan.speed_mm_per_s,
            "line_spacing_mm": scan.line_spacing_mm,
        },
        "boundary": {"surface": "convective", "h_w_per_m2_k": 10.0, "ambient_c": 25.0, "core_c": 37.0},
        "time": {"duration_s": plan.outcome.duration_s, "dt_s": HEAT_DT_S},
        "grid": {"dx_mm": HEAT_GRID_DX_MM},
    }
    return float(run_config(config).payload["peak_surface_rise_k"])
