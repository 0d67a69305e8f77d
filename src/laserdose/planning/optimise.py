"""Choose powers per wavelength and a duration that put the target dose in its window, skin safe.

Transport and the Pennes equation are linear in power, so for a fixed handpiece, scan and patient each
wavelength is summed up by two numbers: the fluence at the target per unit surface radiant exposure
(over the patient's uncertainty, a low and a high value) and the peak skin temperature rise per watt.
The best mix is then a linear programme: maximise the dose rate the target is sure to get, subject to
the skin limit and the machine's power limits. The duration follows from the dose window.

Where no duration satisfies every limit the outcome says which limit binds and the best dose reachable;
it never widens a window (docs/design.md, honest dosimetry).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from laserdose.errors import InputError


@dataclass(frozen=True)
class WavelengthResponse:
    """How one source reaches the target and heats the skin, for one patient, handpiece and scan.

    Attributes:
        wavelength_nm: wavelength [nm].
        target_factor_low: fluence at the target per unit surface radiant exposure, least favourable case [-].
        target_factor_high: the same, most favourable case [-].
        skin_rise_k_per_w: peak skin temperature rise per watt of this source over the session [K/W].
        max_power_w: the source's largest settable power [W].
        min_power_w: the source's smallest settable power above zero [W].
    """

    wavelength_nm: float
    target_factor_low: float
    target_factor_high: float
    skin_rise_k_per_w: float
    max_power_w: float
    min_power_w: float


@dataclass(frozen=True)
class Limits:
    """What the plan must respect.

    Attributes:
        area_cm2: treatment area [cm^2].
        window_j_per_cm2: therapeutic window of fluence at the target (low, high) [J/cm^2].
        surface_range_j_per_cm2: allowed radiant exposure at the skin (low, high) [J/cm^2].
        skin_start_c: skin temperature before treatment [C].
        skin_limit_c: highest allowed skin temperature [C].
        max_total_power_w: the machine's largest total output [W].
        duration_range_s: shortest and longest session [s].
    """

    area_cm2: float
    window_j_per_cm2: tuple[float, float]
    surface_range_j_per_cm2: tuple[float, float]
    skin_start_c: float
    skin_limit_c: float
    max_total_power_w: float
    duration_range_s: tuple[float, float]


@dataclass(frozen=True)
class OptimiserResult:
    """The optimiser's answer.

    Attributes:
        feasible: True when every limit holds.
        power_w_by_wavelength: chosen average power per wavelength [W] (the best reachable when infeasible).
        duration_s: session duration [s].
        target_dose_range_j_per_cm2: fluence at the target over the uncertainty (low, high) [J/cm^2].
        surface_dose_j_per_cm2: radiant exposure at the skin [J/cm^2].
        skin_rise_k: predicted peak skin temperature rise [K].
        binding: the limit that binds ("" when feasible).
        advice: what would change the outcome, for the clinician.
    """

    feasible: bool
    power_w_by_wavelength: dict[float, float]
    duration_s: float
    target_dose_range_j_per_cm2: tuple[float, float]
    surface_dose_j_per_cm2: float
    skin_rise_k: float
    binding: str
    advice: str

    @property
    def total_energy_j(self) -> float:
        """Energy delivered, the sum of power x time [J]."""
        return sum(self.power_w_by_wavelength.values()) * self.duration_s


def optimise(responses: list[WavelengthResponse], limits: Limits) -> OptimiserResult:
    """Best powers and duration for the responses under the limits (see the module docstring)."""
    _check(responses, limits)
    powers = _best_mix(responses, limits)
    rate_low, rate_high, surface_rate = _rates(responses, powers, limits.area_cm2)
    # Every limit is a bound on the duration; the plan exists when the latest lower bound comes first.
    lower = {
        "target": limits.window_j_per_cm2[0] / rate_low,
        "surface": limits.surface_range_j_per_cm2[0] / surface_rate,
    }
    upper = {
        "target": limits.window_j_per_cm2[1] / rate_high,
        "surface": limits.surface_range_j_per_cm2[1] / surface_rate,
        "session": limits.duration_range_s[1],
    }
    first_upper = min(upper, key=upper.__getitem__)
    last_lower = max(lower, key=lower.__getitem__)
    if lower[last_lower] > upper[first_upper]:
        # Report the longest duration no upper limit forbids: the best the patient can safely get.
        binding = _binding(last_lower, first_upper, responses, powers, limits)
        return _outcome(False, responses, powers, upper[first_upper], limits, binding, ADVICE[binding])
    # Aim at the middle of the target window in log terms, inside the other limits.
    aim = math.sqrt(lower["target"] * upper["target"])
    duration = min(max(aim, lower[last_lower]), upper[first_upper])
    powers, duration = _lengthen(powers, duration, limits.duration_range_s[0], responses)
    return _outcome(True, responses, powers, duration, limits, "", "")


def _check(responses: list[WavelengthResponse], limits: Limits) -> None:
    if not responses:
        raise InputError("planning needs at least one wavelength")
    for item in responses:
        if not 0 < item.target_factor_low <= item.target_factor_high:
            raise InputError(f"{item.wavelength_nm:g} nm: target factors must satisfy 0 < low <= high")
        if item.skin_rise_k_per_w < 0 or not 0 <= item.min_power_w <= item.max_power_w:
            raise InputError(f"{item.wavelength_nm:g} nm: skin rise and power limits must be non-negative")
    for name, (low, high) in (
        ("dose window", limits.window_j_per_cm2),
        ("surface dose range", limits.surface_range_j_per_cm2),
        ("duration range", limits.duration_range_s),
    ):
        if not 0 < low < high:
            raise InputError(f"{name} must satisfy 0 < low < high, got {low:g}-{high:g}")
    if not limits.skin_limit_c > limits.skin_start_c:
        raise InputError("the skin limit must be above the starting skin temperature")


def _best_mix(responses: list[WavelengthResponse], limits: Limits) -> dict[float, float]:
    """Powers maximising the guaranteed target dose rate under the skin and machine limits (an LP)."""
    gain = np.array([-r.target_factor_low for r in responses])
    constraints = np.array([[r.skin_rise_k_per_w for r in responses], [1.0] * len(responses)])
    bounds_upper = [limits.skin_limit_c - limits.skin_start_c, limits.max_total_power_w]
    result = linprog(
        gain, A_ub=constraints, b_ub=bounds_upper, bounds=[(0, r.max_power_w) for r in responses]
    )
    if not result.success:  # the feasible set always holds P = 0, so this is a solver failure
        raise RuntimeError(f"power optimisation failed: {result.message}")
    # The solver meets constraints only to its tolerance (~1e-7); a safety limit must hold exactly.
    powers = np.clip(result.x, 0.0, [r.max_power_w for r in responses])
    skin_used = float(constraints[0] @ powers)
    scale = min(1.0, bounds_upper[1] / max(powers.sum(), 1e-300), bounds_upper[0] / max(skin_used, 1e-300))
    # A source cannot run below its smallest settable power: switch such a source off.
    chosen = zip(responses, powers * scale, strict=True)
    return {r.wavelength_nm: (float(p) if p >= r.min_power_w else 0.0) for r, p in chosen}


def _rates(
    responses: list[WavelengthResponse], powers: dict[float, float], area_cm2: float
) -> tuple[float, float, float]:
    """Target dose rates (low, high) and surface dose rate [J/cm^2 per s]."""
    low = sum(powers[r.wavelength_nm] * r.target_factor_low for r in responses) / area_cm2
    high = sum(powers[r.wavelength_nm] * r.target_factor_high for r in responses) / area_cm2
    surface = sum(powers.values()) / area_cm2
    if low <= 0:
        raise InputError("no source can be switched on within the skin limit: nothing reaches the target")
    return low, high, surface


def _binding(
    last_lower: str,
    first_upper: str,
    responses: list[WavelengthResponse],
    powers: dict[float, float],
    limits: Limits,
) -> str:
    """Name the limit that makes the duration bounds cross."""
    if "surface" in (last_lower, first_upper):
        return "surface dose"
    if first_upper == "target":  # the window is narrower than the spread of the dose over the uncertainty
        return "uncertainty"
    skin_used = sum(powers[r.wavelength_nm] * r.skin_rise_k_per_w for r in responses)
    skin_allowed = limits.skin_limit_c - limits.skin_start_c
    return "skin temperature" if skin_used >= skin_allowed * (1 - 1e-6) else "machine power"


ADVICE = {
    "uncertainty": "the target depth is too uncertain for the window: measure fat thickness by ultrasound",
    "skin temperature": "the skin limit caps the power: use a larger beam or a contact handpiece, scan "
    "faster, or treat a larger area; a wavelength less absorbed by melanin (longer) heats the skin less",
    "machine power": "the machine's power caps the dose: a longer session or a more powerful machine",
    "surface dose": "the surface dose range and the target window cannot both be met at this depth",
}


def _lengthen(
    powers: dict[float, float], duration: float, shortest: float, responses: list[WavelengthResponse]
) -> tuple[dict[float, float], float]:
    """Scale powers down so that a dose reached too fast is spread over the shortest session.

    Dose and surface dose are unchanged (power x time is kept); the skin only gets cooler.
    """
    if duration >= shortest:
        return powers, duration
    scale = duration / shortest
    minimum = {r.wavelength_nm: r.min_power_w for r in responses}
    if any(0 < p * scale < minimum[w] for w, p in powers.items()):
        return powers, duration  # cannot go lower: keep the short session
    return {w: p * scale for w, p in powers.items()}, shortest


def _outcome(
    feasible: bool,
    responses: list[WavelengthResponse],
    powers: dict[float, float],
    duration: float,
    limits: Limits,
    binding: str,
    advice: str,
) -> OptimiserResult:
    rate_low, rate_high, surface_rate = _rates(responses, powers, limits.area_cm2)
    return OptimiserResult(
        feasible=feasible,
        power_w_by_wavelength=powers,
        duration_s=duration,
        target_dose_range_j_per_cm2=(rate_low * duration, rate_high * duration),
        surface_dose_j_per_cm2=surface_rate * duration,
        skin_rise_k=sum(powers[r.wavelength_nm] * r.skin_rise_k_per_w for r in responses),
        binding=binding,
        advice=advice,
    )
