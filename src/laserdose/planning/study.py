"""Population study: one plan, a cohort of patients, the share whose target dose and skin come out right.

The protocol is applied as ONE plan document (domain/plan.py), made by the planner for the cohort's
reference patient (the mean BMI or fat, the likeliest skin type - the darker of a tie -, the cohort's
area) on the cohort's device.
Each cohort patient is then simulated as an independent task (`simulate_patient`) with its own seed:

- the patient (skin type, BMI or fat) is drawn from SeedSequence(seed).spawn(patients)[k] (cohort.py);
- at each wavelength the plan uses, a pencil-beam Monte Carlo run on the patient's own back model gives
  the fluence under the centre of the treated disk per unit radiant exposure, F(z; R) (transport/tables.py
  `target_fluence`, R the radius of the disk of the plan's area, planning/dose.py);
- the target's depth is drawn from the back model's N(depth, SD) for the protocol's primary structure,
  and the target dose is sum over wavelengths of P x t x F(depth; R) / area [J/cm^2];
- the peak skin temperature is the skin at rest plus sum over wavelengths of P x (skin rise per watt),
  from the fast skin model given as `skin_rise` (thermal/surrogate/model.py, the planner's own).

Results depend on the task inputs alone, so a study gives the same numbers here and on any cluster
(transport/cluster.py).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from laserdose.clinical.patient import Patient
from laserdose.clinical.protocols import Protocol as ClinicalProtocol
from laserdose.clinical.screening import NOT_FIRST_LINE_DIAGNOSES, ScreeningAnswers
from laserdose.domain.plan import TreatmentPlan
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile, Handpiece
from laserdose.optics.back import back_model
from laserdose.optics.tissues import EPIDERMIS_MM
from laserdose.planning.cohort import Cohort, patient_generator
from laserdose.planning.dose import disk_radius_mm
from laserdose.planning.plan import PhysicsModel, PlanSettings, make_plan
from laserdose.transport.cluster import run_tasks
from laserdose.transport.geometry import Stack
from laserdose.transport.tables import TABLE_GRID, target_fluence

# Peak skin temperature rise per watt [K/W] for (skin type, fat [mm], wavelength [nm], handpiece, scan speed
# [mm/s], area [cm^2], duration [s]): the signature of the fast skin model, planning/skin.skin_rise_k_per_w.
SkinRise = Callable[[int, float, float, Handpiece, float, float, float], float]

# Scoring grid of a patient's run: 1 mm bins to 100 mm deep (targets lie 10-80 mm deep, docs/design.md), as
# transport/tables.TABLE_GRID; the radial extent grows to cover the treated disk.
DEPTH_BIN_MM, DEPTH_BINS = TABLE_GRID.dz_mm, TABLE_GRID.nz
MIN_PHOTONS, MAX_PHOTONS = 100, 10**8


@dataclass(frozen=True)
class PatientTask:
    """Everything one patient's simulation needs, its seed included (the cohort's seed and its index).

    Attributes:
        cohort: the cohort.
        index: the patient's number in it.
        plan: the study's one treatment plan.
        handpiece: the plan's handpiece, as its machine's profile describes it.
        photons: photons per wavelength and patient.
        skin_rise: the fast skin model.
    """

    cohort: Cohort
    index: int
    plan: TreatmentPlan
    handpiece: Handpiece
    photons: int
    skin_rise: SkinRise


@dataclass(frozen=True)
class PatientOutcome:
    """One simulated patient.

    Attributes:
        index: the patient's number in the cohort.
        skin_type: Fitzpatrick skin type 1-6.
        bmi: body-mass index [kg/m^2], or None for a cohort of measured fat.
        fat_mm: subcutaneous fat thickness of the back model [mm].
        redraws: draws outside the back model's range that were discarded (cohort.py).
        target_depth_mm: the drawn depth of the target [mm].
        target_dose_j_per_cm2: fluence at the target [J/cm^2].
        target_dose_rel_se: its Monte Carlo standard error, relative, from two independent half runs
            (|a - b| / 2 over the mean; a rough estimate for one patient, telling over a cohort) [-].
        skin_peak_c: peak skin temperature [C].
    """

    index: int
    skin_type: int
    bmi: float | None
    fat_mm: float
    redraws: int
    target_depth_mm: float
    target_dose_j_per_cm2: float
    target_dose_rel_se: float
    skin_peak_c: float


def reference_patient(cohort: Cohort, protocol: ClinicalProtocol) -> Patient:
    """The patient the plan is made for: mean BMI or fat, likeliest skin type, the cohort's area.

    A referral-first protocol (herniated disc, stenosis) is studied as given with medical clearance.
    """
    centre = cohort.body.centre
    return Patient(
        skin_type=cohort.likeliest_skin_type,
        area_cm2=cohort.area_cm2,
        screening=_answers(protocol.diagnosis, cohort.likeliest_skin_type, protocol.referral_first),
        bmi=centre if cohort.body_field == "bmi" else None,
        fat_mm=centre if cohort.body_field == "fat_mm" else None,
    )


def cohort_plan(
    cohort: Cohort,
    protocol: ClinicalProtocol,
    device: DeviceProfile,
    physics: PhysicsModel,
    settings: PlanSettings,
) -> TreatmentPlan:
    """The ONE plan of the study: made by the planner for the cohort's reference patient."""
    plan = make_plan(reference_patient(cohort, protocol), protocol, device, physics, settings)
    if not isinstance(plan, TreatmentPlan):
        decision = plan.decision
        raise InputError(f"the plan for the reference patient is {decision!r}: there is nothing to study")
    return plan


def patient_tasks(
    cohort: Cohort,
    plan: TreatmentPlan,
    device: DeviceProfile,
    photons: int,
    skin_rise: SkinRise,
) -> list[PatientTask]:
    """One task per cohort patient, each simulating `plan` on `device` (the plan's machine)."""
    if plan.device != device.name:
        raise InputError(f"the plan is for {plan.device}, not {device.name}")
    handpiece = device.handpiece(plan.delivery.handpiece)
    count = _photons(photons)
    return [PatientTask(cohort, k, plan, handpiece, count, skin_rise) for k in range(cohort.patients)]


def _photons(photons: int) -> int:
    if not isinstance(photons, int) or not MIN_PHOTONS <= photons <= MAX_PHOTONS:
        raise InputError(
            f"photons must be a whole number from {MIN_PHOTONS} to {MAX_PHOTONS:g}, got {photons!r}"
        )
    return photons


def personalised_tasks(
    cohort: Cohort,
    protocol: ClinicalProtocol,
    device: DeviceProfile,
    physics: PhysicsModel,
    settings: PlanSettings,
    photons: int,
    skin_rise: SkinRise,
) -> list[PatientTask]:
    """One task per cohort patient, each simulating the plan the planner makes for that very patient.

    The planner sees what a clinic knows: the drawn skin type and BMI (or measured fat), the nominal
    target depth of the back model; the simulation then draws the target's actual depth, so the
    anatomical spread the planner cannot see stays in the result.
    """
    tasks = []
    structure = protocol.primary_target.structure
    for index in range(cohort.patients):
        drawn = draw_patient(cohort, index, structure)
        patient = Patient(
            skin_type=drawn.skin_type,
            area_cm2=cohort.area_cm2,
            screening=_answers(protocol.diagnosis, drawn.skin_type, protocol.referral_first),
            bmi=drawn.bmi,
            fat_mm=drawn.measured_fat_mm,
        )
        plan = make_plan(patient, protocol, device, physics, settings)
        if not isinstance(plan, TreatmentPlan):
            raise InputError(f"patient {index}: the screening decided {plan.decision!r}")
        handpiece = device.handpiece(plan.delivery.handpiece)
        tasks.append(PatientTask(cohort, index, plan, handpiece, _photons(photons), skin_rise))
    return tasks


def run_study(
    tasks: list[PatientTask],
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[PatientOutcome]:
    """Simulate every patient, here or on a Dask cluster (the same outcomes either way)."""
    return run_tasks(simulate_patient, tasks, scheduler, progress)


@dataclass(frozen=True)
class DrawnPatient:
    """A cohort patient as drawn: skin type, BMI or fat, the target's depth, and the redraws needed."""

    skin_type: int
    bmi: float | None
    fat_mm: float
    measured_fat_mm: float | None
    target_depth_mm: float
    redraws: int


def draw_patient(cohort: Cohort, index: int, structure: str) -> DrawnPatient:
    """Patient `index` of `cohort` from its own seed, with the depth of `structure` from the back model."""
    rng = np.random.default_rng(_child(patient_generator(cohort.seed, index), 0))
    skin_type = int(rng.choice(6, p=cohort.skin_type_weights)) + 1
    body, redraws = cohort.body.draw(rng)
    bmi = body if cohort.body_field == "bmi" else None
    measured = body if cohort.body_field == "fat_mm" else None
    # The target depths do not depend on the wavelength; 810 nm is any wavelength the model accepts.
    model = back_model(skin_type, 810.0, fat_mm=measured, bmi=bmi)
    target = model.targets[structure]
    depth_mm, depth_redraws = _draw_depth(rng, target.depth_mm, target.sd_mm)
    return DrawnPatient(skin_type, bmi, model.fat_mm, measured, depth_mm, redraws + depth_redraws)


def simulate_patient(task: PatientTask) -> PatientOutcome:
    """Draw patient `task.index` from its own seed and simulate the plan's delivery on it."""
    plan, delivery = task.plan, task.plan.delivery
    drawn = draw_patient(task.cohort, task.index, plan.target.structure)
    sequence = patient_generator(task.cohort.seed, task.index)
    # Two independent half runs per wavelength: their mean is the dose, their difference its MC error.
    halves = (task.photons // 2, task.photons - task.photons // 2)
    dose_halves = [0.0, 0.0]
    rise_k = 0.0
    # Average power per wavelength, in wavelength order (the seeds follow it) [W].
    powers = sorted((wl, p * delivery.duty_cycle) for wl, p in delivery.power_w_by_wavelength.items())
    for k, (wavelength, power_w) in enumerate(powers):
        if power_w <= 0:
            continue
        for half, photons in enumerate(halves):
            factor = _disk_factor(drawn, wavelength, plan.area_cm2, photons, _seed(sequence, 2 * k + half))
            dose_halves[half] += power_w * delivery.duration_s * factor / plan.area_cm2
        rise_k += power_w * task.skin_rise(
            drawn.skin_type,
            drawn.fat_mm,
            wavelength,
            task.handpiece,
            plan.scan_speed_mm_per_s,
            plan.area_cm2,
            delivery.duration_s,
        )
    dose_j_per_cm2 = (halves[0] * dose_halves[0] + halves[1] * dose_halves[1]) / task.photons
    spread = abs(dose_halves[0] - dose_halves[1]) / 2
    return PatientOutcome(
        index=task.index,
        skin_type=drawn.skin_type,
        bmi=drawn.bmi,
        fat_mm=drawn.fat_mm,
        redraws=drawn.redraws,
        target_depth_mm=drawn.target_depth_mm,
        target_dose_j_per_cm2=dose_j_per_cm2,
        target_dose_rel_se=spread / dose_j_per_cm2 if dose_j_per_cm2 > 0 else math.inf,
        skin_peak_c=plan.skin_start_c + rise_k,
    )


# A study asks what a protocol delivers, not whether to treat: a diagnosis where laser is not first-line
# (acute non-specific LBP) is studied as if a clinician had stated a reason, and the reason says so.
STUDY_REASON = "cohort study of the protocol's delivery; no patient is treated"


def _answers(diagnosis: str, skin_type: int, cleared: bool) -> ScreeningAnswers:
    reason = STUDY_REASON if diagnosis in NOT_FIRST_LINE_DIAGNOSES else ""
    return ScreeningAnswers(
        diagnosis=diagnosis, skin_type=skin_type, medical_clearance=cleared, first_line_reason=reason
    )


def _child(sequence: np.random.SeedSequence, number: int) -> np.random.SeedSequence:
    """Child `number` of `sequence`, rebuilt (spawn() would change the sequence it is called on)."""
    return np.random.SeedSequence(sequence.entropy, spawn_key=(*sequence.spawn_key, number))


def _seed(sequence: np.random.SeedSequence, run: int) -> int:
    """The Monte Carlo seed of the patient's run number `run`, < 2^63 (child 0 draws the patient)."""
    word = _child(sequence, 1 + run).generate_state(1, dtype=np.uint64)[0]
    return int(word >> np.uint64(1))


def _draw_depth(rng: np.random.Generator, depth_mm: float, sd_mm: float) -> tuple[float, int]:
    """A target depth from N(depth, SD) below the epidermis and inside the scoring grid [mm]."""
    deepest = (DEPTH_BINS - 0.5) * DEPTH_BIN_MM
    for redraws in range(1000):
        value = float(rng.normal(depth_mm, sd_mm))
        if EPIDERMIS_MM <= value <= deepest:
            return value, redraws
    raise InputError(f"no target depth from N({depth_mm:g}, {sd_mm:g}) mm lies within 0.1-{deepest:g} mm")


def _disk_factor(
    drawn: DrawnPatient, wavelength_nm: float, area_cm2: float, photons: int, seed: int
) -> float:
    """F(depth; R) at the patient's target depth under the disk of `area_cm2`, at one wavelength [-]."""
    back = back_model(drawn.skin_type, wavelength_nm, fat_mm=drawn.measured_fat_mm, bmi=drawn.bmi)
    stack = Stack.from_layers(back.layers)
    return target_fluence(stack, disk_radius_mm(area_cm2), drawn.target_depth_mm, photons, seed)
