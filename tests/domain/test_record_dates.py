"""The date rules of clinic records: examples at each boundary, and Hypothesis against the stated rules."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.domain.quantities import EARLIEST_BIRTH_DATE
from laserdose.domain.record_dates import CLOCK_ALLOWANCE, check_record_date, check_record_time, local_day
from laserdose.errors import InputError

TODAY = dt.date(2026, 12, 2)
BORN = dt.date(1970, 5, 17)
COURSE_DAY = dt.date(2026, 11, 30)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            dt.date(2027, 3, 15),
            "date of assessment 2027-03-15 is in the future; it must be today (2026-12-02)",
        ),
        (dt.date(2026, 12, 3), "date of assessment 2026-12-03 is in the future"),
        (dt.date(1, 1, 1), "date of assessment 0001-01-01 is before the patient's birth date (1970-05-17)"),
        (dt.date(1970, 5, 16), "is before the patient's birth date (1970-05-17); it must be on or after it"),
        (dt.date(2026, 11, 29), "2026-11-29 is before the course was created (2026-11-30); it must be on or"),
    ],
)
def test_each_rule_refuses_with_a_sentence_naming_the_field(value, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_record_date(
            "date of assessment", value, today=TODAY, birth_date=BORN, course_created_on=COURSE_DAY
        )


@pytest.mark.parametrize("value", [TODAY, COURSE_DAY, dt.date(2026, 12, 1)])
def test_the_boundaries_themselves_are_allowed(value):
    assert check_record_date("x", value, today=TODAY, birth_date=BORN, course_created_on=COURSE_DAY) == value


def test_without_a_course_only_birth_and_today_bound_the_date():
    assert check_record_date("x", BORN, today=TODAY, birth_date=BORN) == BORN


days = st.dates(min_value=dt.date(1, 1, 2), max_value=dt.date(9999, 12, 30))


@given(
    value=days,
    born=st.dates(min_value=EARLIEST_BIRTH_DATE, max_value=TODAY),
    course=st.none() | st.dates(min_value=EARLIEST_BIRTH_DATE, max_value=TODAY),
)
def test_a_date_is_accepted_exactly_when_it_lies_between_birth_course_and_today(value, born, course):
    allowed = born <= value <= TODAY and (course is None or course <= value)
    try:
        check_record_date("date", value, today=TODAY, birth_date=born, course_created_on=course)
    except InputError as exc:
        assert not allowed
        assert str(exc).startswith(f"date {value} is ")  # names the field and the date given
    else:
        assert allowed


NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


@given(
    offset_min=st.integers(min_value=-60 * 24 * 400, max_value=60 * 24 * 400),
    zone_h=st.integers(min_value=-12, max_value=14),
)
def test_a_session_start_is_refused_exactly_when_later_than_now_and_the_clock_allowance(offset_min, zone_h):
    start = (NOW + dt.timedelta(minutes=offset_min)).astimezone(dt.timezone(dt.timedelta(hours=zone_h)))
    course = NOW - dt.timedelta(days=500)
    try:
        check_record_time("session start", start, now=NOW, birth_date=BORN, course_created_at=course)
    except InputError as exc:
        assert start > NOW + CLOCK_ALLOWANCE or local_day(start) < local_day(course)
        assert str(exc).startswith("session start ")
    else:
        assert start <= NOW + CLOCK_ALLOWANCE


def test_session_start_before_the_course_or_birth_or_without_zone_is_refused():
    with pytest.raises(InputError, match="before the course was created"):
        check_record_time("session start", NOW - dt.timedelta(days=3), now=NOW, birth_date=BORN,
                          course_created_at=NOW - dt.timedelta(days=1))  # fmt: skip
    with pytest.raises(InputError, match="before the patient's birth date"):
        check_record_time("session start", dt.datetime(1960, 1, 1, tzinfo=dt.UTC), now=NOW, birth_date=BORN)
    with pytest.raises(InputError, match="needs a time zone"):
        check_record_time("session start", dt.datetime(2026, 1, 1), now=NOW, birth_date=BORN)
    with pytest.raises(InputError, match="is not a time this clinic can record"):
        start = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(minutes=1)))
        check_record_time("session start", start, now=NOW, birth_date=BORN)
