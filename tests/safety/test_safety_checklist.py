"""The safety checklist's items, its file form, and the eyewear it asks for (the machine at full power)."""

import datetime as dt
import json
import math

import pytest

from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.safety.checklist import (
    ITEMS,
    KEYS,
    MAX_AGE_S,
    eyewear_for_plan,
    file_problem,
    missing_items,
    missing_sentence,
    read_checklist_file,
)
from laserdose.safety.summary import plan_eyewear

NOW = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
SHA = "ab" * 32
# Eye MPE for t >= 10 s, E = 10 C4 C7 W/m2 (IEC 60825-1:2014), worked values at 810 and 980 nm: 16.60 and
# 36.31 W/m2 (two independent implementations agree).
MPE_W_PER_M2 = {810: 16.60, 980: 36.31}


def test_the_checklist_names_what_the_room_must_confirm():
    assert KEYS == ("identity", "eyewear", "controlled_area", "skin", "handpiece", "aiming_beam")
    skin = next(item.label for item in ITEMS if item.key == "skin")
    for word in ("tattoo", "naevus", "broken skin", "patch", "photosensitising"):
        assert word in skin
    area = next(item.label for item in ITEMS if item.key == "controlled_area")
    assert "door" in area and "interlocked" in area and "sign" in area


def test_only_true_confirms_an_item_and_the_sentence_names_the_first_missing():
    answers = dict.fromkeys(KEYS, True) | {"handpiece": "yes", "aiming_beam": False}
    missing = missing_items(answers)
    assert [item.key for item in missing] == ["handpiece", "aiming_beam"]
    assert missing_sentence(missing) == (
        "safety checklist incomplete: not confirmed: handpiece clean (and 1 more)"
    )
    assert missing_sentence([]) == ""


def test_eyewear_is_rated_for_the_machine_at_full_power_not_the_plans_setting():
    # 15w-dual: 15 W per source; the smallest beam is the contact-ball handpiece, Gaussian, 25 mm at 1/e^2,
    # d63 = 25 / sqrt(2) mm. Through the 7 mm limiting aperture a Gaussian passes 1 - exp(-(7 / d63)^2).
    profile = load_profile("15w-dual")
    d63_m = 25e-3 / math.sqrt(2.0)
    through_w = 15.0 * (1.0 - math.exp(-((7e-3 / d63_m) ** 2)))
    at_eye = through_w / (math.pi * (7e-3) ** 2 / 4.0)
    needs = {round(need.wavelength_nm): need for need in eyewear_for_plan(profile, [810, 980])}
    for wavelength, mpe in MPE_W_PER_M2.items():
        assert needs[wavelength].od == pytest.approx(math.log10(at_eye / mpe), abs=0.01)
    # EN 207 D scale: LBn with 10^(n+1) W/m2 >= the beam's own power density 4 P / (pi d63^2).
    density = 4 * 15.0 / (math.pi * d63_m**2)
    assert needs[810].lb == needs[980].lb == f"D LB{math.ceil(math.log10(density) - 1)}" == "D LB4"
    # A plan at 6 W on the large handpiece needs less; the checklist still asks for the machine's worst case.
    set_needs = plan_eyewear(profile, "large-standoff", {810: 6.0}, 10.0)
    assert set_needs[0].od < needs[810].od - 0.5
    assert [round(n.wavelength_nm) for n in eyewear_for_plan(profile, [980])] == [980]


def _write(tmp_path, text, name="checklist.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _toml(**fields):
    values = {"plan_sha256": SHA, "completed_at": NOW.isoformat(), "operator": "Dr A",
              **dict.fromkeys(KEYS, True), **fields}  # fmt: skip
    return "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items() if value is not None)


def test_a_complete_checklist_file_for_this_plan_arms(tmp_path):
    found = read_checklist_file(_write(tmp_path, _toml()))
    assert (found.operator, found.completed_at, found.plan_sha256) == ("Dr A", NOW, SHA)
    assert file_problem(found, SHA, NOW + dt.timedelta(minutes=5)) == ""
    as_json = {"plan_sha256": SHA, "completed_at": "2026-12-02T09:30:00Z", "operator": "Dr A"}
    found = read_checklist_file(_write(tmp_path, json.dumps(as_json | dict.fromkeys(KEYS, True)), "c.json"))
    assert file_problem(found, SHA, NOW) == ""


def test_a_checklist_file_for_another_plan_an_old_one_or_an_incomplete_one_does_not(tmp_path):
    found = read_checklist_file(_write(tmp_path, _toml()))
    assert "for another plan" in file_problem(found, "cd" * 32, NOW)
    assert "within the 60 minutes" in file_problem(found, SHA, NOW + dt.timedelta(seconds=MAX_AGE_S + 1))
    assert "within the 60 minutes" in file_problem(found, SHA, NOW - dt.timedelta(minutes=1))  # future
    found = read_checklist_file(_write(tmp_path, _toml(skin=False, handpiece=None)))
    assert file_problem(found, SHA, NOW) == (
        "safety checklist incomplete: not confirmed: skin in the field inspected: no tattoo, naevus, broken"
        " skin or drug patch; no photosensitising drug taken today (and 1 more)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_toml(goggles=True), "unknown field 'goggles'"),
        (_toml(completed_at="yesterday"), "completed_at must be a date and time"),
        (_toml(completed_at="2026-12-02T09:30:00"), "with its zone"),
        (_toml(operator=""), "operator must be given"),
        (_toml(plan_sha256=None), "plan_sha256 must be given"),
        ("identity = ", "not valid TOML"),
    ],
)
def test_a_bad_checklist_file_is_one_plain_error(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_checklist_file(_write(tmp_path, text))
