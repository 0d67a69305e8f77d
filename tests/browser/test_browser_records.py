"""Browser journeys for the records a clinic relies on: the patient list's pages and search, the admin's
users and audit log, error pages and field errors in plain words, and the RMDQ's ticks."""

import re

from playwright.sync_api import expect

from conftest import PASSWORD, log_in

BORN = {"birth_date": "1971-04-02", "skin_type": 3, "bmi": 25.0}


def _api_token(page, username: str = "clinician") -> dict[str, str]:
    response = page.request.post("/api/v1/token", form={"username": username, "password": PASSWORD})
    assert response.ok, response.text()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_patient_list_pages_and_searches_by_record_number(page):
    headers = _api_token(page)
    for number in range(30):
        body = {**BORN, "given_name": f"Given{number:02d}", "family_name": "Pagewalker",
                "record_number": f"PW-{number:02d}"}  # fmt: skip
        assert page.request.post("/api/v1/patients", data=body, headers=headers).ok
    log_in(page, "clinician")
    page.goto("/patients?q=pagewalker&size=25")
    expect(page.locator("#patient-count")).to_have_text('1-25 of 30 patients matching "pagewalker"')
    expect(page.locator("#patient-rows tr").first).to_contain_text("Pagewalker, Given00")
    page.click("#page-next")
    expect(page.locator("#patient-count")).to_have_text('26-30 of 30 patients matching "pagewalker"')
    expect(page.locator("#patient-rows tr")).to_have_count(5)
    page.click("#page-previous")
    expect(page.locator("#patient-count")).to_contain_text("1-25 of 30")
    page.fill("#q", "pw-17")  # HTMX replaces the table and the count in place
    expect(page.locator("#patient-count")).to_have_text('1-1 of 1 patient matching "pw-17"')
    page.click("text=Pagewalker, Given17")
    expect(page.locator("#record-number")).to_have_text("Record PW-17")


def test_an_admin_adds_then_deactivates_a_user_whose_session_ends(page, browser, live_server):
    log_in(page, "admin")
    page.click("#nav-users")
    page.fill("#new-username", "journey-nurse")
    page.select_option("#new-role", "operator")
    page.fill("#new-password", PASSWORD)
    page.fill("#new-password_again", PASSWORD)
    page.click("text=Add user")
    expect(page.locator("#done")).to_have_text("Added journey-nurse as operator.")
    other = browser.new_context(base_url=live_server)
    try:
        nurse = other.new_page()
        log_in(nurse, "journey-nurse")
        expect(nurse.locator(".who")).to_contain_text("journey-nurse (operator)")
        page.click("#user-journey-nurse summary:has-text('Deactivate')")
        page.click("#deactivate-journey-nurse")
        expect(page.locator("#done")).to_have_text("Deactivated journey-nurse; their sessions have ended.")
        nurse.goto("/patients")
        expect(nurse).to_have_url(re.compile(r".*/login$"))  # the session ended with the deactivation
    finally:
        other.close()


def test_the_audit_log_filters_by_person_and_action(page):
    _api_token(page, "operator")  # a login to find
    log_in(page, "admin")
    page.click("#nav-audit")
    expect(page.locator("#audit-state")).to_contain_text("Verified intact")
    page.select_option("#f-person", "operator")
    page.select_option("#f-action", "login")
    page.click("text=Show")
    rows = page.locator("#audit-rows tbody tr")
    expect(rows.first).to_contain_text("operator")
    for index in range(rows.count()):
        expect(rows.nth(index).locator("td").nth(3)).to_have_text("login")
    page.fill("#f-from", "2026-03-02")
    page.fill("#f-to", "2026-03-01")
    page.click("text=Show")
    expect(page.locator("#f-to-error")).to_have_text(
        "The From day 2026-03-02 is after the To day 2026-03-01; swap them."
    )


def test_a_mistyped_address_shows_a_page_with_a_way_back(page):
    log_in(page, "clinician")
    page.goto("/patients/this-is-not-a-page/x")
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator("#error-message")).to_contain_text("There is no page at this address.")
    page.click("#error-home")
    expect(page).to_have_url(re.compile(r".*/patients$"))


def test_a_missing_family_name_is_said_beside_the_field(page):
    log_in(page, "clinician")
    page.click("text=New patient")
    page.fill("#given_name", "Only-Given")
    page.fill("#birth_date", "1980-07-09")
    page.fill("#skin_type", "2")
    page.fill("#bmi", "51")
    page.click("text=Save patient")
    expect(page.locator("#bmi-error")).to_have_text("BMI must be between 18 and 50 kg/m2, got 51 kg/m2.")
    expect(page.locator("#given_name")).to_have_value("Only-Given")
    page.fill("#bmi", "24")
    page.click("text=Save patient")
    expect(page.locator("#family_name-error")).to_have_text("Family name is required.")


def test_rmdq_ticks_are_saved_without_the_completed_box(page):
    headers = _api_token(page)
    body = {**BORN, "given_name": "Rita", "family_name": "Rolandmorris"}
    patient = page.request.post("/api/v1/patients", data=body, headers=headers).json()
    log_in(page, "clinician")
    page.goto(f"/patients/{patient['id']}/outcomes/new")
    expect(page.locator("#rmdq-how")).to_contain_text("the score is the number ticked")
    page.fill("#assessed_on", "2026-02-03")
    for item in (1, 4, 7, 10):
        page.check(f"input[name=rmdq_{item}]")
    page.click("text=Save outcomes")
    page.wait_for_url(re.compile(r".*/patients/\d+$"))
    expect(page.locator(".timeline")).to_contain_text("RMDQ 4/24")
