"""The safety monitor: pure checks that say why a delivery must stop, and what a measurement means.

Nothing here talks to the machine or changes a state: each function takes what was measured or reported
and returns fault reasons ("" or an empty list when all is well) or the state-table events the
controller is to fire. The controller acts on them.
"""

import math
from typing import Any

from laserdose.device.ledger import EnergyLedger
from laserdose.device.states import EMISSION_STATES

# Measured vs set power: a fault beyond 20 %. 21 CFR 1040.11(a) requires the *indicated* output to be
# accurate within +/-20 %; using that same 20 % as the control fault threshold is our choice
# (IEC 60601-2-22 [U]), not a requirement of the regulation.
POWER_TOLERANCE = 0.20
RAMP_ALLOWANCE_S = 0.5  # power is compared with the set value once a source has emitted this long [U]
MAX_PAUSE_S = 120.0  # a pause (or a wait for the footswitch) longer than this ends the session [U]
DEVICE_FAULT_EVENTS = ("trip", "watchdog")
NOISE_FLOOR_W = 0.05  # monitor power above this while the device reports no emission is a fault [U]
INTEGRAL_TOLERANCE = 0.05  # host integral vs device counter (and vs plan), fraction of the plan [U]
MAX_WATCHDOG_S = 2.0  # a machine whose watchdog waits longer than this is refused before arming [U]

Step = tuple[str, str]  # (state-table event, reason); the event "fault" aborts, "stop" is an operator stop


def device_event_problem(payload: dict[str, Any]) -> str:
    """Why a device EVENT ends the delivery (a trip or the machine's watchdog), or ""."""
    if payload["kind"] in DEVICE_FAULT_EVENTS:
        return f"device {payload['kind']}: {payload['detail']}"
    return ""


def cross_check(ledger: EnergyLedger, sample: dict[str, Any], max_emission_s: float) -> str:
    """Why the sample shows light we did not plan or cannot account for, or ""."""
    for key, planned in ledger.planned.items():
        power = float(sample["power_w"].get(key, 0.0))
        integral, counter = ledger.integral[key], ledger.delivered[key]
        if not sample["emitting"].get(key) and power > NOISE_FLOOR_W:
            return f"{key} nm measured {power:.3g} W while the device reports no emission"
        if integral > planned * (1 + INTEGRAL_TOLERANCE):
            return f"{key} nm host integral {integral:.4g} J above plan {planned:.4g} J"
        if abs(integral - counter) > INTEGRAL_TOLERANCE * planned:
            return f"{key} nm host integral {integral:.4g} J vs device counter {counter:.4g} J"
        if ledger.emitting_s[key] > max_emission_s:
            return f"{key} nm emitted {ledger.emitting_s[key]:.3g} s, limit {max_emission_s:.3g} s"
    return ""


def power_problem(sample: dict[str, Any], set_w: dict[str, float]) -> str:
    """Why a settled source's measured power is more than 20 % off its set power, or ""."""
    for key, value in sample["emitting"].items():
        set_power = set_w.get(key, 0.0)
        if value and (set_power <= 0.0 or float(sample["on_s"].get(key, 0.0)) >= RAMP_ALLOWANCE_S):
            measured = float(sample["power_w"].get(key, 0.0))
            if set_power <= 0.0 or abs(measured - set_power) > POWER_TOLERANCE * set_power:
                return f"{key} nm measured {measured:.3g} W vs set {set_power:.3g} W (> 20 % off)"
    return ""


def follow(
    state: str,
    sample: dict[str, Any],
    ledger: EnergyLedger,
    set_w: dict[str, float],
    paused_at_s: float,
    armed_at_s: float,
) -> list[Step]:
    """The table events that map the device's behaviour in `sample`, in order; anything unexpected faults.

    Args:
        state: the controller's state (not terminal).
        sample: the measurement just accounted in `ledger`.
        ledger: the energy so far.
        set_w: set power per wavelength [W].
        paused_at_s: device time the footswitch was last released [s].
        armed_at_s: device time the machine was armed [s].
    """
    emitting = any(bool(v) for v in sample["emitting"].values())
    device_state = sample["state"]
    t_s = float(sample["t_s"])
    over = ledger.over_plan()
    if over:
        return [("fault", f"delivered energy above plan at {', '.join(over)} nm")]
    if emitting and device_state != "emitting":
        return [("fault", f"device emits while reporting state {device_state}")]
    if emitting:
        # Emission we did not arm for is illegal in the table: firing it disarms.
        steps: list[Step] = [] if state in EMISSION_STATES else [("emission_started", "")]
        problem = power_problem(sample, set_w)
        if problem:
            return [*steps, ("fault", problem)]
        if ledger.fully_delivered():
            steps.append(("dose_reached", "planned energy delivered"))
        return steps
    if ledger.dose_reached() and state in ("emitting", "paused"):
        return [("dose_reached", "planned energy delivered")]
    if device_state != "ready":
        return [("fault", f"device left READY unexpectedly (now {device_state})")]
    if state == "emitting":
        return [("footswitch_released", "footswitch released")]
    if state == "paused" and t_s - paused_at_s > MAX_PAUSE_S:
        return [("stop", f"paused longer than {MAX_PAUSE_S:g} s")]
    if state == "ready" and t_s - armed_at_s > MAX_PAUSE_S:
        return [("stop", f"footswitch not pressed within {MAX_PAUSE_S:g} s of arming")]
    return []


def watchdog_problem(identity: dict[str, Any], allow_time_scale: bool) -> str:
    """Why a machine without a watchdog, or with one slower than MAX_WATCHDOG_S wall-clock, is refused.

    HELLO reports watchdog_s in device time; a time-scaled simulator also reports time_scale (device
    seconds per wall-clock second, 1 on a real machine). A machine may not loosen the bound by claiming
    a time scale: only a host told that it drives a simulator accepts one other than 1.
    """
    watchdog, scale = identity.get("watchdog_s"), identity.get("time_scale", 1.0)
    if scale != 1.0 and not allow_time_scale:
        return f"machine reports time_scale={scale!r}: a simulator; drive it with --simulator"
    numbers = all(
        not isinstance(v, bool) and isinstance(v, (int, float)) and 0 < v < 1e9 for v in (watchdog, scale)
    )  # a plain comparison: math.isfinite would overflow on an integer of 400 digits
    if not numbers or watchdog / scale > MAX_WATCHDOG_S:
        return (
            f"machine reports no working watchdog (watchdog_s={watchdog!r}, time_scale={scale!r}; "
            f"allowed 0 < watchdog_s / time_scale <= {MAX_WATCHDOG_S:g} s)"
        )
    return ""


def read_back_mismatch(sent: dict[str, Any], held: dict[str, Any]) -> str:
    """The first field where the device's copy differs from what was sent, or ""."""
    for key, value in sent.items():
        other = held.get(key)
        if isinstance(value, dict):
            if not isinstance(other, dict) or set(value) != set(other):
                return key
            if any(not _same(value[k], other[k]) for k in value):
                return key
        elif not _same(value, other):
            return key
    return ""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12)
        )
    return bool(a == b)
