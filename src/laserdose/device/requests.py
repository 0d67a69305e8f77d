"""Checks of message payloads: every field's type and range before anything uses it.

The firmware checks host requests (`check_request`); the host checks the machine's measurements
(`check_measurement`), so that neither side can be crashed or misled by a number it cannot hold.


A frame that passes the CRC may still carry anything JSON can: integers of 400 digits, NaN, booleans
where numbers belong, lists where names belong. `check_request` refuses all of these with a one-line
reason (the machine answers NAK) and hands SET_PARAMS back in one normalised form, so that the
handlers in machine_io.py only ever see finite floats, short strings and unique wavelength keys.
"""

import math
from typing import Any

from laserdose.device.protocol import Msg, ProtocolError
from laserdose.domain.wavelengths import wavelength_key as domain_wavelength_key
from laserdose.errors import InputError

CONTROL_ACTIONS = (
    "footswitch-press",
    "footswitch-release",
    "key-on",
    "key-off",
    "interlock-open",
    "interlock-close",
    "estop-press",
    "estop-release",
    "handpiece-remove",
    "handpiece-attach",
    "power-restore",
)
MAX_TEXT = 200  # characters of a reason, operator or name (STOP reasons are cut to this by the host)
MAX_VERSIONS = 16  # protocol versions one HELLO may offer
MAX_SOURCES = 8  # wavelengths one SET_PARAMS may name
MAX_SESSION_ID = 64  # characters of the host's session identifier
SANITY_LIMIT = 1e6  # no field of SET_PARAMS is this large; machine_limit_problem checks the real ranges


def check_request(msg: Msg, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload of host request `msg` with every field checked; ProtocolError names the first bad one.

    Args:
        msg: the request type (a host request, not EVENT, MEASUREMENT, ACK or NAK).
        payload: the decoded JSON object (its required keys are present: the parser checked them).

    Returns:
        The payload; for SET_PARAMS a normalised copy (floats, wavelength keys spelt "810").
    """
    if msg is Msg.HELLO:
        versions = payload["versions"]
        if not isinstance(versions, list) or not 0 < len(versions) <= MAX_VERSIONS:
            raise ProtocolError(f"versions must be a list of 1-{MAX_VERSIONS} integers")
        if any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**16 for v in versions):
            raise ProtocolError("versions must be integers 0-65535")
    elif msg is Msg.STOP:
        _text("reason", payload["reason"], allow_empty=True)
    elif msg is Msg.RESET:
        _text("operator", payload["operator"])
    elif msg is Msg.CONTROL:
        if payload["action"] not in CONTROL_ACTIONS or not isinstance(payload["action"], str):
            raise ProtocolError(f"unknown action {_short(payload['action'])}")
    elif msg is Msg.SET_PARAMS:
        return check_set_params(payload)
    return payload


def check_set_params(payload: dict[str, Any]) -> dict[str, Any]:
    """SET_PARAMS with finite floats, unique wavelength keys and short names; ProtocolError otherwise."""
    powers = _per_wavelength("power_w", payload["power_w"])
    limits = _per_wavelength("energy_limit_j", payload["energy_limit_j"])
    if set(limits) != set(powers):
        raise ProtocolError("energy_limit_j must name the same wavelengths as power_w")
    if any(v < 0 for v in limits.values()):
        raise ProtocolError("energy limits must be >= 0")
    checked = {
        "power_w": powers,
        "mode": _text("mode", payload["mode"]),
        "frequency_hz": _number("frequency_hz", payload["frequency_hz"]),
        "duty_cycle": _number("duty_cycle", payload["duty_cycle"]),
        "handpiece": _text("handpiece", payload["handpiece"]),
        "energy_limit_j": limits,
    }
    if "session_id" in payload:  # optional: lets a host match the counters to its record after a crash
        session_id = payload["session_id"]
        if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_SESSION_ID:
            raise ProtocolError(f"session_id must be a string of 1-{MAX_SESSION_ID} characters")
        checked["session_id"] = session_id
    return checked


def check_measurement(sample: dict[str, Any]) -> None:
    """Raise ProtocolError unless a MEASURE answer holds finite numbers and flags where it should.

    Args:
        sample: the ACK data of MEASURE: t_s, state, power_w, energy_j, emitting, on_s, temperature_c.
    """
    _number("t_s", sample["t_s"], largest=1e9)
    _number("temperature_c", sample["temperature_c"])
    if not isinstance(sample["state"], str):
        raise ProtocolError("state must be a string")
    for name in ("power_w", "energy_j", "on_s"):
        values = sample[name]
        if not isinstance(values, dict):
            raise ProtocolError(f"{name} must be an object")
        for key, value in values.items():
            _number(f"{name} at {_short(key)} nm", value)
    if not isinstance(sample["emitting"], dict) or not all(
        isinstance(v, bool) for v in sample["emitting"].values()
    ):
        raise ProtocolError("emitting must be an object of true/false")


def _per_wavelength(name: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_SOURCES:
        raise ProtocolError(f"{name} must be an object of 1-{MAX_SOURCES} wavelength: number pairs")
    result = {wavelength_key(k): _number(f"{name} at {_short(k)} nm", v) for k, v in value.items()}
    if len(result) != len(value):
        raise ProtocolError(f"{name} names one wavelength twice")
    return result


def wavelength_key(wavelength: Any) -> str:
    """A wavelength key in one spelling ("810"), whatever the host wrote ("810.0"): domain/wavelengths.py."""
    try:
        return domain_wavelength_key(wavelength)
    except (InputError, OverflowError):
        raise ProtocolError(
            f"wavelength {_short(wavelength)} is not a whole, positive number of nm"
        ) from None


def _number(name: str, value: Any, largest: float = SANITY_LIMIT) -> float:
    """A finite number no larger than `largest` in size (booleans, strings, NaN, Infinity refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"{name} must be a number, got {_short(value)}")
    if isinstance(value, int) and abs(value) > largest:  # before float(): 10**400 overflows
        raise ProtocolError(f"{name} {_short(value)} is above the largest allowed {largest:g}")
    if not math.isfinite(value) or abs(value) > largest:
        raise ProtocolError(f"{name} must be finite and at most {largest:g}, got {_short(value)}")
    return float(value)


def _text(name: str, value: Any, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or (not value and not allow_empty):
        raise ProtocolError(f"{name} must be a string of {0 if allow_empty else 1}-{MAX_TEXT} characters")
    return value


def _short(value: Any, limit: int = 30) -> str:
    """A repr of `value` short enough for a NAK reason (a 400-digit integer is cut)."""
    try:
        text = repr(value)
    except ValueError:  # more digits than Python prints
        return "an integer too long to print"
    return text if len(text) <= limit else text[: limit - 3] + "..."
