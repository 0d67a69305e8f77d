"""The plan as the device layer delivers it: the plan document's delivery, checked against the machine.

`laserdose treat --plan` and the treatment console read a plan document (domain/plan.py) and deliver
its `delivery`. A plan outside the machine's limits is refused, never clamped; the machine's own
SET_PARAMS check (the simulator's firmware side) uses the same `machine_limit_problem`, so a host bug
cannot slip past the machine either.
"""

import json
from pathlib import Path
from typing import Any

from laserdose.domain.plan import Delivery, read_delivery
from laserdose.domain.wavelengths import wavelength_key
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
