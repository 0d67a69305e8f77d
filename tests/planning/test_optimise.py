import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laserdose.errors import InputError
from laserdose.planning.optimise import Limits, WavelengthResponse, optimise


def response(wavelength_nm=810.0, low=0.01, high=0.02, rise=1.0, max_w=15.0, min_w=0.1):
    return WavelengthResponse(wavelength_nm, low, high, rise, max_w, min_w)


def limits(**changes):
    base = {
        "area_cm2": 100.0,
        "window_j_per_cm2": (0.5, 2.0),
        "surface_range_j_per_cm2": (1.0, 100.0),
        "skin_start_c": 33.0,
        "skin_limit_c": 43.0,
        "max_total_power_w": 15.0,
        "duration_range_s": (60.0, 1800.0),
    }
    base.update(changes)
    return Limits(**base)


def test_skin_bound_single_wavelength_by_hand():
    # Skin allows 10 K at 1 K/W -> 10 W. Target rates 10*0.01/100 and 10*0.02/100 J/cm2/s put the
    # window 0.5-2 J/cm2 between 500 s and 1000 s; the plan aims at their geometric mean, 707.1 s.
    outcome = optimise([response()], limits())
    assert outcome.feasible
    assert outcome.power_w_by_wavelength[810.0] == pytest.approx(10.0)
    assert outcome.duration_s == pytest.approx(math.sqrt(500 * 1000))
    assert outcome.target_dose_range_j_per_cm2 == pytest.approx((0.7071, 1.4142), rel=1e-4)
    assert outcome.total_energy_j == pytest.approx(10.0 * outcome.duration_s)
    assert outcome.surface_dose_j_per_cm2 == pytest.approx(outcome.total_energy_j / 100.0)
    assert outcome.skin_rise_k == pytest.approx(10.0)


def test_two_wavelength_mix_is_the_lp_vertex_by_hand():
    # max 0.01 P1 + 0.008 P2, 2 P1 + 0.5 P2 <= 10 K, P1 + P2 <= 15 W: both active at P1 = 5/3, P2 = 40/3.
    pair = [response(810.0, 0.01, 0.012, 2.0), response(980.0, 0.008, 0.0096, 0.5)]
    outcome = optimise(pair, limits())
    assert outcome.power_w_by_wavelength[810.0] == pytest.approx(5 / 3, rel=1e-6)
    assert outcome.power_w_by_wavelength[980.0] == pytest.approx(40 / 3, rel=1e-6)


def test_window_out_of_reach_names_the_skin_and_gives_best_dose():
    # 10 W for the longest 1800 s session reaches 1800 * 1e-3 = 1.8 J/cm2 at worst, below a 5 J/cm2 floor.
    wide_surface = (0.01, 1e4)
    outcome = optimise(
        [response()], limits(window_j_per_cm2=(5.0, 20.0), surface_range_j_per_cm2=wide_surface)
    )
    assert not outcome.feasible and outcome.binding == "skin temperature"
    assert outcome.duration_s == 1800.0
    assert outcome.target_dose_range_j_per_cm2[0] == pytest.approx(1.8)
    assert "contact handpiece" in outcome.advice


def test_window_out_of_reach_names_the_machine_when_skin_has_room():
    rules = limits(window_j_per_cm2=(5.0, 20.0), surface_range_j_per_cm2=(0.01, 1e4))
    outcome = optimise([response(rise=0.1)], rules)
    assert not outcome.feasible and outcome.binding == "machine power"
    assert outcome.power_w_by_wavelength[810.0] == pytest.approx(15.0)


def test_window_narrower_than_uncertainty_is_reported_not_widened():
    # Dose spread high/low = 5 > window ratio 2/0.5 = 4: no duration puts both ends inside.
    outcome = optimise([response(low=0.01, high=0.05)], limits())
    assert not outcome.feasible and outcome.binding == "uncertainty"
    low, high = outcome.target_dose_range_j_per_cm2
    assert high == pytest.approx(2.0) and low < 0.5


def test_surface_cap_binds_before_target_floor():
    outcome = optimise([response()], limits(surface_range_j_per_cm2=(1.0, 20.0)))
    assert not outcome.feasible and outcome.binding == "surface dose"
    assert outcome.surface_dose_j_per_cm2 == pytest.approx(20.0)


def test_dose_reached_too_fast_is_spread_over_the_shortest_session():
    # At 10 W the window 0.5-2 J/cm2 lies between 5 s and 10 s; the aim sqrt(50) s is spread over the 60 s
    # minimum by scaling the power down, keeping power x time.
    outcome = optimise([response(low=1.0, high=2.0)], limits(surface_range_j_per_cm2=(0.01, 100.0)))
    assert outcome.feasible and outcome.duration_s == 60.0
    assert outcome.power_w_by_wavelength[810.0] == pytest.approx(10.0 * math.sqrt(0.5 * 1.0) * 100 / 10 / 60)


def test_bad_limits_are_rejected():
    with pytest.raises(InputError, match="dose window"):
        optimise([response()], limits(window_j_per_cm2=(2.0, 1.0)))
    with pytest.raises(InputError, match="skin limit"):
        optimise([response()], limits(skin_limit_c=30.0))


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


@given(responses_strategy, st.floats(1.0, 6.0), st.floats(1.0, 30.0))
def test_plans_never_leave_machine_or_skin_limits_and_are_consistent(items, spread, total_w):
    items = _with_spread(items, spread)
    rules = limits(max_total_power_w=total_w)
    outcome = optimise(items, rules)
    powers = outcome.power_w_by_wavelength
    for r in items:
        assert powers[r.wavelength_nm] <= r.max_power_w * (1 + 1e-9)
        assert powers[r.wavelength_nm] == 0 or powers[r.wavelength_nm] >= r.min_power_w * (1 - 1e-9)
    assert sum(powers.values()) <= total_w * (1 + 1e-9)
    assert outcome.skin_rise_k <= (rules.skin_limit_c - rules.skin_start_c) * (1 + 1e-9)
    assert outcome.duration_s <= rules.duration_range_s[1] * (1 + 1e-12)
    assert outcome.total_energy_j == pytest.approx(sum(powers.values()) * outcome.duration_s)
    assert outcome.surface_dose_j_per_cm2 == pytest.approx(outcome.total_energy_j / rules.area_cm2)
    if outcome.feasible:
        low, high = outcome.target_dose_range_j_per_cm2
        assert rules.window_j_per_cm2[0] * (1 - 1e-9) <= low <= high <= rules.window_j_per_cm2[1] * (1 + 1e-9)


@given(responses_strategy, st.floats(0.1, 0.99))
def test_less_light_at_the_target_never_raises_the_best_reachable_dose(items, attenuation):
    # More fat or a deeper target lowers every target factor: the worst-case dose at the longest session
    # (the best the patient can get) cannot rise.
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
    unreachable = limits(window_j_per_cm2=(1e6, 1e7), surface_range_j_per_cm2=(1e-6, 1e9))
    assert optimise(dimmer, unreachable).target_dose_range_j_per_cm2[0] <= (
        optimise(items, unreachable).target_dose_range_j_per_cm2[0] * (1 + 1e-9)
    )


@given(
    responses_strategy,
    st.floats(1.0, 30.0),
    st.floats(0.01, 50.0),
    st.floats(1.5, 20.0),
    st.floats(0.5, 50.0),
    st.floats(1.05, 3.0),
)
def test_a_plan_outside_the_window_still_keeps_every_safety_limit(
    items, spread, window_low, window_ratio, surface_low, surface_ratio
):
    # The clinic lets a clinician sign an infeasible plan (clinic/plans.py) only because of this: whatever
    # limit binds, the proposal keeps the skin, each source's and the machine's power, the surface maximum
    # and the window's top; only the window's bottom (efficacy) may be missed.
    items = _with_spread(items, spread)
    rules = limits(
        window_j_per_cm2=(window_low, window_low * window_ratio),
        surface_range_j_per_cm2=(surface_low, surface_low * surface_ratio),
    )
    outcome = optimise(items, rules)
    powers = outcome.power_w_by_wavelength
    assert all(powers[r.wavelength_nm] <= r.max_power_w * (1 + 1e-9) for r in items)
    assert sum(powers.values()) <= rules.max_total_power_w * (1 + 1e-9)
    assert outcome.skin_rise_k <= (rules.skin_limit_c - rules.skin_start_c) * (1 + 1e-9)
    assert outcome.surface_dose_j_per_cm2 <= rules.surface_range_j_per_cm2[1] * (1 + 1e-9)
    assert outcome.target_dose_range_j_per_cm2[1] <= rules.window_j_per_cm2[1] * (1 + 1e-9)
    assert outcome.feasible or outcome.binding in (
        "surface dose",
        "uncertainty",
        "skin temperature",
        "machine power",
    )
