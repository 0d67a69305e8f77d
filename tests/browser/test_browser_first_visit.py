"""Browser journey: a clinician's first visit, from a new patient through screening, consent, a signed plan
with its body chart and a home exercise programme to the patient handout."""

import os
import re
import subprocess

from playwright.sync_api import expect
from test_browser_plan import _add_patient, _screen

from conftest import give_consent, log_in


def test_a_clinicians_first_visit_ends_with_the_handout(page, tmp_path):
    log_in(page, "clinician")
    _add_patient(page, "Frida Firstvisit")
    _screen(page, None)
    expect(page.locator("#decision")).to_have_text("treat")
    page.click("text=Open the plan editor")
    expect(page.locator("svg.depth-dose")).to_have_count(1)
    if page.locator("#accept_outside_window").count():  # plans outside the protocol's aim need a reason
        page.check("#accept_outside_window")
        page.fill("#outside_window_reason", "Standard clinical surface dose; first course for this patient")
    give_consent(page)
    page.click("#create-sign")
    page.wait_for_url(re.compile(r".*/patients/\d+(#course-\d+)?$"))
    expect(page.locator(".course")).to_contain_text("Plan signed")
    chart = page.url.split("#")[0]
    page.click("text=Body chart")
    page.click('rect[data-zone="lower_lumbar_left"]')
    page.click('rect[data-zone="lower_lumbar_right"]')
    page.click("text=Save body chart")
    expect(page.locator(".course")).to_contain_text("Body chart (2 zones)")
    page.click("text=Home programme")
    for name in ("Walking", "Bridge"):  # the dosage left blank: each exercise's usual one
        value = page.locator("#exercise_id option", has_text=name).get_attribute("value")
        page.select_option("#exercise_id", value)
        page.click("button:text('Prescribe')")
        expect(page.locator(".exercise", has_text=name)).to_have_count(1)
    handout = page.request.get(page.locator("text=Patient handout (PDF)").get_attribute("href"))
    pdf = tmp_path / "handout.pdf"
    pdf.write_bytes(handout.body())
    text = " ".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split()
    )
    wanted = [
        "Frida Firstvisit", "Lower lumbar (L4-L5), left; Lower lumbar (L4-L5), right",
        "Walking 20 min, 5 days a week", "Bridge 2 sets of 10, hold 5 s, 5 days a week", "- session 1:",
        "Report at once",
    ]  # fmt: skip
    for phrase in wanted:
        assert phrase in text, phrase
    shots = os.environ.get("LASERDOSE_SCREENSHOTS")
    if shots:  # the handout's first page, for people to look at
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(pdf), f"{shots}/handout"], check=True
        )
    page.goto(chart)
    expect(page.locator(".course")).to_contain_text("Plan signed")
