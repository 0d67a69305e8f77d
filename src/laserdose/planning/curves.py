"""The curves a clinician reads a plan by: dose against depth with the reference band, skin temperature."""

import math
from dataclasses import dataclass

import numpy as np

from laserdose.clinical.patient import Patient
from laserdose.domain.plan import TreatmentPlan
from laserdose.machines.profile import DeviceProfile, Handpiece
from laserdose.planning.physics import FloatArray, TablePhysics
from laserdose.thermal.surrogate.scan import Scan


@dataclass(frozen=True)
class DepthDose:
    """Fluence against depth under the centre of the treated area for a plan.

    Attributes:
        depth_mm: depths [mm].
        low, nominal, high: dose for the most fat, nominal and least fat [J/cm^2].
        target: the primary target's structure name, marked when its dose is an upper bound.
        target_depth_mm: its nominal depth [mm].
        band_j_per_cm2: the band around the template's reference dose at the target (low, high)
            [J/cm^2]; None for a plan made before prescriptions.
    """

    depth_mm: FloatArray
    low: FloatArray
    nominal: FloatArray
    high: FloatArray
    target: str
    target_depth_mm: float
    band_j_per_cm2: tuple[float, float] | None


def reference_band_j_per_cm2(plan: TreatmentPlan) -> tuple[float, float] | None:
    """The band of target doses the plan aims for: band x the reference dose (low, high) [J/cm^2]."""
    if plan.prescription is None:
        return None
    reference = plan.prescription.reference.target_dose_j_per_cm2
    low, high = plan.prescription.band
    return low * reference, high * reference


def plan_handpiece(plan: TreatmentPlan, device: DeviceProfile) -> Handpiece:
    """The machine's handpiece the plan uses (`device`: the plan's machine)."""
    return device.handpiece(plan.delivery.handpiece)


def plan_scan(plan: TreatmentPlan, device: DeviceProfile) -> Scan:
    """The zig-zag scan of the plan: its handpiece's beam over the square of the treated area."""
    handpiece = plan_handpiece(plan, device)
    side_mm = math.sqrt(plan.area_cm2 * 100.0)
    return Scan(handpiece.beam_diameter_mm, handpiece.beam_profile, plan.scan_speed_mm_per_s, side_mm)


def emitting_powers(plan: TreatmentPlan) -> dict[float, float]:
    """The plan's average power per wavelength that emits at all [W]."""
    powers = plan.delivery.power_w_by_wavelength
    return {w: p * plan.delivery.duty_cycle for w, p in powers.items() if p > 0}


def depth_dose_curve(plan: TreatmentPlan, patient: Patient, physics: TablePhysics) -> DepthDose:
    """Dose against depth: sum over wavelengths of exposure x F(z; R) [J/cm^2]."""
    powers = emitting_powers(plan)
    depth = physics.table.z_centres_mm
    totals = {"low": np.zeros_like(depth), "nominal": np.zeros_like(depth), "high": np.zeros_like(depth)}
    for wavelength, power in powers.items():
        profile = physics.depth_profile(patient, wavelength, plan.area_cm2)
        exposure_j_per_cm2 = power * plan.delivery.duration_s / plan.area_cm2
        for name in totals:
            totals[name] += exposure_j_per_cm2 * getattr(profile, name)
    return DepthDose(
        depth_mm=depth,
        target=plan.target.structure + (" (dose an upper bound)" if plan.target.dose_is_upper_bound else ""),
        target_depth_mm=plan.target.depth_mm,
        band_j_per_cm2=reference_band_j_per_cm2(plan),
        **totals,
    )


def skin_temperature_curve(
    plan: TreatmentPlan, patient: Patient, device: DeviceProfile, physics: TablePhysics
) -> tuple[FloatArray, FloatArray]:
    """(times [s], peak skin temperature [C]) over the session from the fast skin model."""
    powers = emitting_powers(plan)
    handpiece = plan_handpiece(plan, device)
    times: FloatArray | None = None
    rise = np.zeros(0)
    for wavelength, power in powers.items():
        t_s, per_w = physics.skin_rise_curve_k_per_w(
            patient,
            wavelength,
            handpiece,
            plan.scan_speed_mm_per_s,
            plan.area_cm2,
            plan.delivery.duration_s,
        )
        if times is None:
            times, rise = t_s, np.zeros_like(t_s)
        rise = rise + power * np.interp(times, t_s, per_w)
    assert times is not None
    return times, plan.skin_start_c + rise
