"""The simulator in its own process over TCP: a full treatment, the link cut, the host killed."""

import json
import os
import signal
import subprocess

import pytest
from simkit import LASERDOSE, PLAN, wait_for

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


def test_host_killed_mid_treatment_watchdog_stops_emission(sim_process, tmp_path):
    sim = sim_process(*_sim_args())
    record = tmp_path / "session.jsonl"
    command = [LASERDOSE, "treat", "--plan", str(_plan_file(tmp_path)), "--simulator",
               "--device", sim.url, "--operator", "A", "--json", "--record", str(record)]  # fmt: skip
    host = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def emitting_for_a_while() -> bool:
        if not record.exists():
            return False
        entries = read_record(record)
        started = [e["t_s"] for e in entries if e["kind"] == "state" and e["target"] == "emitting"]
        return bool(started) and entries[-1].get("t_s", 0.0) - started[0] > 5.0

    try:
        wait_for(emitting_for_a_while)
    finally:
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
    wait_for(lambda: any(line.get("kind") == "watchdog" for line in sim.lines()))
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
    command = [LASERDOSE, "treat", "--plan", plan, *options]
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
