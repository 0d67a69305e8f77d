"""The domain quantities: in-range values pass, out-of-range ones are refused with one message format."""

import datetime as dt
import math
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from laserdose.domain import quantities as q
from laserdose.domain.wavelengths import wavelength_key, wavelength_nm
from laserdose.errors import InputError

QUANTITIES = pytest.mark.parametrize("quantity", q.QUANTITIES, ids=lambda quantity: quantity.name)


def _unit(quantity: q.Quantity) -> str:
    return f" {quantity.unit}" if quantity.unit else ""


@QUANTITIES
@given(data=st.data())
def test_values_in_range_pass_unchanged(quantity: q.Quantity, data: st.DataObject) -> None:
    if quantity.whole:
        value: float = data.draw(st.integers(int(quantity.low), int(quantity.high)))
    else:
        value = data.draw(st.floats(quantity.low, quantity.high))
    assert quantity.check(value) == value


@QUANTITIES
@given(data=st.data())
def test_values_out_of_range_are_refused_naming_value_and_unit(quantity: q.Quantity, data: st.DataObject):
    below = st.floats(max_value=quantity.low, exclude_max=True, allow_nan=False)
    above = st.floats(min_value=quantity.high, exclude_min=True, allow_nan=False)
    value = data.draw(below | above)
    if quantity.whole:
        assume(math.isinf(value) or value == int(value))
    with pytest.raises(InputError) as caught:
        quantity.check(value)
    message = str(caught.value)
    unit = _unit(quantity)
    span = f"between {quantity.low:g} and {quantity.high:g}{unit}"
    assert message == f"{quantity.name} must be {span}, got {value:g}{unit}"


@QUANTITIES
@pytest.mark.parametrize("value", [float("nan"), True, "27", None])
def test_non_numbers_and_nan_are_refused(quantity: q.Quantity, value: object) -> None:
    with pytest.raises(InputError, match=f"^{quantity.name} must be "):
        quantity.check(value)


def test_the_documented_bmi_message() -> None:
    with pytest.raises(InputError) as caught:
        q.BMI.check(70)
    assert str(caught.value) == "BMI must be between 18 and 50 kg/m2, got 70 kg/m2"


def test_whole_quantities_refuse_fractions() -> None:
    message = "Fitzpatrick skin type must be a whole number between 1 and 6, got 3.5"
    with pytest.raises(InputError, match=message):
        q.SKIN_TYPE.check(3.5)
    assert q.SKIN_TYPE.check_whole(3.0) == 3


def test_every_quantity_names_its_source() -> None:
    for quantity in q.QUANTITIES:
        assert quantity.source.startswith("[")
        assert quantity.low < quantity.high


@pytest.mark.parametrize(
    ("annotated", "quantity", "value"),
    [(q.Bmi, q.BMI, 70.0), (q.SkinType, q.SKIN_TYPE, 7), (q.SkinLimit, q.SKIN_LIMIT, 45.0),
     (q.FatThickness, q.FAT_THICKNESS, 1.0), (q.TreatmentArea, q.TREATMENT_AREA, 5000.0),
     (q.Wavelength, q.WAVELENGTH, 1300), (q.Power, q.POWER, 100.0), (q.Energy, q.ENERGY, -1.0),
     (q.Dose, q.DOSE, 400.0), (q.Age, q.AGE, 130)],
)  # fmt: skip
def test_pydantic_types_give_the_checker_message(annotated: object, quantity: q.Quantity, value: float):
    with pytest.raises(InputError) as expected:
        quantity.check(value)
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(annotated).validate_python(value)
    assert caught.value.errors()[0]["msg"] == str(expected.value)
    schema = TypeAdapter(annotated).json_schema()
    assert (schema["minimum"], schema["maximum"]) == (quantity.low, quantity.high)


def test_birth_dates() -> None:
    today = dt.date(2026, 1, 1)
    assert q.check_birth_date(dt.date(1990, 5, 1), today) == dt.date(1990, 5, 1)
    for bad in (dt.date(1899, 12, 31), dt.date(2026, 1, 2)):
        with pytest.raises(InputError, match=f"birth date must be between 1900-01-01 and today, got {bad}"):
            q.check_birth_date(bad, today)


@given(st.integers(1, 100_000))
def test_wavelength_keys_round_trip(nm: int) -> None:
    assert wavelength_key(nm) == str(nm)
    assert wavelength_key(float(nm)) == str(nm)
    assert wavelength_key(str(nm)) == str(nm)
    assert wavelength_nm(wavelength_key(nm)) == nm


@pytest.mark.parametrize("bad", [810.5, "810.5", "abc", 0, -810, True, None, float("nan")])
def test_wavelength_keys_refuse_what_is_not_whole_nm(bad: object) -> None:
    with pytest.raises(InputError, match="a wavelength key must be a whole number of nm"):
        wavelength_key(bad)


def test_the_documented_limits_table_is_the_domain():
    page = (Path(__file__).resolve().parents[2] / "docs" / "api" / "domain.md").read_text(encoding="utf-8")
    for quantity in q.QUANTITIES:
        numbers = "whole" if quantity.whole else "any"
        span = f"{quantity.low:g} | {quantity.high:g} | {quantity.unit or '-'}"
        assert f"| {quantity.name} | {span} | {numbers} | {quantity.source} |" in page


@pytest.mark.parametrize(
    ("annotated", "typed", "message"),
    [
        (q.Bmi, "abc", "BMI must be a number between 18 and 50 kg/m2, got 'abc'"),
        (q.Bmi, " 70 ", "BMI must be between 18 and 50 kg/m2, got 70 kg/m2"),
        (q.SkinType, "3.5", "Fitzpatrick skin type must be a whole number between 1 and 6, got '3.5'"),
        (q.Wavelength, "810.5", "wavelength must be a whole number between 600 and 1100 nm, got '810.5'"),
        (q.Wavelength, "810.0", "wavelength must be a whole number between 600 and 1100 nm, got '810.0'"),
    ],
)
def test_pydantic_types_read_typed_text_with_the_checker_message(annotated, typed, message):
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(annotated).validate_python(typed)
    assert caught.value.errors()[0]["msg"] == message


def test_pydantic_types_accept_typed_numbers():
    assert TypeAdapter(q.Bmi).validate_python("27.5") == 27.5
    assert TypeAdapter(q.SkinType).validate_python("3") == 3
    assert TypeAdapter(q.Wavelength).validate_json('"810"') == 810


@QUANTITIES
def test_integers_beyond_float_are_refused_not_crashed(quantity: q.Quantity) -> None:
    with pytest.raises(InputError, match=f"^{quantity.name} must be between .*, got 10000"):
        quantity.check(10**400)
