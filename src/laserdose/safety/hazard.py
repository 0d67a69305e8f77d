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
# The retinal hazard band's limiting aperture for the eye, 7 mm (the dark-adapted pupil) [IEC60825-1] [S].
EYE_APERTURE_RETINAL_MM = 7.0
# EN 207 scale numbers are set for a 1 mm test beam [EN207] [S]; a smaller beam's power density is taken
# over 1 mm (the small-beam rule as eyewear makers apply it) [U].
EN207_MIN_DIAMETER_MM = 1.0
BEAM_PROFILES = ("flat", "gaussian")
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


def limiting_aperture_mm(wavelength_nm: float, exposure_s: float) -> float:
    """Limiting aperture of the eye [mm] for comparing an exposure with the MPE.

    400-1400 nm: 7 mm [IEC60825-1] [S]. 315-400 nm and 1400 nm-0.1 mm: 1 mm below 0.35 s,
    1.5 t^(3/8) mm to 10 s, 3.5 mm beyond; 0.1-1 mm: 11 mm [IEC60825-1 table A.? as given in
    ANSI Z136.1] [U].

    Args:
        wavelength_nm: wavelength [nm].
        exposure_s: exposure duration [s].
    """
    if 400.0 <= wavelength_nm <= 1400.0:
        return EYE_APERTURE_RETINAL_MM
    if wavelength_nm >= 1e5:
        return 11.0
    if exposure_s < 0.35:
        return 1.0
    return 3.5 if exposure_s >= 10.0 else 1.5 * exposure_s**0.375


def aperture_irradiance(
    power_w: float, beam_diameter_mm: float, aperture_mm: float, beam_profile: str
) -> float:
    """Irradiance [W/m^2] averaged over a centred aperture of `aperture_mm`.

    The power through the aperture divided by its area, so a beam smaller than the aperture is averaged
    over the whole aperture [ANSIZ136.1] [IEC60825-1] [Marshall2019] [EU2006-25] [S]. A flat beam of
    diameter d passes min(1, (D/d)^2) of its power; a Gaussian beam of 1/e diameter d63 passes
    1 - exp(-(D/d63)^2).

    Args:
        power_w: beam power [W].
        beam_diameter_mm: beam diameter [mm] (d63 for a Gaussian beam).
        aperture_mm: aperture diameter [mm].
        beam_profile: "flat" or "gaussian".
    """
    if beam_profile not in BEAM_PROFILES:
        raise InputError(f"unknown beam profile {beam_profile!r}; allowed: flat, gaussian")
    beam_irradiance(power_w, beam_diameter_mm)  # validates power and diameter
    ratio_sq = (aperture_mm / beam_diameter_mm) ** 2
    fraction = min(1.0, ratio_sq) if beam_profile == "flat" else -math.expm1(-ratio_sq)
    return power_w * fraction / (math.pi * (aperture_mm * 1e-3) ** 2 / 4.0)


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

    Two ratings, each on its own basis: the optical density of IEC 60825-1 / ANSI Z136.1 compares the
    exposure averaged over the limiting aperture with the MPE; the EN 207 scale number uses the beam's
    own power density (over at least 1 mm).

    Attributes:
        wavelength_nm: wavelength [nm].
        irradiance_w_per_m2: the OD's basis: irradiance averaged over the limiting aperture [W/m^2].
        mpe_w_per_m2: the eye MPE behind the eyewear [W/m^2].
        od: optical density needed, log10(E_aperture / MPE), >= 0 [-].
        lb: EN 207 marking, e.g. "D LB5" (with "+ I LBn" for pulses).
        rule: the MPE rule.
        aperture_mm: the limiting aperture the OD averages over [mm].
        lb_irradiance_w_per_m2: the EN 207 basis: the beam's own power density [W/m^2].
        lb_diameter_mm: the diameter that power density is taken over [mm].
    """

    wavelength_nm: float
    irradiance_w_per_m2: float
    mpe_w_per_m2: float
    od: float
    lb: str
    rule: str
    aperture_mm: float = EYE_APERTURE_RETINAL_MM
    lb_irradiance_w_per_m2: float = 0.0
    lb_diameter_mm: float = EN207_MIN_DIAMETER_MM

    @property
    def od_basis(self) -> str:
        """The OD's basis in words."""
        return (
            f"IEC 60825-1 / ANSI Z136.1: {self.irradiance_w_per_m2:.3g} W/m2 averaged over the "
            f"{self.aperture_mm:g} mm limiting aperture vs MPE {self.mpe_w_per_m2:.3g} W/m2"
        )

    @property
    def lb_basis(self) -> str:
        """The EN 207 rating's basis in words."""
        density = f"{self.lb_irradiance_w_per_m2:.3g} W/m2"
        return f"EN 207: the beam's own power density {density} over {self.lb_diameter_mm:.3g} mm"


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
    beam_profile: str = "flat",
) -> Eyewear:
    """Optical density and EN 207 rating for a beam of `power_w` (average) at the aperture.

    OD = log10(E_a / E_MPE) with E_a the irradiance averaged over the limiting aperture (7 mm at
    400-1400 nm; a beam smaller than the aperture is averaged over all of it) [IEC60825-1] [ANSIZ136.1]
    [S]. The EN 207 scale number uses the beam's own power density, over at least 1 mm [EN207]. For a
    pulse train the OD uses the per-pulse limit of the three rules, and the marking adds the pulsed mode.

    Args:
        wavelength_nm: wavelength [nm].
        power_w: average power [W].
        beam_diameter_mm: beam diameter [mm] (d63 for a Gaussian beam).
        exposure_s: exposure duration [s].
        train: the pulse train, or None for CW.
        beam_profile: "flat" (all power inside the diameter) or "gaussian".
    """
    check_wavelength(wavelength_nm, 315.0, 1e6)
    aperture_mm = limiting_aperture_mm(wavelength_nm, exposure_s)
    at_eye = aperture_irradiance(power_w, beam_diameter_mm, aperture_mm, beam_profile)
    lb_diameter_mm = max(beam_diameter_mm, EN207_MIN_DIAMETER_MM)
    own = beam_irradiance(power_w, lb_diameter_mm)
    lb = f"D LB{en207_scale(wavelength_nm, own, 'D')}"
    if train is None:
        limit = eye_mpe(wavelength_nm, exposure_s)
        mpe, ratio, rule = limit.e_w_per_m2, at_eye / limit.e_w_per_m2, limit.rule
    else:
        pulsed = pulsed_mpe(wavelength_nm, train, "eye")
        mode, scale = en207_pulsed_scale(wavelength_nm, own / train.prf_hz, train)
        lb += f" + {mode} LB{scale}"
        ratio = (at_eye / train.prf_hz) / pulsed.h_per_pulse_j_per_m2
        mpe, rule = pulsed.e_average_w_per_m2, pulsed.rule
    od = max(0.0, math.log10(ratio)) if ratio > 0.0 else 0.0
    return Eyewear(wavelength_nm, at_eye, mpe, od, lb, rule, aperture_mm, own, lb_diameter_mm)


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
