"""The date rules of clinic records: one home for what a date on a patient's record may be.

Every input site (the API, the web forms, the CLI, the services they call) checks a record's date here,
so that the same date is refused everywhere with the same sentence:

- a birth date lies between 1900-01-01 and today (`quantities.check_birth_date`);
- an assessment, a screening or a session is not in the future: a date is at most today, a session's
  start at most `CLOCK_ALLOWANCE` after now;
- none lies before the patient's birth date;
- an outcome or a session on a course is not dated before the day the course was created.

Dates are compared as calendar days in the clinic's (the server's) time zone: a stored UTC time is turned
into the local day with `local_day`, the same day `datetime.date.today()` gives. A session's start keeps
its time of day for the future rule only.
"""

from __future__ import annotations

import datetime as dt

from laserdose.domain.quantities import check_birth_date
from laserdose.errors import InputError

# A treatment machine's clock may run a little ahead of the server's; a session that starts more than
# this after now has not happened yet [U]: ten minutes covers a machine whose clock is not synchronised
# for months (typical quartz drift, seconds a day) and is still far below any real visit's length.
CLOCK_ALLOWANCE = dt.timedelta(minutes=10)

__all__ = ["CLOCK_ALLOWANCE", "check_birth_date", "check_record_date", "check_record_time", "local_day"]


def local_day(moment: dt.datetime) -> dt.date:
    """The calendar day of an aware `moment` in the server's time zone."""
    if moment.tzinfo is None:
        raise InputError("a time needs a time zone")
    return moment.astimezone().date()


def check_record_date(
    label: str,
    value: dt.date,
    *,
    today: dt.date,
    birth_date: dt.date,
    course_created_on: dt.date | None = None,
) -> dt.date:
    """Return `value` if it may date a record of the patient, else raise `InputError` naming `label`.

    Args:
        label: the field as people read it, e.g. "date of assessment".
        value: the date given.
        today: today's date in the clinic.
        birth_date: the patient's date of birth.
        course_created_on: the day the record's course was created, if it is on a course.
    """
    if value > today:
        raise InputError(f"{label} {value} is in the future; it must be today ({today}) or earlier")
    if value < birth_date:
        raise InputError(
            f"{label} {value} is before the patient's birth date ({birth_date}); it must be on or after it"
        )
    if course_created_on is not None and value < course_created_on:
        raise InputError(
            f"{label} {value} is before the course was created ({course_created_on}); "
            "it must be on or after that day"
        )
    return value


def check_record_time(
    label: str,
    value: dt.datetime,
    *,
    now: dt.datetime,
    birth_date: dt.date,
    course_created_at: dt.datetime | None = None,
) -> dt.datetime:
    """Return an aware `value` if it may start a session of the patient, else raise `InputError`.

    The start may be up to `CLOCK_ALLOWANCE` after `now`; its local day must not be before the birth date
    nor before the local day the course was created.

    Args:
        label: the field as people read it, e.g. "session start".
        value: the start given (with a time zone).
        now: the current time (aware).
        birth_date: the patient's date of birth.
        course_created_at: when the session's course was created (aware), if any.
    """
    if value.tzinfo is None:
        raise InputError(f"{label} needs a time zone")
    try:  # 0001-01-01T00:00+00:01 lies before the first instant a datetime can hold in UTC
        value.astimezone(dt.UTC).astimezone()
    except (OverflowError, ValueError):
        raise InputError(f"{label} {value.isoformat()} is not a time this clinic can record") from None
    if value > now + CLOCK_ALLOWANCE:
        shown = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise InputError(f"{label} {shown} is in the future; it must be now or earlier")
    course_day = None if course_created_at is None else local_day(course_created_at)
    check_record_date(
        label, local_day(value), today=local_day(now) + dt.timedelta(days=1), birth_date=birth_date,
        course_created_on=course_day,
    )  # fmt: skip
    return value
