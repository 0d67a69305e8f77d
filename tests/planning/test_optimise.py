import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.errors import InputError
from laserdose.planning.optimise import Aim, Limits, WavelengthResponse, optimise


def response(wavelength_nm=810.0, low=0.01, high=0.02, rise=1.0, max_w=15.0, min_w=0.1, nominal=0.0):
    return WavelengthResponse(wavelength_nm, low, high, rise, max_w, min_w, nominal)


def limits(**changes):
    base = {
        "area_cm2": 100.0,
        "max_surface_dose_j_per_cm2": 100.0,
        "skin_start_c": 33.0,
        "skin_limit_c": 43.0,
        "max_total_power_w": 15.0,
        "duration_range_s": (60.0, 1800.0),
    }
    base.update(changes)
    return Limits(**base)


def aim(reference=1.0, band=(0.8, 1.25), ratio=2.0, surface=None):
    return Aim(reference, band, ratio, surface)


def test_skin_bound_single_wavelength_by_hand():
    # Skin allows 10 K at 1 K/W -> 10 W. Nominal factor 0.015: 10 * 0.015 / 100 = 1.5e-3 J/cm2/s, so the
    # reference 1 J/cm2 takes 666.7 s; the range follows from the low and high factors.
    outcome = optimise([response(nominal=0.015)], limits(), aim())
    assert outcome.feasible and outcome.equivalence == pytest.approx(1.0)
    assert outcome.power_w_by_wavelength[810.0] == pytest.approx(10.0)
    assert outcome.duration_s == pytest.approx(1000 / 1.5)
    assert outcome.target_dose_j_per_cm2 == pytest.approx(1.0)
    assert outcome.target_dose_range_j_per_cm2 == pytest.approx((2 / 3, 4 / 3))
    assert outcome.total_energy_j == pytest.approx(10.0 * outcome.duration_s)
    assert outcome.surface_dose_j_per_cm2 == pytest.approx(outcome.total_energy_j / 100.0)
    assert outcome.skin_rise_k == pytest.approx(10.0)


def test_the_nominal_factor_defaults_to_the_geometric_mean_of_low_and_high():
    assert response(low=0.01, high=0.04).nominal == pytest.approx(0.02)


def test_two_wavelength_mix_is_the_lp_vertex_by_hand():
    # max 0.01 P1 + 0.008 P2, 2 P1 + 0.5 P2 <= 10 K, P1 + P2 <= 15 W: both active at P1 = 5/3, P2 = 40/3.
    pair = [
        response(810.0, 0.01, 0.012, 2.0, nominal=0.01),
        response(980.0, 0.008, 0.0096, 0.5, nominal=0.008),
    ]
    outcome = optimise(pair, limits(), aim())
    assert outcome.power_w_by_wavelength[810.0] == pytest.approx(5 / 3, rel=1e-6)
    assert outcome.power_w_by_wavelength[980.0] == pytest.approx(40 / 3, rel=1e-6)


def test_reference_out_of_reach_names_the_skin_and_gives_the_fraction_reached():
    # 10 W for the longest 1800 s at nominal 0.01: 1800 * 1e-3 = 1.8 J/cm2 of a 5 J/cm2 reference: 0.36.
    outcome = optimise([response(nominal=0.01)], limits(max_surface_dose_j_per_cm2=1e4), aim(reference=5.0))
    assert not outcome.feasible and outcome.binding == "skin temperature"
    assert outcome.duration_s == 1800.0
    assert outcome.equivalence == pytest.approx(0.36)
    assert "contact handpiece" in outcome.advice


def test_reference_out_of_reach_names_the_machine_when_skin_has_room():
    outcome = optimise(
        [response(rise=0.1, nominal=0.01)], limits(max_surface_dose_j_per_cm2=1e4), aim(reference=20.0)
    )
    assert not outcome.feasible and outcome.binding == "machine power"
    assert outcome.power_w_by_wavelength[810.0] == pytest.approx(15.0)
    assert outcome.equivalence == pytest.approx(15 * 0.01 / 100 * 1800 / 20)


def test_irradiance_limit_caps_the_power_and_is_named():
    outcome = optimise(
        [response(rise=0.1, nominal=0.01)],
        limits(max_surface_dose_j_per_cm2=1e4, max_irradiance_power_w=5.0),
        aim(reference=20.0),
    )
    assert outcome.binding == "irradiance" and outcome.power_w_by_wavelength[810.0] == pytest.approx(5.0)


def test_surface_cap_binds_and_the_plan_stops_there():
    # 10 W over 100 cm2: the 1 J/cm2 reference at nominal 0.01 needs 100 J/cm2 at the skin; cap 20.
    outcome = optimise([response(nominal=0.01)], limits(max_surface_dose_j_per_cm2=20.0), aim())
    assert not outcome.feasible and outcome.binding == "surface dose"
    assert outcome.surface_dose_j_per_cm2 == pytest.approx(20.0)
    assert outcome.equivalence == pytest.approx(0.2)


def test_a_cap_inside_the_band_is_still_feasible():
    # The cap gives 0.9 of the reference: inside 0.8-1.25, so no limit binds.
    outcome = optimise([response(nominal=0.01)], limits(max_surface_dose_j_per_cm2=90.0), aim())
    assert outcome.feasible and outcome.equivalence == pytest.approx(0.9) and outcome.binding == ""


def test_as_in_source_delivers_the_published_surface_dose_and_reports_the_target():
    # 30 J/cm2 at the skin with nominal 0.01: 0.3 J/cm2 at the target against a 1 J/cm2 reference.
    outcome = optimise([response(nominal=0.01)], limits(), aim(surface=30.0))
    assert outcome.surface_dose_j_per_cm2 == pytest.approx(30.0)
    assert outcome.equivalence == pytest.approx(0.3)
    assert not outcome.feasible and outcome.binding == "as published"
    inside = optimise([response(nominal=0.01)], limits(), aim(surface=100.0))
    assert inside.feasible and inside.equivalence == pytest.approx(1.0)


def test_as_in_source_never_exceeds_the_biphasic_bound():
    # 10 W over 10 cm2: 300 J/cm2 published (300 s) would give 3 x the reference; the bound stops it at 2 x.
    rules = limits(area_cm2=10.0, max_surface_dose_j_per_cm2=1e4)
    outcome = optimise([response(nominal=0.01)], rules, aim(surface=300.0))
    assert outcome.binding == "biphasic upper bound"
    assert outcome.equivalence == pytest.approx(2.0)


def test_dose_reached_too_fast_is_spread_over_the_shortest_session():
    # At 10 W, nominal 0.5: 0.05 J/cm2/s reaches 1 J/cm2 in 20 s; spread over the 60 s minimum by scaling
    # the power to 10 / 3 W, keeping power x time.
    outcome = optimise([response(low=0.4, high=0.6, nominal=0.5)], limits(), aim())
    assert outcome.feasible and outcome.duration_s == 60.0
    assert outcome.power_w_by_wavelength[810.0] == pytest.approx(10 / 3)
    assert outcome.equivalence == pytest.approx(1.0)


def test_bad_limits_are_rejected():
    with pytest.raises(InputError, match="band"):
        optimise([response()], limits(), aim(band=(1.2, 1.5)))
    with pytest.raises(InputError, match="band"):
        optimise([response()], limits(), aim(band=(0.8, 3.0), ratio=2.0))
    with pytest.raises(InputError, match="skin limit"):
        optimise([response()], limits(skin_limit_c=30.0), aim())


responses_strategy = st.lists(
    st.builds(
        WavelengthResponse,
        wavelength_nm=st.sampled_from([650.0, 810.0, 980.0, 1064.0]),
        target_factor_low=st.floats(1e-5, 0.1),
        target_factor_high=st.just(0.0),
        skin_rise_k_per_w=st.floats(0.0, 5.0),
        max_power_w=st.floats(0.5, 15.0),
        min_power_w=st.floats(0.0, 0.2),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda r: r.wavelength_nm,
)


def _with_spread(items, spread):
    return [
        WavelengthResponse(
            r.wavelength_nm,
            r.target_factor_low,
            r.target_factor_low * spread,
            r.skin_rise_k_per_w,
            r.max_power_w,
            r.min_power_w,
        )
        for r in items
    ]


aims = st.builds(
    Aim,
    reference_j_per_cm2=st.floats(1e-3, 50.0),
    band=st.tuples(st.floats(0.3, 1.0), st.floats(1.0, 1.8)),
    max_target_ratio=st.floats(1.8, 10.0),
    surface_j_per_cm2=st.none() | st.floats(0.1, 500.0),
)


@given(
    responses_strategy,
    st.floats(1.0, 6.0),
    st.floats(1.0, 30.0),
    aims,
    st.floats(0.5, 300.0),
    st.none() | st.floats(0.5, 30.0),
)
def test_no_plan_ever_exceeds_a_hard_limit(items, spread, total_w, goal, surface_cap, irradiance_w):
    # The clinic lets a clinician sign a plan outside its band (clinic/signing.py) only because of this:
    # whatever binds and whatever the mode, the proposal keeps the skin, each source's and the machine's
    # power, the irradiance, the surface maximum, the longest session and the biphasic bound; only the
    # efficacy (the band's bottom) may be missed.
    items = _with_spread(items, spread)
    rules = limits(
        max_total_power_w=total_w, max_surface_dose_j_per_cm2=surface_cap, max_irradiance_power_w=irradiance_w
    )
    outcome = optimise(items, rules, goal)
    powers = outcome.power_w_by_wavelength
    slack = 1 + 1e-9
    for r in items:
        assert powers[r.wavelength_nm] <= r.max_power_w * slack
        assert powers[r.wavelength_nm] == 0 or powers[r.wavelength_nm] >= r.min_power_w * (1 - 1e-9)
    assert sum(powers.values()) <= min(total_w, irradiance_w or math.inf) * slack
    assert outcome.skin_rise_k <= (rules.skin_limit_c - rules.skin_start_c) * slack
    assert outcome.surface_dose_j_per_cm2 <= surface_cap * slack
    assert outcome.duration_s <= rules.duration_range_s[1] * slack
    assert outcome.equivalence <= goal.max_target_ratio * slack
    assert outcome.total_energy_j == pytest.approx(sum(powers.values()) * outcome.duration_s)
    assert outcome.surface_dose_j_per_cm2 == pytest.approx(outcome.total_energy_j / rules.area_cm2)
    low, high = outcome.target_dose_range_j_per_cm2
    assert low <= outcome.target_dose_j_per_cm2 <= high * slack
    assert outcome.equivalence == pytest.approx(outcome.target_dose_j_per_cm2 / goal.reference_j_per_cm2)
    in_band = goal.band[0] * (1 - 1e-9) <= outcome.equivalence <= goal.band[1] * slack
    if outcome.feasible:
        assert in_band and outcome.binding == ""
    else:
        assert outcome.binding in (
            "surface dose", "skin temperature", "machine power", "irradiance", "biphasic upper bound",
            "as published",
        )  # fmt: skip
        assert outcome.advice


@given(responses_strategy, st.floats(0.1, 0.99))
def test_less_light_at_the_target_never_raises_the_best_reachable_dose(items, attenuation):
    # More fat or a deeper target lowers every target factor: the dose at the longest session (the best
    # the patient can get when the reference is out of reach) cannot rise.
    items = _with_spread(items, 1.5)
    dimmer = [
        WavelengthResponse(
            r.wavelength_nm,
            r.target_factor_low * attenuation,
            r.target_factor_high * attenuation,
            r.skin_rise_k_per_w,
            r.max_power_w,
            r.min_power_w,
        )
        for r in items
    ]
    unreachable = aim(reference=1e6, band=(0.8, 1.25), ratio=2.0)
    wide = limits(max_surface_dose_j_per_cm2=1e9)
    assert optimise(dimmer, wide, unreachable).target_dose_j_per_cm2 <= (
        optimise(items, wide, unreachable).target_dose_j_per_cm2 * (1 + 1e-9)
    )
