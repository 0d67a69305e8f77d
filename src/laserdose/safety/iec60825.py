"""Correction factors and maximum permissible exposures (MPE) of IEC 60825-1:2014, Annex A.

Units: wavelength [nm], duration [s], angular subtense alpha [mrad], radiant exposure H [J/m^2],
irradiance E [W/m^2]. Every limit comes back with the rule (table row or formula) that gave it.

Sources: IEC 60825-1:2014 Tables A.1 (MPE at the cornea, C6 = 1), A.2 (extended sources, 400-1400 nm),
A.5 (skin) and Table 9 (correction factors); formulas as collected in [IEC60825-1] and
cross-checked against two open-source implementations (see docs/safety.md). Marks as in docs/references.md:
[S] read in the source, [C] agrees with independent code, [U] unverified starting value.
Ultraviolet limits (180-400 nm) are not implemented: they raise InputError.
"""

import math
from dataclasses import dataclass
from typing import Any

from laserdose.errors import InputError, require_range

WAVELENGTH_RANGE_NM = (180.0, 1e6)  # IEC 60825-1:2014 scope: 180 nm to 1 mm [S]
DURATION_RANGE_S = (1e-13, 3e4)  # Tables A.1-A.5 cover 100 fs to 30 000 s [C]
ALPHA_RANGE_MRAD = (0.0, 1e4)
ALPHA_MIN_MRAD = 1.5  # IEC 60825-1:2014 Table 9: alpha_min = 1.5 mrad [S] [IEC60825-1]
SHORT_PULSE_S = 1e-11  # below 10 ps the retinal limits change row [C; values below 10 ps are U]


@dataclass(frozen=True)
class Limit:
    """An exposure limit for one exposure duration.

    Attributes:
        wavelength_nm: wavelength [nm].
        duration_s: exposure duration [s].
        h_j_per_m2: limit as radiant exposure over the duration [J/m^2].
        e_w_per_m2: the same limit as mean irradiance over the duration [W/m^2].
        rule: the table row or formula that applied.
    """

    wavelength_nm: float
    duration_s: float
    h_j_per_m2: float
    e_w_per_m2: float
    rule: str


def _limit_from_h(wavelength_nm: float, duration_s: float, h: float, rule: str) -> Limit:
    return Limit(wavelength_nm, duration_s, h, h / duration_s, rule)


def _limit_from_e(wavelength_nm: float, duration_s: float, e: float, rule: str) -> Limit:
    return Limit(wavelength_nm, duration_s, e * duration_s, e, rule)


def check_wavelength(wavelength_nm: float, low_nm: float = 400.0, high_nm: float = 1e6) -> float:
    """Validate a wavelength [nm]: inside 180 nm-1 mm, and inside what this module implements.

    Raises:
        InputError: outside 180 nm-1 mm, or inside it but outside [low_nm, high_nm].
    """
    require_range("wavelength", wavelength_nm, *WAVELENGTH_RANGE_NM, unit="nm")
    if not low_nm <= wavelength_nm <= high_nm:
        raise InputError(
            f"wavelength {wavelength_nm:g} nm: only {low_nm:g}-{high_nm:g} nm is implemented here "
            "(ultraviolet limits are not)"
        )
    return wavelength_nm


def check_duration(duration_s: float, name: str = "duration") -> float:
    """Validate an exposure or emission duration [s] against the 1e-13-3e4 s the tables cover."""
    return require_range(name, duration_s, *DURATION_RANGE_S, unit="s")


def c3(wavelength_nm: float) -> float:
    """Photochemical correction C3 [-]: 1 at 400-450 nm, 10^(0.02 (l - 450)) at 450-600 nm (Table 9) [C]."""
    return 1.0 if wavelength_nm < 450.0 else math.pow(10.0, 0.02 * (wavelength_nm - 450.0))


def c4(wavelength_nm: float) -> float:
    """C4 [-]: 10^(0.002 (l - 700)) at 700-1050 nm, 5 at 1050-1400 nm; 1 below 700 nm (Table 9) [S].

    The standard defines C4 from 700 nm; below it the formulas carry no C4, so 1 is returned there.
    """
    if wavelength_nm < 700.0:
        return 1.0
    if wavelength_nm < 1050.0:
        return math.pow(10.0, 0.002 * (wavelength_nm - 700.0))
    return 5.0


def c7(wavelength_nm: float) -> float:
    """C7 [-]: 1 below 1150 nm, 10^(0.018 (l - 1150)) at 1150-1200 nm, 8 + 10^(0.04 (l - 1250)) above.

    IEC 60825-1:2014 Table 9 [S] [IEC60825-1]; C7 is not continuous at 1200 nm (the standard's own step).
    """
    if wavelength_nm < 1150.0:
        return 1.0
    if wavelength_nm < 1200.0:
        return math.pow(10.0, 0.018 * (wavelength_nm - 1150.0))
    return 8.0 + math.pow(10.0, 0.04 * (wavelength_nm - 1250.0))


def ti(wavelength_nm: float) -> float:
    """Ti [s], the time below which pulses are grouped: 5 us (400-1050 nm), 13 us (1050-1400 nm) [S].

    Beyond 1400 nm (Table 9 of the 2014 edition) [C]: 1 ms (1400-1500), 10 s (1500-1800), 1 ms
    (1800-2600), 100 ns (2600 nm-1 mm).
    """
    for upper_nm, value_s in (
        (1050.0, 5e-6),
        (1400.0, 13e-6),
        (1500.0, 1e-3),
        (1800.0, 10.0),
        (2600.0, 1e-3),
    ):
        if wavelength_nm < upper_nm:
            return value_s
    return 1e-7


def alpha_min() -> float:
    """alpha_min [mrad] = 1.5 (Table 9) [S]."""
    return ALPHA_MIN_MRAD


def alpha_max(duration_s: float) -> float:
    """alpha_max [mrad]: 5 below 625 us, 200 sqrt(t) to 0.25 s, 100 beyond (Table 9) [S] [IEC60825-1]."""
    if duration_s < 625e-6:
        return 5.0
    if duration_s <= 0.25:
        return 200.0 * math.sqrt(duration_s)
    return 100.0


def c6(alpha_mrad: float, duration_s: float) -> float:
    """C6 [-]: 1 up to alpha_min, alpha/alpha_min up to alpha_max, alpha_max/alpha_min beyond [S]."""
    a_max = alpha_max(duration_s)
    if alpha_mrad <= ALPHA_MIN_MRAD:
        return 1.0
    return min(alpha_mrad, a_max) / ALPHA_MIN_MRAD


def t2(alpha_mrad: float) -> float:
    """T2 [s] = 10 x 10^((alpha - 1.5)/98.5), alpha clipped to 1.5-100 mrad (10 s to 100 s) [S]."""
    alpha = min(max(alpha_mrad, ALPHA_MIN_MRAD), 100.0)
    return 10.0 * math.pow(10.0, (alpha - ALPHA_MIN_MRAD) / 98.5)


def gamma_ph(duration_s: float) -> float:
    """Photochemical limiting cone angle gamma_ph [mrad]: 11 to 100 s, 1.1 sqrt(t) to 1e4 s, 110 beyond [C].

    ICNIRP 2013 and IEC 60825-1:2014 Table A.1 notes, as tabulated by the Norwegian labour inspectorate.
    """
    if duration_s <= 100.0:
        return 11.0
    if duration_s <= 1e4:
        return 1.1 * math.sqrt(duration_s)
    return 110.0


def correction_factors(
    wavelength_nm: float, duration_s: float, alpha_mrad: float = ALPHA_MIN_MRAD
) -> dict[str, Any]:
    """All Table 9 factors and time bases for one case, each with the formula that gave it.

    Returns:
        {name: {"value": float | None, "rule": str}} for C3 (None above 600 nm, where it is not used), C4,
        C6, C7, T2 [s], Ti [s], alpha_min and alpha_max [mrad].
    """
    check_wavelength(wavelength_nm)
    check_duration(duration_s)
    a_max = alpha_max(duration_s)
    rows = {
        "C3": (
            c3(wavelength_nm) if wavelength_nm < 600.0 else None,
            "1 (400-450 nm); 10^(0.02 (l-450)) (450-600 nm)",
        ),
        "C4": (c4(wavelength_nm), "1 (<700 nm); 10^(0.002 (l-700)) (700-1050 nm); 5 (1050-1400 nm)"),
        "C6": (c6(alpha_mrad, duration_s), "1 (alpha<=alpha_min); alpha/alpha_min; alpha_max/alpha_min"),
        "C7": (c7(wavelength_nm), "1 (<1150 nm); 10^(0.018 (l-1150)); 8 + 10^(0.04 (l-1250)) (>1200 nm)"),
        "T2_s": (t2(alpha_mrad), "10 x 10^((alpha-1.5)/98.5), alpha in 1.5-100 mrad"),
        "Ti_s": (ti(wavelength_nm), "5 us (400-1050 nm), 13 us (1050-1400 nm), Table 9 beyond"),
        "alpha_min_mrad": (ALPHA_MIN_MRAD, "1.5 mrad"),
        "alpha_max_mrad": (a_max, "5 mrad (<625 us), 200 sqrt(t) mrad (to 0.25 s), 100 mrad"),
    }
    return {name: {"value": value, "rule": rule} for name, (value, rule) in rows.items()}


def eye_mpe(wavelength_nm: float, duration_s: float, alpha_mrad: float = ALPHA_MIN_MRAD) -> Limit:
    """MPE of the eye for one exposure of `duration_s` (Tables A.1 and A.2).

    Args:
        wavelength_nm: wavelength, 400 nm-1 mm [nm].
        duration_s: exposure duration, 1e-13-3e4 s [s].
        alpha_mrad: angular subtense of the apparent source [mrad]; <= 1.5 is a small source.

    Raises:
        InputError: out-of-range input, or an ultraviolet wavelength (not implemented).
    """
    check_wavelength(wavelength_nm)
    check_duration(duration_s)
    require_range("alpha", alpha_mrad, *ALPHA_RANGE_MRAD, unit="mrad")
    if wavelength_nm >= 1400.0:
        return _cornea_thermal(wavelength_nm, duration_s, "A.1 eye")
    thermal = _retinal_thermal(wavelength_nm, duration_s, alpha_mrad)
    if wavelength_nm < 600.0 and duration_s >= 10.0:
        photochemical = _retinal_photochemical(wavelength_nm, duration_s, alpha_mrad)
        if photochemical.h_j_per_m2 < thermal.h_j_per_m2:
            return photochemical
    return thermal


def _retinal_thermal(wavelength_nm: float, t: float, alpha_mrad: float) -> Limit:
    band = "400-700" if wavelength_nm < 700.0 else "700-1050" if wavelength_nm < 1050.0 else "1050-1400"
    k4, k6, k7 = c4(wavelength_nm), c6(alpha_mrad, t), c7(wavelength_nm)
    extended = alpha_mrad > ALPHA_MIN_MRAD
    table = "A.2" if extended else "A.1"
    near_ir = wavelength_nm >= 1050.0
    if t < SHORT_PULSE_S:
        # Below 10 ps: 1e-3 C6 J/m2, no C4 [C: the Python and MATLAB implementations; a third, TypeScript,
        # has C4]; 1e-3 C6 C7 at 1050-1400 nm [U: one implementation].
        if near_ir:
            return _limit_from_h(
                wavelength_nm, t, 1e-3 * k6 * k7, f"{table} {band} nm <10 ps: H=1e-3 C6 C7 [U]"
            )
        return _limit_from_h(wavelength_nm, t, 1e-3 * k6, f"{table} {band} nm <10 ps: H=1e-3 C6")
    if t < ti(wavelength_nm):
        if near_ir:  # 2e-2 C6 C7 J/m2 to 13 us [S]
            return _limit_from_h(
                wavelength_nm, t, 2e-2 * k6 * k7, f"{table} {band} nm 10 ps-Ti: H=2e-2 C6 C7"
            )
        return _limit_from_h(wavelength_nm, t, 2e-3 * k4 * k6, f"{table} {band} nm 10 ps-Ti: H=2e-3 C4 C6")
    coefficient = 18.0 * k4 * k6 * k7  # 18 C4 C6 C7 t^0.75 J/m2; = 90 C6 C7 at 1050-1400 nm [S]
    if t < 10.0 or (extended and t <= t2(alpha_mrad)):
        return _limit_from_h(
            wavelength_nm, t, coefficient * t**0.75, f"{table} {band} nm: H=18 C4 C6 C7 t^0.75"
        )
    if not extended:  # Table A.1, C6 = 1, t >= 10 s: E = 10 C4 C7 W/m2 [S, C: both codes]
        return _limit_from_e(wavelength_nm, t, 10.0 * k4 * k7, f"A.1 {band} nm t>=10 s: E=10 C4 C7")
    e = coefficient * t2(alpha_mrad) ** -0.25  # Table A.2, t > T2: E = 18 C4 C6 C7 T2^-0.25 [S]
    return _limit_from_e(wavelength_nm, t, e, f"A.2 {band} nm t>T2: E=18 C4 C6 C7 T2^-0.25")


def _retinal_photochemical(wavelength_nm: float, t: float, alpha_mrad: float) -> Limit:
    """Blue-light limit 400-600 nm, t >= 10 s: H = 100 C3 J/m2 to 100 s, then E = 1 C3 W/m2 [C].

    The irradiance limit holds for sources within gamma_ph; a larger source is averaged over gamma_ph,
    which raises the corneal irradiance limit by (alpha/gamma_ph)^2 [U: our reading of Table A.2].
    """
    k3 = c3(wavelength_nm)
    cone = gamma_ph(t)
    scale = max(1.0, (alpha_mrad / cone) ** 2)
    if t < 100.0:
        return _limit_from_h(
            wavelength_nm, t, 100.0 * k3 * scale, "A.1 400-600 nm 10-100 s: H=100 C3 (photochemical)"
        )
    return _limit_from_e(wavelength_nm, t, 1.0 * k3 * scale, "A.1 400-600 nm >=100 s: E=1 C3 (photochemical)")


# Cornea (eye) and skin beyond 1400 nm: (upper wavelength, sub-ns irradiance [W/m2], H plateau [J/m2],
# end of plateau [s]); then H = 5600 t^0.25 J/m2 to 10 s and E = 1000 W/m2 beyond. IEC 60825-1:2014
# Table A.1 [C: Class 1 AELs of an independent implementation / 1 mm aperture area]; the same rows, for eye
# and skin alike, are in Directive 2006/25/EC Annex II Tables 2.2 and 2.4 [S: French Labour Code text].
_FAR_IR_ROWS = (
    (1500.0, 1e12, 1e3, 1e-3),
    (1800.0, 1e13, 1e4, 10.0),
    (2600.0, 1e12, 1e3, 1e-3),
    (1e6 + 1.0, 1e11, 1e2, 1e-7),
)


def _cornea_thermal(wavelength_nm: float, t: float, table: str) -> Limit:
    upper_nm, e_sub_ns, h_plateau, plateau_end_s = next(row for row in _FAR_IR_ROWS if wavelength_nm < row[0])
    band = f">=1400 nm (row to {upper_nm:g} nm)" if upper_nm < 1e6 else "2600 nm-1 mm"
    if t < 1e-9:
        return _limit_from_e(wavelength_nm, t, e_sub_ns, f"{table} {band} <1 ns: E={e_sub_ns:.0e}")
    if t < plateau_end_s:
        return _limit_from_h(wavelength_nm, t, h_plateau, f"{table} {band}: H={h_plateau:g}")
    if t < 10.0:
        return _limit_from_h(wavelength_nm, t, 5600.0 * t**0.25, f"{table} {band}: H=5600 t^0.25")
    return _limit_from_e(wavelength_nm, t, 1000.0, f"{table} {band} t>=10 s: E=1000")


def skin_mpe(wavelength_nm: float, duration_s: float) -> Limit:
    """MPE of the skin (Table A.5) for 400 nm-1 mm.

    400-1400 nm [S] [IEC60825-1] [S: Directive 2006/25/EC Table 2.4]: t < 1 ns E = 2e11 C4; 1-100 ns
    H = 200 C4; 100 ns-10 s H = 1.1e4 C4 t^0.25; >= 10 s E = 2000 C4. Beyond 1400 nm the skin rows equal
    the cornea rows (Directive 2006/25/EC Table 2.4 refers to the eye limits there) [S]. The area
    reduction for skin areas above 0.01 m^2 beyond 1400 nm is not applied [U].

    Args:
        wavelength_nm: wavelength, 400 nm-1 mm [nm].
        duration_s: exposure duration, 1e-13-3e4 s [s].
    """
    check_wavelength(wavelength_nm)
    check_duration(duration_s)
    if wavelength_nm >= 1400.0:
        return _cornea_thermal(wavelength_nm, duration_s, "A.5 skin")
    k4 = c4(wavelength_nm)
    t = duration_s
    if t < 1e-9:
        return _limit_from_e(wavelength_nm, t, 2e11 * k4, "A.5 skin 400-1400 nm <1 ns: E=2e11 C4")
    if t < 1e-7:
        return _limit_from_h(wavelength_nm, t, 200.0 * k4, "A.5 skin 400-1400 nm 1-100 ns: H=200 C4")
    if t < 10.0:
        return _limit_from_h(
            wavelength_nm, t, 1.1e4 * k4 * t**0.25, "A.5 skin 400-1400 nm: H=1.1e4 C4 t^0.25"
        )
    return _limit_from_e(wavelength_nm, t, 2000.0 * k4, "A.5 skin 400-1400 nm t>=10 s: E=2000 C4")


def c5(
    wavelength_nm: float,
    pulse_duration_s: float,
    n_pulses: float,
    alpha_mrad: float,
    window_s: float = math.inf,
) -> tuple[float, str]:
    """C5 [-], the repetitive-pulse correction of rule 3, with the branch that applied.

    IEC 60825-1:2014 4.3 f) as summarised in [LundSchulmeister2013], [S, C]:
    pulses <= Ti: 1 if N <= 600, else max(0.4, 5 N^-0.25); pulses > Ti: alpha <= 5 mrad: 1;
    5 mrad < alpha <= alpha_max: N^-0.25 up to N = 40, then 0.4; alpha > alpha_max: N^-0.25 up to
    N = 625, then 0.2. Also 1 for pulses <= Ti counted over 0.25 s or less, and for pulses > Ti from
    sources above 100 mrad [C: both the Python and the MATLAB implementation, docs/safety.md].
    Pulses of 0.25 s or longer: 1. Beyond 1400 nm: N^-0.25 [U for the 2014 edition: it is the thermal
    rule of Directive 2006/25/EC Table 2.6 (C_p = N^-0.25) and ANSI Z136.1, kept as the conservative
    choice; the MATLAB implementation uses 1 there for pulses > Ti].

    Args:
        wavelength_nm: wavelength [nm].
        pulse_duration_s: duration of one (effective) pulse [s].
        n_pulses: number of pulses counted for the correction [-].
        alpha_mrad: angular subtense of the apparent source [mrad].
        window_s: the time over which the pulses were counted [s].
    """
    n = max(n_pulses, 1.0)
    if pulse_duration_s >= 0.25:
        return 1.0, "C5=1 (pulses >= 0.25 s)"
    if wavelength_nm >= 1400.0:
        return n**-0.25, "C5=N^-0.25 (>1400 nm) [U]"
    if pulse_duration_s <= ti(wavelength_nm):
        if n <= 600 or window_s <= 0.25:
            return 1.0, "C5=1 (pulses <= Ti, N <= 600 or counted over <= 0.25 s)"
        return max(0.4, 5.0 * n**-0.25), "C5=max(0.4, 5 N^-0.25) (pulses <= Ti)"
    if alpha_mrad <= 5.0 or alpha_mrad > 100.0:
        return 1.0, "C5=1 (pulses > Ti, alpha <= 5 mrad or > 100 mrad)"
    if alpha_mrad <= alpha_max(pulse_duration_s):
        return (n**-0.25, "C5=N^-0.25 (5 mrad < alpha <= alpha_max)") if n <= 40 else (0.4, "C5=0.4 (N > 40)")
    return (n**-0.25, "C5=N^-0.25 (alpha > alpha_max)") if n <= 625 else (0.2, "C5=0.2 (N > 625)")
