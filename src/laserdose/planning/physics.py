"""The planner's physics at interactive speed: the shipped Monte Carlo fluence table and the skin model.

Light at the target comes from the fluence table (transport/tables.py, built by `laserdose tables
build`), looked up for the patient's skin type and fat thickness under a disk the size of the treatment
area (planning/dose.py). The patient's uncertainty spans, at two standard deviations,

- anatomy: the target depth +/- 2 SD, the back model's depth SD combining fat (measured or estimated from
  BMI) and the tissue below it; at those depths the fat takes its Gaussian conditional mean,
  fat +/- 2 SD_fat^2 / SD_depth, so that no SD is counted twice;
- optics: each tissue's inter-subject spread of mua and mus' (laserdose.optics.spread.OPTICAL_SPREADS),
  carried to the target along the layers it crosses by diffusion theory (planning/optical_spread.py):
  a quadrature sum over tissues, +/- 2 SD of log(F).

The two are independent, so their 2-SD shifts of log(F) add in quadrature: a ~95 % interval, not a worst
corner (planning/optical_spread.py says why).

Skin heating per watt comes from the fast skin model (thermal/surrogate/model.py).
"""

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from laserdose.clinical.patient import Patient
from laserdose.errors import InputError
from laserdose.machines.profile import Handpiece
from laserdose.optics.back import BackModel, back_model
from laserdose.optics.spread import OPTICAL_SPREADS, OpticalSpread
from laserdose.planning.dose import disk_radius_mm
from laserdose.planning.optical_spread import log_fluence_sd
from laserdose.planning.plan import TargetLight
from laserdose.thermal.surrogate.model import skin_rise_curve_k_per_w, skin_rise_k_per_w
from laserdose.transport.tables import FluenceTable

FloatArray = NDArray[np.float64]

TABLE_ENV = "LASERDOSE_FLUENCE_TABLE"  # a clinic's own table instead of the shipped one
SPREAD_SD = 2.0  # the plan must hold over +/- 2 SD of the patient's anatomy and optics (~95 %)


def shipped_table_path() -> Path:
    """The fluence table shipped with laserdose, or the one named by $LASERDOSE_FLUENCE_TABLE."""
    override = os.environ.get(TABLE_ENV)
    if override:
        return Path(override)
    return Path(str(files("laserdose.planning") / "data" / "fluence_table.npz"))


@cache
def _load(path: Path) -> FluenceTable:
    if not path.is_file():
        raise InputError(f"fluence table {path} not found; build one with `laserdose tables build`")
    return FluenceTable.load(path).with_exponential_tail()


def patient_back(patient: Patient, wavelength_nm: float) -> BackModel:
    """The optics back model of `patient` at `wavelength_nm` (fat measured or from BMI)."""
    return back_model(patient.skin_type, wavelength_nm, fat_mm=patient.fat_mm, bmi=patient.bmi)


@dataclass(frozen=True)
class DepthProfile:
    """Fluence against depth per unit surface radiant exposure under the treated area [-].

    Attributes:
        depth_mm: depths [mm].
        low, nominal, high: least favourable, nominal and most favourable patient [-].
    """

    depth_mm: FloatArray
    low: FloatArray
    nominal: FloatArray
    high: FloatArray


@dataclass(frozen=True)
class TablePhysics:
    """A PhysicsModel (planning/plan.py) from a fluence table and the fast skin model.

    Attributes:
        table: the Monte Carlo fluence table.
        spreads: each tissue's inter-subject optical spread (default: laserdose.optics.spread's).
    """

    table: FluenceTable
    spreads: Mapping[str, OpticalSpread] = field(default_factory=lambda: OPTICAL_SPREADS)

    def target_light(
        self, patient: Patient, wavelength_nm: float, structure: str, area_cm2: float
    ) -> tuple[float, TargetLight]:
        """The target's nominal depth [mm] and its light factors over the patient's uncertainty."""
        back = patient_back(patient, wavelength_nm)
        if structure not in back.targets:
            raise InputError(f"unknown target structure {structure!r}; known: {', '.join(back.targets)}")
        target = back.targets[structure]
        radius = self._radius_mm(area_cm2)
        nominal = self._factor(back, back.fat_mm, target.depth_mm, radius)
        depth_shift_mm = SPREAD_SD * target.sd_mm
        most_fat, _, least_fat = self._fat_range(back, SPREAD_SD * back.fat_sd_mm**2 / target.sd_mm)
        deep = self._factor(back, most_fat, target.depth_mm + depth_shift_mm, radius)
        shallow_mm = max(target.depth_mm - depth_shift_mm, float(self.table.z_centres_mm[0]))
        shallow = self._factor(back, least_fat, shallow_mm, radius)
        optics = SPREAD_SD * log_fluence_sd(back, target.depth_mm, self.spreads)
        light = TargetLight(
            low=nominal * math.exp(-math.hypot(math.log(nominal / deep), optics)),
            nominal=nominal,
            high=nominal * math.exp(math.hypot(math.log(shallow / nominal), optics)),
            optics_log_shift=optics,
        )
        return target.depth_mm, light

    def depth_profile(self, patient: Patient, wavelength_nm: float, area_cm2: float) -> DepthProfile:
        """Fluence factor against depth under the treated area, over the fat uncertainty [-]."""
        back = patient_back(patient, wavelength_nm)
        radius = self._radius_mm(area_cm2)
        depths = self.table.z_centres_mm
        fats = self._fat_range(back, SPREAD_SD * back.fat_sd_mm)
        rows = [np.array([self._factor(back, fat, z, radius) for z in depths]) for fat in fats]
        return DepthProfile(depth_mm=depths, low=rows[0], nominal=rows[1], high=rows[2])

    def skin_rise_k_per_w(
        self,
        patient: Patient,
        wavelength_nm: float,
        handpiece: Handpiece,
        scan_speed_mm_per_s: float,
        area_cm2: float,
        duration_s: float,
    ) -> float:
        """Peak skin temperature rise per watt over a session (thermal/surrogate/model.py) [K/W]."""
        fat_mm = patient_back(patient, wavelength_nm).fat_mm
        return skin_rise_k_per_w(
            patient.skin_type, fat_mm, wavelength_nm, handpiece, scan_speed_mm_per_s, area_cm2, duration_s
        )

    def skin_rise_curve_k_per_w(
        self,
        patient: Patient,
        wavelength_nm: float,
        handpiece: Handpiece,
        scan_speed_mm_per_s: float,
        area_cm2: float,
        duration_s: float,
    ) -> tuple[FloatArray, FloatArray]:
        """(times [s], peak skin rise per watt [K/W]) over a session (thermal/surrogate/model.py)."""
        fat_mm = patient_back(patient, wavelength_nm).fat_mm
        return skin_rise_curve_k_per_w(
            patient.skin_type, fat_mm, wavelength_nm, handpiece, scan_speed_mm_per_s, area_cm2, duration_s
        )

    def _radius_mm(self, area_cm2: float) -> float:
        """Disk radius of the area, at most the table's largest.

        Light spreads sideways only so far: in the shipped table F(z; R) grows by less than 0.4 % from
        R = 80 to 100 mm at depths to 60 mm (1.1 % at 80 mm), so a larger area is read at the largest R.
        """
        return min(disk_radius_mm(area_cm2), float(self.table.radii_mm[-1]))

    def _fat_range(self, back: BackModel, spread_mm: float) -> tuple[float, float, float]:
        """(most, nominal, least) fat thickness, nominal +/- `spread_mm`, inside the table's axis [mm]."""
        lowest, highest = float(self.table.fat_mm[0]), float(self.table.fat_mm[-1])
        return min(back.fat_mm + spread_mm, highest), back.fat_mm, max(back.fat_mm - spread_mm, lowest)

    def _factor(self, back: BackModel, fat_mm: float, depth_mm: float, radius_mm: float) -> float:
        return self.table.factor(back.wavelength_nm, back.skin_type, fat_mm, depth_mm, radius_mm)


def default_physics() -> TablePhysics:
    """The planner's physics from the shipped (or $LASERDOSE_FLUENCE_TABLE) fluence table."""
    return TablePhysics(_load(shipped_table_path()))
