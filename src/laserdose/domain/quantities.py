"""Domain quantities: one definition of each value a user gives, with its unit, valid range and source.

Each `Quantity` holds the range every input site enforces, and `Quantity.check` is the one checker: it
raises `InputError` with one message format, e.g. ``BMI must be between 18 and 50 kg/m2, got 70 kg/m2``.
The `Annotated` pydantic types below (`Bmi`, `SkinType`, ...) run the same check, so that an API schema
or a web form refuses a value with the same sentence as the CLI, the TOML loaders and the planner.

Sources are keys of docs/references.md; [S] read in the source, [U] our judgement, argued beside it.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from laserdose.errors import InputError, require_range


@dataclass(frozen=True)
class Quantity:
    """A domain value's definition: what it is called, its unit and the range every input site allows.

    Attributes:
        name: the name users read in messages, e.g. "BMI".
        unit: the unit shown after numbers, e.g. "kg/m2"; "" for a pure number.
        low: smallest allowed value [unit].
        high: largest allowed value [unit].
        whole: True when only whole numbers are allowed (a count or a scale step).
        source: where the range comes from: a docs/references.md key, or [U] and the argument.
    """

    name: str
    unit: str
    low: float
    high: float
    source: str
    whole: bool = False

    def check(self, value: object) -> float:
        """Return `value` as a float when it lies in [low, high]; else raise `InputError`.

        Booleans, strings, NaN and infinities are refused; so are fractions where `whole` is set.

        Args:
            value: the value given [unit].
        """
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(f"{self.name} must be a number {self.range_text()}, got {str(value)[:40]!r}")
        try:
            number = float(value)
        except OverflowError:  # an int beyond float (JSON allows 400 digits): far outside any range
            raise InputError(f"{self.name} must be {self.range_text()}, got {str(value)[:20]}...") from None
        if self.whole and math.isfinite(number) and number != math.floor(number):
            raise InputError(f"{self.name} must be a whole number {self.range_text()}, got {number:g}")
        return require_range(self.name, number, self.low, self.high, self.unit)

    def check_whole(self, value: object) -> int:
        """`check` for a whole-number quantity, returning an int."""
        return int(self.check(value))

    def range_text(self) -> str:
        """The allowed range as messages say it, e.g. "between 18 and 50 kg/m2"."""
        suffix = f" {self.unit}" if self.unit else ""
        return f"between {self.low:g} and {self.high:g}{suffix}"


def _pydantic_check(quantity: Quantity) -> Callable[[Any], Any]:
    """A pydantic before-validator: `quantity.check` on the value (a form's text read as a number first).

    It runs before pydantic's own parsing, so that a form's "abc" or "70" and the API's 70 are refused
    with the domain's message, unprefixed ("Value error, ..."); whole quantities come back as int.
    """

    def validate(value: Any) -> Any:
        if isinstance(value, str):
            if quantity.whole and not re.fullmatch(r"\s*[+-]?\d{1,9}\s*", value):
                # "810.0" beside "810" would be one key twice: whole quantities are written as integers
                message = (
                    f"{quantity.name} must be a whole number {quantity.range_text()}, got {value[:40]!r}"
                )
                raise PydanticCustomError("domain_range", "{message}", {"message": message})
            try:
                value = float(value.strip())
            except ValueError:
                pass  # not a number: the check refuses it, naming what was typed
        try:
            checked = quantity.check(value)
        except InputError as exc:
            raise PydanticCustomError("domain_range", "{message}", {"message": str(exc)}) from None
        return int(checked) if quantity.whole else checked

    return validate


def _schema(quantity: Quantity) -> Any:
    """The JSON Schema of a quantity: its range and unit, for API clients (the check is the validator)."""
    suffix = f" [{quantity.unit}]" if quantity.unit else ""
    return Field(
        description=f"{quantity.name}{suffix}",
        json_schema_extra={"minimum": quantity.low, "maximum": quantity.high},
    )


# Fitzpatrick sun-reactive skin types I-VI, written 1-6 [Fitzpatrick1988] [S].
SKIN_TYPE = Quantity("Fitzpatrick skin type", "", 1, 6, "[Fitzpatrick1988] types I-VI as 1-6", whole=True)
SKIN_TYPES = tuple(range(int(SKIN_TYPE.low), int(SKIN_TYPE.high) + 1))  # every type, for tables and plots

# The back model estimates lumbar fat from BMI with the epidural-depth regression [EpiduralDepth]
# (optics/back.py). We keep it where it stays plausible [U]: at BMI 18 it gives 2.2 mm of fat, the
# thinnest fat of the fluence table (FAT_THICKNESS below); above 50 kg/m2 no study of that regression
# is known to us, and the fat of such a back should be measured by ultrasound instead.
BMI = Quantity("BMI", "kg/m2", 18.0, 50.0, "[U] fat from BMI [EpiduralDepth] stays in the fat range")

# Measured lumbar subcutaneous fat: the span of the shipped fluence table's fat axis, 2-45 mm, which the
# planner cannot leave [U]. It holds the L1-2 means of 8.5-9.4 mm [SubcutaneousFat2022] [S] with room
# for lean and obese backs, and the fat estimated over the whole BMI range (2.2-33.5 mm).
FAT_THICKNESS = Quantity("fat thickness", "mm", 2.0, 45.0, "[U] the fluence table's fat axis")

# The treated area on the back. Largest: the back of the trunk, 18 % of a ~1.9 m2 adult body surface
# ~ 3400 cm2 by the rule of nines [Wallace1951] [S], rounded up to 3500 cm2. Smallest: 1 cm2, a
# single spot of the smallest handpiece beam [U].
TREATMENT_AREA = Quantity("treatment area", "cm2", 1.0, 3500.0, "[Wallace1951] back of the trunk")

# The highest skin temperature a plan may reach. At most 43 C, the applied-part contact limit for
# contact of 10 min or more [IEC60601-1] (ed. 3 [U]; ed. 2 gives 41 C [S], which a clinic may choose);
# at least 34 C, one kelvin above resting skin (33 C, the bioheat steady state): below that no light at
# all could be given [U].
SKIN_LIMIT = Quantity("skin limit", "C", 34.0, 43.0, "[IEC60601-1] contact limit; 1 K above resting skin")

# Treatment wavelengths: the span of the tissue optics (chromophore spectra and scattering laws,
# [Jacques2013]) that laserdose models, which holds the 650-1064 nm of Class 4 therapy machines.
WAVELENGTH = Quantity("wavelength", "nm", 600.0, 1100.0, "[Jacques2013] span of the tissue optics")

# Output power of one source or of a whole machine. Class 4 therapy machines give 0.5-30 W; 60 W, twice
# the top of that range, catches a typo (mW for W) without refusing any machine on the market [U].
POWER = Quantity("power", "W", 0.0, 60.0, "[U] twice the 30 W top of Class 4 therapy machines")

# Energy of one session, per wavelength or in all. 60 W (POWER) for 4 hours is 864 kJ; 1e6 J is above
# anything a therapy session can deliver, so a larger number is an error in the record [U].
ENERGY = Quantity("energy", "J", 0.0, 1e6, "[U] above 4 hours at the highest power")

# Radiant exposure (dose) at the skin or at a target. 300 J/cm2 is ten times the dose at which cells are
# inhibited [Sharma2011] [S] and five times the 60 J/cm2 surface dose of high-intensity laser trials [U];
# a window or a dose beyond it is an error [U].
DOSE = Quantity("dose", "J/cm2", 0.0, 300.0, "[Sharma2011] ten times the inhibitory dose")

# Age of a patient, 0-120 years: anything outside is a typo [U]. Screening, not this range, decides
# which ages laser therapy may treat.
AGE = Quantity("age", "years", 0, 120, "[U] a typo check; screening decides who is treated", whole=True)

SkinType = Annotated[int, BeforeValidator(_pydantic_check(SKIN_TYPE)), _schema(SKIN_TYPE)]
Bmi = Annotated[float, BeforeValidator(_pydantic_check(BMI)), _schema(BMI)]
FatThickness = Annotated[float, BeforeValidator(_pydantic_check(FAT_THICKNESS)), _schema(FAT_THICKNESS)]
TreatmentArea = Annotated[float, BeforeValidator(_pydantic_check(TREATMENT_AREA)), _schema(TREATMENT_AREA)]
SkinLimit = Annotated[float, BeforeValidator(_pydantic_check(SKIN_LIMIT)), _schema(SKIN_LIMIT)]
# As a key (powers, energies per wavelength) a wavelength is a whole number of nm (domain/wavelengths.py).
Wavelength = Annotated[
    int, BeforeValidator(_pydantic_check(replace(WAVELENGTH, whole=True))), _schema(WAVELENGTH)
]
Power = Annotated[float, BeforeValidator(_pydantic_check(POWER)), _schema(POWER)]
Energy = Annotated[float, BeforeValidator(_pydantic_check(ENERGY)), _schema(ENERGY)]
Dose = Annotated[float, BeforeValidator(_pydantic_check(DOSE)), _schema(DOSE)]
Age = Annotated[int, BeforeValidator(_pydantic_check(AGE)), _schema(AGE)]

# Birth dates: from 1900-01-01 (no patient is older) to today (none is born tomorrow) [U].
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)


def check_birth_date(value: dt.date, today: dt.date | None = None) -> dt.date:
    """Return `value` if it lies between EARLIEST_BIRTH_DATE and `today`, else raise `InputError`.

    Args:
        value: the date of birth.
        today: the date of today (the system's date by default).
    """
    today = dt.date.today() if today is None else today
    if not EARLIEST_BIRTH_DATE <= value <= today:
        raise InputError(f"birth date must be between {EARLIEST_BIRTH_DATE} and today, got {value}")
    return value


def _pydantic_birth_date(value: dt.date) -> dt.date:
    try:
        return check_birth_date(value)
    except InputError as exc:
        raise PydanticCustomError("domain_range", "{message}", {"message": str(exc)}) from None


BirthDate = Annotated[dt.date, AfterValidator(_pydantic_birth_date)]

QUANTITIES = (SKIN_TYPE, BMI, FAT_THICKNESS, TREATMENT_AREA, SKIN_LIMIT, WAVELENGTH, POWER, ENERGY, DOSE, AGE)
