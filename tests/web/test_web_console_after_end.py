"""After a session ends the console stays connected and tells the truth: 0 W, why arming is refused, and
another session may start on the same link, with every guard of the first (fault injection below).
"""

import time

from consolekit import (
    PLAN,
    SAME_DAY,
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
from laserdose.web.routes import console as routes

SHORT_PLAN = {**PLAN, "duration_s": 10, "total_energy_j": 100.0}  # 2 s of wall clock at the test scale


def _ended_once(webapp, sim, plan=SHORT_PLAN):
    """A console whose first session ran to its end; (client, course id, run)."""
    client = console_client(webapp, sim)
    course_id = signed_course(webapp.url, plan)
    assert post_console(client, course_id, "connect").status_code == 303
    assert post_console(client, course_id, "start").status_code == 303
    run = client.app.state.console.get(course_id)
    wait_for(lambda: run.phase == "ended", 15, "the first session to end")
    return client, course_id, run


def _emissions(sim) -> int:
    return len([line for line in emission_log(sim) if line["type"] == "emission"])


def test_after_a_stop_the_snapshot_shows_no_power_and_allows_another_start(webapp, sim):
    client = console_client(webapp, sim)
    course_id = signed_course(webapp.url, PLAN)
    assert post_console(client, course_id, "connect").status_code == 303
    assert post_console(client, course_id, "start").status_code == 303
    run = client.app.state.console.get(course_id)
    wait_for(lambda: all((w or 0.0) > 1.0 for w in run.snapshot()["power_w"].values()), 10, "live power")
    assert post_console(client, course_id, "stop").status_code == 200
    wait_for(lambda: run.phase == "ended", 10, "the stopped session to end")
    snapshot = run.snapshot()
    assert snapshot["machine"]["state"] == "standby"
    assert snapshot["power_w"] == {"810": 0.0, "980": 0.0}
    assert run.controller.progress.power_w["810"] > 1.0  # the last reading during emission: not shown
    assert snapshot["can_start"] and snapshot["blocked"] == ""
    page = client.get(f"/courses/{course_id}/console/panel").text
    assert 'id="start"' in page and 'id="disconnect"' in page and 'id="connect"' not in page
    assert post_console(client, course_id, "start", **SAME_DAY).status_code == 303  # on the same link
    wait_for(lambda: sim.machine.state == "emitting", 10, "emission in the second session")
    assert post_console(client, course_id, "stop").status_code == 200
    wait_for(lambda: run.phase == "ended", 10, "the second session to end")
    records = sessions_of(webapp.url, course_id)
    assert [(r.status, r.interruptions[-1]["reason"]) for r in records] == [
        ("ended", "stopped by operator")
    ] * 2
    assert all(sum(r.energy_j_by_wavelength.values()) > 0.0 for r in records)


def test_a_machine_fault_in_the_second_session_stops_it_and_is_recorded(webapp, sim):
    client, course_id, run = _ended_once(webapp, sim, PLAN)  # the full plan: 12 s, time for the fault
    assert post_console(client, course_id, "start", **SAME_DAY).status_code == 303
    wait_for(lambda: sim.machine.state == "emitting", 10, "emission in the second session")
    with sim.lock:
        sim.machine.console("interlock-open")
    wait_for(lambda: run.phase == "ended", 10, "the fault to end the second session")
    with sim.lock:
        assert sim.machine.state == "tripped" and not sim.machine.emitting
    snapshot = run.snapshot()
    assert snapshot["power_w"] == {"810": 0.0, "980": 0.0}
    assert "the remote interlock is open" in snapshot["blocked"] and "tripped" in snapshot["blocked"]
    second = sessions_of(webapp.url, course_id)[-1]
    assert second.status == "ended" and not second.completed and second.interruptions
    before = _emissions(sim)
    refused = post_console(client, course_id, "start", **SAME_DAY)  # past the disabled button: refused
    assert refused.status_code == 409 and "nothing was emitted" in refused.text
    assert _emissions(sim) == before and len(sessions_of(webapp.url, course_id)) == 2


def test_a_stop_during_the_second_start_request_refuses_it(webapp, sim, monkeypatch):
    client, course_id, run = _ended_once(webapp, sim)
    commands = machine_commands(monkeypatch, Msg.ARM, Msg.STOP, Msg.DISARM)
    real_open = routes.treatment.open_session

    def open_then_stop(**kwargs):
        record = real_open(**kwargs)
        run.stop("stopped by operator")  # STOP pressed while the start request writes the record
        return record

    monkeypatch.setattr(routes.treatment, "open_session", open_then_stop)
    response = post_console(client, course_id, "start", **SAME_DAY)
    assert response.status_code == 409 and "stopped before arming" in response.text
    time.sleep(0.5)  # ten control periods: time for a wrongly started controller to arm
    assert "ARM" not in commands and run.phase == "ended"
    assert sessions_of(webapp.url, course_id)[-1].interruptions == [
        {"at_s": 0.0, "reason": "stopped before arming"}
    ]


def test_a_console_whose_thread_failed_starts_nothing_more(webapp, sim, monkeypatch):
    client, course_id, run = _ended_once(webapp, sim)

    def failing_poll(self):
        raise RuntimeError("injected poll failure")

    monkeypatch.setattr(console_module.ConsoleRun, "poll_status", failing_poll)
    wait_for(lambda: run.broken, 5, "the console thread to fail")
    monkeypatch.undo()
    commands = machine_commands(monkeypatch, Msg.ARM)
    assert not run.snapshot()["can_start"]
    page = client.get(f"/courses/{course_id}/console/panel").text
    assert 'id="start"' not in page and 'id="disconnect"' in page and 'id="connect"' not in page
    assert post_console(client, course_id, "start").status_code == 409
    time.sleep(0.3)
    assert commands == [] and len(sessions_of(webapp.url, course_id)) == 1
