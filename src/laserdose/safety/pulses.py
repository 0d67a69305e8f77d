"""Exposure limits for repetitive pulses: the three rules of IEC 60825-1:2014 4.3 f) / A.3.

Rule 1: no single pulse exceeds the single-pulse limit. Rule 2: the whole train does not exceed the
limit for its total duration (the average-power rule). Rule 3: no pulse exceeds the single-pulse limit
times C5. Pulses closer together than Ti are grouped into one pulse of duration Ti [S] [IEC60825-1].
Rule 3 is applied to the eye only; the skin has rules 1 and 2 (ANSI Z136.1 and IEC practice) [U].
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from laserdose.errors import InputError, require_range
from laserdose.safety.iec60825 import ALPHA_MIN_MRAD, Limit, c5, check_duration, eye_mpe, skin_mpe, t2, ti

TARGETS = ("eye", "skin")


@dataclass(frozen=True)
class PulseTrain:
    """A regular train of equal pulses.

    Attributes:
        pulse_duration_s: duration of each pulse [s].
        prf_hz: pulse repetition frequency [Hz].
        exposure_s: duration of the whole exposure (the train) [s].
    """

    pulse_duration_s: float
    prf_hz: float
    exposure_s: float

    def __post_init__(self) -> None:
        check_duration(self.pulse_duration_s, "pulse duration")
        check_duration(self.exposure_s, "exposure duration")
        require_range("pulse repetition frequency", self.prf_hz, 1e-6, 1e12, unit="Hz")
        if self.pulse_duration_s * self.prf_hz >= 1.0:
            raise InputError(
                f"pulse duration {self.pulse_duration_s:g} s x PRF {self.prf_hz:g} Hz >= 1: pulses overlap; "
                "use a CW exposure instead"
            )
        if self.exposure_s < 1.0 / self.prf_hz:
            raise InputError(
                f"exposure {self.exposure_s:g} s is shorter than one pulse period; use a single pulse"
            )

    @property
    def pulse_count(self) -> float:
        """Number of pulses in the exposure [-]."""
        return self.prf_hz * self.exposure_s


@dataclass(frozen=True)
class PulsedLimit:
    """The per-pulse limit of a pulse train, and the rule that binds.

    Attributes:
        h_per_pulse_j_per_m2: largest allowed radiant exposure of one pulse [J/m^2].
        e_average_w_per_m2: the same limit as average irradiance over the train [W/m^2].
        rule: which of the three rules binds, with the table row or C5 branch.
        rule_values_j_per_m2: per-pulse limit by rule 1, 2 and 3 [J/m^2] (inf where a rule does not apply).
        c5: the C5 used by rule 3 [-].
        n_pulses: pulses counted for C5 [-].
    """

    h_per_pulse_j_per_m2: float
    e_average_w_per_m2: float
    rule: str
    rule_values_j_per_m2: tuple[float, float, float]
    c5: float
    n_pulses: float


def pulsed_mpe(
    wavelength_nm: float, train: PulseTrain, target: str = "eye", alpha_mrad: float = ALPHA_MIN_MRAD
) -> PulsedLimit:
    """Per-pulse MPE of a pulse train for the eye or the skin.

    Args:
        wavelength_nm: wavelength, 400 nm-1 mm [nm].
        train: the pulse train.
        target: "eye" or "skin".
        alpha_mrad: angular subtense of the apparent source [mrad] (eye only).
    """
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}; allowed: {', '.join(TARGETS)}")

    def single(duration_s: float) -> Limit:
        if target == "eye":
            return eye_mpe(wavelength_nm, duration_s, alpha_mrad)
        return skin_mpe(wavelength_nm, duration_s)

    return _three_rules(wavelength_nm, train, single, target == "eye", alpha_mrad)


def _three_rules(
    wavelength_nm: float,
    train: PulseTrain,
    single: Callable[[float], Limit],
    with_c5: bool,
    alpha_mrad: float,
) -> PulsedLimit:
    period_s = 1.0 / train.prf_hz
    group_s = ti(wavelength_nm)
    # Pulses closer than Ti act as one pulse of duration Ti holding prf x Ti of them [S].
    per_group = train.prf_hz * group_s if period_s < group_s else 1.0
    pulse_s = group_s if period_s < group_s else train.pulse_duration_s
    one = single(min(pulse_s, train.exposure_s))
    rule1 = one.h_j_per_m2 / per_group
    whole = single(train.exposure_s)
    rule2 = whole.h_j_per_m2 / train.pulse_count
    factor, c5_rule, n_counted = 1.0, "", 1.0
    rule3 = math.inf
    if with_c5:
        # N is counted within T2 or the exposure, whichever is shorter (2014 ed. 4.3 f) [C].
        window_s = min(train.exposure_s, t2(alpha_mrad)) if wavelength_nm < 1400.0 else train.exposure_s
        n_counted = window_s / max(period_s, group_s)
        factor, c5_rule = c5(wavelength_nm, pulse_s, n_counted, alpha_mrad, window_s)
        rule3 = rule1 * factor
    values = (rule1, rule2, rule3)
    best = min(range(3), key=lambda i: values[i])
    reasons = (f"rule 1 single pulse ({one.rule})", f"rule 2 average ({whole.rule})", f"rule 3 {c5_rule}")
    return PulsedLimit(
        h_per_pulse_j_per_m2=values[best],
        e_average_w_per_m2=values[best] * train.prf_hz,
        rule=reasons[best],
        rule_values_j_per_m2=values,
        c5=factor,
        n_pulses=n_counted,
    )
