"""The console completes an interrupted session with the rest of its plan, on the simulator over TCP.

SHORT_PLAN: 6 W + 4 W for 10 s (60 J + 40 J), two wall-clock seconds at the test scale.
"""

import pytest

from consolekit import (
    PLAN,
    emitted_j,
    login,
    post_console,
    sessions_of,
    signed_course,
    simulator,
    wait_for,
)
from laserdose.clinic import db
from laserdose.clinic.dose_accounting import count_doses
from laserdose.clinic.models import Course
from laserdose.device.ledger import ENERGY_TOLERANCE
from laserdose.web.settings import WebSettings

SHORT_PLAN = {**PLAN, "duration_s": 10, "total_energy_j": 100.0}
PLANNED_J = {"810": 60.0, "980": 40.0}


@pytest.fixture
def console(webapp):
    with simulator() as sim:
        settings = WebSettings(**{**webapp.settings.model_dump(), "device_url": sim.address,
                                  "device_simulator": True, "console_grace_s": 30.0,
                                  "console_period_s": 0.05})  # fmt: skip
        client = type(webapp)(webapp.url, settings).client()
        assert login(client, "operator").status_code == 303
        yield client, sim, signed_course(webapp.url, SHORT_PLAN)


def _post(client, course_id, action, **fields):
    return post_console(client, course_id, action, **fields)  # a start completes its checklist first


def _run(client, course_id):
    return client.app.state.console.get(course_id)


def _interrupt_after(client, sim, course_id, joules, **start):
    assert _post(client, course_id, "connect").status_code == 303
    assert _post(client, course_id, "start", **start).status_code == 303
    run = _run(client, course_id)
    wait_for(lambda: sum(emitted_j(sim).values()) > joules, 15, f"{joules} J emitted")
    assert _post(client, course_id, "stop").status_code == 200
    wait_for(lambda: run.phase == "ended", 15, "the session to end")
    assert not sim.machine.emitting


def _count(url, course_id):
    with db.session_factory(db.make_engine(url))() as session:
        return count_doses(session.get(Course, course_id))


def test_an_interrupted_session_is_completed_with_the_remaining_energy(console, webapp):
    client, sim, course_id = console
    _interrupt_after(client, sim, course_id, 30.0)
    [first] = sessions_of(webapp.url, course_id)
    assert not first.completed and first.energy_j_by_wavelength["810"] < 60.0
    assert _count(webapp.url, course_id).interrupted == 1
    assert _post(client, course_id, "connect").status_code == 303
    page = client.get(f"/courses/{course_id}/console").text
    assert f"Arm and complete session {first.id}" in page
    assert _post(client, course_id, "start", complete_session_id=str(first.id)).status_code == 303
    run = _run(client, course_id)
    wait_for(lambda: run.phase == "ended", 15, "the completion to end")
    first, second = sessions_of(webapp.url, course_id)
    assert second.completes_session_id == first.id and second.completed, second.interruptions
    machine = emitted_j(sim)  # the machine's counters of this session (reset by its SET_PARAMS)
    for key, planned in PLANNED_J.items():
        remaining = planned - first.energy_j_by_wavelength[key]
        assert machine[key] <= remaining * (1 + ENERGY_TOLERANCE)  # never more than what was left
        together = first.energy_j_by_wavelength[key] + second.energy_j_by_wavelength[key]
        assert abs(together - planned) <= ENERGY_TOLERANCE * planned
    count = _count(webapp.url, course_id)
    assert (count.delivered, count.interrupted) == (1, 0)
    assert "1 of 6 delivered" in client.get(f"/courses/{course_id}/console").text
    # Another session on the same link delivers the whole signed plan again, not the last remainder.
    again = _post(client, course_id, "start", confirm_same_day="1", same_day_reason="second dose, prescribed")
    assert again.status_code == 303
    assert run.plan.total_energy_j == pytest.approx(100.0)
    assert run.snapshot()["planned_j"] == PLANNED_J
    _post(client, course_id, "stop")
    wait_for(lambda: run.phase == "ended", 15, "the second session to end")


def test_stop_during_a_completion_still_stops_and_the_dose_stays_interrupted(console, webapp):
    client, sim, course_id = console
    _interrupt_after(client, sim, course_id, 20.0)
    [first] = sessions_of(webapp.url, course_id)
    _interrupt_after(client, sim, course_id, 15.0, complete_session_id=str(first.id))
    assert not sim.machine.emitting and sim.machine.state in ("standby", "tripped")
    first, second = sessions_of(webapp.url, course_id)
    assert second.completes_session_id == first.id and not second.completed
    count = _count(webapp.url, course_id)
    assert count.interrupted == 1 and count.delivered == 0
    together = sum(first.energy_j_by_wavelength.values()) + sum(second.energy_j_by_wavelength.values())
    assert count.interrupted_j == (pytest.approx(together),)


def test_a_second_dose_today_needs_the_confirmation_on_the_console(console, webapp):
    client, sim, course_id = console
    _interrupt_after(client, sim, course_id, 20.0)
    assert _post(client, course_id, "connect").status_code == 303
    assert 'id="confirm_same_day"' in client.get(f"/courses/{course_id}/console").text
    refused = _post(client, course_id, "start")
    assert refused.status_code == 409 and "already had a dose on" in refused.text
    assert not sim.machine.emitting and len(sessions_of(webapp.url, course_id)) == 1
    started = _post(client, course_id, "start", confirm_same_day="1",
                    same_day_reason="patient asked to finish the dose later today")  # fmt: skip
    assert started.status_code == 303
    run = _run(client, course_id)
    wait_for(lambda: run.phase == "ended", 15, "the second dose to end")
    second = sessions_of(webapp.url, course_id)[-1]
    assert second.same_day_reason == "patient asked to finish the dose later today"
    assert second.same_day_confirmed_by_id is not None and second.completes_session_id is None
