"""In chromium: axe-core and a phone-wide window on every page each role reaches; STOP by keyboard.

The crawl follows every same-origin link from the home page, so a page added later is checked without
changing this file. axe-core (tests/browser/vendor, MPL-2.0) is served to the page from its own origin
through Playwright's router, so the app's Content-Security-Policy stays as strict as in production.
"""

from __future__ import annotations

import json
import re
from collections import deque
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from playwright.sync_api import expect

from conftest import AXE_URL, complete_checklist, logged_in
from consolekit import signed_course

BLOCKING = ("serious", "critical")
PHONE_PX = 390
MAX_PAGES = 150  # per role; the demo clinic has about 50 pages per role
# A family of pages is a path with its numbers blanked (/records/sessions/34/void, /courses/2/notes): a
# calendar, a pager or one page per record links on without end, and a few pages stand for the rest.
PAGES_PER_FAMILY = 3
SKIPPED_PREFIXES = ("/static/", "/api/", "/openapi.json", "/devices/", "/logout")


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


def _width_on_a_phone(page) -> int:  # noqa: ANN001
    """The page's layout width [px] in a phone-wide window (the window is made wide again after)."""
    size = page.viewport_size
    page.set_viewport_size({"width": PHONE_PX, "height": 800})
    width = int(page.evaluate("() => document.documentElement.scrollWidth"))
    page.set_viewport_size(size)
    return width


def _report(findings: dict[str, list[dict]]) -> str:
    lines = []
    for url, violations in findings.items():
        for v in violations:
            targets = [" ".join(map(str, node["target"])) for node in v["nodes"][:3]]
            lines.append(f"{url}: [{v['impact']}] {v['id']}: {v['help']} at {json.dumps(targets)}")
    return "\n".join(lines)


@pytest.mark.parametrize("role", ["admin", "clinician", "operator"])
def test_every_page_a_role_reaches_is_accessible_and_fits_a_phone(browser, demo_clinic, role):
    base_url, _database, passwords = demo_clinic
    page, csp = logged_in(browser, base_url, role, passwords[role])
    queue, seen, findings = deque([base_url + "/"]), {base_url + "/"}, {}
    visited, too_wide, per_family = [], {}, {"/": 1}
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        response = page.goto(url)
        assert response is not None
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        visited.append(page.url)
        if violations := _axe(page):
            findings[page.url] = violations
        if (width := _width_on_a_phone(page)) > PHONE_PX:
            too_wide[page.url] = width
        for link in _same_origin_links(page, base_url):
            family = re.sub(r"\d+", "#", urlparse(link).path)
            if link not in seen and per_family.get(family, 0) < PAGES_PER_FAMILY:
                seen.add(link)
                per_family[family] = per_family.get(family, 0) + 1
                queue.append(link)
    page.context.close()
    assert not queue, f"more than {MAX_PAGES} pages: raise MAX_PAGES or skip a family of links"
    paths = {urlparse(url).path for url in visited}
    assert {"/patients", "/machines"} <= paths and any(p.startswith("/patients/") for p in paths)
    if role != "admin":
        assert any(p.endswith("/console") for p in paths), "the crawl never reached a treatment console"
    assert findings == {}, "serious or critical accessibility violations:\n" + _report(findings)
    assert too_wide == {}, f"pages wider than a {PHONE_PX} px phone (px): {too_wide}"
    assert csp == [], "a page broke the Content-Security-Policy or raised"


@pytest.mark.parametrize("key", ["Enter", "Space"])
def test_stop_is_reached_by_tab_and_pressed_from_the_keyboard(browser, demo_clinic, key):
    base_url, database, passwords = demo_clinic
    course_id = signed_course(database)
    page, csp = logged_in(browser, base_url, "operator", passwords["operator"])
    page.goto(f"/courses/{course_id}/console")
    page.click("#connect")
    complete_checklist(page)  # the safety checklist comes before every start
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
    expect(page.locator("#connect")).to_be_visible()  # the machine is free for the next test
    page.context.close()
    assert csp == []


def test_the_menu_folds_at_390_px_and_opens_from_the_keyboard(browser, demo_clinic):
    base_url, _database, passwords = demo_clinic
    page, csp = logged_in(browser, base_url, "clinician", passwords["clinician"], width=390)
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
