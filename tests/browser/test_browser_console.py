"""Browser journeys of the treatment console in Debian's chromium, against the simulator over TCP."""

import console_pages
import pytest
from console_pages import arm, delivered, page_as
from playwright.sync_api import expect

from conftest import complete_checklist
from consolekit import PLANNED_J, emission_log, emitted_j, sessions_of, signed_course

# The console's fixtures, for the tests below (each test module gets its own simulator and server).
sim, console_server = console_pages.sim, console_pages.console_server
no_csp_violations = console_pages.no_csp_violations


def test_operator_runs_a_signed_plan_and_stops_it_midway(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database)
    page = page_as(browser, base_url, "operator")
    page.click("text=Console Patient")
    page.click("text=Treatment console")
    token = page.locator("#stop-form input[name=csrf_token]").get_attribute("value")
    # An operator cannot change a plan: signing, the plan change this app offers, is refused.
    assert page.request.post(f"/courses/{course_id}/sign", form={"csrf_token": token}).status == 403
    expect(page.locator("#maker")).to_contain_text("laserdose demo devices")
    expect(page.locator("#maker img")).to_have_attribute("src", "/devices/15w-dual/logo")
    page.click("#connect")
    expect(page.locator("#phase")).to_have_text("connected")
    expect(page.locator("#interlock")).to_have_text("closed")
    arm(page)
    expect(page.locator("#state")).to_have_text("emitting")  # live, through server-sent events
    page.wait_for_function("() => Number(document.querySelector('[data-energy=\"810\"]').textContent) > 20")
    expect(page.locator("#footswitch")).to_have_text("pressed")
    page.click("#stop")
    expect(page.locator("#stop-result")).to_have_text("STOP sent")
    expect(page.locator("#state")).to_have_text("done")
    expect(page.locator("#reason")).to_have_text("stopped by operator")
    expect(page.locator("#machine-state")).to_have_text("standby")  # the machine reports no emission
    expect(page.locator("#result")).to_contain_text("interrupted (stopped by operator)")
    expect(page.locator("#phase")).to_have_text("ended")  # the record is closed in the database
    shown = delivered(page)
    with sim.lock:
        assert not sim.machine.emitting and sim.machine.state == "standby"
    page.reload()
    expect(page.locator("#records")).to_contain_text("interrupted")
    expect(page.locator("#records")).to_contain_text("stopped by operator")
    [record] = sessions_of(database, course_id)
    assert not record.completed and record.interruptions[-1]["reason"] == "stopped by operator"
    for key, planned in PLANNED_J.items():
        assert 0.0 < record.energy_j_by_wavelength[key] < planned
    assert sum(record.energy_j_by_wavelength.values()) == pytest.approx(shown, abs=0.2)  # 1 decimal shown
    page.click("#disconnect")
    page.context.close()


def test_a_clinician_watches_live_and_may_press_stop(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database)
    operator = page_as(browser, base_url, "operator")
    operator.goto(f"/courses/{course_id}/console")
    operator.click("#connect")
    arm(operator)
    expect(operator.locator("#state")).to_have_text("emitting")
    clinician = page_as(browser, base_url, "clinician")
    clinician.goto(f"/courses/{course_id}/console")
    expect(clinician.locator("#connect")).to_have_count(0)  # watching only: no connect, no start
    expect(clinician.locator("#start")).to_have_count(0)
    expect(clinician.locator(".note")).to_contain_text("only an operator starts a treatment")
    first = delivered(clinician)
    clinician.wait_for_function(
        f"() => Number(document.querySelector('[data-energy=\"810\"]').textContent) > {first}"
    )
    clinician.click("#stop")
    expect(operator.locator("#state")).to_have_text("done")  # the operator's page sees the stop too
    expect(operator.locator("#phase")).to_have_text("ended")
    assert [r.interruptions[-1]["reason"] for r in sessions_of(database, course_id)] == [
        "stopped by operator"
    ]
    operator.reload()
    operator.click("#disconnect")
    for page in (operator, clinician):
        page.context.close()


def test_start_is_refused_while_the_interlock_is_open(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database)
    emissions_before = len([line for line in emission_log(sim) if line["type"] == "emission"])
    energy_before = emitted_j(sim)
    with sim.lock:
        sim.machine.console("interlock-open")  # someone opened the treatment-room door
    try:
        page = page_as(browser, base_url, "operator")
        page.goto(f"/courses/{course_id}/console")
        page.click("#connect")
        expect(page.locator("#interlock")).to_have_text("OPEN")
        complete_checklist(page)  # the room is ready: only the open interlock holds the start back
        expect(page.locator("#start")).to_be_disabled()  # the button says so before anyone presses it
        expect(page.locator("#start-blocked")).to_contain_text("the remote interlock is open")
        # The server refuses on its own too (a start sent past the disabled button).
        token = page.locator("#stop-form input[name=csrf_token]").get_attribute("value")
        refused = page.request.post(f"/courses/{course_id}/console/start", form={"csrf_token": token})
        assert refused.status == 409 and "refused, nothing was emitted" in refused.text()
        assert "remote interlock is open" in refused.text()
        page.click("#disconnect")
        page.context.close()
    finally:
        with sim.lock:
            sim.machine.console("interlock-close")
    assert len([line for line in emission_log(sim) if line["type"] == "emission"]) == emissions_before
    assert emitted_j(sim) == energy_before and sessions_of(database, course_id) == []
