"""Treatment plans as the device layer receives them (the plan JSON), checked strictly against a profile.

A plan outside the machine's limits is refused, never clamped. The same checks guard the firmware side
(simulator) when it receives SET_PARAMS, so a host bug cannot slip past the machine either.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from laserdose.errors import InputError, require_finite
from laserdose.machines.profile import DeviceProfile

TREAT_DECISIONS = ("treat", "treat-with-precautions")
MAX_DURATION_S = 3600.0  # one session; longer plans are not therapy sessions we drive
ENERGY_CONSISTENCY = 0.01  # total_energy_j must match power x duration x duty within 1 %


@dataclass(frozen=True)
class DeliveryPlan:
    """What the controller must deliver.

    Attributes:
        device: the profile name the plan was made for.
        power_w: peak power per wavelength [W], keys are wavelengths [nm].
        mode: "cw" or "pulsed".
        frequency_hz: pulse repetition frequency [Hz] (0 for cw).
        duty_cycle: fraction of each period with emission [-] (1 for cw).
        handpiece: handpiece name.
        duration_s: emission time [s].
        energy_j: planned energy per wavelength = power x duration x duty [J].
        max_power_w: the machine's largest power per planned wavelength [W] (bounds unmeasured energy).
    """

    device: str
    power_w: dict[float, float]
    mode: str
    frequency_hz: float
    duty_cycle: float
    handpiece: str
    duration_s: float
    energy_j: dict[float, float]
    max_power_w: dict[float, float]

    @property
    def total_energy_j(self) -> float:
        """Planned energy over all wavelengths [J]."""
        return sum(self.energy_j.values())

    def set_params(self, energy_limit_j: dict[float, float] | None = None) -> dict[str, Any]:
        """The SET_PARAMS payload for this plan (energy limits default to the planned energies)."""
        limits = energy_limit_j or self.energy_j
        return {
            "power_w": {f"{wl:g}": p for wl, p in self.power_w.items()},
            "mode": self.mode,
            "frequency_hz": self.frequency_hz,
            "duty_cycle": self.duty_cycle,
            "handpiece": self.handpiece,
            "energy_limit_j": {f"{wl:g}": e for wl, e in limits.items()},
        }


def read_plan(path: str | Path) -> dict[str, Any]:
    """Read plan.json: a JSON object naming its device; `parse_plan` validates the rest."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read plan {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"plan {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"plan {path} is not UTF-8 text (byte {exc.start})") from None
    except (ValueError, RecursionError) as exc:  # too deeply nested, or an integer of > 4300 digits
        raise InputError(f"plan {path} is not a plan: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("device"), str):
        raise InputError("plan must be a JSON object with a device name")
    return data


def parse_plan(data: Any, profile: DeviceProfile) -> DeliveryPlan:
    """Validate a plan JSON object against `profile`."""
    if not isinstance(data, dict):
        raise InputError("plan must be a JSON object")
    decision = _field(data, "decision")
    if decision not in TREAT_DECISIONS:
        raise InputError(
            f"plan decision is {decision!r}; only {' or '.join(TREAT_DECISIONS)} may be delivered"
        )
    if _field(data, "device") != profile.name:
        raise InputError(f"plan is for device {data['device']!r}, not {profile.name!r}")
    raw_powers = _field(data, "power_w_by_wavelength")
    if not isinstance(raw_powers, dict) or not raw_powers:
        raise InputError("plan power_w_by_wavelength must be a non-empty object of wavelength: watts")
    powers = {_wavelength(key): _number(f"power at {key} nm", value) for key, value in raw_powers.items()}
    if len(powers) != len(raw_powers):
        raise InputError("plan power_w_by_wavelength names one wavelength twice")
    mode = _field(data, "mode")
    frequency, duty = _mode(data, mode)
    duration = _number("duration_s", _field(data, "duration_s"))
    if not 0.0 < duration <= MAX_DURATION_S:
        raise InputError(f"plan duration_s must be > 0 and <= {MAX_DURATION_S:g}, got {duration:g}")
    params = {"power_w": powers, "mode": mode, "frequency_hz": frequency, "duty_cycle": duty}
    if not isinstance(_field(data, "handpiece"), str):
        raise InputError("plan handpiece must be a handpiece name")
    problem = params_problem(profile, params, data["handpiece"])
    if problem:
        raise InputError(f"plan outside the machine's limits: {problem}")
    energy = {wl: p * duration * duty for wl, p in powers.items()}
    total = _number("total_energy_j", _field(data, "total_energy_j"))
    expected = sum(energy.values())
    if abs(total - expected) > ENERGY_CONSISTENCY * expected:
        raise InputError(
            f"plan total_energy_j {total:g} J disagrees with power x duration x duty = {expected:g} J"
        )
    limits = {wl: profile.source(wl).max_power_w for wl in powers}
    return DeliveryPlan(
        profile.name, powers, mode, frequency, duty, data["handpiece"], duration, energy, limits
    )


def params_problem(profile: DeviceProfile, params: dict[str, Any], handpiece: Any) -> str | None:
    """What makes `params` unsafe for `profile`, or None. Powers are peak powers per wavelength [W]."""
    powers = params["power_w"]
    for wavelength, power in powers.items():
        if wavelength not in profile.wavelengths_nm:
            return f"no {wavelength:g} nm source (have {', '.join(f'{w:g}' for w in profile.wavelengths_nm)})"
        source = profile.source(wavelength)
        if power != 0.0 and not source.min_power_w <= power <= source.max_power_w:  # 0 = source off
            return (
                f"{wavelength:g} nm power {power:g} W outside {source.min_power_w:g}-{source.max_power_w:g} W"
            )
    if sum(powers.values()) > profile.max_total_power_w:
        return f"total power {sum(powers.values()):g} W above the machine's {profile.max_total_power_w:g} W"
    if sum(powers.values()) <= 0.0:
        return "all powers are zero"
    mode, frequency, duty = params["mode"], params["frequency_hz"], params["duty_cycle"]
    if mode == "cw":
        if not profile.cw:
            return "the machine has no cw mode"
        if frequency != 0.0 or duty != 1.0:
            return "cw needs frequency_hz 0 and duty_cycle 1"
    elif mode == "pulsed":
        if profile.pulsed is None:
            return "the machine has no pulsed mode"
        (f_low, f_high), (d_low, d_high) = profile.pulsed.frequency_hz, profile.pulsed.duty_cycle
        if not f_low <= frequency <= f_high:
            return f"frequency {frequency:g} Hz outside {f_low:g}-{f_high:g} Hz"
        if not d_low <= duty <= d_high:
            return f"duty cycle {duty:g} outside {d_low:g}-{d_high:g}"
    else:
        return f"mode {mode!r} is neither cw nor pulsed"
    if handpiece not in [h.name for h in profile.handpieces]:
        return f"no handpiece {handpiece!r} (have {', '.join(h.name for h in profile.handpieces)})"
    return None


def _mode(data: dict[str, Any], mode: Any) -> tuple[float, float]:
    if mode == "cw":
        for key, neutral in (("frequency_hz", 0.0), ("duty_cycle", 1.0)):
            value = data.get(key)
            if value is not None and value != neutral:
                raise InputError(f"plan mode cw must not set {key} (got {value!r})")
        return 0.0, 1.0
    if mode == "pulsed":
        return _number("frequency_hz", _field(data, "frequency_hz")), _number(
            "duty_cycle", _field(data, "duty_cycle")
        )
    raise InputError(f"plan mode must be cw or pulsed, got {str(mode)[:40]!r}")


def _field(data: dict[str, Any], key: str) -> Any:
    if key not in data:
        raise InputError(f"plan lacks field {key}")
    return data[key]


def _number(name: str, value: Any) -> float:
    return require_finite(f"plan {name}", value)


def _wavelength(key: Any) -> float:
    try:
        value = float(key)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"plan wavelength {str(key)[:20]!r} is not a number of nm")
    return value
