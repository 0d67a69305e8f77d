"""Safety summary of the shipped device profiles."""

import json
import math
from importlib import resources

from pytest import approx

from laserdose.machines.profile import load_profile
from laserdose.safety.hazard import eyewear
from laserdose.safety.summary import plan_eyewear, safety_summary, summary_rows, worst_power_split


def test_15w_dual_summary():
    summary = safety_summary(load_profile("15w-dual"))
    assert summary.computed_class == summary.declared_class == "4"
    standoff = next(h for h in summary.handpieces if h.handpiece == "large-standoff")
    # NOHD formula [ANSIZ136.1] with the worked-example MPE 16.60 W/m2 at 810 nm: 15 W, 30 mm, 100 mrad.
    expected = (math.sqrt(4 * 15 / (math.pi * 10 * 10**0.22)) - 0.030) / 0.1
    assert standoff.nohd_by_wavelength_m[810.0] == approx(expected)
    # The 15 W cap goes entirely to 810 nm (the smaller MPE), so all-together equals 810 nm alone.
    assert standoff.nohd_all_m == approx(expected)
    assert [e.wavelength_nm for e in summary.eyewear] == [810.0, 980.0]
    assert all(e.lb.startswith("D LB") for e in summary.eyewear)
    assert any("CLASS 4 LASER PRODUCT" in line for line in summary.warnings)
    assert any("INVISIBLE" in line for line in summary.warnings)


def test_gaussian_handpiece_diameter_is_read_as_1_over_e2():
    # d63 = d(1/e^2) / sqrt(2) for a Gaussian beam (IEC 60825-1 uses the 63 % power diameter); NOHD formula
    # of [ANSIZ136.1] with the 980 nm worked-example MPE 36.31 W/m2: 15 W, 25/sqrt(2) mm, 500 mrad.
    summary = safety_summary(load_profile("15w-dual"))
    ball = next(h for h in summary.handpieces if h.handpiece == "contact-ball")
    expected = (math.sqrt(4 * 15 / (math.pi * 10 * 10**0.56)) - 0.025 / math.sqrt(2)) / 0.5
    assert ball.nohd_by_wavelength_m[980.0] == approx(expected)


def test_worst_split_fills_the_most_hazardous_wavelength_first():
    split = dict(worst_power_split(load_profile("30w-quad"), 10.0))
    # MPEs at t >= 10 s: 650 nm 10, 810 nm 16.6, 980 nm 36.3, 1064 nm 50 W/m2 ([IEC60825-1] and
    # Table A.1): 30 W go to 650 (1 W), 810 (15 W), 980 (14 W), 1064 (0 W).
    assert split == approx({650.0: 1.0, 810.0: 15.0, 980.0: 14.0, 1064.0: 0.0})


def test_class_3b_probe_and_mismatch_warning(tmp_path):
    assert safety_summary(load_profile("class3b-probe")).computed_class == "3B"
    text = (resources.files("laserdose.machines") / "profiles" / "class3b-probe.toml").read_text()
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text.replace('laser_class = "3B"', 'laser_class = "1"'))
    summary = safety_summary(load_profile(wrong))
    assert any("differs from the computed class 3B" in line for line in summary.warnings)


def test_dict_and_rows_carry_the_same_facts():
    summary = safety_summary(load_profile("30w-quad"))
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["computed_class"] == "4"
    assert set(data["handpieces"][0]["nohd_by_wavelength_m"]) == {"650", "810", "980", "1064"}
    rows = summary_rows(summary)
    assert all(len(row) == 3 and all(isinstance(cell, str) for cell in row) for row in rows)
    sections = {row[0] for row in rows}
    assert {"Classification", "NOHD", "Eyewear", "Warnings"} <= sections
    assert sum(1 for row in rows if row[0] == "Warnings") == len(summary.warnings)


def test_summary_rows_show_both_eyewear_ratings_with_their_basis():
    rows = summary_rows(safety_summary(load_profile("15w-dual")))
    eyewear_rows = [value for section, _item, value in rows if section == "Eyewear"]
    assert any(v.startswith("OD ") and "limiting aperture" in v for v in eyewear_rows)
    assert any(v.startswith("D LB") and "EN 207: the beam's own power density" in v for v in eyewear_rows)


def test_plan_eyewear_rates_the_plans_powers_on_its_handpiece_and_skips_idle_sources():
    profile = load_profile("15w-dual")
    handpiece = profile.handpieces[0]
    needs = plan_eyewear(profile, handpiece.name, {810.0: 0.0, 980.0: 8.0}, 10.0)
    assert [n.wavelength_nm for n in needs] == [980.0]
    diameter = handpiece.beam_diameter_mm / (math.sqrt(2.0) if handpiece.beam_profile == "gaussian" else 1.0)
    alone = eyewear(980.0, 8.0, diameter, 10.0, beam_profile=handpiece.beam_profile)
    assert needs[0].od == approx(alone.od) and needs[0].lb == alone.lb
