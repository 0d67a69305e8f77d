"""Where the planner reads the fluence table: the depth each fat entry must be precise to.

The planner (planning/physics.py) reads the table at a patient's target depth and, for the uncertainty
range, at the target depth +/- 2 SD with the fat shifted too, and one bin below for the local slope.
Target depths grow with fat (optics/back.py), so thin-fat entries are read only to ~50 mm while the
45 mm entry is read to ~90 mm. Rather than restate those rules, `read_depths_mm` runs the planner's own
`TablePhysics.target_light` on a recording table, for every target structure and for patients over the
whole domain (measured fat and BMI, in fine steps), and keeps for each fat entry the deepest depth read
by any lookup that interpolates it, at the depth the lookup reads in that entry (the same distance below
its own fat, FluenceTable.factor).

What it leaves out: the depth-profile figure (`TablePhysics.depth_profile`) reads every depth of the
table; it is a figure beside the plan, not a dose the plan is made of.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from laserdose.clinical.patient import Patient
from laserdose.clinical.screening import ScreeningAnswers
from laserdose.domain.quantities import BMI, FAT_THICKNESS
from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.planning.physics import TablePhysics
from laserdose.transport.tables import (
    DEFAULT_FAT_MM,
    DEFAULT_RADII_MM,
    FluenceTable,
    conforming_depth_mm,
    fat_weights,
    table_depths_mm,
)

# Patients are sampled this finely over the fat and BMI ranges [mm, kg/m2]; depths move by at most
# about one step between samples (target depth grows 1 mm per mm of fat, 0.98 mm per kg/m2).
STEP = 0.25
# Any wavelength and skin type: target depths do not depend on them (optics/back.py).
_WAVELENGTH_NM = 810.0
_SKIN_TYPE = 3
_AREA_CM2 = 100.0


@dataclass(frozen=True)
class RecordingTable(FluenceTable):
    """A table that answers 1 to every lookup and records (fat [mm], depth [mm]) of each.

    Like the real table it refuses a fat or depth outside its axes, so that a patient the planner
    cannot plan from this table records nothing.
    """

    reads: list[tuple[float, float]] = field(default_factory=list)

    def factor(
        self, wavelength_nm: float, skin_type: int, fat_mm: float, depth_mm: float, radius_mm: float
    ) -> float:
        """Record the lookup; F = 1 everywhere [-]."""
        for name, value, axis in (("fat_mm", fat_mm, self.fat_mm), ("depth_mm", depth_mm, self.z_centres_mm)):
            if not axis[0] <= value <= axis[-1]:
                raise InputError(f"{name} {value:g} is outside the table")
        self.reads.append((fat_mm, depth_mm))
        return 1.0


def recording_table(fat_axis_mm: tuple[float, ...] = DEFAULT_FAT_MM) -> RecordingTable:
    """A RecordingTable with the shipped table's axes (one wavelength and skin type)."""
    depths = table_depths_mm()
    return RecordingTable(
        wavelengths_nm=np.array([_WAVELENGTH_NM]),
        skin_types=np.array([_SKIN_TYPE]),
        fat_mm=np.asarray(fat_axis_mm, dtype=float),
        radii_mm=np.asarray(DEFAULT_RADII_MM, dtype=float),
        z_centres_mm=depths,
        factors=np.ones((1, 1, len(fat_axis_mm), len(DEFAULT_RADII_MM), depths.size)),
        photons=1,
    )


def planner_reads(fat_axis_mm: tuple[float, ...] = DEFAULT_FAT_MM) -> list[tuple[float, float]]:
    """Every (fat [mm], depth [mm]) the planner looks up, over the domain's patients and structures."""
    table = recording_table(fat_axis_mm)
    physics = TablePhysics(table)
    screening = ScreeningAnswers(diagnosis="chronic-nonspecific-lbp")
    patients = [
        Patient(skin_type=_SKIN_TYPE, area_cm2=_AREA_CM2, screening=screening, fat_mm=float(fat))
        for fat in np.arange(FAT_THICKNESS.low, FAT_THICKNESS.high + STEP / 2, STEP)
    ] + [
        Patient(skin_type=_SKIN_TYPE, area_cm2=_AREA_CM2, screening=screening, bmi=float(bmi))
        for bmi in np.arange(BMI.low, BMI.high + STEP / 2, STEP)
    ]
    structures = tuple(back_model(_SKIN_TYPE, _WAVELENGTH_NM, bmi=BMI.low).targets)
    reads = []
    for patient in patients:
        for structure in structures:
            table.reads.clear()
            try:
                physics.target_light(patient, _WAVELENGTH_NM, structure, _AREA_CM2)
            except InputError:
                continue  # a patient off this table's axes: the planner refuses them
            reads.extend(table.reads)
    return reads


def read_depths_mm(fat_axis_mm: tuple[float, ...] = DEFAULT_FAT_MM) -> dict[float, float]:
    """For each fat entry, the deepest depth the planner reads from it [mm] (module docstring).

    A lookup at fat f at depth z reads the entries around f (`fat_weights`), each at its own matching
    depth (`conforming_depth_mm`). One STEP is added: a patient between two samples can reach at most
    that much deeper.
    """
    axis = np.asarray(fat_axis_mm, dtype=float)
    deepest = dict.fromkeys(fat_axis_mm, 0.0)
    for fat_mm, depth_mm in planner_reads(fat_axis_mm):
        for index, weight in fat_weights(axis, fat_mm):
            if weight > 0:
                entry = fat_axis_mm[index]
                deepest[entry] = max(deepest[entry], conforming_depth_mm(fat_mm, depth_mm, entry))
    return {float(fat): depth + STEP for fat, depth in deepest.items()}
