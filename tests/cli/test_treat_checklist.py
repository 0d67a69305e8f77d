"""`laserdose treat` arms only with the safety checklist of its session (fault injection, simulator)."""

import datetime as dt
import hashlib
import json

import pytest
from typer.testing import CliRunner

from consolekit import PLAN, emission_log, machine_commands, simulator
from daykit import write_checklist
from laserdose.cli import treat
from laserdose.cli.main import app
from laserdose.device.protocol import Msg
from laserdose.device.record import read_record

SHORT = {**PLAN, "duration_s": 5, "total_energy_j": 50.0}  # 1 s of wall clock on the time-scaled simulator


@pytest.fixture
def machine(monkeypatch):
    """The simulator, with every HELLO and ARM frame it receives noted (in order)."""
    received = machine_commands(monkeypatch, Msg.HELLO, Msg.ARM)
    with simulator() as server:
        yield server, received


def _plan(tmp_path, plan=SHORT, name="plan.json"):
    path = tmp_path / name
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def _treat(plan, address, *extra, stdin=None):
    args = ["treat", "--plan", str(plan), "--device", address, "--operator", "Dr A", "--json", "--simulator"]
    return CliRunner().invoke(app, [*args, *map(str, extra)], input=stdin)


def _refused(result, received, server, words, interactive=False):
    assert result.exit_code == 2, result.output
    *before, last = result.stderr.splitlines()
    if interactive:  # after the questions, which the answers end (the terminal echoes them)
        last = last[last.index("laserdose: error: ") :]
    else:
        assert before == []
    assert last.startswith("laserdose: error: ") and words in last
    assert received == []  # not even a HELLO: the link was never opened, so nothing could be armed
    assert not [line for line in emission_log(server) if line["type"] == "emission"]


def test_without_a_checklist_and_without_a_terminal_nothing_is_armed(machine, tmp_path):
    server, received = machine
    result = _treat(_plan(tmp_path), server.address)
    _refused(result, received, server, "safety checklist missing: give --checklist FILE")


def test_an_incomplete_checklist_is_exit_2_naming_the_missing_item(machine, tmp_path):
    server, received = machine
    plan = _plan(tmp_path)
    checklist = write_checklist(plan, tmp_path, aiming_beam=False)
    result = _treat(plan, server.address, "--checklist", checklist)
    _refused(result, received, server, "not confirmed: aiming beam seen on the skin")


def test_the_checklist_of_another_session_does_not_count(machine, tmp_path):
    server, received = machine
    plan = _plan(tmp_path)
    other = _plan(tmp_path, {**SHORT, "duration_s": 6, "total_energy_j": 60.0}, "other.json")
    result = _treat(plan, server.address, "--checklist", write_checklist(other, tmp_path))
    _refused(result, received, server, "the checklist is for another plan")
    two_hours_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    result = _treat(
        plan, server.address, "--checklist", write_checklist(plan, tmp_path, completed_at=two_hours_ago)
    )
    _refused(result, received, server, "it must be done within the 60 minutes before emission")


def test_a_complete_checklist_arms_and_is_kept_in_the_session_record(machine, tmp_path):
    server, received = machine
    plan, record = _plan(tmp_path), tmp_path / "session.jsonl"
    result = _treat(plan, server.address, "--checklist", write_checklist(plan, tmp_path), "--record", record)
    assert result.exit_code == 0, result.output
    assert received == ["HELLO", "ARM"]
    entries = read_record(record)
    [session] = [e for e in entries if e["kind"] == "session"]  # the session's first entry, before ARM
    kept = session["checklist"]
    assert kept["completed_by"] == "Test Operator" and all(kept["items"].values()) and len(kept["items"]) == 6
    assert kept["plan_sha256"] == hashlib.sha256(plan.read_bytes()).hexdigest()


def test_in_a_terminal_each_item_is_confirmed_and_a_no_refuses(machine, tmp_path, monkeypatch):
    server, received = machine
    monkeypatch.setattr(treat, "interactive", lambda: True)
    plan = _plan(tmp_path)
    result = _treat(plan, server.address, stdin="y\ny\ny\nn\n")
    # The eyewear first (IEC 60825-1 / EN 207 at the machine's full power), then one question per item.
    assert result.stderr.splitlines()[:2] == [
        "eyewear at 810 nm: OD >= 3.5, EN 207 D LB4", "eyewear at 980 nm: OD >= 3.2, EN 207 D LB4",
    ]  # fmt: skip
    _refused(result, received, server, "not confirmed: skin in the field inspected", interactive=True)
    result = _treat(plan, server.address, "--record", tmp_path / "r.jsonl", stdin="y\n" * 6)
    assert result.exit_code == 0, result.output
    assert received == ["HELLO", "ARM"]
    [session] = [e for e in read_record(tmp_path / "r.jsonl") if e["kind"] == "session"]
    assert session["checklist"]["completed_by"] == "Dr A" and all(session["checklist"]["items"].values())
