"""How a treatment ends, as the console shows it without a reload: STOP, a fault, completion, reconnection.

Each journey asserts what the page shows against the machine (the simulator) and the stored record: the
live power (0 W once the machine no longer emits), the controller's and the machine's state, the session
row's status and energy, and exactly the buttons the console's phase allows.
"""

import console_pages
import pytest
from console_pages import arm, delivered, page_as
from playwright.sync_api import expect

from conftest import complete_checklist
from consolekit import PLAN, PLANNED_J, sessions_of, signed_course
from laserdose.device.client import DeviceClient
from laserdose.device.link import open_link
from laserdose.device.protocol import Msg

# The console's fixtures, for the tests below (each test module gets its own simulator and server).
sim, console_server = console_pages.sim, console_pages.console_server
no_csp_violations = console_pages.no_csp_violations

SHORT_PLAN = {**PLAN, "duration_s": 10, "total_energy_j": 100.0}  # 6 W + 4 W for 10 s: 2 s of wall clock
SHORT_PLANNED_J = {"810": 60.0, "980": 40.0}  # power x duration per wavelength
ENERGY_TOLERANCE = 0.01  # the controller ends at the planned energy within a control period's emission


def _latest_row(page):
    return page.locator("#records tr[data-session]").first


def _expect_no_emission_shown(page) -> None:
    for key in PLANNED_J:
        expect(page.locator(f'[data-power="{key}"]')).to_have_text("0.00")


def _expect_row_is_the_record(page, record) -> None:
    """The latest row shows the stored record: its status, every wavelength's energy and the last reason."""
    row = _latest_row(page)
    expect(row.locator('[data-cell="status"]')).to_have_text(
        "completed" if record.completed else "interrupted"
    )
    for key, joules in record.energy_j_by_wavelength.items():
        expect(row.locator('[data-cell="energy"]')).to_contain_text(f"{key} nm {joules:.1f}")
    if record.interruptions:
        expect(row.locator('[data-cell="interruptions"]')).to_contain_text(record.interruptions[-1]["reason"])


def _expect_buttons(page, *, connect: int, start: int, disconnect: int) -> None:
    for button, count in (("#connect", connect), ("#start", start), ("#disconnect", disconnect)):
        expect(page.locator(button)).to_have_count(count)


def _start_and_wait_for_light(page, joules: float = 20.0) -> None:
    arm(page)
    expect(page.locator("#state")).to_have_text("emitting")
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-energy=\"810\"]').textContent) > {joules}"
    )
    expect(_latest_row(page).locator('[data-cell="status"]')).to_have_text("running")
    _expect_buttons(page, connect=0, start=0, disconnect=0)  # while it runs: STOP only
    expect(page.locator("#running-note")).to_have_text("A session is running: STOP ends it.")


def _reset_machine(address: str) -> None:
    """The manual reset after a trip, over a fresh host link (the console has released the machine)."""
    link = open_link(address, timeout_s=2.0)
    try:
        DeviceClient(link).request(Msg.RESET, {"operator": "test"})
    finally:
        link.close()


def test_after_stop_the_console_shows_standby_the_interrupted_record_and_what_may_follow(
    browser, console_server, sim
):
    base_url, database = console_server
    course_id = signed_course(database)
    page = page_as(browser, base_url, "operator")
    page.goto(f"/courses/{course_id}/console")
    page.click("#connect")
    _start_and_wait_for_light(page)
    page.wait_for_function(  # live while it emits (6 W and 4 W set)
        "() => [...document.querySelectorAll('[data-power]')].every((el) => Number(el.textContent) > 1)"
    )
    page.click("#stop")
    expect(page.locator("#phase")).to_have_text("ended")
    expect(page.locator("#state")).to_have_text("done")
    expect(page.locator("#machine-state")).to_have_text("standby")
    _expect_no_emission_shown(page)
    with sim.lock:
        assert not sim.machine.emitting and sim.machine.state == "standby"
    [record] = sessions_of(database, course_id)
    assert record.status == "ended" and not record.completed
    assert record.interruptions[-1]["reason"] == "stopped by operator"
    _expect_row_is_the_record(page, record)
    assert sum(record.energy_j_by_wavelength.values()) == pytest.approx(delivered(page), abs=0.2)
    _expect_buttons(page, connect=0, start=1, disconnect=1)  # never Connect beside Disconnect
    expect(page.locator("#start")).to_be_disabled()  # until the next start's safety checklist
    complete_checklist(page)
    expect(page.locator("#start")).to_be_enabled()
    expect(page.locator("#start")).to_have_text("Arm and start another session")
    page.click("#disconnect")
    _expect_buttons(page, connect=1, start=0, disconnect=0)
    page.context.close()


def test_after_a_fault_the_console_shows_the_tripped_machine_and_refuses_to_arm(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database)
    page = page_as(browser, base_url, "operator")
    page.goto(f"/courses/{course_id}/console")
    page.click("#connect")
    _start_and_wait_for_light(page, 10.0)
    try:
        with sim.lock:
            sim.machine.console("interlock-open")  # the treatment-room door opens: the machine trips
        expect(page.locator("#phase")).to_have_text("ended")
        expect(page.locator("#state")).to_have_text("fault")
        expect(page.locator("#machine-state")).to_have_text("tripped")
        expect(page.locator("#interlock")).to_have_text("OPEN")
        _expect_no_emission_shown(page)
        expect(page.locator("#result")).to_contain_text("Session ended: interrupted")
        [record] = sessions_of(database, course_id)
        assert record.status == "ended" and not record.completed
        assert all(0.0 < record.energy_j_by_wavelength[key] < planned for key, planned in PLANNED_J.items())
        _expect_row_is_the_record(page, record)
        _expect_buttons(page, connect=0, start=1, disconnect=1)
        expect(page.locator("#start")).to_be_disabled()
        expect(page.locator("#start-blocked")).to_contain_text("the remote interlock is open")
        expect(page.locator("#start-blocked")).to_contain_text("the machine is tripped")
        with sim.lock:
            sim.machine.console("interlock-close")  # the door shut again: still tripped until reset
        expect(page.locator("#interlock")).to_have_text("closed")
        expect(page.locator("#start-blocked")).not_to_contain_text("interlock")
        expect(page.locator("#start-blocked")).to_contain_text("the machine is tripped")
        expect(page.locator("#start")).to_be_disabled()
        page.click("#disconnect")
        _expect_buttons(page, connect=1, start=0, disconnect=0)
    finally:
        with sim.lock:
            sim.machine.console("interlock-close")
        _reset_machine(sim.address)
        page.context.close()


def test_after_completion_the_console_shows_the_completed_record_and_may_treat_again(
    browser, console_server, sim
):
    base_url, database = console_server
    course_id = signed_course(database, SHORT_PLAN)
    page = page_as(browser, base_url, "operator")
    page.goto(f"/courses/{course_id}/console")
    page.click("#connect")
    arm(page)
    expect(page.locator("#phase")).to_have_text("ended", timeout=20_000)
    expect(page.locator("#state")).to_have_text("done")
    expect(page.locator("#result")).to_contain_text("Session ended: completed")
    expect(page.locator("#machine-state")).to_have_text("standby")
    _expect_no_emission_shown(page)
    [record] = sessions_of(database, course_id)
    assert record.completed and record.status == "ended"
    for key, planned in SHORT_PLANNED_J.items():
        assert record.energy_j_by_wavelength[key] == pytest.approx(planned, rel=ENERGY_TOLERANCE)
    _expect_row_is_the_record(page, record)
    _expect_buttons(page, connect=0, start=1, disconnect=1)
    complete_checklist(page)  # another session on the same connection (session 2, its own checklist)
    page.check("#confirm_same_day")  # a second dose today needs the confirmation and its reason
    page.fill("#same_day_reason", "second dose on purpose, same connection")
    page.click("#start")
    expect(page.locator("#records tr[data-session]")).to_have_count(2, timeout=20_000)
    expect(page.locator("#phase")).to_have_text("ended", timeout=20_000)
    records = sessions_of(database, course_id)
    assert [r.completed for r in records] == [True, True]
    _expect_row_is_the_record(page, records[-1])
    _expect_no_emission_shown(page)
    page.click("#disconnect")
    page.context.close()


def test_a_watching_page_follows_disconnection_and_reconnection(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database)
    watching = page_as(browser, base_url, "operator")  # left open, never reloaded
    watching.goto(f"/courses/{course_id}/console")
    _expect_buttons(watching, connect=1, start=0, disconnect=0)
    expect(watching.locator("#phase")).to_have_text("not connected")
    expect(watching.locator('[data-power="810"]')).to_have_text("-")
    other = page_as(browser, base_url, "operator")  # the same operator in another tab
    other.goto(f"/courses/{course_id}/console")
    other.click("#connect")
    expect(watching.locator("#phase")).to_have_text("connected")
    expect(watching.locator("#machine-state")).to_have_text("standby")
    _expect_no_emission_shown(watching)
    _expect_buttons(watching, connect=0, start=1, disconnect=1)
    arm(other)
    expect(watching.locator("#state")).to_have_text("emitting")
    expect(_latest_row(watching).locator('[data-cell="status"]')).to_have_text("running")
    _expect_buttons(watching, connect=0, start=0, disconnect=0)
    watching.click("#stop")
    expect(watching.locator("#phase")).to_have_text("ended")
    _expect_row_is_the_record(watching, sessions_of(database, course_id)[-1])
    other.click("#disconnect")  # released in the other tab
    expect(watching.locator("#phase")).to_have_text("not connected")
    expect(watching.locator("#machine-state")).to_have_text("-")
    expect(watching.locator('[data-power="810"]')).to_have_text("-")
    _expect_buttons(watching, connect=1, start=0, disconnect=0)
    complete_checklist(other)  # the next start's checklist, before the watching page refreshes its buttons
    other.click("#connect")  # and connected again
    expect(watching.locator("#phase")).to_have_text("connected")
    expect(watching.locator("#machine-state")).to_have_text("standby")
    _expect_no_emission_shown(watching)
    _expect_buttons(watching, connect=0, start=1, disconnect=1)
    watching.check("#confirm_same_day")  # light was given today: a second dose is confirmed
    watching.fill("#same_day_reason", "dose given again after the stop")
    watching.click("#start")  # its buttons are live: it starts the next session itself
    expect(watching.locator("#state")).to_have_text("emitting")
    watching.click("#stop")
    expect(watching.locator("#phase")).to_have_text("ended")
    records = sessions_of(database, course_id)
    assert [(r.status, r.completed) for r in records] == [("ended", False), ("ended", False)]
    _expect_row_is_the_record(watching, records[-1])
    expect(watching.locator("#records tr[data-session]")).to_have_count(2)
    watching.click("#disconnect")
    for page in (watching, other):
        page.context.close()
