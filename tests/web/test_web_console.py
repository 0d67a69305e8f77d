"""The treatment console through the app (TestClient) against the simulator over a real TCP link."""

import re
import sqlite3
import time
import uuid

import pytest
import sqlalchemy
from fastapi.testclient import TestClient
from sqlalchemy import select

from consolekit import (
    PASSWORD,
    PLAN,
    PLANNED_J,
    bearer,
    csrf_of,
    emission_log,
    emitted_j,
    login,
    post_console,
    sessions_of,
    signed_course,
    wait_for,
)
from laserdose.clinic import audit, db, users
from laserdose.clinic.models import AuditEntry
from laserdose.device.ledger import ENERGY_TOLERANCE
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings

SHORT_PLAN = {**PLAN, "duration_s": 10, "total_energy_j": 100.0}  # 2 s of wall clock at the test scale


@pytest.fixture
def console(webapp, sim):
    """A logged-in operator's client of an app whose console drives `sim`, and a signed course."""

    def make(grace_s: float = 30.0, plan=None):
        settings = WebSettings(**{**webapp.settings.model_dump(), "device_url": sim.address,
                                  "device_simulator": True, "console_grace_s": grace_s,
                                  "console_period_s": 0.05})  # fmt: skip
        client = type(webapp)(webapp.url, settings).client()
        assert login(client, "operator").status_code == 303
        return client, signed_course(webapp.url, plan or PLAN)

    return make


_post = post_console  # "start" completes the session's safety checklist first


def _run(client, course_id):
    return client.app.state.console.get(course_id)


def _start(client, course_id):
    assert _post(client, course_id, "connect").status_code == 303
    assert _post(client, course_id, "start").status_code == 303
    return _run(client, course_id)


def test_a_session_runs_to_completion_and_is_recorded_with_audit(console, webapp, sim):
    client, course_id = console(plan=SHORT_PLAN)
    run = _start(client, course_id)
    wait_for(lambda: run.phase == "ended", 15, "the session to end")
    [record] = sessions_of(webapp.url, course_id)
    assert record.status == "ended" and record.completed, record.interruptions
    # Delivered within 1 % of the plan (SHORT_PLAN: 6 W and 4 W for 10 s).
    for key, planned in {"810": 60.0, "980": 40.0}.items():
        assert record.energy_j_by_wavelength[key] == pytest.approx(planned, rel=ENERGY_TOLERANCE)
    assert record.device["manufacturer"] == "laserdose demo devices"
    engine = db.make_engine(webapp.url)
    with db.session_factory(engine)() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert audit.verify(session=session).broken is None
    assert actions[-4:] == ["session.start", "emission.start", "emission.stop", "session.end"]
    events = client.get(f"/courses/{course_id}/console/events").text  # an ended run: one state, then end
    assert "event: progress" in events and "event: end" in events and '"completed": true' in events


def test_stop_reaches_the_machine_while_the_database_is_locked(console, webapp, sim):
    client, course_id = console()
    run = _start(client, course_id)
    wait_for(lambda: sim.machine.state == "emitting", 10, "emission")
    path = webapp.url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, timeout=1.0)
    blocker.execute("BEGIN IMMEDIATE")  # every other writer now waits: the heartbeat write blocks
    try:
        began = time.monotonic()
        response = _post(client, course_id, "stop")
        stop_s = time.monotonic() - began
        assert response.status_code == 200, response.text
        with sim.lock:
            assert sim.machine.state == "standby" and not sim.machine.emitting
        # Answered while the database still refuses writes: a write would have waited out SQLite's 5 s
        # busy timeout and failed. The machine's own log below shows that our STOP (not its watchdog,
        # 1 s after the blocked heartbeat) ended the emission.
        assert stop_s < 3.0
    finally:
        blocker.rollback()
        blocker.close()
    wait_for(lambda: run.phase == "ended", 10, "the session record to close")
    [record] = sessions_of(webapp.url, course_id)
    assert not record.completed and record.interruptions[-1]["reason"] == "stopped by operator"
    ends = [line for line in emission_log(sim) if line["type"] == "emission"]
    assert ends and all(line["end_reason"] == "stop: stopped by operator" for line in ends)
    # The record holds the machine's own counters as read after the stop (the simulator's state).
    assert record.energy_j_by_wavelength == pytest.approx(emitted_j(sim), rel=1e-12)


def test_a_console_nobody_watches_stops_emission(console, webapp, sim):
    client, course_id = console(grace_s=0.5)
    run = _start(client, course_id)  # no browser opens the event stream
    wait_for(lambda: run.phase == "ended", 10, "the unwatched session to stop")
    [record] = sessions_of(webapp.url, course_id)
    assert "console lost" in record.interruptions[-1]["reason"] and not record.completed
    with sim.lock:
        assert not sim.machine.emitting
    assert all(emitted_j(sim)[k] < PLANNED_J[k] for k in PLANNED_J)


def test_an_interlock_opened_mid_treatment_trips_the_machine_and_is_recorded(console, webapp, sim):
    client, course_id = console()
    run = _start(client, course_id)
    wait_for(lambda: emitted_j(sim)["810"] > 10.0, 10, "some energy")
    with sim.lock:
        sim.machine.console("interlock-open")
    wait_for(lambda: run.phase == "ended", 10, "the fault to end the session")
    [record] = sessions_of(webapp.url, course_id)
    assert not record.completed and "interlock-open" in record.interruptions[-1]["reason"]
    assert sim.machine.state == "tripped" and not sim.machine.emitting


def test_start_is_refused_while_the_interlock_is_open(console, webapp, sim):
    client, course_id = console()
    with sim.lock:
        sim.machine.console("interlock-open")
    assert _post(client, course_id, "connect").status_code == 303
    response = _post(client, course_id, "start")
    assert response.status_code == 409 and "remote interlock is open" in response.text
    assert sessions_of(webapp.url, course_id) == []  # refused before a session was opened
    assert [line for line in emission_log(sim) if line["type"] == "emission"] == []


def test_connecting_to_a_machine_that_is_not_there_says_so(webapp):
    settings = WebSettings(**{**webapp.settings.model_dump(), "device_url": "tcp://127.0.0.1:9"})
    client = type(webapp)(webapp.url, settings).client()
    login(client, "operator")
    course_id = signed_course(webapp.url)
    response = _post(client, course_id, "connect")
    assert response.status_code == 409 and "cannot connect to the machine" in response.text


def test_clinicians_watch_operators_run_admins_neither(console, webapp):
    client, course_id = console()
    page = client.get(f"/courses/{course_id}/console")
    assert 'id="connect"' in page.text and "laserdose demo devices" in page.text
    assert (
        client.post("/api/v1/patients/1/courses", json={}, headers=bearer(client, "operator")).status_code
        == 403
    )
    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    login(client, "clinician")
    page = client.get(f"/courses/{course_id}/console")
    assert page.status_code == 200 and 'id="connect"' not in page.text and 'id="stop"' in page.text
    assert _post(client, course_id, "connect").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    login(client, "admin")
    assert client.get(f"/courses/{course_id}/console").status_code == 403


def test_the_maker_logo_is_served_as_an_image(client):
    login(client, "clinician")
    response = client.get("/devices/15w-dual/logo")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.lstrip().startswith("<svg") and "default-src 'none'" in response.headers[
        "content-security-policy"]  # fmt: skip
    assert client.get("/devices/no-such/logo").status_code == 404


def test_the_course_report_names_the_maker_and_carries_its_logo(webapp, client):
    login(client, "clinician")
    with_machine = signed_course(webapp.url)
    without = signed_course(webapp.url, {"demo": True})  # a placeholder plan names no machine
    pdf = client.get(f"/courses/{with_machine}/report.pdf").content
    assert pdf.startswith(b"%PDF-") and b"/Subtype /Image" in pdf  # the logo, drawn from its PNG
    assert b"/Subtype /Image" not in client.get(f"/courses/{without}/report.pdf").content
    engine = db.make_engine(webapp.url)
    with db.session_factory(engine)() as session:
        from laserdose.clinic.course_report import _machine_line, machine_profile
        from laserdose.clinic.models import Course

        line = _machine_line(machine_profile(session.get(Course, with_machine)))
        assert line == "Machine: laserdose demo devices Dual 15 (15w-dual, laser class 4)"  # 15w-dual.toml
        assert (
            _machine_line(machine_profile(session.get(Course, without))) == "Machine: not named by the plan"
        )


def test_stop_on_any_console_page_stops_the_machine(console, webapp, sim):
    client, course_id = console()
    other_course = signed_course(webapp.url)
    run = _start(client, course_id)
    wait_for(lambda: sim.machine.state == "emitting", 10, "emission")
    assert _post(client, other_course, "stop").status_code == 200  # pressed on another course's page
    wait_for(lambda: run.phase == "ended", 10, "the session to end")
    with sim.lock:
        assert sim.machine.state == "standby" and not sim.machine.emitting
    assert sessions_of(webapp.url, course_id)[0].interruptions[-1]["reason"] == "stopped by operator"


def test_a_stop_pressed_before_starting_does_not_block_the_next_start(console, webapp, sim):
    client, course_id = console(plan=SHORT_PLAN)
    assert _post(client, course_id, "connect").status_code == 303
    assert _post(client, course_id, "stop").status_code == 200  # the idle machine gets STOP + DISARM
    assert _post(client, course_id, "start").status_code == 303
    run = _run(client, course_id)
    wait_for(lambda: run.phase == "ended", 15, "the session to end")
    assert sessions_of(webapp.url, course_id)[0].completed


@pytest.fixture
def postgres_database(postgres_url):
    """A fresh, migrated PostgreSQL database with one user per role; dropped afterwards."""
    name = f"console_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(db.make_engine(postgres_url).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = db.make_engine(postgres_url).url.set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        for role in ("clinician", "operator"):
            users.create_user(session=session, username=role, password=PASSWORD, role=role, actor_name="test")
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


def test_a_session_is_recorded_on_postgresql(postgres_database, sim):
    settings = WebSettings(
        environment="test", secret_key="pg-console-" + "p" * 32, database_url=postgres_database,
        device_url=sim.address, device_simulator=True, console_period_s=0.05,
    )  # fmt: skip
    client = TestClient(create_app(settings))
    assert login(client, "operator").status_code == 303
    course_id = signed_course(postgres_database, SHORT_PLAN)
    run = _start(client, course_id)
    wait_for(lambda: run.phase == "ended", 15, "the session to end")
    [record] = sessions_of(postgres_database, course_id)
    assert record.completed and record.status == "ended"
    assert sum(record.energy_j_by_wavelength.values()) == pytest.approx(
        100.0, rel=ENERGY_TOLERANCE
    )  # 10 W x 10 s
    engine = db.make_engine(postgres_database)
    with db.session_factory(engine)() as session:
        assert audit.verify(session=session).broken is None
    engine.dispose()


def test_the_console_link_leads_to_the_machine_s_course(console, webapp, sim):
    client, course_id = console()
    assert 'id="nav-console"' in client.get("/patients").text
    assert client.get("/console", follow_redirects=False).headers["location"] == "/patients"  # nothing yet
    assert _post(client, course_id, "connect").status_code == 303
    where = client.get("/console", follow_redirects=False).headers["location"]
    assert where == f"/courses/{course_id}/console"


def test_the_console_shows_eyewear_with_both_bases(console):
    client, course_id = console()
    page = client.get(f"/courses/{course_id}/console").text
    table = re.search(r'<table id="eyewear">(.*?)</table>', page, re.S).group(1)
    assert "limiting aperture" in table and "EN 207: the beam&#39;s own power density" in table
