"""Browser journeys: correct an outcome and void a session from the chart, each with a reason, then read
the history (earlier version with who, when and why; the voided session struck through)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from playwright.sync_api import expect

from conftest import PASSWORD, log_in
from laserdose.clinic import db
from laserdose.clinic.models import Course, User

SHOTS = os.environ.get("LASERDOSE_SCREENSHOT_DIR")


def _shot(page, tmp_path: Path, name: str) -> None:  # noqa: ANN001 - a Playwright page
    page.screenshot(path=str(Path(SHOTS or tmp_path) / f"{name}.png"), full_page=True)


def _api(page, username: str) -> dict[str, str]:  # noqa: ANN001
    token = page.request.post("/api/v1/token", form={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _patient_on_a_course(page, live_database: str, name: str) -> tuple[int, int]:  # noqa: ANN001
    """A patient with a signed course begun on 2026-01-05, set up as the API and the signing gate leave it."""
    headers = _api(page, "clinician")
    body = {"name": name, "birth_date": "1966-04-12", "skin_type": 4, "bmi": 28.0}
    patient = page.request.post("/api/v1/patients", data=body, headers=headers).json()["id"]
    course = {
        "condition": "chronic_nslbp",
        "protocol": "demo",
        "sessions_planned": 10,
        "sessions_per_week": 2,
    }
    course_id = page.request.post(f"/api/v1/patients/{patient}/courses", data=course, headers=headers).json()[
        "id"
    ]
    engine = db.make_engine(live_database)
    with db.session_factory(engine).begin() as session:
        row, clinician = (
            session.get(Course, course_id),
            session.query(User).filter_by(username="clinician").one(),
        )
        row.created_at = row.signed_at = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
        row.signed_by_id = clinician.id
    engine.dispose()
    return patient, course_id


def test_a_clinician_corrects_an_outcome_with_a_reason_and_reads_its_history(page, live_database, tmp_path):
    patient, _ = _patient_on_a_course(page, live_database, "Cora Corrected")
    log_in(page, "clinician")
    page.goto(f"/patients/{patient}/outcomes/new")
    page.fill("#assessed_on", "2027-03-15")  # the date a new user typed: in the future
    page.select_option("#nrs", "7")
    page.click("text=Save outcomes")
    expect(page.locator(".field-error .error")).to_contain_text(
        "date of assessment 2027-03-15 is in the future"
    )
    expect(page.locator("#nrs")).to_have_value("7")  # what was typed is kept
    _shot(page, tmp_path, "outcome-form-date-error")
    page.fill("#assessed_on", "2026-03-02")
    page.click("text=Save outcomes")
    page.wait_for_url(re.compile(rf".*/patients/{patient}$"))
    outcome = page.locator(".timeline li", has_text="pain NRS 7/10")
    outcome.get_by_role("link", name="correct").click()
    expect(page.locator("h1")).to_contain_text("Correct outcome")
    page.select_option("#nrs", "4")
    page.click("text=Save correction")  # no reason yet
    expect(page.locator("#reason-error")).to_have_text(
        "reason is required: say why the record is corrected or voided"
    )
    expect(page.locator("#nrs")).to_have_value("4")
    page.fill("#reason", "Patient rated 4; 7 was last week's score")
    _shot(page, tmp_path, "outcome-correction-form")
    page.click("text=Save correction")
    page.wait_for_url(re.compile(rf".*/patients/{patient}$"))
    entry = page.locator(".timeline li", has_text="pain NRS 4/10")
    expect(entry).to_contain_text("1 earlier version")
    entry.locator("summary").click()
    expect(entry.locator(".record-history")).to_contain_text("corrected")
    expect(entry.locator(".record-history")).to_contain_text("by clinician")
    expect(entry.locator(".correction-reason")).to_have_text("Patient rated 4; 7 was last week's score")
    expect(entry.locator(".record-history del")).to_have_text("7")
    expect(page.locator("#chart-nrs")).to_be_visible()
    _shot(page, tmp_path, "chart-outcome-history")


def test_an_operator_voids_a_session_with_a_reason_and_it_leaves_the_count(page, live_database, tmp_path):
    patient, course = _patient_on_a_course(page, live_database, "Sven Voided")
    record = {
        "duration_s": 300.0,
        "energy_j_by_wavelength": {"810": 1500.0},
        "interruptions": [],
        "completed": True,
    }
    headers = _api(page, "operator")
    twice = {"same_day_reason": "the machine sent its record twice"}  # a second dose that day is confirmed
    for started, extra in (("2026-03-02T09:00:00+00:00", {}), ("2026-03-02T09:06:00+00:00", twice)):
        data = {**record, **extra, "started_at": started}
        sent = page.request.post(f"/api/v1/courses/{course}/sessions", data=data, headers=headers)
        assert sent.status == 201, sent.text()
    log_in(page, "operator")
    page.goto(f"/patients/{patient}")
    expect(page.locator(f"#course-{course}")).to_contain_text("2 of 10 delivered")
    page.locator(".timeline li", has_text="session 1500 J").first.get_by_role("link", name="correct").click()
    expect(page.locator("#started_at")).to_have_value("2026-03-02T09:00")  # the start as stored (UTC)
    _shot(page, tmp_path, "session-correction-form")
    page.click("text=Cancel")
    page.locator(".timeline li", has_text="session 1500 J").last.get_by_role("link", name="void").click()
    expect(page.locator("h1")).to_contain_text("Void treatment session")
    page.get_by_role("button", name="Void treatment session").click()  # without a reason
    expect(page.locator("#reason-error")).to_contain_text("reason is required")
    page.fill("#reason", "Sent twice by the machine after a network retry")
    _shot(page, tmp_path, "session-void-form")
    page.get_by_role("button", name="Void treatment session").click()
    page.wait_for_url(re.compile(rf".*/patients/{patient}$"))
    expect(page.locator(f"#course-{course}")).to_contain_text("1 of 10 delivered")
    voided = page.locator(".timeline li.voided")
    expect(voided.locator("del")).to_have_text(
        "session 1500 J, completed, second dose that day: the machine sent its record twice"
    )
    expect(voided.locator(".void-reason")).to_have_text(
        "voided: Sent twice by the machine after a network retry"
    )
    expect(voided.get_by_role("link", name="void")).to_have_count(0)  # a voided record is not voided again
    _shot(page, tmp_path, "chart-voided-session")


def test_a_clinician_corrects_the_patients_details_and_the_old_ones_stay_readable(
    page, live_database, tmp_path
):
    patient, _ = _patient_on_a_course(page, live_database, "Petra Typo")
    log_in(page, "clinician")
    page.goto(f"/patients/{patient}")
    page.locator("p", has_text="Born 1966-04-12").get_by_role("link", name="correct").click()
    expect(page.locator("h1")).to_have_text("Correct the details of Petra Typo")
    page.fill("#family_name", "Tipo")
    page.fill("#birth_date", "1966-04-21")
    page.fill("#reason", "Name and birth date checked against her ID card")
    _shot(page, tmp_path, "patient-correction-form")
    page.click("text=Save correction")
    page.wait_for_url(re.compile(rf".*/patients/{patient}$"))
    expect(page.locator("h1")).to_have_text("Petra Tipo")
    history = page.locator("main > details.record-history")
    history.locator("summary").click()
    expect(history).to_contain_text("Name and birth date checked against her ID card")
    expect(history.locator("del")).to_have_text(["Petra Typo", "Typo", "1966-04-12"])  # in the fields' order
    _shot(page, tmp_path, "chart-patient-history")
