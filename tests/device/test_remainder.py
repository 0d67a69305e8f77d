"""Completing an interrupted delivery: the remainder of the same plan, never more, and STOP still stops."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simkit import PLAN, emitted, make_machine

from laserdose.device.ledger import ENERGY_TOLERANCE
from laserdose.device.plan import plan_delivery, remainder_delivery, set_params
from laserdose.device.stepped import deliver
from laserdose.errors import InputError

PERIOD_S = 0.1
PULSED = {**PLAN, "mode": "pulsed", "frequency_hz": 500.0, "duty_cycle": 0.4, "total_energy_j": 120.0}


def _interrupted(profile, plan, fault: str = "interlock-open@7s"):
    machine = make_machine(profile, (fault,), seed=4)
    outcome, _ = deliver(plan, machine, PERIOD_S)
    assert not outcome.completed and outcome.state == "fault"
    return outcome


@given(
    fraction_810=st.floats(0.0, 1.2, allow_nan=False),
    fraction_980=st.floats(0.0, 1.2, allow_nan=False),
    pulsed=st.booleans(),
)
def test_remainder_is_never_more_than_planned_minus_delivered(profile, fraction_810, fraction_980, pulsed):
    plan = plan_delivery(PULSED if pulsed else PLAN, profile)
    planned = {f"{wl:g}": e for wl, e in plan.energy_j_by_wavelength.items()}
    delivered = {"810": planned["810"] * fraction_810, "980": planned["980"] * fraction_980}
    try:
        rest = remainder_delivery(plan, delivered)
    except InputError as exc:
        assert "nothing remains" in str(exc)
        assert all(delivered[k] >= planned[k] * (1 - ENERGY_TOLERANCE) for k in planned)
        return
    for wl, energy_j in rest.energy_j_by_wavelength.items():
        key = f"{wl:g}"
        assert energy_j <= planned[key] - delivered[key]  # exact: the machine's limit is this energy
        assert energy_j == pytest.approx(planned[key] - delivered[key], rel=1e-9)
        assert rest.power_w_by_wavelength[wl] <= plan.power_w_by_wavelength[wl]  # never a higher power
    # energy = power x time x duty for every wavelength, and the same pulse settings and handpiece
    for wl, power in rest.power_w_by_wavelength.items():
        assert rest.energy_j_by_wavelength[wl] == pytest.approx(power * rest.duration_s * rest.duty_cycle)
    assert (rest.mode, rest.duty_cycle, rest.frequency_hz, rest.handpiece) == (
        plan.mode, plan.duty_cycle, plan.frequency_hz, plan.handpiece,
    )  # fmt: skip
    limits = set_params(rest)["energy_limit_j"]
    assert all(limits[k] <= planned[k] - delivered[k] for k in limits)


def test_same_fraction_left_keeps_the_powers_and_shortens_the_time(profile):
    plan = plan_delivery(PLAN, profile)  # 6 W + 4 W for 30 s: 180 J + 120 J
    rest = remainder_delivery(plan, {"810": 72.0, "980": 48.0})  # 12 s of 30 given
    assert rest.power_w_by_wavelength == {810: pytest.approx(6.0), 980: pytest.approx(4.0)}
    assert rest.duration_s == pytest.approx(18.0)  # (180 - 72) J / 6 W
    assert rest.total_energy_j == pytest.approx(180.0)


@pytest.mark.parametrize(
    ("delivered", "message"),
    [
        ({"810": 72.0}, "names wavelengths"),
        ({"810": 72.0, "980": 48.0, "1064": 1.0}, "names wavelengths"),
        ({"810": -1.0, "980": 48.0}, "not a plausible reading"),
        ({"810": math.nan, "980": 48.0}, "not a plausible reading"),
        ({"810": math.inf, "980": 48.0}, "not a plausible reading"),
        ({"810": 180.0, "980": 120.0}, "nothing remains"),
    ],
)
def test_a_record_without_trustworthy_energy_gives_no_remainder(profile, delivered, message):
    with pytest.raises(InputError, match=message):
        remainder_delivery(plan_delivery(PLAN, profile), delivered)


@pytest.mark.parametrize("source", [PLAN, PULSED])
def test_interrupted_then_completed_delivers_the_plan_once(profile, source):
    plan = plan_delivery(source, profile)
    first = _interrupted(profile, plan)
    rest = remainder_delivery(plan, first.delivered_j)
    machine = make_machine(profile, seed=9)
    second, _ = deliver(rest, machine, PERIOD_S)
    assert second.completed, second.reason
    assert emitted(machine) == pytest.approx(second.delivered_j, rel=1e-9)  # the machine's own log
    for key, planned in first.planned_j.items():
        together = first.delivered_j[key] + second.delivered_j[key]
        assert abs(together - planned) <= ENERGY_TOLERANCE * planned
        # the completion never asks the machine for more than what was left
        assert second.planned_j[key] <= planned - first.delivered_j[key]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("interlock-open@1s", "device trip: interlock-open"),
        ("estop@1s", "device trip: estop"),
        ("power-deviation=0.3@1s", "> 20 % off"),
    ],
)
def test_a_fault_during_the_completion_stops_emission_within_one_control_period(profile, fault, reason):
    plan = plan_delivery(PLAN, profile)
    rest = remainder_delivery(plan, _interrupted(profile, plan).delivered_j)
    machine = make_machine(profile, (fault,))
    outcome, _ = deliver(rest, machine, PERIOD_S)
    assert outcome.state == "fault" and reason in outcome.reason
    assert not machine.emitting
    fault_at = next(line["t_s"] for line in machine.log_lines if line["type"] == "fault")
    last_end = max(line["end_s"] for line in machine.log_lines if line["type"] == "emission")
    assert last_end - fault_at <= PERIOD_S + 1e-9


def test_operator_stop_during_the_completion_stops_at_once(profile):
    plan = plan_delivery(PLAN, profile)
    rest = remainder_delivery(plan, _interrupted(profile, plan).delivered_j)
    machine = make_machine(profile)

    def stop_after_a_second(machine, controller) -> None:
        if machine.t_s >= 1.0 and controller.state == "emitting":
            controller.stop("stopped by operator")

    outcome, _ = deliver(rest, machine, PERIOD_S, between=stop_after_a_second)
    assert outcome.state == "done" and not outcome.completed and not machine.emitting
    assert sum(outcome.delivered_j.values()) < sum(outcome.planned_j.values())


def test_a_record_whose_counter_was_in_doubt_gives_no_completion(profile):
    from laserdose.device.record_doses import completion_from_record

    plan = plan_delivery(PLAN, profile)
    head = {"kind": "session", "wall_time": 0.0, "session_id": "a", "plan": set_params(plan)}
    doubt = "810 nm host integral 80.1 J vs device counter 72 J"
    outcome = {"kind": "outcome", "completed": False, "delivered_j": {"810": 72.0, "980": 48.0},
               "unaccounted_max_j": 0.0, "reason": doubt}  # fmt: skip
    with pytest.raises(InputError, match="energy counter was in doubt"):
        completion_from_record([head, outcome], plan)
    trusted = {**outcome, "reason": "device trip: interlock-open"}
    rest, completes = completion_from_record([head, trusted], plan)
    assert completes == "a" and rest.energy_j_by_wavelength == {
        810: pytest.approx(108.0),
        980: pytest.approx(72.0),
    }
