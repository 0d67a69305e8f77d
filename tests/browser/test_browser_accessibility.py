"""Accessibility in Debian's chromium: axe-core on every page each role reaches; STOP by keyboard.

The crawl follows every same-origin link from the home page, so a page added later is checked without
changing this file. axe-core (tests/browser/vendor, MPL-2.0) is served to the page from its own origin
through Playwright's router, so the app's Content-Security-Policy stays as strict as in production.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from playwright.sync_api import expect

from conftest import serving, watch_csp
from consolekit import signed_course, simulator
from laserdose.clinic import db, demo
from laserdose.planning.physics import default_physics
from laserdose.web.settings import WebSettings

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_URL = "/__test__/axe.min.js"  # answered by the test's router, never by the app
BLOCKING = ("serious", "critical")
MAX_PAGES = 150  # per role; the demo clinic has about 40 pages per role
SKIPPED_PREFIXES = ("/static/", "/api/", "/openapi.json", "/devices/", "/logout")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> Iterator[tuple[str, str, dict[str, str]]]:
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


def _logged_in(browser, base_url: str, username: str, password: str, width: int = 1280):  # noqa: ANN001, ANN202
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    context.route(f"**{AXE_URL}", lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
    page = context.new_page()
    violations = watch_csp(page)
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/patients")
    return page, violations


def _same_origin_links(page, base_url: str) -> list[str]:  # noqa: ANN001
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    found = []
    for href in hrefs:
        absolute, _fragment = urldefrag(urljoin(page.url, href))
        parsed = urlparse(absolute)
        if absolute.startswith(base_url) and not parsed.path.startswith(SKIPPED_PREFIXES):
            if not parsed.path.endswith(".pdf"):
                found.append(absolute)
    return found


def _axe(page) -> list[dict]:  # noqa: ANN001
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    results = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [v for v in results if v["impact"] in BLOCKING]


def _report(findings: dict[str, list[dict]]) -> str:
    lines = []
    for url, violations in findings.items():
        for v in violations:
            targets = [" ".join(map(str, node["target"])) for node in v["nodes"][:3]]
            lines.append(f"{url}: [{v['impact']}] {v['id']}: {v['help']} at {json.dumps(targets)}")
    return "\n".join(lines)


@pytest.mark.parametrize("role", ["admin", "clinician", "operator"])
def test_every_page_a_role_reaches_has_no_serious_accessibility_violation(browser, clinic, role):
    base_url, _database, passwords = clinic
    page, csp = _logged_in(browser, base_url, role, passwords[role])
    queue, seen, findings = deque([base_url + "/"]), {base_url + "/"}, {}
    visited = []
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        response = page.goto(url)
        assert response is not None
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        visited.append(page.url)
        if violations := _axe(page):
            findings[page.url] = violations
        for link in _same_origin_links(page, base_url):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    page.context.close()
    assert not queue, f"more than {MAX_PAGES} pages: raise MAX_PAGES or skip a family of links"
    paths = {urlparse(url).path for url in visited}
    assert {"/patients", "/machines"} <= paths and any(p.startswith("/patients/") for p in paths)
    if role != "admin":
        assert any(p.endswith("/console") for p in paths), "the crawl never reached a treatment console"
    assert findings == {}, "serious or critical accessibility violations:\n" + _report(findings)
    assert csp == [], "a page broke the Content-Security-Policy or raised"


@pytest.mark.parametrize("key", ["Enter", "Space"])
def test_stop_is_reached_by_tab_and_pressed_from_the_keyboard(browser, clinic, key):
    base_url, database, passwords = clinic
    course_id = signed_course(database)
    page, csp = _logged_in(browser, base_url, "operator", passwords["operator"])
    page.goto(f"/courses/{course_id}/console")
    page.click("#connect")
    page.click("#start")
    expect(page.locator("#state")).to_have_text("emitting")
    page.locator("body").focus()  # start from the top of the page, as a keyboard user would
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    presses = 0
    while page.evaluate("() => document.activeElement && document.activeElement.id") != "stop":
        presses += 1
        assert presses <= 15, "15 presses of Tab from the top of the console did not reach STOP"
        page.keyboard.press("Tab")
    page.keyboard.press(key)
    expect(page.locator("#stop-result")).to_have_text("STOP sent")
    expect(page.locator("#state")).to_have_text("done")
    expect(page.locator("#reason")).to_have_text("stopped by operator")
    page.reload()
    page.click("#disconnect")
    page.context.close()
    assert csp == []


def test_the_menu_folds_at_390_px_and_opens_from_the_keyboard(browser, clinic):
    base_url, _database, passwords = clinic
    page, csp = _logged_in(browser, base_url, "clinician", passwords["clinician"], width=390)
    toggle = page.locator(".menu-toggle")
    expect(page.locator("#nav-machines")).to_be_hidden()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing overflows sideways
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#nav-machines")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#nav-machines")).to_be_hidden()
    page.context.close()
    assert csp == []
