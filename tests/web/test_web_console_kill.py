"""`laserdose serve` killed (SIGKILL) mid-treatment: the machine's watchdog ends emission, and after a
restart the session record up to the last heartbeat is in the database, closed as interrupted."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from consolekit import (
    PASSWORD,
    SCALE,
    WATCHDOG_WALL_S,
    emission_log,
    emitted_j,
    free_port,
    post_console,
    sessions_of,
    signed_course,
    simulator,
    status_over_link,
    wait_for,
)
from laserdose.clinic import db, treatment, users

LASERDOSE = str(Path(sys.executable).with_name("laserdose"))
PERIOD_S = 0.05  # the console's control period in these tests [wall s]
POWER_W = {"810": 6.0, "980": 4.0}  # consolekit.PLAN


def _serve(url: str, port: int, device: str) -> subprocess.Popen:
    env = {**os.environ, "LASERDOSE_ENVIRONMENT": "test", "LASERDOSE_SECRET_KEY": "kill-test-" + "k" * 32,
           "LASERDOSE_DEVICE_URL": device, "LASERDOSE_DEVICE_SIMULATOR": "true",
           "LASERDOSE_CONSOLE_PERIOD_S": str(PERIOD_S)}  # fmt: skip
    server = subprocess.Popen(
        [LASERDOSE, "serve", "--port", str(port), "--database-url", url], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError("laserdose serve did not come up")
        time.sleep(0.1)


def _csrf(client: httpx.Client, path: str) -> str:
    html = client.get(path).text
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _log_in(client: httpx.Client) -> None:
    data = {"username": "operator", "password": PASSWORD, "csrf_token": _csrf(client, "/login")}
    assert client.post("/login", data=data).status_code == 303


@pytest.fixture
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        for role in ("clinician", "operator"):
            users.create_user(session=session, username=role, password=PASSWORD, role=role, actor_name="test")
    engine.dispose()
    return url


def _watch_until_emitting(client: httpx.Client, course_id: int, joules: float) -> None:
    """Read the console's events (as a browser would) until `joules` have been delivered."""
    with client.stream("GET", f"/courses/{course_id}/console/events", timeout=10) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                snapshot = json.loads(line.removeprefix("data: "))
                if snapshot["state"] == "emitting" and sum(snapshot["delivered_j"].values()) > joules:
                    return
    raise AssertionError("the event stream ended before the treatment was under way")


def test_server_killed_mid_treatment(database, tmp_path):
    course_id = signed_course(database)
    with simulator() as sim:
        port = free_port()
        server = _serve(database, port, sim.address)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                _log_in(client)
                for action in ("connect", "start"):  # "start" after the session's safety checklist
                    assert post_console(client, course_id, action).status_code == 303
                _watch_until_emitting(client, course_id, 50.0)
                server.send_signal(signal.SIGKILL)
                server.wait(10)
        finally:
            server.kill()
        killed_at = time.monotonic()

        # The machine stops by its own watchdog: host silence for WATCHDOG_WALL_S (plus loop jitter).
        wait_for(lambda: not sim.machine.emitting, 3 * WATCHDOG_WALL_S, "the watchdog to stop emission")
        assert time.monotonic() - killed_at < WATCHDOG_WALL_S + 1.0
        assert any(line.get("kind") == "watchdog" for line in emission_log(sim))
        wait_for(lambda: sim.machine.state == "standby", 3, "the machine to disarm")
        status = status_over_link(sim.address)  # a new host connection asks the machine itself
        assert status["state"] == "standby" and status["params_set"]
        machine_j = emitted_j(sim)

        [record] = sessions_of(database, course_id)
        assert record.status == "running" and record.last_heartbeat_at is not None
        for key, power in POWER_W.items():
            stored = record.energy_j_by_wavelength[key]
            # What the machine emitted after the last heartbeat write: at most the watchdog's silence plus
            # one control period and a write, at the set power, in machine seconds (SCALE x wall seconds).
            most_unrecorded = power * SCALE * (WATCHDOG_WALL_S + PERIOD_S + 0.5)
            assert 0.0 < stored <= machine_j[key] <= stored + most_unrecorded

        server = _serve(database, port, sim.address)  # the restart closes the orphaned record
        try:
            [after] = sessions_of(database, course_id)
            assert after.status == "ended" and not after.completed
            assert after.energy_j_by_wavelength == record.energy_j_by_wavelength
            assert treatment.SERVER_LOST in after.interruptions[-1]["reason"]
        finally:
            server.terminate()
            server.wait(10)


def test_server_terminated_mid_treatment_stops_the_machine_and_closes_the_record(database):
    """SIGTERM (graceful shutdown) with a browser still watching: our STOP, not the watchdog, ends it."""
    course_id = signed_course(database)
    with simulator() as sim:
        port = free_port()
        server = _serve(database, port, sim.address)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                _log_in(client)
                for action in ("connect", "start"):  # "start" after the session's safety checklist
                    assert post_console(client, course_id, action).status_code == 303
                _watch_until_emitting(client, course_id, 50.0)
                watcher = threading.Thread(target=_watch_to_the_end, args=(port, course_id), daemon=True)
                watcher.start()  # a browser still watching: its stream is cut after 3 s of shutdown
                time.sleep(0.3)
                server.send_signal(signal.SIGTERM)
                # At once, not after the 3 s uvicorn gives open connections (the watcher's stream) to close.
                wait_for(lambda: not sim.machine.emitting, 1.0, "emission to stop on SIGTERM")
                server.wait(15)  # uvicorn re-raises SIGTERM after its graceful shutdown: exit status -15
        finally:
            server.kill()
        with sim.lock:
            assert sim.machine.state == "standby" and not sim.machine.emitting
        ends = [line for line in emission_log(sim) if line["type"] == "emission"]
        assert ends and all(line["end_reason"] == "stop: server shutting down" for line in ends)
        assert not any(line.get("kind") == "watchdog" for line in emission_log(sim))
        [record] = sessions_of(database, course_id)
        assert record.status == "ended" and not record.completed
        assert record.interruptions[-1]["reason"] == "server shutting down"
        assert 0.0 < sum(record.energy_j_by_wavelength.values()) < 600.0


def _watch_to_the_end(port: int, course_id: int) -> None:
    """A logged-in browser reading the console's event stream until the server cuts it."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        _log_in(client)
        try:
            with client.stream("GET", f"/courses/{course_id}/console/events", timeout=20) as stream:
                for _ in stream.iter_lines():
                    pass
        except httpx.HTTPError:
            pass  # cut by the shutdown
