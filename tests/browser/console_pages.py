"""Browser fixtures of the treatment console: the simulator over TCP, the app driving it, logged-in pages.

Import the fixtures into a test module (`from console_pages import ...`): each module gets its own
simulator and server. Every page's Content-Security-Policy violations are checked after each test.
"""

import threading
import time

import pytest
import uvicorn

from conftest import HOME, complete_checklist, watch_csp
from consolekit import PASSWORD, PLANNED_J, free_port, simulator
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
def no_csp_violations():
    yield
    found = [text for page in _VIOLATIONS for text in page]
    _VIOLATIONS.clear()
    assert found == [], "a console page broke the Content-Security-Policy or raised"


def page_as(browser, base_url, username):
    """A new browser context logged in as `username` (its CSP violations are checked after the test)."""
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


def arm(page) -> None:  # noqa: ANN001 - a Playwright page on the console
    """Complete the session's safety checklist (one start), then press "Arm and start"."""
    complete_checklist(page)
    page.click("#start")


def _delivered(page) -> float:
    return sum(float(page.locator(f'[data-energy="{key}"]').inner_text()) for key in PLANNED_J)


def delivered(page) -> float:
    """The delivered energy the console page shows, summed over the plan's wavelengths [J]."""
    return sum(float(page.locator(f'[data-energy="{key}"]').inner_text()) for key in PLANNED_J)
