"""Browser journey of the red-flag path: refer -> planning closed -> outcome recorded (cleared) -> plan."""

import datetime as dt
import re

from playwright.sync_api import expect

from conftest import log_in


def test_refer_cannot_plan_record_cleared_then_plan(page):
    log_in(page, "clinician")
    page.click("text=New patient")
    page.fill("#given_name", "Rita")
    page.fill("#family_name", "Referral")
    page.fill("#birth_date", "1968-03-02")
    page.fill("#skin_type", "3")
    page.fill("#bmi", "26")
    page.click("text=Save patient")
    chart_url = page.url
    # A 58-year-old of skin type III: the record adds no term by itself, and the form says so.
    page.click("text=Screen patient")
    expect(page.locator("#automatic")).to_contain_text("nothing in the record adds a term")
    page.select_option("#diagnosis", "chronic-nonspecific-lbp")
    page.check("input[name=red_flags][value=bilateral-sciatica]")
    # Bilateral sciatica: suspected cauda equina, emergency referral (NICE CKS; GIRFT).
    expect(page.locator("#decision-preview")).to_have_text("refer (emergency)")
    page.click("text=Screen patient >> nth=-1")
    expect(page.locator("#decision")).to_have_text("refer (emergency)")
    expect(page.locator("#referral-status")).to_have_text("open")
    expect(page.locator("#open-plan")).to_have_count(0)
    screening_url = page.url

    # Planning is closed while the referral is open.
    page.goto(chart_url)
    page.click("text=Plan editor")
    expect(page.locator("#sign-state")).to_contain_text("record the referral's outcome or override it first")

    # The outcome: a bad form keeps what was typed and says what is wrong, then the good one.
    page.goto(screening_url)
    page.fill("#seen_by", "Dr S. Pine, spinal surgeon")
    page.click("text=Record outcome")
    expect(page.locator("#cleared-error")).to_contain_text("choose cleared or not cleared")
    expect(page.locator("#seen_by")).to_have_value("Dr S. Pine, spinal surgeon")
    page.fill("#seen_on", dt.datetime.now(dt.UTC).date().isoformat())
    page.check("input[name=cleared][value=yes]")
    page.fill("#note", "MRI: no compression")
    page.click("text=Record outcome")
    expect(page.locator("#referral-status")).to_have_text("cleared")
    expect(page.locator("#referral-outcome")).to_contain_text("Dr S. Pine")

    # Planning opens: the editor makes a plan whose screening is now treat-with-precautions.
    page.click("#open-plan")
    expect(page.locator("#plan-area")).to_have_attribute("data-value", "150")
    expect(page.locator("#sign-state")).not_to_contain_text("referral")
    page.goto(chart_url)
    history = page.locator("#screening-history")
    expect(history).to_contain_text("emergency: cleared")
    expect(history).to_contain_text("MRI: no compression")
    assert re.search(r"/patients/\d+$", chart_url)
