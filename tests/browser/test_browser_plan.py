"""Browser journey of the clinician's plan: screen (refer, then treat), live preview, sign, plan report.

The journey signs a plan of a shipped protocol for a patient of BMI 45: the protocol's highest surface dose
stops the plan below the band around the template's reference dose, so it is signed with the
acknowledgement and a reason.
"""

import re

from playwright.sync_api import expect

from conftest import give_consent, log_in


def _add_patient(page, name: str, bmi: str = "27") -> None:
    page.click("text=New patient")
    given, family = name.rsplit(" ", 1)
    page.fill("#given_name", given)
    page.fill("#family_name", family)
    page.fill("#birth_date", "1965-04-12")
    page.fill("#skin_type", "3")
    page.fill("#bmi", bmi)
    page.click("text=Save patient")
    expect(page.locator("h1")).to_have_text(name)


def _screen(page, red_flag: str | None, drop_reason: str = "") -> None:
    page.click("text=Screen patient")
    page.select_option("#diagnosis", "chronic-nonspecific-lbp")
    if drop_reason:  # a red flag of the previous screening no longer applies: say why
        page.fill("#drop_reason", drop_reason)
    if red_flag:
        page.check(f"input[name=red_flags][value={red_flag}]")
        expect(page.locator("#decision-preview")).to_contain_text("refer")  # live, before saving
    page.click("text=Screen patient >> nth=-1")  # the form's button, not the chart link


def test_clinician_screens_plans_with_a_live_preview_signs_and_downloads_the_report(page):
    log_in(page, "clinician")
    _add_patient(page, "Paula Planner", bmi="45")
    chart_url = page.url
    _screen(page, "cancer-history")
    # AHCPR 1994: a history of cancer is a red flag for spinal metastasis: refer.
    expect(page.locator("#decision")).to_have_text("refer (urgent)")
    expect(page.locator("text=Open the plan editor")).to_have_count(0)
    page.goto(chart_url)
    _screen(page, None, drop_reason="oncology review: no spinal metastasis")
    expect(page.locator("#decision")).to_have_text("treat")
    page.click("text=Open the plan editor")
    expect(page.locator("#plan-area")).to_have_attribute("data-value", "150")
    energy_before = float(page.locator("#plan-energy").get_attribute("data-value"))
    page.fill("#area_cm2", "250")
    page.press("#area_cm2", "Tab")  # a change event: HTMX swaps in the new preview
    expect(page.locator("#plan-area")).to_have_attribute("data-value", "250")
    assert float(page.locator("#plan-energy").get_attribute("data-value")) > energy_before
    expect(page.locator("svg.depth-dose")).to_have_count(1)
    # At BMI 45 the reference dose is out of reach: the preview says so, every safety limit holds.
    expect(page.locator("#no-fit")).to_contain_text("Outside the band")
    # Skin type III: its epidermal melanin keeps the skin below its temperature limit; the surface dose
    # (radiant exposure) cap is what stops more light.
    expect(page.locator("#binding-limit")).to_have_text("surface dose")
    expect(page.locator("#equivalence-gauge")).to_have_attribute("data-inside", "false")
    expect(page.locator("#sign-state")).to_contain_text("Outside the band")
    page.fill("#home_exercise", "Walk 20 minutes a day")
    page.fill("#advice", "Stay active")
    page.click("#create-sign")  # without the acknowledgement: refused, the fields' errors shown
    expect(page.locator("#accept_outside_window-error")).to_contain_text("tick the box")
    expect(page.locator("#outside_window_reason-error")).to_contain_text("give the clinical reason")
    expect(page.locator("#home_exercise")).to_have_value("Walk 20 minutes a day")
    expect(page.locator("#area_cm2")).to_have_value("250")
    page.check("#accept_outside_window")
    page.fill("#outside_window_reason", "Highest surface dose allowed; BMI 45 keeps the target short")
    give_consent(page)
    page.click("#create-sign")
    page.wait_for_url(re.compile(r".*/patients/\d+(#course-\d+)?$"))
    expect(page.locator(".course")).to_contain_text("Plan signed")
    expect(page.locator(".course")).to_contain_text(
        "Signed outside the band: Highest surface dose allowed; BMI 45 keeps the target short"
    )
    expect(page.locator(".course")).to_contain_text("Home exercise: Walk 20 minutes a day")
    with page.expect_download() as download:
        page.click("text=Plan report (PDF)")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"


def test_plan_editor_keeps_bad_input_with_the_fields_error(page):
    log_in(page, "clinician")
    _add_patient(page, "Quinn Typo")
    _screen(page, None)
    page.click("text=Open the plan editor")
    page.fill("#area_cm2", "5000")
    page.fill("#advice", "Keep moving")
    page.click("#create-sign")
    # Rule of nines (Wallace 1951): the back of the trunk is about 3400 cm2 (clinical/patient.py).
    expect(page.locator("#area_cm2-error")).to_have_text(
        "treatment area must be between 1 and 3500 cm2, got 5000 cm2"
    )
    expect(page.locator("#area_cm2")).to_have_value("5000")
    expect(page.locator("#advice")).to_have_value("Keep moving")


def test_operator_cannot_reach_the_plan_editor(page):
    log_in(page, "operator")
    page.goto("/patients/1/plan")
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("text=Plan editor")).to_have_count(0)
