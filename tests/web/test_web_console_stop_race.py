"""A STOP pressed while the Start request is being handled is never forgotten (reviewer's repro)."""

import time

from fastapi.testclient import TestClient

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
from laserdose.device.protocol import Msg
from laserdose.web.routes import console as routes
from laserdose.web.workers import ARRIVED_AT

SHORT_PLAN = {**PLAN, "duration_s": 10, "total_energy_j": 100.0}  # 2 s of wall clock at the test scale


def test_a_stop_during_the_start_request_refuses_the_start(webapp, sim, monkeypatch):
    client = console_client(webapp, sim)
    course_id = signed_course(webapp.url, SHORT_PLAN)
    assert post_console(client, course_id, "connect").status_code == 303
    run = client.app.state.console.get(course_id)
    commands = machine_commands(monkeypatch, Msg.ARM, Msg.STOP, Msg.DISARM)
    real_open = routes.treatment.open_session

    def open_then_stop(**kwargs):
        record = real_open(**kwargs)
        run.stop("stopped by operator")  # STOP pressed while the start request writes the record
        return record

    monkeypatch.setattr(routes.treatment, "open_session", open_then_stop)
    response = post_console(client, course_id, "start")
    assert response.status_code == 409 and "stopped before arming" in response.text
    time.sleep(0.5)  # ten control periods: time for a wrongly started controller to arm
    assert "ARM" not in commands and commands[:2] == ["STOP", "DISARM"]
    assert not [line for line in emission_log(sim) if line["type"] == "emission"]
    assert run.phase == "connected"  # nothing runs: the operator may press Start again
    [record] = sessions_of(webapp.url, course_id)
    assert record.status == "ended" and not record.completed
    assert record.interruptions == [{"at_s": 0.0, "reason": "stopped before arming"}]

    monkeypatch.setattr(routes.treatment, "open_session", real_open)  # a new Start, no STOP: it runs
    assert post_console(client, course_id, "start").status_code == 303
    wait_for(lambda: run.phase == "ended", 15, "the second session to end")
    assert sessions_of(webapp.url, course_id)[-1].completed


def test_a_stop_on_another_course_s_page_reaches_a_connected_machine(webapp, sim, monkeypatch):
    """One machine: a STOP pressed on any console page while a course is connected (maybe starting) counts."""
    client = console_client(webapp, sim)
    course_id, other_course = signed_course(webapp.url, SHORT_PLAN), signed_course(webapp.url, SHORT_PLAN)
    assert post_console(client, course_id, "connect").status_code == 303
    run = client.app.state.console.get(course_id)
    commands = machine_commands(monkeypatch, Msg.STOP, Msg.DISARM)
    assert post_console(client, other_course, "stop").status_code == 200
    assert run.stops == 1 and commands == ["STOP", "DISARM"]


def test_a_console_closed_during_the_start_request_leaves_no_running_record(webapp, sim, monkeypatch):
    client = console_client(webapp, sim)
    course_id = signed_course(webapp.url, SHORT_PLAN)
    assert post_console(client, course_id, "connect").status_code == 303
    run = client.app.state.console.get(course_id)
    real_open = routes.treatment.open_session

    def open_then_close(**kwargs):
        record = real_open(**kwargs)
        run.close()  # Disconnect pressed in another tab while the start request writes the record
        return record

    monkeypatch.setattr(routes.treatment, "open_session", open_then_close)
    response = post_console(client, course_id, "start")
    assert response.status_code == 409 and "the console is closed" in response.text
    [record] = sessions_of(webapp.url, course_id)
    assert record.status == "ended" and not record.completed


def test_a_stop_after_a_start_reached_a_page_worker_refuses_it(webapp, sim, monkeypatch):
    """`serve --workers`: the start counts STOPs from its arrival at the worker, not at the primary."""
    client = console_client(webapp, sim)
    course_id = signed_course(webapp.url, SHORT_PLAN)
    assert post_console(client, course_id, "connect").status_code == 303
    run = client.app.state.console.get(course_id)
    commands = machine_commands(monkeypatch, Msg.ARM)
    arrived = time.monotonic()  # the start reaches a page worker ...
    run.stop("stopped by operator")  # ... and a STOP reaches the primary while it is handed on
    app = client.app

    async def handed_on(scope, receive, send):  # what ClientFromWorker sets for a worker's request
        await app({**scope, ARRIVED_AT: arrived} if scope["type"] == "http" else scope, receive, send)

    via_worker = TestClient(handed_on, cookies=client.cookies)
    response = post_console(via_worker, course_id, "start")
    assert response.status_code == 409 and "stopped before arming" in response.text
    time.sleep(0.5)  # ten control periods: time for a wrongly started controller to arm
    assert "ARM" not in commands and run.phase == "connected"
