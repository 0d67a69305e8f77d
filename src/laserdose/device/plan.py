"""The plan as the device layer delivers it: the plan document's delivery, checked against the machine.

`laserdose treat --plan` and the treatment console read a plan document (domain/plan.py) and deliver
its `delivery`. A plan outside the machine's limits is refused, never clamped; the machine's own
SET_PARAMS check (the simulator's firmware side) uses the same `machine_limit_problem`, so a host bug
cannot slip past the machine either.
"""

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from laserdose.device.ledger import ENERGY_TOLERANCE
from laserdose.domain.plan import Delivery, read_delivery
from laserdose.domain.wavelengths import wavelength_key, wavelength_nm
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile, machine_limit_problem


def read_plan_file(path: str | Path) -> Delivery:
    """The delivery of the plan document in `path` (a version 1 plan file is read too)."""
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
    return read_delivery(data)


def plan_delivery(data: Any, profile: DeviceProfile) -> Delivery:
    """The delivery of plan JSON `data`, checked against `profile`."""
    return check_delivery(read_delivery(data), profile)


def check_delivery(delivery: Delivery, profile: DeviceProfile) -> Delivery:
    """`delivery` when `profile`'s machine can give it; InputError saying why not otherwise."""
    if delivery.device != profile.name:
        raise InputError(f"plan is for device {delivery.device!r}, not {profile.name!r}")
    problem = machine_limit_problem(
        profile, delivery.power_w_by_wavelength, delivery.mode, delivery.frequency_hz, delivery.duty_cycle,
        delivery.handpiece,
    )  # fmt: skip
    if problem:
        raise InputError(f"plan outside the machine's limits: {problem}")
    return delivery


def set_params(delivery: Delivery, energy_limit_j: dict[float, float] | None = None) -> dict[str, Any]:
    """The SET_PARAMS payload for `delivery` (energy limits default to the planned energies)."""
    limits = energy_limit_j or delivery.energy_j_by_wavelength
    return {
        "power_w": {wavelength_key(wl): p for wl, p in delivery.power_w_by_wavelength.items()},
        "mode": delivery.mode,
        "frequency_hz": delivery.frequency_hz,
        "duty_cycle": delivery.duty_cycle,
        "handpiece": delivery.handpiece,
        "energy_limit_j": {wavelength_key(wl): e for wl, e in limits.items()},
    }


def remainder_delivery(delivery: Delivery, delivered_j: Mapping[str, float]) -> Delivery:
    """What is left of `delivery` once `delivered_j` has been given: the rest of the same dose.

    Each wavelength gets at most its planned energy minus what was delivered (never more: the machine's
    energy limits are these remainders). The pulse settings and handpiece stay; the time is the longest
    any source needs at its planned power, and a source that needs less runs at a lower power for that
    time, so energy = power x time x duty holds per wavelength. A wavelength already within the
    controller's energy tolerance of its plan is left out.

    Args:
        delivery: the plan that was interrupted.
        delivered_j: energy delivered per wavelength {"810": J}, one finite, non-negative value per planned
            wavelength (from a trustworthy session record).

    Raises:
        InputError: a delivered energy is missing, extra, negative or not finite, or nothing remains.
    """
    planned = {wavelength_key(wl): e for wl, e in delivery.energy_j_by_wavelength.items()}
    if set(delivered_j) != set(planned):
        raise InputError(
            f"the delivered energy names wavelengths {sorted(delivered_j)}, the plan {sorted(planned)}"
        )
    remaining: dict[str, float] = {}
    for key in planned:  # in the plan's order of wavelengths
        energy_j = delivered_j[key]
        if not (isinstance(energy_j, int | float) and math.isfinite(energy_j) and energy_j >= 0.0):
            raise InputError(f"the delivered energy at {key} nm is not a plausible reading ({energy_j!r})")
        left_j = planned[key] - float(energy_j)
        if left_j > planned[key] * ENERGY_TOLERANCE:
            remaining[key] = left_j
    if not remaining:
        raise InputError("nothing remains to deliver: every wavelength reached its planned energy")
    powers = {wavelength_key(wl): p for wl, p in delivery.power_w_by_wavelength.items()}
    duty = delivery.duty_cycle
    duration_s = max(left_j / (powers[key] * duty) for key, left_j in remaining.items())
    new_powers = {
        key: min(powers[key], _power_within(left_j, duration_s, duty)) for key, left_j in remaining.items()
    }
    return Delivery.model_validate(
        delivery.model_dump()
        | {
            "power_w_by_wavelength": {wavelength_nm(key): p for key, p in new_powers.items()},
            "duration_s": duration_s,
            "total_energy_j": sum(p * duration_s * duty for p in new_powers.values()),
        }
    )


def _power_within(energy_j: float, duration_s: float, duty: float) -> float:
    """The largest power whose energy over `duration_s` at `duty` is not above `energy_j` [W]."""
    power_w = energy_j / (duration_s * duty)
    while power_w * duration_s * duty > energy_j:  # a rounding of the last bit, never more
        power_w = math.nextafter(power_w, 0.0)
    return power_w
