"""Browser journey: an operator records the monthly power check; the console shows the QA state before ARM.

Debian's chromium against a live server whose console drives the simulator over TCP. Screenshots of each
step go to $LASERDOSE_SCREENSHOTS when set (to look at the pages), else to the test's temporary folder.
"""

import datetime as dt
import os
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect

from conftest import HOME, complete_checklist
from consolekit import PASSWORD, free_port, sessions_of, signed_course, simulator
from laserdose.clinic import db, users
from laserdose.device.qa import set_points
from laserdose.machines.profile import load_profile
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings

SHORT_PLAN = {
    "decision": "treat", "device": "15w-dual", "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
    "mode": "cw", "handpiece": "large-standoff", "duration_s": 60, "total_energy_j": 600.0,
}  # fmt: skip


@pytest.fixture(scope="module")
def qa_server(tmp_path_factory):
    """The clinic app on loopback, its console driving a simulator; yields (base URL, database URL)."""
    with simulator() as sim:
        url = f"sqlite:///{tmp_path_factory.mktemp('qa') / 'clinic.sqlite3'}"
        engine = db.make_engine(url)
        db.upgrade(engine)
        with db.session_factory(engine).begin() as session:
            for role in ("clinician", "operator"):
                users.create_user(
                    session=session, username=role, password=PASSWORD, role=role, actor_name="t"
                )
        engine.dispose()
        settings = WebSettings(
            environment="test", secret_key="qa-test-" + "q" * 32, database_url=url,
            device_url=sim.address, device_simulator=True, console_period_s=0.05,
        )  # fmt: skip
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                               log_level="warning"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the test server did not start within 20 s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", url
        server.should_exit = True
        thread.join(timeout=10)


def test_operator_records_the_monthly_check_and_the_console_shows_it_before_arm(browser, qa_server, tmp_path):
    base_url, database = qa_server
    shots = Path(os.environ.get("LASERDOSE_SCREENSHOTS", tmp_path))
    course_id = signed_course(database, SHORT_PLAN, checked=False)  # the machine was never checked
    context = browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", "operator")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(HOME)

    page.goto(f"/courses/{course_id}/console")
    expect(page.locator("#console-qa")).to_contain_text("Connect to the machine to see its power-check state")
    page.click("#connect")
    expect(page.locator("#console-qa")).to_contain_text("ARM refused for machine SIM-0001: no power check")
    expect(page.locator("#start")).to_be_disabled()
    page.screenshot(path=str(shots / "qa-1-console-refused.png"), full_page=True)

    page.click("#console-machine-link")
    expect(page.locator("#qa-state")).to_contain_text("ARM refused")
    page.click("#record-check")
    page.fill("#meter_id", "Thermopile TP-30 #4411")
    page.fill("#meter_calibrated_on", str(dt.date.today() - dt.timedelta(days=90)))
    points = set_points(load_profile("15w-dual"))
    for i, point in enumerate(points):
        page.fill(f"#monitor_{i}", f"{point.power_w:g}")
        page.fill(f"#meter_{i}", "-1" if i == 4 else f"{point.power_w * 1.04:.3f}")  # one slip of the pen
    page.click("#save-check")
    expect(page.locator("#meter_4 + .error")).to_contain_text("cannot be negative")
    expect(page.locator("#meter_id")).to_have_value("Thermopile TP-30 #4411")  # what was typed is kept
    page.screenshot(path=str(shots / "qa-2-form-error.png"), full_page=True)
    page.fill("#meter_4", f"{points[4].power_w * 1.04:.3f}")
    page.click("#save-check")
    page.wait_for_url("**/machines/SIM-0001")
    expect(page.locator("#qa-state")).to_contain_text("ARM allowed")
    expect(page.locator("svg.qa-trend circle")).to_have_count(2)  # one point per source
    page.screenshot(path=str(shots / "qa-3-machine.png"), full_page=True)

    page.goto(f"/courses/{course_id}/console")
    complete_checklist(page)
    expect(page.locator("#console-qa")).to_contain_text("passed")
    expect(page.locator("#console-qa")).to_contain_text("ARM allowed")
    expect(page.locator("#start")).to_be_enabled()
    page.screenshot(path=str(shots / "qa-4-console-allowed.png"), full_page=True)
    page.click("#start")
    expect(page.locator("#state")).to_have_text("emitting")
    page.click("#stop")
    expect(page.locator("#phase")).to_have_text("ended")
    [record] = sessions_of(database, course_id)
    assert record.power_check_id is not None  # the session names the check it relied on
    assert record.calibration["meter_over_monitor"]["810"] == pytest.approx(1.04, abs=1e-3)
    page.reload()
    expect(page.locator("#records")).to_contain_text(f"check {record.power_check_id}")
    page.click("#disconnect")
    context.close()


def test_operator_runs_the_guided_check_over_the_link(browser, qa_server, tmp_path):
    base_url, database = qa_server
    shots = Path(os.environ.get("LASERDOSE_SCREENSHOTS", tmp_path))
    context = browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", "operator")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(HOME)
    page.click("#nav-machines")
    page.fill("#guided-meter-id", "Thermopile TP-30 #4411")
    page.fill("#guided-meter-date", str(dt.date.today() - dt.timedelta(days=90)))
    page.click("#guided-start-button")
    expect(page.locator("#guided-phase")).to_have_attribute("data-phase", "awaiting")
    page.fill("#meter_w", "lots")  # a slip: explained, the point keeps emitting
    page.click("#submit-reading")
    expect(page.locator("#guided-error")).to_contain_text("must be a number of watts")
    page.screenshot(path=str(shots / "qa-5-guided-point.png"), full_page=True)
    page.fill("#meter_w", "3.8")
    page.click("#submit-reading")
    for _ in range(11):
        expect(page.locator("#guided-phase")).to_have_attribute("data-phase", "awaiting")
        page.click("#simulated-reading")
    expect(page.locator("#guided-phase")).to_have_attribute("data-phase", "stored")
    expect(page.locator("#guided-phase")).to_contain_text("PASSED")
    expect(page.locator("#guided-results tbody tr")).to_have_count(12)
    page.screenshot(path=str(shots / "qa-6-guided-stored.png"), full_page=True)
    page.click("#guided-machine-link")
    expect(page.locator("#checks tbody tr")).to_have_count(2)  # the hand-entered check and this one
    context.close()
