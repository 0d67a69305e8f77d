"""The state machine, the energy ledger and the safety monitor on their own (no machine, no link)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simkit import make_machine

from laserdose.device import monitor
from laserdose.device.controller import Controller
from laserdose.device.ledger import EnergyLedger
from laserdose.device.record import SessionRecord
from laserdose.device.states import (
    EVENTS,
    ILLEGAL,
    STATES,
    TABLE,
    TERMINAL_STATES,
    IllegalTransition,
    StateMachine,
)
from laserdose.device.stepped import connect, deliver

GUARD_NAMES = sorted({row.guard for row in TABLE.values() if row.guard})


def test_the_state_cannot_be_assigned(profile, plan):
    machine = StateMachine()
    with pytest.raises(AttributeError):
        machine.state = "emitting"  # type: ignore[misc]
    controller = Controller(plan, connect(make_machine(profile)), SessionRecord(), "A", profile=profile)
    with pytest.raises(AttributeError):
        controller.state = "emitting"  # type: ignore[misc]
    assert controller.state == "off"


@given(
    start=st.sampled_from(STATES),
    steps=st.lists(st.tuples(st.sampled_from([*EVENTS, "bogus"]), st.booleans()), max_size=12),
)
def test_every_state_change_is_a_declared_transition(start, steps):
    machine = StateMachine(start)
    for event, guards_hold in steps:
        source = machine.state
        try:
            row = machine.fire(event, lambda guard, holds=guards_hold: holds)
        except IllegalTransition as exc:
            # Only a pair the table lacks, or a failed guard, takes the fallback, and it leads to fault.
            assert (source, event) not in TABLE or (TABLE[source, event].guard and not guards_hold)
            assert (exc.source, exc.event) == (source, event)
            assert machine.state == ILLEGAL.target == "fault"
        else:
            assert row is TABLE[source, event] and machine.state == row.target


def test_an_unknown_start_state_is_refused():
    with pytest.raises(ValueError, match="unknown state"):
        StateMachine("lasing")


def test_every_recorded_state_change_of_a_delivery_is_a_table_row(profile, plan):
    record = SessionRecord()
    for faults in ((), ("estop@2s",), ("handpiece-removed@2s",)):
        deliver(plan, make_machine(profile, faults), 0.1, record)
    # And one illegal event: arming again once ready.
    controller = Controller(plan, connect(make_machine(profile)), record, "A", profile=profile)
    controller.prepare()
    with pytest.raises(IllegalTransition):
        controller.fire("armed")
    changes = [entry for entry in record.entries if entry["kind"] == "state"]
    assert {entry["target"] for entry in changes} >= {"standby", "ready", "emitting", "done", "fault"}
    assert any(entry["event"] == ILLEGAL.event for entry in changes)
    for entry in changes:
        row = TABLE.get((entry["source"], entry["event"]), ILLEGAL)
        assert entry["event"] == row.event, entry
        assert row.target == entry["target"], entry


def _sample(t_s, energy_j, power_w, emitting=True, on_s=5.0, state="emitting"):
    return {
        "t_s": t_s,
        "state": state,
        "energy_j": dict(energy_j),
        "power_w": dict(power_w),
        "emitting": dict.fromkeys(energy_j, emitting),
        "on_s": dict.fromkeys(energy_j, on_s),
    }


def test_ledger_integrates_power_by_the_trapezoid_rule():
    ledger = EnergyLedger({"810": 100.0})
    assert ledger.account(_sample(0.0, {"810": 0.0}, {"810": 0.0})) == []
    assert ledger.account(_sample(1.0, {"810": 5.0}, {"810": 10.0})) == []
    assert ledger.account(_sample(3.0, {"810": 25.0}, {"810": 10.0})) == []
    # (0 + 10) / 2 x 1 s + 10 x 2 s = 25 J, emitting 3 s, longest period 2 s.
    assert ledger.integral["810"] == pytest.approx(25.0)
    assert ledger.emitting_s["810"] == pytest.approx(3.0) and ledger.period_s == pytest.approx(2.0)
    assert ledger.delivered == {"810": 25.0}


def test_ledger_refuses_a_decreasing_or_invalid_counter():
    ledger = EnergyLedger({"810": 100.0})
    ledger.account(_sample(0.0, {"810": 10.0}, {"810": 0.0}))
    assert "decreasing" in ledger.account(_sample(1.0, {"810": 9.0}, {"810": 0.0}))[0]
    assert "invalid" in ledger.account(_sample(2.0, {"810": float("nan")}, {"810": 0.0}))[0]
    assert ledger.delivered == {"810": 10.0}  # neither was taken


def test_ledger_dose_reached_within_one_percent_and_over_plan_above_it():
    ledger = EnergyLedger({"810": 100.0, "980": 50.0})
    ledger.account(_sample(0.0, {"810": 98.9, "980": 50.0}, {"810": 0.0, "980": 0.0}))
    assert not ledger.dose_reached()
    ledger.account(_sample(1.0, {"810": 99.0, "980": 50.6}, {"810": 0.0, "980": 0.0}))
    assert ledger.dose_reached() and not ledger.fully_delivered() and ledger.over_plan() == ["980"]


def test_monitor_power_check_allows_twenty_percent_after_the_ramp():
    set_w = {"810": 10.0}
    assert monitor.power_problem(_sample(5.0, {"810": 1.0}, {"810": 8.0}), set_w) == ""
    assert "> 20 % off" in monitor.power_problem(_sample(5.0, {"810": 1.0}, {"810": 7.9}), set_w)
    # Still ramping (on for less than RAMP_ALLOWANCE_S): not compared yet.
    ramping = _sample(5.0, {"810": 1.0}, {"810": 1.0}, on_s=monitor.RAMP_ALLOWANCE_S / 2)
    assert monitor.power_problem(ramping, set_w) == ""


def test_monitor_reads_the_device_behaviour_as_table_events():
    ledger = EnergyLedger({"810": 100.0})
    emitting = _sample(10.0, {"810": 50.0}, {"810": 10.0})
    ledger.account(emitting)
    assert monitor.follow("ready", emitting, ledger, {"810": 10.0}, 0.0, 0.0) == [("emission_started", "")]
    released = _sample(11.0, {"810": 50.0}, {"810": 0.0}, emitting=False, state="ready")
    steps = monitor.follow("emitting", released, ledger, {"810": 10.0}, 0.0, 0.0)
    assert steps == [("footswitch_released", "footswitch released")]
    late = _sample(200.0, {"810": 50.0}, {"810": 0.0}, emitting=False, state="ready")
    assert monitor.follow("paused", late, ledger, {"810": 10.0}, 11.0, 0.0)[0][0] == "stop"
    lying = _sample(12.0, {"810": 50.0}, {"810": 10.0}, state="ready")
    assert monitor.follow("paused", lying, ledger, {"810": 10.0}, 11.0, 0.0)[0][0] == "fault"


def test_monitor_event_and_machine_checks_name_their_reason():
    assert monitor.device_event_problem({"kind": "trip", "detail": "estop"}) == "device trip: estop"
    assert monitor.device_event_problem({"kind": "indicator", "detail": "on"}) == ""
    assert monitor.watchdog_problem({"watchdog_s": 1.0}, False) == ""
    assert "no working watchdog" in monitor.watchdog_problem({"watchdog_s": 3.0}, False)
    assert "simulator" in monitor.watchdog_problem({"watchdog_s": 5.0, "time_scale": 5.0}, False)
    assert monitor.watchdog_problem({"watchdog_s": 5.0, "time_scale": 5.0}, True) == ""
    assert monitor.read_back_mismatch({"a": 1.0, "b": {"x": 2}}, {"a": 1.0, "b": {"x": 3}}) == "b"


def test_terminal_states_have_only_the_fallback():
    for state in TERMINAL_STATES:
        assert not [row for (source, _), row in TABLE.items() if source == state]
