"""Browser journeys in Debian's chromium: log in, add a patient, outcomes, the chart; roles; errors."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from conftest import PASSWORD, log_in
from laserdose.domain.quantities import SKIN_TYPE
from laserdose.errors import InputError


def _add_patient(page, name: str) -> None:
    page.click("text=New patient")
    given, family = name.rsplit(" ", 1)
    page.fill("#given_name", given)
    page.fill("#family_name", family)
    page.fill("#birth_date", "1968-02-03")
    page.fill("#skin_type", "4")
    page.fill("#bmi", "28.4")
    page.click("text=Save patient")
    expect(page.locator("h1")).to_have_text(name)


def _enter_outcomes(page, date: str, nrs: str, odi_level: str, rmdq_ticks: int) -> None:
    page.click("text=Record outcomes")
    page.fill("#assessed_on", date)
    page.select_option("#nrs", nrs)
    for section in range(1, 11):
        page.select_option(f"#odi_{section}", odi_level)
    page.check("#rmdq_included")
    for item in range(1, rmdq_ticks + 1):
        page.check(f"input[name=rmdq_{item}]")
    page.click("text=Save outcomes")
    page.wait_for_url(re.compile(r".*/patients/\d+$"))


def test_clinician_adds_patient_enters_outcomes_and_reads_the_chart(page):
    log_in(page, "clinician")
    _add_patient(page, "Carla Browser")
    _enter_outcomes(page, "2026-01-05", "8", "3", 14)  # ODI 30/50 = 60 %, RMDQ 14
    _enter_outcomes(page, "2026-02-02", "5", "2", 8)  # ODI 40 %, RMDQ 8
    nrs_points = page.locator("#chart-nrs circle")
    assert [nrs_points.nth(i).get_attribute("data-value") for i in range(2)] == ["8", "5"]
    # Ostelo 2008: NRS baseline 8 -> MIC at max(8 - 2, 0.7 x 8) = 6; ODI 60 -> 50; RMDQ 14 -> 9.
    assert page.locator("#chart-nrs line.mic").get_attribute("data-threshold") == "6"
    assert page.locator("#chart-odi line.mic").get_attribute("data-threshold") == "50"
    assert page.locator("#chart-rmdq line.mic").get_attribute("data-threshold") == "9"
    expect(page.locator("#chart-nrs circle.responder")).to_have_count(1)
    expect(page.locator(".timeline")).to_contain_text("pain NRS 5/10, ODI 40 %, RMDQ 8/24")


def test_search_updates_the_list_in_place(page):
    log_in(page, "clinician")
    _add_patient(page, "Dora Searchable")
    page.click("text=Patients")
    page.fill("#q", "searchab")  # HTMX swaps the rows without reloading the page
    expect(page.locator("#patient-rows tr")).to_have_count(1)
    expect(page.locator("#patient-rows")).to_contain_text("Searchable, Dora")  # family name first
    page.fill("#q", "no such person")
    expect(page.locator("#patient-rows tr")).to_have_count(0)
    expect(page.locator("#patient-count")).to_have_text(
        'No patient\'s name or record number contains "no such person".'
    )


def test_operator_cannot_add_patients(page):
    log_in(page, "operator")
    expect(page.locator("text=New patient")).to_have_count(0)
    page.goto("/patients/new")
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("[role=alert]")).to_contain_text(
        "Only a clinician or an admin can add or change patient records; you are signed in as an operator."
    )


def test_bad_input_shows_the_field_error_and_keeps_what_was_typed(page):
    log_in(page, "clinician")
    page.click("text=New patient")
    page.fill("#given_name", "Eva")
    page.fill("#family_name", "Typo")
    page.fill("#birth_date", "1980-07-09")
    page.fill("#skin_type", "9")
    page.fill("#bmi", "23")
    page.click("text=Save patient")
    # The domain's one sentence for an out-of-range skin type, shown beside the field.
    with pytest.raises(InputError) as refused:
        SKIN_TYPE.check_whole(9)
    expect(page.locator("#skin_type-error")).to_have_text(f"{refused.value}.")  # as a sentence
    expect(page.locator("#skin_type")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#given_name")).to_have_value("Eva")
    expect(page.locator("#family_name")).to_have_value("Typo")
    expect(page.locator("#skin_type")).to_have_value("9")
    expect(page.locator("#bmi")).to_have_value("23")


def test_wrong_password_is_refused(page):
    page.goto("/login")
    page.fill("#username", "clinician")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator("[role=alert]")).to_have_text("Wrong username, password or one-time code.")
    expect(page.locator("#username")).to_have_value("clinician")


def test_only_a_clinician_may_sign_and_only_a_planner_made_plan(page, live_server):
    # A patient with an unsigned course made through the API: its plan never met the planner's checks.
    token = httpx.post(f"{live_server}/api/v1/token", data={"username": "clinician", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    anna = {"name": "Fay Planned", "birth_date": "1970-05-17", "skin_type": 3, "bmi": 26.5}
    patient = httpx.post(f"{live_server}/api/v1/patients", json=anna, headers=headers).json()
    course = {
        "condition": "chronic_nslbp",
        "protocol": "demo",
        "sessions_planned": 12,
        "sessions_per_week": 3,
    }
    httpx.post(f"{live_server}/api/v1/patients/{patient['id']}/courses", json=course, headers=headers)
    log_in(page, "operator")
    page.goto(f"/patients/{patient['id']}")
    expect(page.locator(".course")).to_contain_text("Plan not signed")
    expect(page.locator("text=Sign plan")).to_have_count(0)
    page.click("text=Log out")
    log_in(page, "clinician")
    page.goto(f"/patients/{patient['id']}")
    page.click("text=Sign plan")
    expect(page.locator("body")).to_contain_text("make and sign the plan in the plan editor")
    page.goto(f"/patients/{patient['id']}")
    expect(page.locator(".course")).to_contain_text("Plan not signed")
