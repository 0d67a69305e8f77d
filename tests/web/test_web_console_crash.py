"""An exception in the console's controller thread ends in STOP + DISARM and frees the machine.

Fault injection: the in-memory session record's writes raise mid-emission (the controller's own error
handling then raises again, out of Controller.run), or an exception is raised after the run. Before the
thread had a guard, the console stayed "running" and every later connect was refused until a restart.
"""

from consolekit import (
    PLAN,
    console_client,
    emission_log,
    machine_commands,
    post_console,
    sessions_of,
    signed_course,
    wait_for,
)
from laserdose.clinic import console as console_module
from laserdose.device.protocol import Msg


def _started(webapp, sim):
    client = console_client(webapp, sim)
    course_id = signed_course(webapp.url, PLAN)
    assert post_console(client, course_id, "connect").status_code == 303
    assert post_console(client, course_id, "start").status_code == 303
    wait_for(lambda: sim.machine.state == "emitting", 10, "emission")
    return client, course_id, client.app.state.console.get(course_id)


def _assert_freed(client, webapp, sim, course_id, run, commands):
    wait_for(lambda: run.phase == "ended", 10, "the console to end after the error")
    assert "RuntimeError: injected" in run.error
    assert commands[-2:] == ["STOP", "DISARM"]  # the thread's guard sends them again, last
    with sim.lock:
        assert sim.machine.state == "standby" and not sim.machine.emitting
    [record] = sessions_of(webapp.url, course_id)
    assert record.status == "ended" and not record.completed
    assert "RuntimeError: injected" in record.interruptions[-1]["reason"]
    # The machine is free: a new connect (another course) is accepted.
    other = signed_course(webapp.url, PLAN)
    assert post_console(client, other, "connect").status_code == 303


def test_a_record_write_failing_mid_emission_stops_and_frees_the_machine(webapp, sim, monkeypatch):
    client, course_id, run = _started(webapp, sim)
    commands = machine_commands(monkeypatch, Msg.STOP, Msg.DISARM)

    def failing_write(self, kind, **fields):
        raise RuntimeError("injected record failure")

    monkeypatch.setattr(console_module.ConsoleRecord, "write", failing_write)
    _assert_freed(client, webapp, sim, course_id, run, commands)
    ends = [line for line in emission_log(sim) if line["type"] == "emission"]
    assert ends and not any(line.get("kind") == "watchdog" for line in emission_log(sim))


def test_an_error_after_the_run_still_closes_the_record_and_frees_the_machine(webapp, sim, monkeypatch):
    client, course_id, run = _started(webapp, sim)
    commands = machine_commands(monkeypatch, Msg.STOP, Msg.DISARM)

    def failing_counters(self, controller):
        raise RuntimeError("injected after the run")

    monkeypatch.setattr(console_module.ConsoleRun, "_read_final_counters", failing_counters)
    assert post_console(client, course_id, "stop").status_code == 200
    _assert_freed(client, webapp, sim, course_id, run, commands)
    assert commands.count("STOP") == 2  # the operator's, then the guard's
