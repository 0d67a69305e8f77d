"""Wavelength keys: one form for a wavelength used as a key, in Python, JSON and the database.

In Python a wavelength key is the whole number of nanometres (`int`, e.g. 810); in JSON objects and in
database JSON columns it is that number's decimal string ("810"). Every map keyed by wavelength (powers,
energies, energy limits, hazard distances) goes through `wavelength_key` or `wavelength_nm` below, so that
810, 810.0 and "810" are the same key everywhere.
"""

from __future__ import annotations

import math

from laserdose.errors import InputError


def wavelength_nm(key: object) -> int:
    """The wavelength [nm] of a key given as an int, a whole float or a decimal string ("810", "810.0").

    Args:
        key: the wavelength or its key.

    Raises:
        InputError: the key is not a whole, positive number of nanometres.
    """
    value: float
    if isinstance(key, bool):
        raise InputError(f"a wavelength key must be a whole number of nm, got {key!r}")
    if isinstance(key, str):
        try:
            value = float(key.strip())
        except ValueError:
            raise InputError(f"a wavelength key must be a whole number of nm, got {key!r}") from None
    elif isinstance(key, int | float):
        value = float(key)
    else:
        raise InputError(f"a wavelength key must be a whole number of nm, got {key!r}")
    if not math.isfinite(value) or value <= 0 or value != int(value):
        raise InputError(f"a wavelength key must be a whole number of nm, got {key!r}")
    return int(value)


def wavelength_key(wavelength: object) -> str:
    """The JSON and database key of a wavelength: its whole number of nm as a string, e.g. "810".

    Args:
        wavelength: the wavelength [nm] as an int, a whole float or a key string.
    """
    return str(wavelength_nm(wavelength))
