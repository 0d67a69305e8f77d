"""Helpers for the treatment-console tests: a time-scaled simulator over real TCP, a signed course."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from daykit import checklist_form, plan_today
from laserdose.clinic import courses, db, patients
from laserdose.clinic.models import TreatmentSession, User, utcnow
from laserdose.device.client import DeviceClient
from laserdose.device.link import open_link
from laserdose.device.protocol import Msg
from laserdose.device.simserver import SimulatorServer
from laserdose.device.simulator import Machine, MachineConfig
from laserdose.machines.profile import load_profile
from qakit import record_check

SCALE = 5.0  # simulated seconds per wall-clock second
WATCHDOG_WALL_S = 1.0  # the machine's watchdog in wall-clock seconds (generous for a shared CI machine)
# 60 s of (6 + 4) W: 600 J, twelve wall-clock seconds at SCALE.
PLAN: dict[str, Any] = {
    "decision": "treat", "device": "15w-dual", "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
    "mode": "cw", "handpiece": "large-standoff", "duration_s": 60, "total_energy_j": 600.0,
}  # fmt: skip
PLANNED_J = {"810": 360.0, "980": 240.0}  # power x duration per wavelength


@contextlib.contextmanager
def simulator(scale: float = SCALE, watchdog_wall_s: float = WATCHDOG_WALL_S) -> Iterator[SimulatorServer]:
    """The 15w-dual simulator served on a free loopback TCP port from a thread (auto footswitch)."""
    machine = Machine(load_profile("15w-dual"), MachineConfig(watchdog_s=watchdog_wall_s * scale))
    server = SimulatorServer(machine, "tcp://127.0.0.1:0", scale)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=5)


def signed_course(database_url: str, plan: dict[str, Any] | None = None, checked: bool = True) -> int:
    """A patient with a course whose plan the clinician signed; returns the course id.

    With `checked`, the simulator's machine (SIM-0001) also gets a passing power check today, as a
    clinic's machine must have before anything is armed.
    """
    engine = db.make_engine(database_url)
    with db.session_factory(engine).begin() as session:
        clinician = session.scalars(select(User).where(User.username == "clinician")).one()
        if checked:
            record_check(session, session.scalars(select(User).where(User.username == "operator")).one())
        patient = patients.add_patient(
            session=session, actor=clinician, name="Console Patient", birth_date=dt.date(1970, 1, 2),
            skin_type=3, bmi_kg_m2=25.0,
        )  # fmt: skip
        course = courses.create_course(
            session=session, actor=clinician, patient_id=patient.id, condition="chronic_nslbp",
            protocol="console-test", plan=plan or PLAN, sessions_planned=6, sessions_per_week=2,
        )  # fmt: skip
        # The row as the signing gate leaves it: these hand-written short plans keep the console tests
        # to seconds; the gate, which signs only the planner's plans, is tested in tests/clinic.
        course.signed_by_id, course.signed_at = clinician.id, utcnow()
        # Created long before: the date rules refuse records dated before their course was created, and
        # these tests date sessions and assessments back.
        course.created_at = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
        session.flush()
        plan_today(session, course)  # every session today: tests may treat several times
        course_id = course.id
    engine.dispose()
    return course_id


def sessions_of(database_url: str, course_id: int) -> list[TreatmentSession]:
    """The course's treatment sessions as stored, oldest first."""
    engine = db.make_engine(database_url)
    with db.session_factory(engine)() as session:
        statement = select(TreatmentSession).where(TreatmentSession.course_id == course_id)
        records = list(session.scalars(statement.order_by(TreatmentSession.id)))
    engine.dispose()
    return records


def status_over_link(address: str) -> dict[str, Any]:
    """The machine's STATUS through a new host connection (the simulator serves one host at a time)."""
    link = open_link(address, timeout_s=2.0)
    try:
        return DeviceClient(link, ack_timeout_s=0.5).request(Msg.STATUS)
    finally:
        link.close()


def emission_log(server: SimulatorServer) -> list[dict[str, Any]]:
    """The simulator's own log (emission intervals, events, faults), copied under its lock."""
    with server.lock:
        return list(server.machine.log_lines)


def emitted_j(server: SimulatorServer) -> dict[str, float]:
    """Energy per wavelength by the simulator's monitor counters [J]."""
    with server.lock:
        return {f"{s.wavelength_nm:g}": s.monitor_energy_j for s in server.machine.sources.values()}


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


# Login helpers, here rather than imported from a conftest: tests/web and tests/browser each have a
# conftest.py, and `from conftest import ...` finds whichever of the two was imported first.
PASSWORD = "correct horse battery"  # the test users' password (tests/web and tests/browser conftest)


def child_processes(pid: int) -> list[int]:
    """The child processes of `pid`, whichever of its threads started them (Linux /proc).

    A thread may end while its tasks are listed: its entry is then gone, and it has no children to list.
    """
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            children += [int(child) for child in (task / "children").read_text().split()]
    return children


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def csrf_of(html: str) -> str:
    """The CSRF token of a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: Any, username: str) -> Any:
    """Log `client` (TestClient or httpx.Client) in as `username`; returns the login response."""
    token = csrf_of(client.get("/login").text)
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False)


def bearer(client: Any, username: str) -> dict[str, str]:
    """An API Authorization header for `username`."""
    response = client.post("/api/v1/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def machine_commands(monkeypatch: Any, *msgs: Msg) -> list[str]:
    """Record (in order) every `msgs` frame the simulator receives over the link, by message name."""
    from laserdose.device import machine_io

    received: list[str] = []
    for msg in msgs:
        handler = machine_io._HANDLERS[msg]

        def recording(machine: Any, payload: dict[str, Any], msg: Msg = msg, handler: Any = handler) -> Any:
            received.append(msg.name)
            return handler(machine, payload)

        monkeypatch.setitem(machine_io._HANDLERS, msg, recording)
    return received


def console_client(webapp: Any, sim: SimulatorServer, grace_s: float = 30.0) -> Any:
    """A TestClient, logged in as the operator, of an app whose console drives `sim` (0.05 s period)."""
    from laserdose.web.settings import WebSettings

    settings = WebSettings(**{**webapp.settings.model_dump(), "device_url": sim.address,
                              "device_simulator": True, "console_grace_s": grace_s,
                              "console_period_s": 0.05})  # fmt: skip
    client = type(webapp)(webapp.url, settings).client()
    assert login(client, "operator").status_code == 303
    return client


# A start's form fields that confirm a second dose on one calendar day (clinic.completion).
SAME_DAY = {"confirm_same_day": "1", "same_day_reason": "second dose today, on purpose"}


def post_console(client: Any, course_id: int, action: str, checklist: bool = True, **fields: str) -> Any:
    """Press a console button (connect, start, stop, disconnect) with the page's CSRF token.

    Before "start", the safety checklist of the session is completed on the console (one per start),
    unless `checklist` is False. `fields`: more form fields (a completion, a same-day confirmation).
    """
    page = client.get(f"/courses/{course_id}/console")
    if action == "start" and checklist:
        done = client.post(f"/courses/{course_id}/console/checklist", data=checklist_form(csrf_of(page.text)),
                           follow_redirects=False)  # fmt: skip
        assert done.status_code == 303, done.text
        page = client.get(f"/courses/{course_id}/console")
    data = {"csrf_token": csrf_of(page.text), **fields}
    return client.post(f"/courses/{course_id}/console/{action}", data=data,
                       follow_redirects=False, headers={"Accept": "application/json"})  # fmt: skip
