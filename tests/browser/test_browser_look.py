"""The clinic's look in chromium: chart tabs without script, print, and nothing wider than a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import logged_in

PANELS = ("overview", "screening", "plans", "sessions", "outcomes", "notes", "documents")
PHONE_PX = 390


def _chart_url(page) -> str:  # noqa: ANN001
    page.goto("/patients")
    return page.locator("#patient-rows a").first.get_attribute("href")


def test_a_chart_tab_shows_its_panel_alone_and_no_tab_shows_the_whole_chart(browser, demo_clinic):
    base_url, _database, passwords = demo_clinic
    page, csp = logged_in(browser, base_url, "clinician", passwords["clinician"])
    chart = _chart_url(page)
    page.goto(chart)
    for name in PANELS:
        expect(page.locator(f"#tab-{name}")).to_be_visible()
    page.click("a[href='#tab-outcomes']")  # a plain link: no script involved
    expect(page.locator("#tab-outcomes")).to_be_visible()
    for name in set(PANELS) - {"outcomes"}:
        expect(page.locator(f"#tab-{name}")).to_be_hidden()
    selected = page.locator("a[href='#tab-outcomes']")
    assert selected.evaluate("a => getComputedStyle(a).borderBottomStyle") == "solid"
    page.emulate_media(media="print")  # printing a tab prints the whole chart, without the menus
    for name in PANELS:
        expect(page.locator(f"#tab-{name}")).to_be_visible()
    for hidden in (".site-header", ".chart-tabs > nav", ".plan-links"):
        expect(page.locator(hidden)).to_be_hidden()
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    page.emulate_media(media="screen")
    page.click("a[href='#chart-all']")
    for name in PANELS:
        expect(page.locator(f"#tab-{name}")).to_be_visible()
    page.context.close()
    assert csp == []


@pytest.mark.parametrize("role", ["admin", "clinician", "operator"])
def test_no_page_is_wider_than_a_phone(browser, demo_clinic, role):
    base_url, _database, passwords = demo_clinic
    page, csp = logged_in(browser, base_url, role, passwords[role], width=PHONE_PX)
    chart = _chart_url(page)
    paths = ["/patients", chart, "/machines", "/exercises", "/courses/1/notes"]
    paths += {
        "admin": ["/admin/audit-status", "/dashboard"],
        "clinician": ["/courses/1/console", chart + "/plan", "/dashboard"],
        "operator": ["/courses/1/console"],
    }[role]
    for path in paths:
        page.goto(path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE_PX, f"{path} is {width} px wide on a {PHONE_PX} px screen"
    page.context.close()
    assert csp == []


def test_the_plan_editor_prints_without_its_buttons(browser, demo_clinic):
    base_url, _database, passwords = demo_clinic
    page, csp = logged_in(browser, base_url, "clinician", passwords["clinician"])
    page.goto(_chart_url(page) + "/plan")
    expect(page.locator("#create-sign")).to_be_visible()
    page.emulate_media(media="print")
    for hidden in ("#create-sign", "#plan-report", ".site-header"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#preview")).to_be_visible()
    page.context.close()
    assert csp == []
