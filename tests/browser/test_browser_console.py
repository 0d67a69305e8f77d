"""Browser journeys of the treatment console in Debian's chromium, against the simulator over TCP."""

import threading
import time

import pytest
import uvicorn
from playwright.sync_api import expect

from conftest import HOME, complete_checklist, watch_csp
from consolekit import (
    PASSWORD,
    PLANNED_J,
    emission_log,
    emitted_j,
    free_port,
    sessions_of,
    signed_course,
    simulator,
)
from laserdose.clinic import db, users
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings


@pytest.fixture(scope="module")
def sim():
    with simulator() as server:
        yield server


@pytest.fixture(scope="module")
def console_server(tmp_path_factory, sim):
    """The clinic app on loopback whose console drives `sim`; yields (base URL, database URL)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'clinic.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        for role in ("clinician", "operator"):
            users.create_user(session=session, username=role, password=PASSWORD, role=role, actor_name="test")
    settings = WebSettings(environment="test", secret_key="console-test-" + "c" * 32, database_url=url,
                           device_url=sim.address, device_simulator=True, console_period_s=0.05)  # fmt: skip
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the console test server did not start within 20 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", url
    server.should_exit = True
    thread.join(timeout=10)


_VIOLATIONS: list[list[str]] = []


@pytest.fixture(autouse=True)
def _no_csp_violations():
    yield
    found = [text for page in _VIOLATIONS for text in page]
    _VIOLATIONS.clear()
    assert found == [], "a console page broke the Content-Security-Policy or raised"


def _page_as(browser, base_url, username):
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    _VIOLATIONS.append(watch_csp(page))  # checked after each test
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(HOME)
    return page


def _delivered(page) -> float:
    return sum(float(page.locator(f'[data-energy="{key}"]').inner_text()) for key in PLANNED_J)


def test_operator_runs_a_signed_plan_and_stops_it_midway(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database)
    page = _page_as(browser, base_url, "operator")
    page.click("text=Console Patient")
    page.click("text=Treatment console")
    token = page.locator("#stop-form input[name=csrf_token]").get_attribute("value")
    # An operator cannot change a plan: signing, the plan change this app offers, is refused.
    assert page.request.post(f"/courses/{course_id}/sign", form={"csrf_token": token}).status == 403
    expect(page.locator("#maker")).to_contain_text("laserdose demo devices")
    expect(page.locator("#maker img")).to_have_attribute("src", "/devices/15w-dual/logo")
    page.click("#connect")
    expect(page.locator("#phase")).to_have_text("connected")
    expect(page.locator("#interlock")).to_have_text("closed")
    complete_checklist(page)
    page.click("#start")
    expect(page.locator("#state")).to_have_text("emitting")  # live, through server-sent events
    page.wait_for_function("() => Number(document.querySelector('[data-energy=\"810\"]').textContent) > 20")
    expect(page.locator("#footswitch")).to_have_text("pressed")
    page.click("#stop")
    expect(page.locator("#stop-result")).to_have_text("STOP sent")
    expect(page.locator("#state")).to_have_text("done")
    expect(page.locator("#reason")).to_have_text("stopped by operator")
    expect(page.locator("#machine-state")).to_have_text("standby")  # the machine reports no emission
    expect(page.locator("#result")).to_contain_text("interrupted (stopped by operator)")
    expect(page.locator("#phase")).to_have_text("ended")  # the record is closed in the database
    shown = _delivered(page)
    with sim.lock:
        assert not sim.machine.emitting and sim.machine.state == "standby"
    page.reload()
    expect(page.locator("#records")).to_contain_text("interrupted")
    expect(page.locator("#records")).to_contain_text("stopped by operator")
    [record] = sessions_of(database, course_id)
    assert not record.completed and record.interruptions[-1]["reason"] == "stopped by operator"
    for key, planned in PLANNED_J.items():
        assert 0.0 < record.energy_j_by_wavelength[key] < planned
    assert sum(record.energy_j_by_wavelength.values()) == pytest.approx(shown, abs=0.2)  # 1 decimal shown
    page.click("#disconnect")
    page.context.close()


def test_a_clinician_watches_live_and_may_press_stop(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database)
    operator = _page_as(browser, base_url, "operator")
    operator.goto(f"/courses/{course_id}/console")
    operator.click("#connect")
    complete_checklist(operator)
    operator.click("#start")
    expect(operator.locator("#state")).to_have_text("emitting")
    clinician = _page_as(browser, base_url, "clinician")
    clinician.goto(f"/courses/{course_id}/console")
    expect(clinician.locator("#connect")).to_have_count(0)  # watching only: no connect, no start
    expect(clinician.locator("#start")).to_have_count(0)
    expect(clinician.locator(".note")).to_contain_text("only an operator starts a treatment")
    first = _delivered(clinician)
    clinician.wait_for_function(
        f"() => Number(document.querySelector('[data-energy=\"810\"]').textContent) > {first}"
    )
    clinician.click("#stop")
    expect(operator.locator("#state")).to_have_text("done")  # the operator's page sees the stop too
    expect(operator.locator("#phase")).to_have_text("ended")
    assert [r.interruptions[-1]["reason"] for r in sessions_of(database, course_id)] == [
        "stopped by operator"
    ]
    operator.reload()
    operator.click("#disconnect")
    for page in (operator, clinician):
        page.context.close()


def test_start_is_refused_while_the_interlock_is_open(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database)
    emissions_before = len([line for line in emission_log(sim) if line["type"] == "emission"])
    energy_before = emitted_j(sim)
    with sim.lock:
        sim.machine.console("interlock-open")  # someone opened the treatment-room door
    try:
        page = _page_as(browser, base_url, "operator")
        page.goto(f"/courses/{course_id}/console")
        page.click("#connect")
        expect(page.locator("#interlock")).to_have_text("OPEN")
        complete_checklist(page)
        page.click("#start")
        expect(page.locator("#console-error")).to_contain_text("refused, nothing was emitted")
        expect(page.locator("#console-error")).to_contain_text("remote interlock is open")
        page.click("#disconnect")
        page.context.close()
    finally:
        with sim.lock:
            sim.machine.console("interlock-close")
    assert len([line for line in emission_log(sim) if line["type"] == "emission"]) == emissions_before
    assert emitted_j(sim) == energy_before and sessions_of(database, course_id) == []
