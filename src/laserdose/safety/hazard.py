"""Hazard distance, eyewear and skin exposure time from the limits of IEC 60825-1:2014.

Units: power [W], beam diameter [mm] at the aperture (d63 for a Gaussian beam, so that 4 P / (pi d^2)
is its peak irradiance), divergence [mrad] full angle, distance [m], irradiance [W/m^2].
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from laserdose.errors import InputError, require_range
from laserdose.safety.iec60825 import ALPHA_MIN_MRAD, DURATION_RANGE_S, check_wavelength, eye_mpe, skin_mpe
from laserdose.safety.pulses import PulseTrain, pulsed_mpe

DEFAULT_EXPOSURE_S = 10.0  # accidental exposure to an invisible beam (IEC TR 60825-14 practice) [U]
POWER_RANGE_W = (0.0, 1e6)
DIAMETER_RANGE_MM = (0.0, 1e4)
DIVERGENCE_RANGE_MRAD = (0.0, 3000.0)


def beam_irradiance(power_w: float, beam_diameter_mm: float) -> float:
    """Mean irradiance [W/m^2] of `power_w` over a circle of `beam_diameter_mm`."""
    require_range("power", power_w, *POWER_RANGE_W, unit="W")
    diameter_m = require_range("beam diameter", beam_diameter_mm, *DIAMETER_RANGE_MM, unit="mm") * 1e-3
    if diameter_m == 0.0:
        raise InputError("beam diameter must be > 0 mm")
    return 4.0 * power_w / (math.pi * diameter_m**2)


def nohd_m(power_w: float, mpe_w_per_m2: float, beam_diameter_mm: float, divergence_mrad: float) -> float:
    """Nominal ocular hazard distance [m]: NOHD = (sqrt(4 P / (pi E_MPE)) - a) / phi.

    [IECTR60825-14] [ANSIZ136.1] (B.6) [S]. Zero when the beam at the aperture is already
    below the MPE; infinite for an unsafe beam that does not diverge.

    Args:
        power_w: power in the beam [W].
        mpe_w_per_m2: the MPE as irradiance [W/m^2].
        beam_diameter_mm: beam diameter at the aperture [mm].
        divergence_mrad: full-angle divergence [mrad].
    """
    require_range("power", power_w, *POWER_RANGE_W, unit="W")
    require_range("beam diameter", beam_diameter_mm, *DIAMETER_RANGE_MM, unit="mm")
    require_range("divergence", divergence_mrad, *DIVERGENCE_RANGE_MRAD, unit="mrad")
    if not mpe_w_per_m2 > 0.0:
        raise InputError(f"MPE must be > 0 W/m2, got {mpe_w_per_m2:g}")
    reach_m = math.sqrt(4.0 * power_w / (math.pi * mpe_w_per_m2)) - beam_diameter_mm * 1e-3
    if reach_m <= 0.0:
        return 0.0
    divergence_rad = divergence_mrad * 1e-3
    if divergence_rad == 0.0:  # also a subnormal mrad value that underflows
        return math.inf
    return reach_m / divergence_rad


def fibre_divergence_mrad(numerical_aperture: float) -> float:
    """Full-angle divergence [mrad] of the beam leaving a bare fibre: 2 asin(NA) (geometric optics).

    Use it with the core diameter as the beam diameter for the NOHD of a fibre without a handpiece.

    Args:
        numerical_aperture: the fibre's numerical aperture in air [-], 0-1.
    """
    require_range("numerical aperture", numerical_aperture, 0.0, 1.0)
    return 2000.0 * math.asin(numerical_aperture)


@dataclass(frozen=True)
class Nohd:
    """A nominal ocular hazard distance and the limit behind it.

    Attributes:
        nohd_m: the distance [m].
        mpe_w_per_m2: the MPE used [W/m^2] (the sum-of-ratios equivalent for several wavelengths).
        rule: the MPE rule(s).
    """

    nohd_m: float
    mpe_w_per_m2: float
    rule: str


def eye_nohd(
    wavelength_nm: float,
    power_w: float,
    beam_diameter_mm: float,
    divergence_mrad: float,
    exposure_s: float = DEFAULT_EXPOSURE_S,
    alpha_mrad: float = ALPHA_MIN_MRAD,
) -> Nohd:
    """NOHD [m] of a CW beam (collimated or a divergent fibre handpiece) for one wavelength."""
    limit = eye_mpe(wavelength_nm, exposure_s, alpha_mrad)
    distance = nohd_m(power_w, limit.e_w_per_m2, beam_diameter_mm, divergence_mrad)
    return Nohd(distance, limit.e_w_per_m2, limit.rule)


def combined_nohd(
    powers_w: Sequence[tuple[float, float]],
    beam_diameter_mm: float,
    divergence_mrad: float,
    exposure_s: float = DEFAULT_EXPOSURE_S,
) -> Nohd:
    """NOHD [m] of several wavelengths leaving the same aperture together.

    Retinal (400-1400 nm) exposures add as sum E_i / MPE_i <= 1 (IEC 60825-1:2014, additivity) [S]; with
    one beam geometry this equals one beam of power sum(P_i) and MPE sum(P_i) / sum(P_i / MPE_i).
    Wavelengths beyond 1400 nm act on the cornea and are added too, which is conservative [U].

    Args:
        powers_w: (wavelength [nm], power [W]) of each source.
        beam_diameter_mm: beam diameter at the aperture [mm].
        divergence_mrad: full-angle divergence [mrad].
        exposure_s: exposure duration [s].
    """
    if not powers_w:
        raise InputError("combined NOHD needs at least one wavelength")
    limits = [(power, eye_mpe(wavelength, exposure_s)) for wavelength, power in powers_w]
    total_w = sum(power for power, _ in limits)
    weighted = sum(power / limit.e_w_per_m2 for power, limit in limits)
    if total_w == 0.0:
        return Nohd(0.0, min(limit.e_w_per_m2 for _, limit in limits), "no power")
    effective_mpe = total_w / weighted
    rule = "sum of P/MPE over " + "; ".join(limit.rule for _, limit in limits)
    return Nohd(nohd_m(total_w, effective_mpe, beam_diameter_mm, divergence_mrad), effective_mpe, rule)


@dataclass(frozen=True)
class Eyewear:
    """Eyewear needed against one wavelength.

    Attributes:
        wavelength_nm: wavelength [nm].
        irradiance_w_per_m2: irradiance the eyewear faces [W/m^2].
        mpe_w_per_m2: the eye MPE behind the eyewear [W/m^2].
        od: optical density needed, log10(E0 / MPE), >= 0 [-].
        lb: EN 207 marking, e.g. "D LB5" (with "+ I LBn" for pulses).
        rule: the MPE rule.
    """

    wavelength_nm: float
    irradiance_w_per_m2: float
    mpe_w_per_m2: float
    od: float
    lb: str
    rule: str


def en207_scale(wavelength_nm: float, value: float, mode: str) -> int:
    """EN 207:2017 scale number n (LBn), rounded up, at least 1.

    Mode "D" (CW, value = irradiance [W/m^2]): 1e(n+1) W/m^2 at 315-1400 nm, 1e(n+3) beyond.
    Modes "I"/"R" (pulses 1 ns-0.25 s, value = radiant exposure [J/m^2]): 5e(n-3) J/m^2 at 315-1400 nm,
    1e(n+2) beyond. Mode "M" (< 1 ns): value = radiant exposure 1.5e(n-4) J/m^2 at 315-1400 nm, peak
    irradiance 1e(n+11) W/m^2 beyond [C: EN 207 table as reproduced in the encyclopaedia article and in the
    lasersafety package's documentation (nanoy42/lasersafety); [EN207] for D]. A result of 0 or
    less means no protection is needed; the smallest marking, LB1, is returned then.
    """
    if value <= 0.0:
        return 1
    near = wavelength_nm <= 1400.0
    if mode == "D":
        exponent = math.log10(value) - (1.0 if near else 3.0)
    elif mode in ("I", "R"):
        exponent = math.log10(value / 5.0) + 3.0 if near else math.log10(value) - 2.0
    elif mode == "M":
        exponent = math.log10(value / 1.5) + 4.0 if near else math.log10(value) - 11.0
    else:
        raise InputError(f"unknown EN 207 mode {mode!r}; allowed: D, I, R, M")
    return max(1, math.ceil(round(exponent, 9)))  # round first: 10^6 W/m2 is LB5, not LB6


def en207_pulsed_scale(wavelength_nm: float, pulse_h_j_per_m2: float, train: PulseTrain) -> tuple[str, int]:
    """EN 207 pulsed mode letter and scale number for a pulse train.

    Modes by pulse duration: I (1 us-0.25 s), R (1 ns-1 us), M (< 1 ns). At 400-1400 nm the pulse
    radiant exposure is multiplied by N^(1/4), N = pulses in 10 s; beyond 1400 nm, mode M uses the peak
    irradiance [C: lasersafety package documentation after the UCC Laser Safety Guidelines].

    Args:
        wavelength_nm: wavelength [nm].
        pulse_h_j_per_m2: radiant exposure of one pulse [J/m^2].
        train: the pulse train.
    """
    duration_s = train.pulse_duration_s
    mode = "M" if duration_s < 1e-9 else "R" if duration_s < 1e-6 else "I"
    if 400.0 <= wavelength_nm <= 1400.0:
        corrected = pulse_h_j_per_m2 * max(1.0, train.prf_hz * 10.0) ** 0.25
        return mode, en207_scale(wavelength_nm, corrected, mode)
    if mode == "M" and wavelength_nm > 1400.0:
        return mode, en207_scale(wavelength_nm, pulse_h_j_per_m2 / duration_s, mode)
    return mode, en207_scale(wavelength_nm, pulse_h_j_per_m2, mode)


def eyewear(
    wavelength_nm: float,
    power_w: float,
    beam_diameter_mm: float,
    exposure_s: float = DEFAULT_EXPOSURE_S,
    train: PulseTrain | None = None,
) -> Eyewear:
    """Optical density and EN 207 rating for a beam of `power_w` (average) at the aperture.

    OD = log10(E0 / E_MPE) with E0 the irradiance over the beam diameter [ANSIZ136.1] [S]. For a pulse
    train the OD uses the per-pulse limit of the three rules, and the marking adds the pulsed mode.
    """
    check_wavelength(wavelength_nm, 315.0, 1e6)
    irradiance = beam_irradiance(power_w, beam_diameter_mm)
    lb = f"D LB{en207_scale(wavelength_nm, irradiance, 'D')}"
    if train is None:
        limit = eye_mpe(wavelength_nm, exposure_s)
        mpe, ratio, rule = limit.e_w_per_m2, irradiance / limit.e_w_per_m2, limit.rule
    else:
        pulsed = pulsed_mpe(wavelength_nm, train, "eye")
        pulse_h = irradiance / train.prf_hz
        mode, scale = en207_pulsed_scale(wavelength_nm, pulse_h, train)
        lb += f" + {mode} LB{scale}"
        mpe, ratio, rule = pulsed.e_average_w_per_m2, pulse_h / pulsed.h_per_pulse_j_per_m2, pulsed.rule
    od = max(0.0, math.log10(ratio)) if ratio > 0.0 else 0.0
    return Eyewear(wavelength_nm, irradiance, mpe, od, lb, rule)


@dataclass(frozen=True)
class SkinExposure:
    """The longest exposure of the skin at a fixed irradiance that stays within the MPE.

    Attributes:
        max_exposure_s: longest safe exposure [s]; 30000 s (the end of the tables) if never exceeded.
        mpe_w_per_m2: the skin MPE at that duration [W/m^2].
        rule: the MPE rule there, or why the answer is the end of the tables.
    """

    max_exposure_s: float
    mpe_w_per_m2: float
    rule: str


def max_skin_exposure(wavelength_nm: float, irradiance_w_per_m2: float) -> SkinExposure:
    """Longest exposure [s] at `irradiance_w_per_m2` before the skin MPE (Table A.5) is exceeded.

    The first duration where E t exceeds H_MPE(t) is found on a fine logarithmic grid and refined by
    bisection, so the small steps of the table (e.g. at 10 s) cannot hide an earlier crossing.
    """
    require_range("irradiance", irradiance_w_per_m2, 0.0, 1e20, unit="W/m2")
    check_wavelength(wavelength_nm)
    low_s, high_s = DURATION_RANGE_S

    def exceeded(t: float) -> bool:
        return irradiance_w_per_m2 * t > skin_mpe(wavelength_nm, t).h_j_per_m2

    if exceeded(low_s):
        return SkinExposure(0.0, skin_mpe(wavelength_nm, low_s).e_w_per_m2, "exceeds the MPE at 1e-13 s")
    grid = [low_s * (high_s / low_s) ** (i / 2000) for i in range(2001)]
    first = next((i for i, t in enumerate(grid) if exceeded(t)), None)
    if first is None:
        limit = skin_mpe(wavelength_nm, high_s)
        return SkinExposure(high_s, limit.e_w_per_m2, f"within the MPE to 30000 s ({limit.rule})")
    safe, unsafe = grid[first - 1], grid[first]
    for _ in range(60):
        middle = math.sqrt(safe * unsafe)
        safe, unsafe = (safe, middle) if exceeded(middle) else (middle, unsafe)
    limit = skin_mpe(wavelength_nm, safe)
    return SkinExposure(safe, limit.e_w_per_m2, limit.rule)
