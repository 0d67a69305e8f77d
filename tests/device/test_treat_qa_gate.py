"""`laserdose treat` without a clinic database: no silent treatment without the power-check (QA) gate.

Without --database-url there is no power check to read, so ARM is refused before anything connects unless
the operator says --no-qa-gate; that choice is printed and written to the session record. The simulator
runs in its own process over TCP, as in test_real_link.py.
"""

import json
import socket

import pytest
from simkit import PLAN, wait_for

from laserdose.device.record import read_record

SIM_ARGS = ["--time-scale", "10", "--watchdog", "1"]


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PLAN))
    return path


def _refused_before_connecting(cli, plan_file, record, *options):
    """Run treat against a listening socket; return the result after checking no link was opened."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        result = cli("treat", "--plan", plan_file, "--device", url, "--operator", "A", "--record", record,
                     *options)  # fmt: skip
        listener.settimeout(0.05)
        with pytest.raises(TimeoutError):  # the machine was never contacted, so never armed
            listener.accept()
    return result


def test_without_a_database_treat_refuses_unless_the_operator_says_no_qa_gate(cli, plan_file, tmp_path):
    record = tmp_path / "session.jsonl"
    result = _refused_before_connecting(cli, plan_file, record)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith("laserdose: error: no clinic database to read the machine's power checks")
    assert "--database-url" in result.stderr and "--no-qa-gate" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not record.exists()  # no session was started


def test_a_database_and_no_qa_gate_together_are_refused(cli, plan_file, tmp_path):
    record = tmp_path / "session.jsonl"
    result = _refused_before_connecting(
        cli, plan_file, record, "--no-qa-gate", "--database-url", f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    )
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("laserdose: error: give --database-url") and "not both" in result.stderr
    assert not record.exists()


def _gate_entry(entries):
    (entry,) = [e for e in entries if e["kind"] == "power-check"]
    return entry


def test_no_qa_gate_treats_and_the_choice_is_printed_and_recorded(cli, sim_process, plan_file, tmp_path):
    sim = sim_process(*SIM_ARGS)
    record = tmp_path / "session.jsonl"
    result = cli("treat", "--plan", plan_file, "--device", sim.url, "--operator", "Dr A", "--json",
                 "--record", record, "--simulator", "--no-qa-gate")  # fmt: skip
    assert result.exit_code == 0 and json.loads(result.stdout)["completed"], result.output
    assert "laserdose: warning: ARM without a power check" in result.stderr
    assert "--no-qa-gate" in result.stderr
    entries = read_record(record)
    gate = _gate_entry(entries)
    assert gate["gate"] == "off" and gate["chosen_by"] == "Dr A" and gate["allowed"] is True
    assert "--no-qa-gate" in gate["note"]
    kinds = [e["kind"] for e in entries]
    # Asked after the machine identified itself and before anything was armed.
    first_state = next(i for i, e in enumerate(entries) if e["kind"] == "state")
    assert kinds.index("identity") < kinds.index("power-check") < first_state


def test_no_qa_gate_still_aborts_and_disarms_on_a_fault(cli, sim_process, plan_file, tmp_path):
    sim = sim_process(*SIM_ARGS, "--fault", "estop@2s")
    record = tmp_path / "session.jsonl"
    result = cli("treat", "--plan", plan_file, "--device", sim.url, "--operator", "Dr A", "--json",
                 "--record", record, "--simulator", "--no-qa-gate")  # fmt: skip
    outcome = json.loads(result.stdout)
    assert result.exit_code == 3 and not outcome["completed"] and "estop" in outcome["reason"]
    entries = read_record(record)
    assert _gate_entry(entries)["gate"] == "off"
    assert entries[-1]["kind"] == "outcome" and not entries[-1]["completed"]
    wait_for(lambda: any(line["type"] == "emission" for line in sim.lines()))
    emissions = [line for line in sim.lines() if line["type"] == "emission"]
    assert emissions and all(line["end_reason"] == "estop" for line in emissions)  # cut by the trip
