"""Browser journeys of the clinic's day: an operator's day from Today through the checklist to a treatment on
the simulator and its visit note, and a clinician's consent, then signing.

Screenshots go to $LASERDOSE_SCREENSHOTS."""

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import httpx
from playwright.sync_api import expect
from sqlalchemy import select
from test_browser_console import console_server, sim  # noqa: F401 - fixtures: the app driving the simulator
from test_browser_plan import _add_patient, _screen

from conftest import PASSWORD, log_in, watch_csp
from consolekit import signed_course
from laserdose.clinic import db
from laserdose.clinic.models import TreatmentSession, VisitNote

SHORT_PLAN = {
    "decision": "treat", "device": "15w-dual", "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
    "mode": "cw", "handpiece": "large-standoff", "duration_s": 10, "total_energy_j": 100.0,
}  # fmt: skip


def _shots(tmp_path) -> Path:
    return Path(os.environ.get("LASERDOSE_SCREENSHOTS", tmp_path))


def _rows(url, statement):
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        rows = list(session.scalars(statement))
    engine.dispose()
    return rows


def test_an_operators_day_from_today_to_a_treatment(browser, console_server, tmp_path):  # noqa: F811
    base_url, database = console_server
    shots = _shots(tmp_path)
    course_id = signed_course(database, SHORT_PLAN)
    context = browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations = watch_csp(page)
    page.goto("/login")
    page.fill("#username", "operator")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/today")  # the operator's home page
    row = page.locator("#day-list tr", has_text="1 of 6").first
    expect(row).to_contain_text("Console Patient")
    expect(row).to_contain_text("planned")
    page.screenshot(path=str(shots / "today-1-planned.png"), full_page=True)
    page.click("#next-day")
    expect(page.locator("h1")).not_to_contain_text("Today")
    page.click("#previous-day")
    row.locator("text=Open console").click()
    page.wait_for_url(f"**/courses/{course_id}/console")
    page.click("#connect")
    expect(page.locator("#phase")).to_have_text("connected")
    expect(page.locator("#start")).to_be_disabled()  # no checklist yet
    expect(page.locator("#checklist-eyewear")).to_contain_text("D LB4")
    page.screenshot(path=str(shots / "console-1-checklist.png"), full_page=True)
    for box in page.locator("#checklist-form input[type=checkbox]").all()[:-1]:
        box.check()  # all but "aiming beam seen"
    page.click("#checklist-submit")
    expect(page.locator("#checklist-error")).to_contain_text("not confirmed: aiming beam seen on the skin")
    expect(page.locator("#check-identity")).to_be_checked()  # the ticks are kept
    expect(page.locator("#start")).to_be_disabled()
    page.check("#check-aiming_beam")
    page.click("#checklist-submit")
    expect(page.locator("#checklist-done")).to_contain_text("ARM allowed")
    expect(page.locator("#start")).to_be_enabled()
    page.screenshot(path=str(shots / "console-2-checklist-done.png"), full_page=True)
    page.click("#start")
    expect(page.locator("#state")).to_have_text("emitting")
    expect(page.locator("#phase")).to_have_text("ended", timeout=20_000)
    expect(page.locator("#result")).to_contain_text("completed")
    page.reload()
    expect(page.locator("#records")).to_contain_text("completed")
    page.click("#disconnect")
    page.locator("#records a.note-link").first.click()  # the visit note of this session
    expect(page.locator("#session_id option:checked")).to_contain_text("Session")
    page.fill("#pain_before", "6")
    page.fill("#pain_after", "4")
    page.fill("#subjective", "Less stiff in the mornings")
    page.click("text=Save note")
    expect(page.locator(".visit-note").first).to_contain_text("Pain 6 before, 4 after (0-10).")
    page.click("#nav-today")
    expect(page.locator("#day-list tr", has_text="1 of 6").first).to_contain_text("done")
    page.screenshot(path=str(shots / "today-2-done.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=str(shots / "today-3-phone.png"), full_page=True)
    box = page.locator("#day-list").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390  # the list fits (the course column gives way)
    [record] = _rows(database, select(TreatmentSession).where(TreatmentSession.course_id == course_id))
    assert record.completed and record.checklist_id is not None and record.appointment_id is not None
    [note] = _rows(database, select(VisitNote).where(VisitNote.course_id == course_id))
    assert (note.session_id, note.pain_before, note.pain_after) == (record.id, 6, 4)
    context.close()
    assert violations == []


def test_a_clinicians_consent_then_signing(page, live_server, tmp_path):
    shots = _shots(tmp_path)
    log_in(page, "clinician")
    _add_patient(page, "Carla Consent")
    _screen(page, None)
    page.click("text=Open the plan editor")
    expect(page.locator("svg.depth-dose")).to_have_count(1)
    page.check("#accept_outside_window")
    page.fill("#outside_window_reason", "Highest surface dose allowed at this depth, by the protocol")
    expect(page.locator("#consent_name")).to_have_value("Carla Consent")
    page.click("#create-sign")  # no consent ticked: refused, everything typed kept
    expect(page.locator("#consent_given-error")).to_contain_text("tick the box once the patient has signed")
    expect(page.locator("#outside_window_reason")).to_have_value(
        "Highest surface dose allowed at this depth, by the protocol"
    )
    with page.context.expect_page() as opened:
        page.click("#print-consent")
    form = opened.value
    form.wait_for_load_state()
    expect(form.locator("#form-patient")).to_have_text("Carla Consent")
    expect(form.locator("#risks")).to_contain_text("Eye injury")
    expect(form.locator("#what-for")).to_contain_text("12 sessions, 3 a week")
    form.screenshot(path=str(shots / "consent-form.png"), full_page=True)
    pdf = shots / "consent-form.pdf"
    form.pdf(path=str(pdf), format="A4")
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+1\n", pages)  # one sheet to hand over, the signatures with the text
    form.close()
    page.check("#consent_given")
    page.click("#create-sign")
    page.wait_for_url(re.compile(r".*/patients/\d+(#course-\d+)?$"))
    expect(page.locator(".course")).to_contain_text("Plan signed")
    page.locator(".course a", has_text="Consent").click()
    expect(page.locator("#consent-recorded")).to_contain_text("signed by Carla Consent")
    expect(page.locator("#consent-recorded")).to_contain_text("taken by clinician")
    page.screenshot(path=str(shots / "consent-recorded.png"), full_page=True)
    course_id = int(re.search(r"/courses/(\d+)/consent", page.url).group(1))
    token = httpx.post(f"{live_server}/api/v1/token", data={"username": "clinician", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    consent = httpx.get(f"{live_server}/api/v1/courses/{course_id}/consent", headers=headers).json()
    assert (consent["patient_name"], consent["signed_on"]) == ("Carla Consent", dt.date.today().isoformat())
    planned = httpx.get(f"{live_server}/api/v1/courses/{course_id}/appointments", headers=headers).json()
    assert [a["number"] for a in planned] == list(range(1, 13)) and {a["state"] for a in planned} == {
        "planned"
    }
    page.goto(f"/today?day={planned[0]['planned_at'][:10]}")
    expect(page.locator("#day-list")).to_contain_text("Carla Consent")
    expect(page.locator("#day-list")).to_contain_text("1 of 12")
    page.screenshot(path=str(shots / "today-4-clinician.png"), full_page=True)
