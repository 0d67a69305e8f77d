"""A session record left open by a crashed host is closed as interrupted on the next start.

The delivered energy comes from the machine's own monitor counter when the machine still holds that
session (matched by the session id the host sent with SET_PARAMS); otherwise from the record, with the
most energy that may have gone unrecorded.
"""

import json

import pytest
from simkit import PLAN, make_machine

from laserdose.device.controller import Controller
from laserdose.device.plan import plan_delivery, set_params
from laserdose.device.record import SessionRecord, read_record
from laserdose.device.recovery import open_session, recover
from laserdose.device.stepped import connect

SHORT = {**PLAN, "duration_s": 10, "total_energy_j": 100.0}  # (6 + 4) W x 10 s


def _crash_mid_emission(profile, path, periods=40, watchdog_runs_out=True):
    """A controller that delivers for `periods` control periods and then vanishes (no closing lines)."""
    machine = make_machine(profile)
    record = SessionRecord(path)
    controller = Controller(
        plan_delivery(SHORT, profile), connect(machine), record, operator="A", profile=profile
    )
    controller.prepare()
    for _ in range(periods):
        machine.step(0.1)
        controller.tick()
    assert controller.state == "emitting"
    record.close()  # the process died: nothing more is written
    if watchdog_runs_out:
        machine.step(machine.config.watchdog_s + 0.2)  # the machine's watchdog stops emission
        assert not machine.emitting
    return machine


def _counter(machine) -> dict[str, float]:
    return {f"{wl:g}": s.monitor_energy_j for wl, s in machine.sources.items()}


def test_an_open_record_is_closed_with_the_machines_counter(profile, tmp_path):
    path = tmp_path / "session.jsonl"
    machine = _crash_mid_emission(profile, path)
    before = read_record(path)
    assert open_session(before) is not None
    recorded = [e for e in before if e["kind"] == "measurement"][-1]["delivered_j"]
    counter = _counter(machine)
    assert sum(counter.values()) > sum(recorded.values())  # the watchdog window went unrecorded

    result = recover(path, connect(machine))
    assert result is not None and result.energy_source == "machine counter"
    entries = read_record(path)
    assert open_session(entries) is None
    outcome = entries[-1]
    assert outcome["kind"] == "outcome" and outcome["state"] == "interrupted" and outcome["exit_code"] == 3
    assert outcome["delivered_j"] == pytest.approx(counter, rel=1e-12)
    assert outcome["unaccounted_max_j"] == 0.0
    assert recover(path, connect(machine)) is None  # nothing open any more


def test_without_the_machine_the_record_is_closed_with_a_bound(profile, tmp_path):
    path = tmp_path / "session.jsonl"
    machine = _crash_mid_emission(profile, path)
    result = recover(path, None)
    assert result is not None and result.energy_source == "record"
    outcome = read_record(path)[-1]
    recorded = [e for e in read_record(path) if e["kind"] == "measurement"][-1]["delivered_j"]
    assert outcome["state"] == "interrupted" and outcome["delivered_j"] == recorded
    # The machine stops each source at its energy limit (the planned energy): the rest is the bound.
    assert outcome["unaccounted_max_j"] == pytest.approx(100.0 - sum(recorded.values()))
    truth = sum(_counter(machine).values())
    assert sum(recorded.values()) <= truth <= sum(recorded.values()) + outcome["unaccounted_max_j"]


def test_a_machine_that_has_since_started_another_session_is_not_believed(profile, plan, tmp_path):
    path = tmp_path / "session.jsonl"
    machine = _crash_mid_emission(profile, path)
    client = connect(machine)
    from laserdose.device.protocol import Msg

    client.request(Msg.SET_PARAMS, set_params(plan))  # someone else's session: counters back at 0 J
    result = recover(path, connect(machine))
    assert result is not None and result.energy_source == "record"
    assert "another session" in read_record(path)[-1]["reason"]


def test_a_record_cut_mid_line_is_closed_on_a_line_of_its_own(profile, tmp_path):
    path = tmp_path / "session.jsonl"
    machine = _crash_mid_emission(profile, path)
    with path.open("a") as file:
        file.write('{"kind": "measurement", "t_s": 9')  # the line the kill interrupted
    recover(path, connect(machine))
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["state"] == "interrupted"
    assert lines[-3].endswith('"t_s": 9')  # the cut line stays as it was, alone on its line


def test_a_closed_record_is_left_alone(profile, plan, tmp_path):
    from laserdose.device.stepped import deliver

    path = tmp_path / "session.jsonl"
    record = SessionRecord(path)
    outcome, _ = deliver(plan, make_machine(profile), record=record)
    record.close()
    assert outcome.completed
    text = path.read_text()
    assert recover(path, None) is None and path.read_text() == text


def test_device_recover_without_a_machine_closes_from_the_record(cli, profile, tmp_path):
    path = tmp_path / "session.jsonl"
    _crash_mid_emission(profile, path)
    unreachable = cli("device", "recover", "--record", path, "--device", "tcp://127.0.0.1:1")
    assert unreachable.exit_code == 3 and "left open" in unreachable.stderr
    assert open_session(read_record(path)) is not None
    result = cli("device", "recover", "--record", path)
    assert result.exit_code == 0 and "from the record, up to" in result.stdout
    assert read_record(path)[-1]["state"] == "interrupted"
    missing = cli("device", "recover", "--record", tmp_path / "none.jsonl")
    assert missing.exit_code == 2 and missing.stderr.startswith("laserdose: error: no record")


def test_recovery_stops_a_machine_still_emitting_its_session_then_reads_the_counter(profile, tmp_path):
    # Fault injection: the next start comes before the watchdog ran out (machine still emitting).
    path = tmp_path / "session.jsonl"
    machine = _crash_mid_emission(profile, path, watchdog_runs_out=False)
    machine.step(0.2)
    assert machine.emitting
    result = recover(path, connect(machine))
    assert not machine.emitting and machine.state == "standby"
    assert result is not None and result.energy_source == "machine counter"
    assert result.delivered_j == pytest.approx(_counter(machine), rel=1e-12)
    assert any(line.get("end_reason", "").startswith("stop:") for line in machine.log_lines)


@pytest.mark.parametrize("counter_j", [0.0, float("nan")])
def test_a_counter_below_the_record_or_not_a_number_is_not_believed(profile, tmp_path, counter_j):
    # Fault injection: the firmware's counter reads less than the host already recorded, or NaN.
    path = tmp_path / "session.jsonl"
    machine = _crash_mid_emission(profile, path)
    for source in machine.sources.values():
        source.monitor_energy_j = counter_j
    result = recover(path, connect(machine))
    assert result is not None and result.energy_source == "record"
    recorded = [e for e in read_record(path) if e["kind"] == "measurement"][-1]["delivered_j"]
    assert result.delivered_j == recorded and result.unaccounted_max_j > 0
