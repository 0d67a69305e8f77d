"""The simulator in its own process over TCP: a full treatment, the link cut, the host killed."""

import json
import os
import signal
import subprocess

import pytest
from simkit import LASERDOSE, PLAN, wait_for

from daykit import with_checklist
from laserdose.device.record import read_record

SCALE = 10.0  # simulated seconds per wall-clock second
WATCHDOG_WALL_S = 1.0  # simulator watchdog: wall-clock seconds of host silence (generous for shared CI)
WATCHDOG_SIM_S = SCALE * WATCHDOG_WALL_S
SLACK_SIM_S = SCALE * 0.2  # server loop and scheduling jitter on a shared machine


def _plan_file(tmp_path, **change):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({**PLAN, **change}))
    return path


def _emitted(lines):
    return sum(line["measured_energy_j"] for line in lines if line["type"] == "emission")


def _sim_args(*faults):
    args = ["--time-scale", str(SCALE), "--watchdog", str(WATCHDOG_WALL_S)]
    for fault in faults:
        args += ["--fault", fault]
    return args


def test_full_treatment_over_tcp(cli, sim_process, tmp_path):
    sim = sim_process(*_sim_args())
    record = tmp_path / "session.jsonl"
    result = cli("treat", "--plan", _plan_file(tmp_path), "--device", sim.url, "--operator", "Dr A", "--json",
                 "--record", record, "--simulator")  # fmt: skip
    outcome = json.loads(result.stdout)
    assert result.exit_code == 0 and outcome["completed"], result.output
    assert sum(outcome["delivered_j"].values()) == pytest.approx(300.0, rel=0.01)  # (6 + 4) W x 30 s
    wait_for(lambda: any(line.get("kind") == "dose-complete" for line in sim.lines()))
    assert _emitted(sim.lines()) == pytest.approx(sum(outcome["delivered_j"].values()), rel=1e-9)
    states = [e["target"] for e in read_record(record) if e["kind"] == "state"]
    assert states == ["standby", "ready", "emitting", "done"]


def test_link_cut_mid_treatment(cli, sim_process, tmp_path):
    sim = sim_process(*_sim_args("link-drop@5s"))
    result = cli("treat", "--plan", _plan_file(tmp_path), "--device", sim.url, "--operator", "A", "--json",
                 "--simulator")  # fmt: skip
    outcome = json.loads(result.stdout)
    assert result.exit_code == 3 and "link lost" in outcome["reason"]
    wait_for(lambda: any(line.get("kind") == "watchdog" for line in sim.lines()))
    lines = sim.lines()
    drop_s = next(line["t_s"] for line in lines if line["type"] == "fault")
    ends = [line for line in lines if line["type"] == "emission"]
    assert all(line["end_reason"] == "watchdog" for line in ends[-2:])
    assert max(line["end_s"] for line in ends) - drop_s <= WATCHDOG_SIM_S + SLACK_SIM_S
    delivered = sum(outcome["delivered_j"].values())
    assert delivered <= _emitted(lines) <= delivered + outcome["unaccounted_max_j"]


def _kill_host_while_emitting(sim, tmp_path, record) -> None:
    """Start `laserdose treat`, SIGKILL it after 5 simulated seconds of emission."""
    command = [LASERDOSE, *with_checklist(["treat", "--plan", str(_plan_file(tmp_path)), "--simulator",
               "--device", sim.url, "--operator", "A", "--json", "--record", str(record)])]  # fmt: skip
    host = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def emitting_for_a_while() -> bool:
        if not record.exists():
            return False
        entries = read_record(record)
        started = [e["t_s"] for e in entries if e["kind"] == "state" and e["target"] == "emitting"]
        return bool(started) and entries[-1].get("t_s", 0.0) - started[0] > 5.0

    try:
        wait_for(emitting_for_a_while, timeout_s=120.0)  # a CLI start can take 30 s on a loaded CI box
    finally:
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
    wait_for(lambda: any(line.get("kind") == "watchdog" for line in sim.lines()))


def test_host_killed_mid_treatment_watchdog_stops_emission(sim_process, tmp_path):
    sim = sim_process(*_sim_args())
    record = tmp_path / "session.jsonl"
    _kill_host_while_emitting(sim, tmp_path, record)
    lines = sim.lines()
    last = [e for e in read_record(record) if e["kind"] == "measurement"][-1]
    ends = [line for line in lines if line["type"] == "emission"]
    assert ends and all(line["end_reason"] == "watchdog" for line in ends)
    # Emission ended at most one watchdog period (plus one control period) after the last record entry.
    assert max(line["end_s"] for line in ends) - last["t_s"] <= WATCHDOG_SIM_S + SCALE * 0.05 + SLACK_SIM_S
    assert sum(last["delivered_j"].values()) <= _emitted(lines) < 300.0


def test_sigterm_to_the_host_stops_emission_at_once(sim_process, tmp_path):
    sim = sim_process(*_sim_args())
    record = tmp_path / "session.jsonl"
    plan = str(_plan_file(tmp_path))
    options = ["--device", sim.url, "--operator", "A", "--json", "--record", str(record), "--simulator"]
    command = [LASERDOSE, *with_checklist(["treat", "--plan", plan, *options])]
    host = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wait_for(lambda: record.exists() and any(e.get("target") == "emitting" for e in read_record(record)))
    host.send_signal(signal.SIGTERM)
    out, _ = host.communicate(timeout=20)
    assert host.returncode == 3
    assert json.loads(out)["reason"] == "interrupted by operator (Ctrl-C or SIGTERM)"
    wait_for(lambda: any(line["type"] == "emission" for line in sim.lines()))
    assert all(line["end_reason"].startswith("stop:") for line in sim.lines() if line["type"] == "emission")


def test_a_time_scaled_machine_is_refused_unless_the_operator_says_simulator(cli, sim_process, tmp_path):
    # A machine must not loosen the 2 s watchdog bound by claiming a fast clock: only --simulator accepts it.
    sim = sim_process(*_sim_args())
    result = cli("treat", "--plan", _plan_file(tmp_path), "--device", sim.url, "--operator", "A", "--json")
    assert result.exit_code == 3
    assert "time_scale" in result.output and "--simulator" in result.output
    assert all(line["type"] != "emission" for line in sim.lines())


def _sessions(entries):
    """The record's sessions: lists of entries, each starting at its "session" entry."""
    sessions: list[list[dict]] = []
    for entry in entries:
        if entry["kind"] == "session":
            sessions.append([])
        sessions[-1].append(entry)
    return sessions


def test_the_next_treat_closes_a_record_cut_by_sigkill_with_the_machines_counter(cli, sim_process, tmp_path):
    sim = sim_process(*_sim_args())
    record = tmp_path / "session.jsonl"
    _kill_host_while_emitting(sim, tmp_path, record)
    killed = _sessions(read_record(record))[0]
    assert killed[-1]["kind"] != "outcome"  # cut off: no closing line
    recorded = sum(e for e in [e for e in killed if e["kind"] == "measurement"][-1]["delivered_j"].values())
    emitted = _emitted(sim.lines())
    assert emitted > recorded  # what the machine emitted in the watchdog window is not in the record

    # The killed session delivered light today: a full dose again the same day needs the confirmation
    # (`--complete` would deliver only the rest; tests/device/test_treat_completion.py).
    result = cli("treat", "--plan", _plan_file(tmp_path), "--device", sim.url, "--operator", "Dr A", "--json",
                 "--record", record, "--simulator", "--same-day-reason", "crashed; given again")  # fmt: skip
    assert "closed an interrupted session" in result.stderr
    first, second = _sessions(read_record(record))
    closing = first[-1]
    assert closing["kind"] == "outcome" and closing["state"] == "interrupted" and not closing["completed"]
    assert closing["energy_source"] == "machine counter"
    assert sum(closing["delivered_j"].values()) == pytest.approx(emitted, rel=1e-9)  # the simulator's log
    assert result.exit_code == 0 and second[-1]["kind"] == "outcome" and second[-1]["completed"]


def test_device_recover_closes_a_record_cut_by_sigkill(cli, sim_process, tmp_path):
    sim = sim_process(*_sim_args())
    record = tmp_path / "session.jsonl"
    _kill_host_while_emitting(sim, tmp_path, record)
    result = cli("device", "recover", "--record", record, "--device", sim.url, "--json")
    assert result.exit_code == 0, result.output
    closing = read_record(record)[-1]
    assert json.loads(result.stdout)["delivered_j"] == closing["delivered_j"]
    assert closing["state"] == "interrupted" and closing["energy_source"] == "machine counter"
    assert sum(closing["delivered_j"].values()) == pytest.approx(_emitted(sim.lines()), rel=1e-9)
    again = cli("device", "recover", "--record", record, "--device", sim.url, "--json")
    assert again.exit_code == 0 and json.loads(again.stdout) is None  # nothing left open
