"""A live clinic server on loopback and Debian's chromium driven by Playwright (no `playwright install`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from consolekit import simulator
from laserdose.clinic import db, demo, users
from laserdose.planning.physics import default_physics
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the live server's database (for set-ups no page offers, such as a course begun earlier)."""
    return f"sqlite:///{tmp_path_factory.mktemp('browser') / 'clinic.sqlite3'}"


def date_courses_back(database_url: str, patient_name: str, created: dt.datetime) -> None:
    """Date the courses of the patient called `patient_name` back to `created`, as if begun then."""
    from laserdose.clinic.models import Course, Patient

    engine = db.make_engine(database_url)
    with db.session_factory(engine).begin() as session:
        for course in session.query(Course).join(Patient).filter(Patient.name == patient_name):
            course.created_at = created
    engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_database: str) -> Iterator[str]:
    """Serve the app from a fresh database (one user per role) in a thread; yield its base URL."""
    url = live_database
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        for role in ("admin", "clinician", "operator"):
            users.create_user(session=session, username=role, password=PASSWORD, role=role, actor_name="test")
    settings = WebSettings(environment="test", secret_key="browser-test-" + "s" * 32, database_url=url)
    with serving(settings) as base_url:
        yield base_url


@contextlib.contextmanager
def serving(settings: WebSettings) -> Iterator[str]:
    """Serve the app with `settings` on a free loopback port in a thread; yield its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium under Playwright; a missing browser fails under CI=true and skips locally."""
    missing = None if os.access(CHROMIUM, os.X_OK) else f"{CHROMIUM} not found (make test-deps installs it)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        missing = f"playwright is not installed ({exc})"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need chromium and playwright under CI=true: {missing}")
        pytest.skip(missing)
    with sync_playwright() as playwright:  # Playwright gives chromium a fresh temporary profile
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch_csp(page) -> list[str]:  # noqa: ANN001 - a Playwright page
    """Collect the page's Content-Security-Policy violations (chromium reports each on the console)."""
    violations: list[str] = []

    def note(message) -> None:  # noqa: ANN001
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    page.on("console", note)
    page.on("pageerror", lambda error: violations.append(f"page error: {error}"))
    return violations


@pytest.fixture
def page(browser, live_server):  # noqa: ANN001, ANN201 - Playwright objects
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations = watch_csp(page)
    yield page
    context.close()
    assert violations == [], "the page broke the Content-Security-Policy or raised"


# Where a login lands: operators at today's sessions, everyone else at the patient list.
HOME = re.compile(r".*/(patients|today)$")


def log_in(page, username: str) -> None:  # noqa: ANN001
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(HOME)


AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_URL = "/__test__/axe.min.js"  # answered by the test's router, never by the app


@pytest.fixture(scope="session")
def demo_clinic(tmp_path_factory) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The demo clinic (three patients with courses, outcomes and power checks) served on loopback with
    its console driving the simulator; yields (base URL, database URL, {username: password})."""
    url = f"sqlite:///{tmp_path_factory.mktemp('a11y') / 'clinic.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        passwords = demo.seed_demo(
            session=session, start=dt.date.today() - dt.timedelta(weeks=4), physics=default_physics()
        )
    engine.dispose()
    with simulator() as sim:
        settings = WebSettings(
            environment="test", secret_key="a11y-test-" + "a" * 32, database_url=url,
            device_url=sim.address, device_simulator=True, console_period_s=0.05,
        )  # fmt: skip
        with serving(settings) as base_url:
            yield base_url, url, passwords


def logged_in(browser, base_url: str, username: str, password: str, width: int = 1280):  # noqa: ANN001, ANN202
    """A fresh context `width` px wide, logged in as `username`, that can load axe-core; (page, CSP log)."""
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    context.route(f"**{AXE_URL}", lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
    page = context.new_page()
    violations = watch_csp(page)
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(HOME)
    return page, violations


# The clinic's day for browser tests that are not about it (tests/browser/test_browser_day.py is).


def complete_checklist(page) -> None:  # noqa: ANN001 - on the treatment console
    """Tick every item of the console's safety checklist and submit it (one start)."""
    for box in page.locator("#checklist-form input[type=checkbox]").all():
        box.check()
    page.click("#checklist-submit")
    page.wait_for_selector("#checklist-done")


def give_consent(page) -> None:  # noqa: ANN001 - on the plan editor or the consent page
    """Tick the consent box; the patient's name and today's date are filled in already."""
    page.check("#consent_given")
