"""Choose powers per wavelength and a duration that give the target the reference dose, skin safe.

Transport and the Pennes equation are linear in power, so for a fixed handpiece, scan and patient each
wavelength is summed up by its fluence at the target per unit surface radiant exposure (nominal, and the
least and most favourable over the patient's uncertainty) and its peak skin temperature rise per watt.
The best mix is then a linear programme: maximise the nominal target dose rate subject to the skin
limit and the machine's (and the protocol's irradiance) power limits. The duration follows from the aim:

- equivalent-at-target: the patient's nominal target dose equals the reference dose;
- as-in-source: the skin receives the template's published surface dose.

Every hard limit (the surface dose cap, the longest session, the biphasic cap on the target dose relative
to the reference) shortens the session; none is ever exceeded to reach the aim. The plan is feasible when
the nominal target dose lands within the band around the reference (as-in-source: and the published
surface dose is delivered). Otherwise the outcome names the limit that binds and what would change it; it
never widens the band (docs/design.md, honest dosimetry).
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
        target_factor: the same at the patient's nominal anatomy [-]; the geometric mean of low and high
            when not given.
    """

    wavelength_nm: float
    target_factor_low: float
    target_factor_high: float
    skin_rise_k_per_w: float
    max_power_w: float
    min_power_w: float
    target_factor: float = 0.0

    @property
    def nominal(self) -> float:
        """The nominal target factor [-]."""
        if self.target_factor > 0:
            return self.target_factor
        return math.sqrt(self.target_factor_low * self.target_factor_high)


@dataclass(frozen=True)
class Aim:
    """What the plan aims at.

    Attributes:
        reference_j_per_cm2: the reference dose at the target [J/cm^2].
        band: (low, high) allowed nominal target dose / reference dose [-].
        max_target_ratio: the nominal target dose never exceeds this times the reference [-].
        surface_j_per_cm2: as-in-source: the published surface dose [J/cm^2]; None: equivalent-at-target.
        shares: as-in-source: the published energy share of each wavelength, kept in the mix
            ((wavelength [nm], share [-]), ...); None: the best mix.
    """

    reference_j_per_cm2: float
    band: tuple[float, float]
    max_target_ratio: float
    surface_j_per_cm2: float | None = None
    shares: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True)
class Limits:
    """The hard limits a plan must respect.

    Attributes:
        area_cm2: treatment area [cm^2].
        max_surface_dose_j_per_cm2: highest radiant exposure at the skin [J/cm^2].
        skin_start_c: skin temperature before treatment [C].
        skin_limit_c: highest allowed skin temperature [C].
        max_total_power_w: the machine's largest total output [W].
        duration_range_s: shortest and longest session [s].
        max_irradiance_power_w: the largest total power the protocol's irradiance limit allows with this
            handpiece [W] (None: no such limit).
    """

    area_cm2: float
    max_surface_dose_j_per_cm2: float
    skin_start_c: float
    skin_limit_c: float
    max_total_power_w: float
    duration_range_s: tuple[float, float]
    max_irradiance_power_w: float | None = None


@dataclass(frozen=True)
class OptimiserResult:
    """The optimiser's answer.

    Attributes:
        feasible: True when the nominal target dose is in the band (and, as-in-source, the published
            surface dose is delivered), every limit holding.
        power_w_by_wavelength: chosen average power per wavelength [W].
        duration_s: session duration [s].
        target_dose_j_per_cm2: nominal fluence at the target [J/cm^2].
        target_dose_range_j_per_cm2: fluence at the target over the uncertainty (low, high) [J/cm^2].
        surface_dose_j_per_cm2: radiant exposure at the skin [J/cm^2].
        skin_rise_k: predicted peak skin temperature rise [K].
        equivalence: nominal target dose / reference dose [-].
        binding: the limit that binds ("" when feasible).
        advice: what would change the outcome, for the clinician ("" when feasible).
    """

    feasible: bool
    power_w_by_wavelength: dict[float, float]
    duration_s: float
    target_dose_j_per_cm2: float
    target_dose_range_j_per_cm2: tuple[float, float]
    surface_dose_j_per_cm2: float
    skin_rise_k: float
    equivalence: float
    binding: str
    advice: str

    @property
    def total_energy_j(self) -> float:
        """Energy delivered, the sum of power x time [J]."""
        return sum(self.power_w_by_wavelength.values()) * self.duration_s


# Names of the limits, as plans and the clinic show them.
SURFACE = "surface dose"
SKIN = "skin temperature"
MACHINE = "machine power"
IRRADIANCE = "irradiance"
SESSION = "session time"
BIPHASIC = "biphasic upper bound"
AS_PUBLISHED = "as published"
RELATIVE_SLACK = 1e-9  # limits hold to rounding; the band's ends count as inside


def optimise(responses: list[WavelengthResponse], limits: Limits, aim: Aim) -> OptimiserResult:
    """Best powers and duration for the responses under the limits (see the module docstring)."""
    _check(responses, limits, aim)
    powers, rate_cap = (
        _best_mix(responses, limits) if aim.shares is None else _fixed_mix(responses, limits, aim)
    )
    rate, _, _, surface_rate = _rates(responses, powers, limits.area_cm2)
    if aim.surface_j_per_cm2 is None:
        wanted_s = aim.reference_j_per_cm2 / rate
    else:
        wanted_s = aim.surface_j_per_cm2 / surface_rate
    # Every hard limit is an upper bound on the duration.
    upper = {
        SURFACE: limits.max_surface_dose_j_per_cm2 / surface_rate,
        SESSION: limits.duration_range_s[1],
        BIPHASIC: aim.max_target_ratio * aim.reference_j_per_cm2 / rate,
    }
    first_upper = min(upper, key=upper.__getitem__)
    capped = upper[first_upper] < wanted_s * (1 - RELATIVE_SLACK)
    duration = min(wanted_s, upper[first_upper])
    equivalence = rate * duration / aim.reference_j_per_cm2
    in_band = aim.band[0] * (1 - RELATIVE_SLACK) <= equivalence <= aim.band[1] * (1 + RELATIVE_SLACK)
    published = aim.surface_j_per_cm2 is None or not capped
    binding = ""
    if not (in_band and published):
        binding = (rate_cap if first_upper == SESSION else first_upper) if capped else AS_PUBLISHED
    powers, duration = _lengthen(powers, duration, limits.duration_range_s[0], responses)
    return _outcome(responses, powers, duration, limits, aim, binding)


def _check(responses: list[WavelengthResponse], limits: Limits, aim: Aim) -> None:
    if not responses:
        raise InputError("planning needs at least one wavelength")
    for item in responses:
        if not 0 < item.target_factor_low <= item.target_factor_high:
            raise InputError(f"{item.wavelength_nm:g} nm: target factors must satisfy 0 < low <= high")
        if item.skin_rise_k_per_w < 0 or not 0 <= item.min_power_w <= item.max_power_w:
            raise InputError(f"{item.wavelength_nm:g} nm: skin rise and power limits must be non-negative")
    low_s, high_s = limits.duration_range_s
    if not 0 < low_s < high_s:
        raise InputError(f"duration range must satisfy 0 < low < high, got {low_s:g}-{high_s:g}")
    if not limits.max_surface_dose_j_per_cm2 > 0 or not aim.reference_j_per_cm2 > 0:
        raise InputError("the surface dose cap and the reference dose must be > 0")
    if not 0 < aim.band[0] <= 1.0 <= aim.band[1] <= aim.max_target_ratio:
        raise InputError("the band must satisfy 0 < low <= 1 <= high <= the biphasic ratio")
    if aim.surface_j_per_cm2 is not None and not aim.surface_j_per_cm2 > 0:
        raise InputError("the published surface dose must be > 0")
    if not limits.skin_limit_c > limits.skin_start_c:
        raise InputError("the skin limit must be above the starting skin temperature")


def _best_mix(responses: list[WavelengthResponse], limits: Limits) -> tuple[dict[float, float], str]:
    """Powers maximising the nominal target dose rate under the skin and power limits (an LP).

    Returns the powers and the name of the limit that caps the rate.
    """
    gain = np.array([-r.nominal for r in responses])
    gain = gain / np.abs(gain).max()  # deep targets get ~1e-10 per unit: below the solver's tolerances
    total_w = limits.max_total_power_w
    total_name = MACHINE
    if limits.max_irradiance_power_w is not None and limits.max_irradiance_power_w < total_w:
        total_w, total_name = limits.max_irradiance_power_w, IRRADIANCE
    constraints = np.array([[r.skin_rise_k_per_w for r in responses], [1.0] * len(responses)])
    bounds_upper = [limits.skin_limit_c - limits.skin_start_c, total_w]
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
    mix = {r.wavelength_nm: (float(p) if p >= r.min_power_w else 0.0) for r, p in chosen}
    skin_used = sum(mix[r.wavelength_nm] * r.skin_rise_k_per_w for r in responses)
    if skin_used >= bounds_upper[0] * (1 - 1e-6):
        return mix, SKIN
    if sum(mix.values()) >= total_w * (1 - 1e-6):
        return mix, total_name
    return mix, MACHINE  # every source at its own maximum


def _fixed_mix(
    responses: list[WavelengthResponse], limits: Limits, aim: Aim
) -> tuple[dict[float, float], str]:
    """Powers in the published shares, as high as the skin, machine and each source allow."""
    shares = dict(aim.shares or ())
    if not set(shares) <= {r.wavelength_nm for r in responses}:
        raise InputError("the published wavelengths are not all on this machine")
    total_w, total_name = limits.max_total_power_w, MACHINE
    if limits.max_irradiance_power_w is not None and limits.max_irradiance_power_w < total_w:
        total_w, total_name = limits.max_irradiance_power_w, IRRADIANCE
    skin_per_w = sum(shares.get(r.wavelength_nm, 0.0) * r.skin_rise_k_per_w for r in responses)
    caps = {SKIN: (limits.skin_limit_c - limits.skin_start_c) / max(skin_per_w, 1e-300), total_name: total_w}
    for r in responses:
        if shares.get(r.wavelength_nm, 0.0) > 0:
            caps[f"{MACHINE}:{r.wavelength_nm}"] = r.max_power_w / shares[r.wavelength_nm]
    name = min(caps, key=caps.__getitem__)
    total = caps[name]
    mix = {r.wavelength_nm: shares.get(r.wavelength_nm, 0.0) * total for r in responses}
    if any(0 < mix[r.wavelength_nm] < r.min_power_w for r in responses):
        raise InputError("the published mix needs a source below its smallest settable power")
    return mix, name.split(":")[0]


def _rates(
    responses: list[WavelengthResponse], powers: dict[float, float], area_cm2: float
) -> tuple[float, float, float, float]:
    """Target dose rates (nominal, low, high) and surface dose rate [J/cm^2 per s]."""
    nominal = sum(powers[r.wavelength_nm] * r.nominal for r in responses) / area_cm2
    low = sum(powers[r.wavelength_nm] * r.target_factor_low for r in responses) / area_cm2
    high = sum(powers[r.wavelength_nm] * r.target_factor_high for r in responses) / area_cm2
    surface = sum(powers.values()) / area_cm2
    if nominal <= 0:
        raise InputError("no source can be switched on within the skin limit: nothing reaches the target")
    return nominal, low, high, surface


ADVICE = {
    SKIN: "the skin limit caps the power: use a larger beam or a contact handpiece, scan faster, or treat "
    "a larger area; a wavelength less absorbed by melanin (longer) heats the skin less",
    MACHINE: "the machine's power caps the dose within the longest session: a more powerful machine",
    IRRADIANCE: "the protocol's irradiance limit caps the power: a handpiece with a larger beam",
    SURFACE: "the protocol's highest surface dose caps the session: at this depth the reference needs "
    "more light at the skin than the protocol allows",
    SESSION: "the longest session caps the dose: a longer session or a more powerful machine",
    BIPHASIC: "the biphasic upper bound on the target dose caps the session (too much light may inhibit)",
    AS_PUBLISHED: "the published surface dose gives this patient another target dose than the source's "
    "participants: plan in the equivalent-at-target mode to personalise it",
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
    responses: list[WavelengthResponse],
    powers: dict[float, float],
    duration: float,
    limits: Limits,
    aim: Aim,
    binding: str,
) -> OptimiserResult:
    rate, rate_low, rate_high, surface_rate = _rates(responses, powers, limits.area_cm2)
    return OptimiserResult(
        feasible=not binding,
        power_w_by_wavelength=powers,
        duration_s=duration,
        target_dose_j_per_cm2=rate * duration,
        target_dose_range_j_per_cm2=(rate_low * duration, rate_high * duration),
        surface_dose_j_per_cm2=surface_rate * duration,
        skin_rise_k=sum(powers[r.wavelength_nm] * r.skin_rise_k_per_w for r in responses),
        equivalence=rate * duration / aim.reference_j_per_cm2,
        binding=binding,
        advice=ADVICE.get(binding, ""),
    )
