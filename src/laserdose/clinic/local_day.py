"""The clinic's calendar day: which local date a moment falls on, in the clinic's time zone.

The zone is the IANA name in `LASERDOSE_CLINIC_TIMEZONE` (for example "Europe/Berlin"); unset, it is UTC.
Everything is stored in UTC; only "the same day" questions are asked in the clinic's zone.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from laserdose.errors import InputError

ZONE_VARIABLE = "LASERDOSE_CLINIC_TIMEZONE"


def clinic_zone() -> ZoneInfo:
    """The clinic's time zone from `LASERDOSE_CLINIC_TIMEZONE` (UTC when unset); InputError if unknown."""
    name = os.environ.get(ZONE_VARIABLE, "").strip() or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{ZONE_VARIABLE}={name!r} is not a time zone name (e.g. Europe/Berlin)") from None


def local_date(moment: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The calendar date of an aware `moment` in `zone`."""
    return moment.astimezone(zone).date()
