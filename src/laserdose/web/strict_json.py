"""Strict JSON for request bodies: RFC 8259 numbers, valid Unicode, bounded nesting.

Python's `json` module accepts `NaN` and `Infinity`, turns `1e309` into infinity and an escaped lone
surrogate (backslash-u d800) into a string that no database or encoder accepts later; the app refuses
all of them at the edge.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_INT_DIGITS = 19  # 2**63 has 19 digits: no field of the app takes a wider integer


class JsonRefused(ValueError):
    """The body is not strict JSON; the message says why in a plain sentence."""


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number; send a finite number or null")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {text[:40]} is too large")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS or abs(value := int(text)) >= 2**63:
        raise JsonRefused(f"the integer {text[:40]} is too large (beyond 64 bits)")
    return value


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonRefused("a string holds a lone surrogate (\\ud800-\\udfff): not valid Unicode") from None


def _check_tree(document: Any, max_depth: int) -> None:
    """Walk the parsed document without recursion: depth bound and Unicode of every key and string."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise JsonRefused(f"the JSON is nested deeper than {max_depth} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def parse_strict(body: bytes, max_depth: int) -> Any:
    """Parse `body` as strict JSON and return it, or raise `JsonRefused`.

    Args:
        body: the request body, UTF-8.
        max_depth: the deepest nesting of objects and arrays allowed (1: a flat object).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonRefused("the body is not valid UTF-8") from None
    try:
        document = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except JsonRefused:
        raise
    except RecursionError:
        raise JsonRefused(f"the JSON is nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError and int() of a number too long to convert
        raise JsonRefused(f"the body is not valid JSON ({str(exc).split(':')[0]})") from None
    _check_tree(document, max_depth)
    return document
