"""The cohort file (cohort.toml) of a population study, and the draw of its patients.

    patients = 200
    seed = 1
    device = "15w-dual"                                   # a shipped profile or a profile file
    bmi = { distribution = "normal", mean = 27.0, sd = 5.0 }
    # or fat_mm = { distribution = "normal", mean = 12.0, sd = 4.0 }  (exactly one of bmi, fat_mm)
    # either may be { distribution = "uniform", low = 20.0, high = 35.0 }
    skin_type_weights = [0.15, 0.25, 0.25, 0.15, 0.1, 0.1]  # Fitzpatrick I-VI, summing to 1
    area_cm2 = 150                                        # optional: the treated area, 150 cm2 if omitted

Patient k is drawn from its own generator, SeedSequence(seed).spawn(patients)[k], rebuilt from (seed, k)
alone, so a patient is the same wherever and in whatever order it is drawn. BMI and fat are drawn from
the distribution truncated to the planner's range (domain/quantities.py: BMI 18-50 kg/m2, fat
2-45 mm) by drawing again; the number of such redraws is reported, never hidden.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.domain.quantities import BMI, FAT_THICKNESS, TREATMENT_AREA, Quantity
from laserdose.errors import InputError
from laserdose.files import read_toml
from laserdose.machines.profile import DeviceProfile, load_profile

MAX_PATIENTS = 100_000
# The treated area when the cohort gives none: the example patient's (examples/patient.toml, area_cm2 = 150).
DEFAULT_AREA_CM2 = 150.0
DISTRIBUTIONS = ("normal", "uniform")
MAX_REDRAWS = 1000
_KEYS = ("patients", "seed", "device", "bmi", "fat_mm", "skin_type_weights", "area_cm2")
_BODY = {"bmi": BMI, "fat_mm": FAT_THICKNESS}


@dataclass(frozen=True)
class Distribution:
    """A distribution of BMI or fat thickness, truncated to [lowest, highest] by redrawing.

    Attributes:
        kind: "normal" (a, b = mean, sd) or "uniform" (a, b = low, high).
        a: mean or low [kg/m2 or mm].
        b: standard deviation or high [kg/m2 or mm].
        lowest: smallest value the back model accepts [kg/m2 or mm].
        highest: largest value the back model accepts [kg/m2 or mm].
    """

    kind: str
    a: float
    b: float
    lowest: float
    highest: float

    @property
    def centre(self) -> float:
        """The mean of the untruncated distribution [kg/m2 or mm]."""
        return self.a if self.kind == "normal" else 0.5 * (self.a + self.b)

    def draw(self, rng: np.random.Generator) -> tuple[float, int]:
        """One value inside [lowest, highest] and the number of draws outside it that were discarded."""
        for redraws in range(MAX_REDRAWS):
            value = rng.normal(self.a, self.b) if self.kind == "normal" else rng.uniform(self.a, self.b)
            if self.lowest <= value <= self.highest:
                return float(value), redraws
        raise InputError(f"cannot draw inside {self.lowest:g}-{self.highest:g} from {self}")


@dataclass(frozen=True)
class Cohort:
    """A cohort of patients to simulate.

    Attributes:
        patients: number of patients.
        seed: the cohort's seed; patient k uses SeedSequence(seed).spawn(patients)[k].
        device: the device profile's name or path.
        body_field: "bmi" or "fat_mm", the quantity `body` draws.
        body: the distribution of BMI [kg/m2] or of measured fat thickness [mm].
        skin_type_weights: probabilities of Fitzpatrick types I-VI, summing to 1.
        area_cm2: treated area [cm^2].
    """

    patients: int
    seed: int
    device: str
    body_field: str
    body: Distribution
    skin_type_weights: tuple[float, ...]
    area_cm2: float = DEFAULT_AREA_CM2

    @property
    def likeliest_skin_type(self) -> int:
        """The most likely skin type; of equally likely ones the darkest, which heats most (cautious)."""
        highest = max(self.skin_type_weights)
        return max(k for k, w in enumerate(self.skin_type_weights, start=1) if w == highest)


def patient_generator(seed: int, index: int) -> np.random.SeedSequence:
    """Patient `index`'s seed sequence: equal to SeedSequence(seed).spawn(n)[index] for any n > index."""
    return np.random.SeedSequence(seed, spawn_key=(index,))


def cohort_device(cohort: Cohort, source: str = "cohort.toml") -> DeviceProfile:
    """The cohort's device profile; a bad name or file raises InputError naming the cohort's field."""
    try:
        return load_profile(cohort.device)
    except InputError as exc:
        raise InputError(f"{source}: device: {exc}") from None


def load_cohort(path: str | Path) -> Cohort:
    """Read and validate a cohort.toml file (InputError naming the file and field when it is bad)."""
    return parse_cohort(read_toml(path, "cohort file"), str(path))


def parse_cohort(data: Mapping[str, Any], source: str = "cohort.toml") -> Cohort:
    """Validate a cohort file already parsed into a mapping; `source` names it in error messages."""
    for key in data:
        if key not in _KEYS:
            raise InputError(f"{source}: unknown field {key!r}; allowed: {', '.join(_KEYS)}")
    patients = _integer(data, "patients", 1, MAX_PATIENTS, source)
    seed = _integer(data, "seed", 0, 2**63 - 1, source)
    device = _device(data, source)
    has = [key for key in _BODY if key in data]
    if len(has) != 1:
        raise InputError(f"{source}: give exactly one of bmi or fat_mm, got {'both' if has else 'neither'}")
    return Cohort(
        patients=patients,
        seed=seed,
        device=device,
        body_field=has[0],
        body=_distribution(data[has[0]], has[0], source),
        skin_type_weights=_weights(_required(data, "skin_type_weights", source), source),
        area_cm2=_quantity(data.get("area_cm2", DEFAULT_AREA_CM2), TREATMENT_AREA, source, "area_cm2"),
    )


def _required(data: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in data:
        raise InputError(f"{source}: missing field {key}")
    return data[key]


def _integer(data: Mapping[str, Any], key: str, low: int, high: int, source: str) -> int:
    value = _required(data, key, source)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InputError(f"{source}: {key} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _number(value: Any, field: str, low: float, high: float, source: str) -> float:
    bad = isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    if bad or not low <= value <= high:
        raise InputError(f"{source}: {field} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _quantity(value: Any, quantity: Quantity, source: str, field: str = "") -> float:
    """`value` checked as `quantity`; the message names the file (and the distribution's field)."""
    try:
        return quantity.check(value)
    except InputError as exc:
        where = f"{field}: " if field else ""
        raise InputError(f"{source}: {where}{exc}") from None


def _device(data: Mapping[str, Any], source: str) -> str:
    value = _required(data, "device", source)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{source}: device must be a profile name or file, got {value!r}")
    return value


def _distribution(value: Any, field: str, source: str) -> Distribution:
    """A `{distribution = ..., ...}` table for `field` (bmi or fat_mm), checked against the back model."""
    if not isinstance(value, Mapping):
        raise InputError(f'{source}: {field} must be a table like {{ distribution = "normal", ... }}')
    kind = value.get("distribution")
    if kind not in DISTRIBUTIONS:
        allowed = ", ".join(DISTRIBUTIONS)
        raise InputError(f"{source}: {field}.distribution must be one of {allowed}, got {kind!r}")
    names = ("mean", "sd") if kind == "normal" else ("low", "high")
    for key in value:
        if key not in ("distribution", *names):
            raise InputError(f"{source}: unknown field {field}.{key}; a {kind} distribution has {names}")
    missing = [key for key in names if key not in value]
    if missing:
        raise InputError(f"{source}: missing field {field}.{missing[0]}")
    quantity = _BODY[field]
    lowest, highest = quantity.low, quantity.high
    first = _quantity(value[names[0]], quantity, source, f"{field}.{names[0]}")
    if kind == "normal":
        return Distribution(
            kind, first, _spread(value["sd"], field, highest - lowest, source), lowest, highest
        )
    second = _quantity(value["high"], quantity, source, f"{field}.high")
    if not second > first:
        raise InputError(f"{source}: {field}.high must be above {field}.low ({first:g}), got {second:g}")
    return Distribution(kind, first, second, lowest, highest)


def _spread(value: Any, field: str, widest: float, source: str) -> float:
    """A normal SD above 0 and at most the valid range (a wider one would mostly be redrawn)."""
    bad = isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    if bad or not 0 < value <= widest:
        raise InputError(
            f"{source}: {field}.sd must be a number above 0 and at most {widest:g}, got {value!r}"
        )
    return float(value)


def _weights(value: Any, source: str) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != 6:
        raise InputError(
            f"{source}: skin_type_weights must be a list of 6 numbers (types I-VI), got {value!r}"
        )
    weights = tuple(_number(w, "skin_type_weights", 0.0, 1.0, source) for w in value)
    if not math.isclose(sum(weights), 1.0, abs_tol=1e-6):
        raise InputError(f"{source}: skin_type_weights must sum to 1, got {sum(weights):g}")
    return weights
