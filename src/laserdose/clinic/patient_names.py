"""A patient's name in two parts: given and family, and the full name shown everywhere else.

A name typed as one text is split the way the clinic writes names: "Family, Given" when it holds a comma,
else the last word is the family name ("Anna Maria Berg": given "Anna Maria", family "Berg"). The full
name is always "given family", so a chart, a report and the list agree.
"""

from __future__ import annotations

from laserdose.errors import InputError

MAX_NAME_CHARS = 200


def split_name(name: str) -> tuple[str, str]:
    """Return (given, family) of a full name: "Family, Given", or the last word as the family name.

    Args:
        name: the name as typed.
    """
    name = " ".join(name.split())
    if "," in name:
        family, _, given = name.partition(",")
        return " ".join(given.split()), family.strip()
    given, _, family = name.rpartition(" ")
    return given, family


def join_name(given: str, family: str) -> str:
    """The full name shown: "given family" (just the family name when there is no given name)."""
    return " ".join(f"{given} {family}".split())


def check_name_part(label: str, value: str, required: bool) -> str:
    """Return `value` stripped, or raise `InputError` naming the field in a sentence.

    Args:
        label: the field as users read it, e.g. "Family name".
        value: what was typed.
        required: whether it may be empty.
    """
    value = " ".join(value.split())
    if required and not value:
        raise InputError(f"{label} is required.")
    if len(value) > MAX_NAME_CHARS:
        raise InputError(f"{label} can have at most {MAX_NAME_CHARS} characters; it has {len(value)}.")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise InputError(f"{label} must not contain control characters.")
    return value
