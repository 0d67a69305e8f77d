"""Browser journey: the clinician marks the treated zones; the console and the plan PDF show them."""

import os
import subprocess

from playwright.sync_api import expect
from test_browser_outcome_course import _sign_a_plan
from test_browser_plan import _add_patient

from conftest import log_in


def test_zones_clicked_on_the_chart_are_saved_and_shown_on_the_console_and_the_plan(page, tmp_path):
    log_in(page, "clinician")
    _add_patient(page, "Britt Bodychart")
    _sign_a_plan(page)
    chart_url = page.url.split("#")[0]
    page.click("text=Body chart")
    page.click('rect[data-zone="lower_lumbar_left"]')  # the picture ticks the box
    page.check("#zone-sacroiliac_left")  # and the box fills the picture
    expect(page.locator("#zone-lower_lumbar_left")).to_be_checked()
    expect(page.locator('rect[data-zone="sacroiliac_left"]')).to_have_class("zone marked")
    page.screenshot(
        path=os.environ.get("LASERDOSE_SCREENSHOT", str(tmp_path / "body-chart.png")), full_page=True
    )
    page.click("text=Save body chart")
    page.wait_for_url(f"{chart_url}#course-*")
    expect(page.locator(".course")).to_contain_text("Body chart (2 zones)")
    page.click("text=Treatment console")
    expect(page.locator("#console-body-chart")).to_contain_text(
        "Treat: Lower lumbar (L4-L5), left; Sacroiliac joint, left"
    )
    expect(page.locator("#console-body-chart rect.marked")).to_have_count(2)
    page.goto(chart_url)
    plan = page.request.get(page.locator("text=Plan report (PDF)").first.get_attribute("href"))
    (tmp_path / "plan.pdf").write_bytes(plan.body())
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "plan.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "Treated area" in text and "Lower lumbar (L4-L5), left; Sacroiliac joint, left" in " ".join(
        text.split()
    )
