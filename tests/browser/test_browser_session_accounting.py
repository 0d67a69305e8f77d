"""Browser journeys: complete an interrupted session on the simulator, confirm a second dose the same day,
close a course from the chart. Screenshots go to LASERDOSE_SCREENSHOTS when it names a folder."""

import datetime as dt
import os
from pathlib import Path

import console_pages
from console_pages import page_as
from playwright.sync_api import expect
from sqlalchemy import select

from conftest import complete_checklist
from consolekit import PLAN, sessions_of, signed_course
from laserdose.clinic import db, outcomes
from laserdose.clinic.models import Course, User

# The console's fixtures (each test module gets its own simulator and server).
sim, console_server = console_pages.sim, console_pages.console_server
no_csp_violations = console_pages.no_csp_violations
SHORT = {**PLAN, "duration_s": 20, "total_energy_j": 200.0}  # 6 W + 4 W for 20 s: 120 J + 80 J


def _shot(page, name: str) -> None:
    folder = os.environ.get("LASERDOSE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _assessments(database: str, course_id: int, scores) -> None:  # noqa: ANN001
    """Pain NRS assessments on the course by the clinician (the outcome form is tested elsewhere)."""
    engine = db.make_engine(database)
    with db.session_factory(engine).begin() as session:
        clinician = session.scalars(select(User).where(User.username == "clinician")).one()
        course = session.get(Course, course_id)
        for day, nrs in scores:
            day_on = dt.date.fromisoformat(day)
            outcomes.record_outcome(session=session, actor=clinician, patient_id=course.patient_id,
                                    assessed_on=day_on, nrs=nrs, course_id=course_id)  # fmt: skip
    engine.dispose()


def _interrupt(page, joules: float) -> None:
    page.click("#connect")
    expect(page.locator("#phase")).to_have_text("connected")
    complete_checklist(page)
    page.click("#start")
    expect(page.locator("#state")).to_have_text("emitting")
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-energy=\"810\"]').textContent) > {joules}"
    )
    page.click("#stop")
    expect(page.locator("#phase")).to_have_text("ended")


def test_an_interrupted_session_is_completed_from_the_console(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database, SHORT)
    page = page_as(browser, base_url, "operator")
    page.goto(f"/courses/{course_id}/console")
    _interrupt(page, 20)
    page.reload()
    [first] = sessions_of(database, course_id)
    expect(page.locator("#dose-count")).to_contain_text("0 of 6 delivered, 1 interrupted (")
    expect(page.locator(f'[data-completes="{first.id}"]')).to_contain_text("remaining")
    _shot(page, "console-complete-offered")  # still linked to the machine: no new connect needed
    complete_checklist(page)  # the completion is a session of its own: its own checklist
    page.click(f"#complete-{first.id}")
    expect(page.locator("#completing")).to_contain_text("completes an interrupted session")
    expect(page.locator("#phase")).to_have_text("ended", timeout=20_000)
    expect(page.locator("#result")).to_contain_text("completed")
    page.reload()
    expect(page.locator("#dose-count")).to_contain_text("1 of 6 delivered.")
    expect(page.locator("#records")).to_contain_text(f"completed (completes {first.id})")
    _shot(page, "console-completed")
    first, second = sessions_of(database, course_id)
    assert second.completes_session_id == first.id and second.completed
    for key, planned in {"810": 120.0, "980": 80.0}.items():
        together = first.energy_j_by_wavelength[key] + second.energy_j_by_wavelength[key]
        assert abs(together - planned) <= 0.01 * planned
    page.click("#disconnect")
    page.context.close()


def test_a_second_dose_today_is_refused_until_confirmed(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database, SHORT)
    page = page_as(browser, base_url, "operator")
    page.goto(f"/courses/{course_id}/console")
    _interrupt(page, 10)
    page.goto(page.locator("main p a").first.get_attribute("href"))
    expect(page.locator(f"#course-{course_id} .dose-count")).to_contain_text(
        "0 of 6 delivered, 1 interrupted ("
    )
    _shot(page, "chart-interrupted-count")
    page.goto(f"/courses/{course_id}/console")
    expect(page.locator("#dose-today")).to_contain_text("A dose was already given today (UTC calendar day)")
    complete_checklist(page)
    page.click("#start")
    expect(page.locator("#console-error")).to_contain_text("already had a dose on")
    assert len(sessions_of(database, course_id)) == 1  # refused: nothing opened, nothing emitted
    page.check("#confirm_same_day")
    page.fill("#same_day_reason", "second half of a split dose, prescribed")
    _shot(page, "console-same-day")
    page.click("#start")
    expect(page.locator("#state")).to_have_text("emitting")
    page.click("#stop")
    expect(page.locator("#phase")).to_have_text("ended")
    second = sessions_of(database, course_id)[-1]
    assert second.same_day_reason == "second half of a split dose, prescribed"
    page.reload()
    page.click("#disconnect")
    page.context.close()


def test_a_clinician_closes_and_reopens_a_course_from_the_chart(browser, console_server, sim):
    base_url, database = console_server
    course_id = signed_course(database, SHORT)
    _assessments(database, course_id, (("2026-11-02", 7), ("2026-11-30", 3)))
    page = page_as(browser, base_url, "clinician")
    page.goto(f"/courses/{course_id}/console")
    patient_url = page.locator("main p a").first.get_attribute("href")
    page.goto(patient_url)
    page.click(f"#course-{course_id} summary")
    page.fill(f"#close-note-{course_id}", "pain settled, back at work")
    page.click("button:has-text('Close course')")  # no reason chosen: the chart says so, keeps the note
    expect(page.locator(".error").first).to_contain_text("choose why the course ends")
    expect(page.locator(f"#close-note-{course_id}")).to_have_value("pain settled, back at work")
    page.check(f"#course-{course_id} input[value=completed]")
    _shot(page, "chart-close-form")
    page.click("button:has-text('Close course')")
    closure = page.locator(f"#closure-{course_id}")
    expect(closure).to_contain_text("course completed")
    expect(closure).to_contain_text("Closing note: pain settled, back at work")
    expect(closure).to_contain_text("Pain NRS: first 7 (2026-11-02), last 3 (2026-11-30)")
    expect(page.locator(f'#course-{course_id} a[href="/courses/{course_id}/console"]')).to_have_count(0)
    _shot(page, "chart-closed-course")
    page.fill(f"#reopen-reason-{course_id}", "flare-up a week after discharge")
    page.click("button:has-text('Reopen course')")
    expect(page.locator(f"#close-form-{course_id}")).to_have_count(1)
    page.context.close()
