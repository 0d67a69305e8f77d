"""Plain words for people: validation errors, error pages and the screening table's source marks.

Pydantic's own messages ("Input should be a valid date or datetime, input is too short") and the markers
the rule table keeps for its authors ("[U urgency]", "[NICECKS] [S]") never reach a clinician: each is
turned here into a sentence about the field the person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# What a status means for the person who sees the page, when nothing more precise is known.
STATUS_TITLES = {
    400: "The request could not be read",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    413: "Too large",
    422: "Please check what was entered",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Busy, try again",
}
NOT_FOUND = (
    "There is no page at this address. Check it for a typing mistake, or start again from the patients."
)
SERVER_ERROR = (
    "Something went wrong on the server; the error has been logged. Try again, and tell your "
    "administrator if it happens again."
)
_SOURCE = re.compile(r"\[([A-Za-z0-9_.-]+)\] \[([SU])\]")


def sentence(message: str) -> str:
    """`message` with a capital first letter and a full stop (a service's "no patient with id 5")."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else f"{message}."


def method_not_allowed(method: str) -> str:
    """The 405 sentence for `method`."""
    return f"This address cannot be used with {method}; use the app's own links and buttons."


def label_of(field: str, labels: Mapping[str, str] | None = None) -> str:
    """The field as people read it: from `labels`, else its name with spaces ("birth_date": "Birth date")."""
    if labels and field in labels:
        return labels[field]
    text = field.replace("_", " ").strip() or "This field"
    return text[0].upper() + text[1:]


def describe(error: Mapping[str, Any], label: str) -> str:
    """One pydantic error as a sentence that names the field (`label`) and says what to type."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return f"{label} is required."
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"{label}: type a date as YYYY-MM-DD (for example 1970-05-17), or pick one from the calendar."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{label} must be a whole number."
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{label} must be a number."
    if kind == "bool_parsing":
        return f"{label} must be ticked or left empty."
    if kind == "string_too_short":
        return f"{label} is required." if context.get("min_length") == 1 else (
            f"{label} needs at least {context.get('min_length')} characters."
        )  # fmt: skip
    if kind == "string_too_long":
        typed = f"; it has {len(given)}" if isinstance(given, str) else ""
        return f"{label} can have at most {context.get('max_length')} characters{typed}."
    if kind == "string_pattern_mismatch":
        return f"{label} must not contain control characters (such as tabs or line breaks)."
    if kind in ("greater_than_equal", "greater_than"):
        return f"{label} must be at least {context.get('ge', context.get('gt'))}."
    if kind in ("less_than_equal", "less_than"):
        return f"{label} must be at most {context.get('le', context.get('lt'))}."
    if kind in ("literal_error", "enum"):
        return f"{label} must be one of {context.get('expected', 'the listed choices')}."
    if kind == "extra_forbidden":
        return f"{label} is not a field of this form; it was not saved."
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "domain_range":  # the domain's sentence, which already names the quantity and its range
        return sentence(message)
    return f"{label}: {message[:1].lower()}{message[1:]}" if message else f"{label} is not valid."


def field_messages(errors: list[Any], labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map each invalid field's name to its first error as a sentence ("form" for whole-form errors)."""
    found: dict[str, str] = {}
    for error in errors:
        location = [part for part in error.get("loc", ()) if part not in ("body", "query", "path", "form")]
        field = str(location[0]) if location else "form"
        if field == "form":
            text = sentence(str(error.get("msg", "")).removeprefix("Value error, "))
        else:
            text = describe(error, label_of(field, labels))
        found.setdefault(field, text)
    return found


def plain_sources(label: str) -> str:
    """A rule's sources in words: "[NICECKS] [S]" is "NICECKS (read in the source)", [U] "not verified"."""
    parts = [
        f"{key} ({'read in the source' if mark == 'S' else 'not verified'})"
        for key, mark in _SOURCE.findall(label)
    ]
    return "; ".join(parts) if parts else label


def plain_text(text: str) -> str:
    """A rule's text without the authors' marks ("[U urgency]", "[U]"), said in words instead."""
    text = text.replace("[U urgency]", "(urgency: laserdose's judgement; no source sets it)")
    text = re.sub(r"\s*\[U\]", " (laserdose's judgement)", text)
    return re.sub(r"\s*\[S\]", "", text)
