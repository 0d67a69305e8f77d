"""Errors shared by every layer.

Bad input is rejected with `InputError` before it reaches a kernel or a device (docs/design.md: strict
validation, never silent clamping). The CLI turns it into a one-line message and exit code 2.
"""

import math


class InputError(ValueError):
    """A value given by a user or a file is invalid; the message says what is wrong and what is allowed."""


def missing_extra(extra: str, exc: ModuleNotFoundError) -> InputError:
    """The error for a feature whose optional dependencies are not installed.

    Args:
        extra: the optional-dependency group that provides them, e.g. "clinic".
        exc: the failed import.
    """
    return InputError(
        f"this needs laserdose[{extra}] ({exc.name} is not installed): pip install 'laserdose[{extra}]'"
    )


def require_range(name: str, value: float, low: float, high: float, unit: str = "") -> float:
    """Return `value` if `low <= value <= high`, else raise `InputError` naming the allowed range.

    Args:
        name: the parameter's name as the user knows it.
        value: the value given [unit].
        low: smallest allowed value [unit].
        high: largest allowed value [unit].
        unit: unit shown in the message.
    """
    if not low <= value <= high:  # also rejects NaN
        suffix = f" {unit}" if unit else ""
        raise InputError(f"{name} must be between {low:g} and {high:g}{suffix}, got {value:g}{suffix}")
    return value


def require_finite(name: str, value: object) -> float:
    """Return `value` as a float if it is a finite real number, else raise `InputError`.

    Booleans, strings, NaN and +/-Infinity (which JSON parsers accept) are all refused.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a finite number, got {_short(value)}")
    try:
        number = float(value)  # an int beyond a float's range (JSON allows any digits) overflows
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InputError(f"{name} must be a finite number, got {_short(value)}")
    return number


def _short(value: object, limit: int = 40) -> str:
    """`repr(value)` cut to `limit` characters, so that a 400-digit number makes a one-line message."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python will print
        return f"an integer of more than {limit} digits"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def require_choice(name: str, value: str, allowed: list[str] | tuple[str, ...]) -> str:
    """Return `value` if it is one of `allowed`, else raise `InputError` listing them."""
    if value not in allowed:
        raise InputError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")
    return value
