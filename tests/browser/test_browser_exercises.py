"""Browser journey: a clinician prescribes a home programme on a signed course and prints the handout."""

import os
import subprocess

from playwright.sync_api import expect
from test_browser_outcome_course import _sign_a_plan
from test_browser_plan import _add_patient

from conftest import log_in


def test_a_clinician_prescribes_exercises_and_prints_the_handout(page, tmp_path):
    log_in(page, "clinician")
    _add_patient(page, "Hedda Homework")
    _sign_a_plan(page)
    page.click("text=Home programme")
    expect(page.locator("h1")).to_have_text("Home programme: Hedda Homework")
    bird_dog = page.locator("#exercise_id option", has_text="Bird dog").get_attribute("value")
    page.select_option("#exercise_id", bird_dog)
    for field, value in (("sets", "12"), ("repetitions", "10"), ("hold_s", "5"), ("per_week", "5")):
        page.fill(f"#{field}", value)
    page.click("button:text('Prescribe')")
    expect(page.locator("#sets-error")).to_have_text("Sets must be a whole number from 1 to 10, got 12.")
    expect(page.locator("#exercise_id option:checked")).to_contain_text("Bird dog")  # the choice is kept
    expect(page.locator("#per_week")).to_have_value("5")
    page.fill("#sets", "2")
    page.fill("#note", "Keep your back still")
    page.click("button:text('Prescribe')")
    entry = page.locator(".exercise", has_text="Bird dog")
    expect(entry).to_contain_text("2 sets of 10, hold 5 s, 5 days a week. Keep your back still")
    expect(entry.locator("svg.exercise-drawing line")).to_have_count(7)
    page.screenshot(
        path=os.environ.get("LASERDOSE_SCREENSHOT", str(tmp_path / "programme.png")), full_page=True
    )
    handout = page.request.get(page.locator("text=Patient handout (PDF)").get_attribute("href"))
    assert handout.headers["content-type"] == "application/pdf"
    (tmp_path / "handout.pdf").write_bytes(handout.body())
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "handout.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "Hedda Homework" in text and "Bird dog" in text and "Keep your back still" in text
    page.click("text=Exercises")
    expect(page.locator(".exercise")).to_have_count(5)
