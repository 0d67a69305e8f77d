"""Accessible emission limits (AEL) of classes 1, 1M, 2, 2M, 3R, 3B for 400-1400 nm, and classification.

IEC 60825-1:2014 Tables 3-8 (AELs), 4.3 (time bases, repetitive pulses, additivity) and Tables 10-11
(measurement conditions). Units: wavelength [nm], duration [s], energy [J], power [W], alpha [mrad].
Class 1 and 3R constants are the corneal MPE times the 7 mm pupil area (3.85e-5 m^2), rounded as the
standard prints them [S] [IEC60825-1] [C: two implementations]. Class 3B [C: a TypeScript and a
MATLAB implementation agree, see docs/safety.md]. Classes 1M and 2M have the AELs of 1 and 2 and differ
only in the measurement conditions (condition 1: 50 mm aperture at 2 m; condition 3: 7 mm at 100 mm) [C].
"""

import math
from dataclasses import dataclass

from laserdose.errors import InputError, require_range
from laserdose.safety.iec60825 import (
    ALPHA_MIN_MRAD,
    c3,
    c4,
    c5,
    c6,
    c7,
    check_duration,
    check_wavelength,
    t2,
    ti,
)
from laserdose.safety.pulses import PulseTrain

CLASSES = ("1", "2", "3R", "3B")
TIME_BASE_S = 100.0  # 4.3 e): 100 s for all wavelengths above 400 nm not covered below [C]
BLINK_TIME_BASE_S = 0.25  # 4.3 e): 0.25 s for Class 2, 2M and 3R in 400-700 nm [C]
# (sub-10 ps, 10 ps-Ti, Ti-10 s coefficient, CW point source, 1050-1400 nm 10 ps-Ti, 1050-1400 nm Ti-10 s)
_THERMAL = {
    "1": (3.8e-8, 7.7e-8, 7e-4, 3.9e-4, 7.7e-7, 3.5e-3),  # Table 3 [S, C]; sub-10 ps without C4 [C]
    "3R": (1.9e-7, 3.8e-7, 3.5e-3, 2e-3, 3.8e-6, 1.8e-2),  # Table 6 (5 x Class 1) [C]; sub-10 ps [U]
}
CONDITION_1 = (50.0, 2000.0)  # aperture diameter [mm] at distance [mm] (Table 10, 400-1400 nm) [C]
CONDITION_3 = (7.0, 100.0)


@dataclass(frozen=True)
class Ael:
    """An accessible emission limit for one emission duration.

    Attributes:
        laser_class: "1", "2", "3R" or "3B".
        energy_j: limit as energy over the duration [J].
        power_w: the same limit as mean power [W].
        rule: the table row that applied.
    """

    laser_class: str
    energy_j: float
    power_w: float
    rule: str


def _from_j(cls: str, t: float, energy_j: float, rule: str) -> Ael:
    return Ael(cls, energy_j, energy_j / t, rule)


def _from_w(cls: str, t: float, power_w: float, rule: str) -> Ael:
    return Ael(cls, power_w * t, power_w, rule)


def ael(laser_class: str, wavelength_nm: float, duration_s: float, alpha_mrad: float = ALPHA_MIN_MRAD) -> Ael:
    """AEL of `laser_class` ("1", "1M", "2", "2M", "3R", "3B") for one emission of `duration_s`.

    Args:
        laser_class: the class whose upper limit is wanted (1M and 2M share the AELs of 1 and 2).
        wavelength_nm: wavelength, 400-1400 nm [nm].
        duration_s: emission duration, 1e-13-3e4 s [s].
        alpha_mrad: angular subtense of the apparent source [mrad].
    """
    check_wavelength(wavelength_nm, 400.0, 1400.0)
    check_duration(duration_s)
    require_range("alpha", alpha_mrad, 0.0, 1e4, unit="mrad")
    cls = laser_class.removesuffix("M")
    if cls not in CLASSES:
        raise InputError(f"unknown laser class {laser_class!r}; allowed: 1, 1M, 2, 2M, 3R, 3B")
    if cls == "3B":
        return _class_3b(wavelength_nm, duration_s)
    visible = wavelength_nm < 700.0
    if cls == "2" and not visible:
        return _thermal_ael("1", wavelength_nm, duration_s, alpha_mrad)  # Class 2 outside 400-700 = Class 1
    if visible and cls in ("2", "3R") and duration_s >= BLINK_TIME_BASE_S:
        coefficient = "1e-3" if cls == "2" else "5e-3"  # Tables 5, 6 [C]
        power = float(coefficient) * c6(alpha_mrad, duration_s)
        return _from_w(cls, duration_s, power, f"Class {cls} 400-700 nm t>=0.25 s: {coefficient} C6 W")
    limit = _thermal_ael("1" if cls == "2" else cls, wavelength_nm, duration_s, alpha_mrad)
    if cls == "1" and wavelength_nm < 600.0 and duration_s >= 10.0:
        photo = _photochemical_class1(wavelength_nm, duration_s)
        if photo.energy_j < limit.energy_j:
            limit = photo
    return Ael(cls, limit.energy_j, limit.power_w, limit.rule)


def _thermal_ael(cls: str, wavelength_nm: float, t: float, alpha_mrad: float) -> Ael:
    sub_ps, short, coefficient, cw, short_nir, coefficient_nir = _THERMAL[cls]
    k4, k6, k7 = c4(wavelength_nm), c6(alpha_mrad, t), c7(wavelength_nm)
    near_ir = wavelength_nm >= 1050.0
    extended = alpha_mrad > ALPHA_MIN_MRAD
    name = f"Class {cls} {'1050-1400' if near_ir else '400-1050'} nm"
    if t < 1e-11:
        return _from_j(cls, t, sub_ps * k6 * k7, f"{name} <10 ps: {sub_ps:g} C6 C7 J [U]")
    if t < ti(wavelength_nm):
        if near_ir:
            return _from_j(cls, t, short_nir * k6 * k7, f"{name} 10 ps-Ti: {short_nir:g} C6 C7 J")
        return _from_j(cls, t, short * k4 * k6, f"{name} 10 ps-Ti: {short:g} C4 C6 J")
    base = (coefficient_nir if near_ir else coefficient * k4) * k6 * k7
    if t < 10.0 or (extended and t <= t2(alpha_mrad)):
        shown = f"{coefficient_nir:g} C6 C7" if near_ir else f"{coefficient:g} C4 C6"
        return _from_j(cls, t, base * t**0.75, f"{name} Ti-T2: {shown} t^0.75 J")
    if not extended:
        return _from_w(cls, t, cw * k4 * k7, f"{name} t>=10 s: {cw:g} C4 C7 W")
    return _from_w(
        cls, t, base * t2(alpha_mrad) ** -0.25, f"{name} t>T2: {coefficient:g} C4 C6 C7 T2^-0.25 W"
    )


def _photochemical_class1(wavelength_nm: float, t: float) -> Ael:
    """Class 1, 400-600 nm, t >= 10 s: 3.9e-3 C3 J to 100 s, 3.9e-5 C3 W beyond (Table 3) [C]."""
    k3 = c3(wavelength_nm)
    if t < 100.0:
        return _from_j("1", t, 3.9e-3 * k3, "Class 1 400-600 nm 10-100 s: 3.9e-3 C3 J (photochemical)")
    return _from_w("1", t, 3.9e-5 * k3, "Class 1 400-600 nm >=100 s: 3.9e-5 C3 W (photochemical)")


def _class_3b(wavelength_nm: float, t: float) -> Ael:
    """Class 3B, 400-1400 nm (Table 8) [C]: 0.03 C4 J below min(0.06 C4, 0.25) s, else 0.5 W.

    [IEC60825-1] summarised: "0.03 C4 J (to 0.25 s), 0.5 W"; the 0.06 C4 s break (where 0.5 W x t meets
    0.03 C4 J) is in both implementations that tabulate Table 8 and is the smaller limit in
    0.06 C4-0.25 s. Below 1 ns: 3e7 C4 W (1.5e8 W at 1050-1400 nm) [C: both implementations].
    """
    k4 = c4(wavelength_nm)
    if t < 1e-9:
        return _from_w("3B", t, 3e7 * k4, "Class 3B <1 ns: 3e7 C4 W")
    if t < min(0.06 * k4, 0.25):
        return _from_j("3B", t, 0.03 * k4, "Class 3B t<0.06 C4 s: 0.03 C4 J")
    return _from_w("3B", t, 0.5, "Class 3B: 0.5 W")


@dataclass(frozen=True)
class Emission:
    """One wavelength of an emission.

    Attributes:
        wavelength_nm: wavelength [nm].
        power_w: average power [W].
        train: pulse train, or None for continuous emission.
    """

    wavelength_nm: float
    power_w: float
    train: PulseTrain | None = None


@dataclass(frozen=True)
class BeamGeometry:
    """Beam leaving the aperture, used for the measurement conditions of Classes 1M and 2M.

    Attributes:
        diameter_mm: beam diameter at the aperture [mm] (d63 for a Gaussian beam).
        divergence_mrad: full-angle divergence [mrad].
        profile: "flat" or "gaussian".
    """

    diameter_mm: float
    divergence_mrad: float
    profile: str = "flat"

    def __post_init__(self) -> None:
        if not 0.0 < self.diameter_mm <= 1e4:
            raise InputError(f"beam diameter must be > 0 and <= 10000 mm, got {self.diameter_mm:g} mm")
        require_range("divergence", self.divergence_mrad, 0.0, 3000.0, unit="mrad")
        if self.profile not in ("flat", "gaussian"):
            raise InputError(f"beam profile must be flat or gaussian, got {self.profile!r}")


def aperture_fraction(beam: BeamGeometry | None, aperture: tuple[float, float]) -> float:
    """Fraction [-] of the power through an aperture (diameter [mm], distance [mm]); 1 without a beam."""
    if beam is None:
        return 1.0
    stop_mm, distance_mm = aperture
    diameter_mm = beam.diameter_mm + distance_mm * beam.divergence_mrad * 1e-3
    ratio = (stop_mm / diameter_mm) ** 2
    return 1.0 - math.exp(-ratio) if beam.profile == "gaussian" else min(1.0, ratio)


def emission_ratio(emission: Emission, laser_class: str, alpha_mrad: float = ALPHA_MIN_MRAD) -> float:
    """Accessible emission over the AEL of `laser_class` [-], the largest over the applicable rules.

    CW: energy in the time base over the AEL for the time base. Pulsed: rule 1 (pulse energy over the
    single-pulse AEL), rule 2 (energy in the time base over the AEL for the time base) and rule 3 (pulse
    energy over the single-pulse AEL times C5; not for Class 3B, following the BS EN 60825-1:2014
    MATLAB implementation [C]).
    """
    require_range("power", emission.power_w, 0.0, 1e6, unit="W")
    visible = emission.wavelength_nm < 700.0
    time_base = BLINK_TIME_BASE_S if visible and laser_class in ("2", "3R") else TIME_BASE_S
    whole = ael(laser_class, emission.wavelength_nm, time_base, alpha_mrad)
    ratio = emission.power_w * time_base / whole.energy_j
    train = emission.train
    if train is None:
        return ratio
    grouped = 1.0 / train.prf_hz < ti(emission.wavelength_nm)
    pulse_s = ti(emission.wavelength_nm) if grouped else train.pulse_duration_s
    pulses_per_group = train.prf_hz * pulse_s if grouped else 1.0
    pulse_energy_j = emission.power_w / train.prf_hz * pulses_per_group
    single = ael(laser_class, emission.wavelength_nm, pulse_s, alpha_mrad).energy_j
    window_s = min(time_base, t2(alpha_mrad))
    if laser_class == "3B":  # rule 3 is not applied to Class 3B [C: MATLAB BS EN 60825-1:2014 code]
        return max(ratio, pulse_energy_j / single)
    n_pulses = window_s * train.prf_hz / pulses_per_group
    factor, _ = c5(emission.wavelength_nm, pulse_s, n_pulses, alpha_mrad, window_s)
    return max(ratio, pulse_energy_j / single, pulse_energy_j / (single * factor))


@dataclass(frozen=True)
class Classification:
    """The class of an emission and the ratios that decided it.

    Attributes:
        laser_class: "1", "1M", "2", "2M", "3R", "3B" or "4".
        ratios: sum over wavelengths of emission/AEL for each class under the worse condition [-].
        condition_3_ratios: the same under condition 3 only (7 mm at 100 mm) [-].
        rule: a short statement of why.
    """

    laser_class: str
    ratios: dict[str, float]
    condition_3_ratios: dict[str, float]
    rule: str


def classify(
    emissions: list[Emission], alpha_mrad: float = ALPHA_MIN_MRAD, beam: BeamGeometry | None = None
) -> Classification:
    """Class of an emission of one or several wavelengths (400-1400 nm), CW or pulsed.

    Several wavelengths in 400-1400 nm act on the same tissue (the retina), so their ratios of accessible
    emission to AEL add (IEC 60825-1:2014 4.3 c) and Annex A additivity table) [S] [IEC60825-1].
    Without `beam`, the whole power counts as accessible (worst case: a beam smaller than 7 mm).
    With `beam`, condition 1 (50 mm at 2 m) and condition 3 (7 mm at 100 mm) fractions are applied:
    a product within the Class 1 (2) AEL under condition 3 but not condition 1 is Class 1M (2M).
    For 3R and 3B the worse of the two conditions is used [U: conservative reading].
    """
    if not emissions:
        raise InputError("classify needs at least one emission")
    f1, f3 = aperture_fraction(beam, CONDITION_1), aperture_fraction(beam, CONDITION_3)
    ratios: dict[str, float] = {}
    cond3: dict[str, float] = {}
    for cls in CLASSES:
        base = sum(emission_ratio(e, cls, alpha_mrad) for e in emissions)
        ratios[cls], cond3[cls] = base * max(f1, f3), base * f3
    if ratios["1"] <= 1.0:
        return Classification("1", ratios, cond3, "within the Class 1 AEL under conditions 1 and 3")
    within_3b = ratios["3B"] <= 1.0  # 1M and 2M stay within the 3B AEL under condition 1 as well [U]
    if cond3["1"] <= 1.0 and within_3b:
        return Classification("1M", ratios, cond3, "within the Class 1 AEL under condition 3 only")
    visible = any(e.wavelength_nm < 700.0 for e in emissions)
    if visible and ratios["2"] <= 1.0:
        return Classification("2", ratios, cond3, "within the Class 2 AEL (visible) under conditions 1 and 3")
    if visible and cond3["2"] <= 1.0 and within_3b:
        return Classification("2M", ratios, cond3, "within the Class 2 AEL under condition 3 only")
    if ratios["3R"] <= 1.0:
        return Classification("3R", ratios, cond3, "within the Class 3R AEL")
    if ratios["3B"] <= 1.0:
        return Classification("3B", ratios, cond3, "within the Class 3B AEL")
    return Classification("4", ratios, cond3, f"exceeds the Class 3B AEL {ratios['3B']:.3g} times")
