"""STOP is answered while another request waits on a locked database (real uvicorn, one event loop).

Reviewer's repro: a route declared `async def` that did synchronous SQLAlchemy work froze the event
loop while SQLite waited out its busy timeout (5 s); STOP was answered only after 4.7 s and the
machine's watchdog, not our STOP, ended emission.
"""

import importlib
import inspect
import pkgutil
import sqlite3
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.routing import APIRoute

from consolekit import (
    PLAN,
    csrf_of,
    emission_log,
    free_port,
    login,
    post_console,
    signed_course,
    simulator,
    wait_for,
)
from laserdose.web import deps, routes
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings

WATCHDOG_WALL_S = 1.8  # the longest the controller accepts is 2 s (monitor.MAX_WATCHDOG_S)


@pytest.fixture
def served(webapp):
    """The app with a console on the simulator, served by uvicorn from a thread; yields (url, sim)."""
    with simulator(watchdog_wall_s=WATCHDOG_WALL_S) as sim:
        settings = WebSettings(**{**webapp.settings.model_dump(), "device_url": sim.address,
                                  "device_simulator": True, "console_grace_s": 30,
                                  "console_period_s": 0.05})  # fmt: skip
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for(lambda: server.started, 10, "uvicorn to start")
        try:
            yield f"http://127.0.0.1:{port}", sim
        finally:
            server.should_exit = True
            thread.join(10)


def test_stop_is_answered_while_a_new_patient_and_a_chart_view_wait_on_a_locked_database(webapp, served):
    base, sim = served
    operator, clinician = httpx.Client(base_url=base), httpx.Client(base_url=base)
    assert login(operator, "operator").status_code == 303 and login(clinician, "clinician").status_code == 303
    course_id = signed_course(webapp.url, PLAN)
    for action in ("connect", "start"):  # "start" completes the safety checklist first
        assert post_console(operator, course_id, action).status_code == 303
    wait_for(lambda: sim.machine.state == "emitting", 10, "emission")
    stop_token = csrf_of(operator.get(f"/courses/{course_id}/console").text)
    new_patient = {"csrf_token": csrf_of(clinician.get("/patients/new").text), "given_name": "X",
                   "family_name": "Y", "birth_date": "1970-01-01", "skin_type": "3", "bmi": "25"}  # fmt: skip
    blocker = sqlite3.connect(webapp.url.removeprefix("sqlite:///"), timeout=1.0)
    (patient_id,) = blocker.execute("SELECT patient_id FROM courses WHERE id = ?", (course_id,)).fetchone()
    blocker.execute("BEGIN IMMEDIATE")  # every writer now waits for SQLite's busy timeout (5 s)
    answers: list[tuple[str, int]] = []

    def create_patient() -> None:
        answers.append(("new", clinician.post("/patients/new", data=new_patient, timeout=30).status_code))

    def view_chart() -> None:  # one worker-thread hop (in_one_hop): the view's audit entry waits
        answers.append(("chart", clinician.get(f"/patients/{patient_id}", timeout=30).status_code))

    writers = [threading.Thread(target=create_patient), threading.Thread(target=view_chart)]
    try:
        for writer in writers:
            writer.start()
        time.sleep(0.3)  # both requests are now waiting on the database
        began = time.monotonic()
        response = operator.post(f"/courses/{course_id}/console/stop", data={"csrf_token": stop_token},
                                 headers={"Accept": "application/json"}, timeout=30)  # fmt: skip
        stop_s = time.monotonic() - began
        waiting = all(writer.is_alive() for writer in writers)
    finally:
        blocker.rollback()
        blocker.close()
        for writer in writers:
            writer.join(30)
    assert response.status_code == 200 and stop_s < WATCHDOG_WALL_S / 2
    assert waiting  # the other requests were still waiting on the database when STOP was answered
    assert sorted(answers) == [("chart", 200), ("new", 303)]  # both done once the database was free
    ends = [line for line in emission_log(sim) if line["type"] == "emission"]
    assert ends and all(line["end_reason"] == "stop: stopped by operator" for line in ends)
    assert not any(line.get("kind") == "watchdog" for line in emission_log(sim))


# The only coroutine routes: they do no database work and wait for the link only in a worker thread.
ASYNC_ROUTES = {"stop", "disconnect"}


def test_no_other_route_runs_on_the_event_loop():
    """Every other route is a plain def (thread pool): a new async route with database work fails here."""
    modules = [
        importlib.import_module(f"laserdose.web.routes.{m.name}")
        for m in pkgutil.iter_modules(routes.__path__)
    ]
    endpoints = {
        route.endpoint
        for module in modules
        for route in getattr(getattr(module, "router", None), "routes", [])
        if isinstance(route, APIRoute)
    }
    coroutines = {endpoint for endpoint in endpoints if inspect.iscoroutinefunction(endpoint)}
    # A route made by `in_one_hop` is a coroutine that hands a plain def, the whole request, to the pool.
    one_hop = {endpoint for endpoint in coroutines if endpoint in deps.ONE_HOP_ENDPOINTS}
    assert one_hop and not any(inspect.iscoroutinefunction(inspect.unwrap(e)) for e in one_hop)
    assert {endpoint.__name__ for endpoint in coroutines - one_hop} == ASYNC_ROUTES
