"""Browser journey: outcomes recorded through the form land on the signed course and reach the dashboard."""

import datetime as dt
import os
import re

from playwright.sync_api import expect
from test_browser_plan import _add_patient, _screen

from conftest import date_courses_back, give_consent, log_in


def _sign_a_plan(page) -> None:  # noqa: ANN001 - a Playwright page
    """Screen (treat) and sign the editor's proposed plan (type III, BMI 27: inside the band)."""
    _screen(page, None)
    expect(page.locator("#decision")).to_have_text("treat")
    page.click("text=Open the plan editor")
    expect(page.locator("svg.depth-dose")).to_have_count(1)
    expect(page.locator("#fits")).to_be_visible()
    give_consent(page)
    page.click("#create-sign")
    page.wait_for_url(re.compile(r".*/patients/\d+(#course-\d+)?$"))
    expect(page.locator(".course")).to_contain_text("Plan signed")


def _record(page, date: str, nrs: str) -> None:  # noqa: ANN001
    page.click("text=Record outcomes")
    # The signed course is offered and chosen without the clinician touching the field.
    expect(page.locator("#course_id option:checked")).to_contain_text("chronic-nonspecific-lbp")
    expect(page.locator("#course_id option:checked")).to_contain_text("signed")
    page.fill("#assessed_on", date)
    page.select_option("#nrs", nrs)
    page.click("text=Save outcomes")
    page.wait_for_url(re.compile(r".*/patients/\d+$"))


def test_outcomes_from_the_form_make_the_course_assessed_on_the_dashboard(page, tmp_path, live_database):
    log_in(page, "clinician")
    _add_patient(page, "Olga Outcome")
    _sign_a_plan(page)
    # The course began on 2026-01-05 (an assessment is not dated before its course was created).
    date_courses_back(live_database, "Olga Outcome", dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC))
    chart_url = page.url.split("#")[0]
    _record(page, "2026-01-05", "8")
    page.goto(chart_url)
    _record(page, "2026-02-02", "3")
    page.click("text=Dashboard")
    row = page.locator("#responder-rates tbody tr", has_text="chronic-nonspecific-lbp")
    # NRS 8 -> 3 is 5 points >= max(2, 30 % of 8) (Ostelo 2008): the course is assessed, a responder.
    expect(row.locator("td").nth(3)).to_have_text("100 % (1/1)")
    expect(page.locator("#responder-rates")).not_to_contain_text("No course has two assessments yet")
    page.screenshot(
        path=os.environ.get("LASERDOSE_SCREENSHOT", str(tmp_path / "dashboard.png")), full_page=True
    )
