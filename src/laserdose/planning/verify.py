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

from laserdose.clinical.patient import Patient
from laserdose.clinical.templates import DoseTemplate
from laserdose.domain.plan import TreatmentPlan
from laserdose.machines.profile import DeviceProfile
from laserdose.optics.back import back_model
from laserdose.planning.curves import emitting_powers, plan_handpiece, plan_scan
from laserdose.planning.dose import disk_radius_mm
from laserdose.planning.physics import patient_back
from laserdose.planning.reference import reference_participant
from laserdose.thermal.scan import ScanPath
from laserdose.thermal.service import scanned_peak_rise_k
from laserdose.thermal.source import Emission
from laserdose.transport.geometry import FlatBeam, GaussianBeam, Stack
from laserdose.transport.tables import target_fluence

# Skin at rest (planning/plan.py SKIN_START_C) is the planner's start; the solver finds its own baseline
# and we report its rise above that baseline on top of the same start.
HEAT_GRID_DX_MM = 2.5  # as in examples/heat_treatment_mc.toml: converged to ~1 % there
HEAT_DT_S = 0.1


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
        reference_target_dose_j_per_cm2: the template's reference dose from fresh Monte Carlo runs on its
            participant's back [J/cm^2] (None without a template).
        equivalence: verified target dose / verified reference dose [-] (None without a template).
        planned_equivalence: the planner's equivalence [-] (None without a prescription).
    """

    target_dose_j_per_cm2: float
    planned_target_dose_j_per_cm2: float
    target_difference_percent: float
    peak_skin_temperature_c: float
    planned_peak_skin_temperature_c: float
    skin_difference_k: float
    reference_target_dose_j_per_cm2: float | None = None
    equivalence: float | None = None
    planned_equivalence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def verify_plan(
    plan: TreatmentPlan, patient: Patient, device: DeviceProfile, photons: int, seed: int,
    template: DoseTemplate | None = None,
) -> Verification:  # fmt: skip
    """Re-simulate `plan` for `patient` (see the module docstring).

    Args:
        plan: a treatment plan.
        patient: the patient it was made for.
        device: the plan's machine (its handpiece's beam).
        photons: photons per wavelength for the transport runs.
        seed: base seed; wavelength k of n uses seed + k for the target and seed + n + k for the skin,
            template wavelength k seed + 2n + k for the reference.
        template: the plan's dose template, to re-simulate its reference dose and the equivalence.
    """
    powers = emitting_powers(plan)
    dose = 0.0
    rise_k = 0.0
    for index, (wavelength, power) in enumerate(sorted(powers.items())):
        exposure_j_per_cm2 = power * plan.delivery.duration_s / plan.area_cm2
        dose += exposure_j_per_cm2 * _target_factor(plan, patient, wavelength, photons, seed + index)
        # Another stream for the skin kernel, so that the two checks' Monte Carlo errors are independent.
        rise_k += power * _skin_rise_k_per_w(
            plan, patient, device, wavelength, photons, seed + len(powers) + index
        )
    planned_skin_c = plan.peak_skin_temperature_c
    planned_dose = plan.target.dose_j_per_cm2
    reference = None
    if template is not None:
        reference = reference_target_dose_j_per_cm2(
            template, plan.target.structure, photons, seed + 2 * len(powers)
        )
    return Verification(
        target_dose_j_per_cm2=dose,
        planned_target_dose_j_per_cm2=planned_dose,
        target_difference_percent=100.0 * (dose - planned_dose) / planned_dose
        if planned_dose > 0
        else math.nan,
        peak_skin_temperature_c=plan.skin_start_c + rise_k,
        planned_peak_skin_temperature_c=planned_skin_c,
        skin_difference_k=plan.skin_start_c + rise_k - planned_skin_c,
        reference_target_dose_j_per_cm2=reference,
        equivalence=dose / reference if reference else None,
        planned_equivalence=plan.prescription.equivalence if plan.prescription else None,
    )


def reference_target_dose_j_per_cm2(template: DoseTemplate, structure: str, photons: int, seed: int) -> float:
    """The template's reference dose from fresh Monte Carlo runs, one per wavelength [J/cm^2].

    The participant's exact back (no interpolation in fat), a disk of the template's lit area, the
    target's nominal depth: sum of surface dose x share x F(depth; R).
    """
    participant = reference_participant(template)
    dose = 0.0
    shares = zip(template.wavelengths_nm, template.energy_fractions, strict=True)
    for index, (wavelength_nm, share) in enumerate(shares):
        back = back_model(participant.skin_type, wavelength_nm, bmi=participant.bmi)
        depth_mm = back.targets[structure].depth_mm
        factor = target_fluence(
            Stack.from_layers(back.layers), disk_radius_mm(template.lit_area_cm2), depth_mm, photons,
            seed + index,
        )  # fmt: skip
        dose += template.dose_at_skin_j_per_cm2 * share * factor
    return dose


def _target_factor(
    plan: TreatmentPlan, patient: Patient, wavelength_nm: float, photons: int, seed: int
) -> float:
    """F(depth; R) at the target from a fresh pencil-beam run on the patient's exact back [-]."""
    stack = Stack.from_layers(patient_back(patient, wavelength_nm).layers)
    return target_fluence(stack, disk_radius_mm(plan.area_cm2), plan.target.depth_mm, photons, seed)


def _skin_rise_k_per_w(
    plan: TreatmentPlan, patient: Patient, device: DeviceProfile, wavelength_nm: float, photons: int,
    seed: int,
) -> float:  # fmt: skip
    """Peak skin rise per watt of the scanned session from the 3-D solver [K/W]."""
    handpiece, scan = plan_handpiece(plan, device), plan_scan(plan, device)
    diameter_mm = handpiece.beam_diameter_mm
    beam = FlatBeam(diameter_mm) if handpiece.beam_profile == "flat" else GaussianBeam(diameter_mm)
    path = ScanPath(
        "zigzag",
        width_mm=scan.side_mm,
        height_mm=scan.side_mm,
        speed_mm_per_s=scan.speed_mm_per_s,
        line_spacing_mm=scan.line_spacing_mm,
    )
    return scanned_peak_rise_k(
        patient_back(patient, wavelength_nm),
        beam,
        path,
        Emission(1.0),
        plan.delivery.duration_s,
        photons=photons,
        seed=seed,
        dt_s=HEAT_DT_S,
        dx_mm=HEAT_GRID_DX_MM,
    )
