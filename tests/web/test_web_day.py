"""The clinic's day through the app: Today, moves, consent pages and API, and ARM refused without the
session's checklist on the web console and the JSON API (fault injection on the simulator over TCP)."""

import datetime as dt

import pytest
from sqlalchemy import select

from consolekit import (
    PLAN,
    bearer,
    console_client,
    csrf_of,
    emission_log,
    login,
    machine_commands,
    post_console,
    sessions_of,
    signed_course,
    simulator,
    wait_for,
)
from daykit import checklist_form
from laserdose.clinic import db
from laserdose.clinic.models import Appointment, AuditEntry, Consent, utcnow
from laserdose.device.protocol import Msg
from laserdose.safety.checklist import KEYS

SHORT_PLAN = {**PLAN, "duration_s": 5, "total_energy_j": 50.0}  # 1 s of wall clock at the test scale


def _rows(url, statement):
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        rows = list(session.scalars(statement))
    engine.dispose()
    return rows


@pytest.fixture
def sim(monkeypatch):
    received = machine_commands(monkeypatch, Msg.ARM)
    with simulator() as server:
        yield server, received


def _emissions(server):
    return [line for line in emission_log(server) if line["type"] == "emission"]


# -- Today ---------------------------------------------------------------------------------------------


def test_operators_start_at_today_which_lists_each_session_with_its_console(client, webapp):
    course_id = signed_course(webapp.url, SHORT_PLAN)  # six sessions, all planned today
    assert login(client, "operator").headers["location"] == "/today"
    page = client.get("/today").text
    assert "Console Patient" in page and "1 of 6" in page and "6 of 6" in page
    assert page.count('data-state="planned"') == 6
    assert f'href="/courses/{course_id}/console"' in page and "Open console" in page
    tomorrow = utcnow().date() + dt.timedelta(days=1)
    assert f'href="/today?day={tomorrow}"' in page
    assert "No sessions planned for this day" in client.get(f"/today?day={tomorrow}").text
    assert client.get("/today?day=2026-02-30").status_code == 422  # not a date
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert login(client, "clinician").headers["location"] == "/patients"
    watched = client.get("/today").text  # clinicians see the day too, and watch rather than run
    assert "Watch console" in watched and "1 of 6" in watched


def test_a_session_moved_from_today_is_audited_and_the_form_keeps_what_was_typed(client, webapp):
    course_id = signed_course(webapp.url, SHORT_PLAN)
    [first] = _rows(webapp.url, select(Appointment).where(Appointment.course_id == course_id,
                                                          Appointment.number == 1))  # fmt: skip
    login(client, "operator")
    form = client.get(f"/appointments/{first.id}/move").text
    tomorrow = (utcnow() + dt.timedelta(days=1)).date().isoformat()
    refused = client.post(f"/appointments/{first.id}/move", data={
        "csrf_token": csrf_of(form), "date": tomorrow, "time": "25:00", "reason": "patient ill"})  # fmt: skip
    assert refused.status_code == 422 and "give the time as HH:MM" in refused.text
    assert 'value="patient ill"' in refused.text and f'value="{tomorrow}"' in refused.text
    moved = client.post(f"/appointments/{first.id}/move", data={
        "csrf_token": csrf_of(form), "date": tomorrow, "time": "10:30", "reason": "patient ill"},
        follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303
    day = client.get(f"/today?day={tomorrow}").text
    assert "1 of 6" in day and "10:30" in day and "moved: patient ill" in day
    [entry] = _rows(webapp.url, select(AuditEntry).where(AuditEntry.action == "appointment.move"))
    assert entry.details["moved_to"].startswith(f"{tomorrow}T10:30") and entry.actor == "operator"


# -- ARM refused without the session's checklist: web console -----------------------------------------------


def test_the_web_console_refuses_arm_until_the_sessions_checklist_is_complete(webapp, sim):
    server, armed = sim
    client = console_client(webapp, server)
    course_id = signed_course(webapp.url, SHORT_PLAN)
    assert post_console(client, course_id, "connect").status_code == 303
    page = client.get(f"/courses/{course_id}/console").text
    assert 'id="start" disabled' in page and "Safety checklist before emission" in page
    assert "EN 207 marking" in page and "D LB4" in page  # 15 W per source, the smallest beam
    refused = post_console(client, course_id, "start", checklist=False)  # the button forced
    assert refused.status_code == 409 and "complete the safety checklist of session 1" in refused.text
    # An incomplete checklist: the missing item is named, the ticks are kept, nothing is stored.
    form = checklist_form(csrf_of(page))
    del form["aiming_beam"]
    incomplete = client.post(f"/courses/{course_id}/console/checklist", data=form)
    assert incomplete.status_code == 422 and "not confirmed: aiming beam seen" in incomplete.text
    assert incomplete.text.count("checked") == len(KEYS) - 1
    assert post_console(client, course_id, "start", checklist=False).status_code == 409
    assert armed == [] and _emissions(server) == [] and sessions_of(webapp.url, course_id) == []
    # Complete: one start; the record names the checklist.
    assert post_console(client, course_id, "start").status_code == 303
    wait_for(lambda: client.app.state.console.get(course_id).phase == "ended", 30, "the session to end")
    [record] = sessions_of(webapp.url, course_id)
    assert record.completed and record.checklist_id is not None and armed == ["ARM"]
    post_console(client, course_id, "disconnect")


def test_a_checklist_for_another_course_does_not_arm_this_one(webapp, sim):
    server, armed = sim
    client = console_client(webapp, server)
    course_id, other = signed_course(webapp.url, SHORT_PLAN), signed_course(webapp.url, SHORT_PLAN)
    page = client.get(f"/courses/{other}/console").text
    done = client.post(f"/courses/{other}/console/checklist", data=checklist_form(csrf_of(page)))
    assert done.status_code == 200 and "Checklist complete at" in done.text  # after the redirect
    assert post_console(client, course_id, "connect").status_code == 303
    refused = post_console(client, course_id, "start", checklist=False)
    assert refused.status_code == 409 and "refused, nothing was emitted" in refused.text
    assert armed == [] and _emissions(server) == [] and sessions_of(webapp.url, course_id) == []
    post_console(client, course_id, "disconnect")


# -- ... and the JSON API --------------------------------------------------------------------------------


def test_the_api_refuses_arm_without_the_checklist_and_keeps_it_with_the_session(webapp, sim):
    server, armed = sim
    client = console_client(webapp, server)
    headers = bearer(client, "operator")
    course_id = signed_course(webapp.url, SHORT_PLAN)
    connected = client.post(f"/api/v1/courses/{course_id}/console/connect", headers=headers)
    assert connected.status_code == 200 and connected.json()["phase"] == "connected"
    refused = client.post(f"/api/v1/courses/{course_id}/console/start", headers=headers)
    assert refused.status_code == 409
    assert "refused, nothing was emitted: complete the safety checklist" in refused.json()["detail"]
    today = client.get("/api/v1/today", headers=headers).json()
    first = next(a for a in today if a["course_id"] == course_id and a["number"] == 1)
    assert (first["state"], first["sessions_planned"], first["patient_name"]) == (
        "planned",
        6,
        "Console Patient",
    )
    url = f"/api/v1/appointments/{first['id']}/checklist"
    items = dict.fromkeys(KEYS, True)
    for bad, words in (
        (items | {"eyewear": False}, "not confirmed: everyone in the room"),
        (items | {"goggles": True}, "unknown checklist item 'goggles'"),
    ):
        answer = client.post(url, json={"items": bad}, headers=headers)
        assert answer.status_code == 422 and words in answer.json()["detail"]
    assert client.post(url, json={"items": items | {"identity": 1}}, headers=headers).status_code == 422
    assert client.post(url, json={"items": items}, headers=bearer(client, "clinician")).status_code == 403
    assert armed == [] and _emissions(server) == []
    checklist = client.post(url, json={"items": items}, headers=headers)
    assert checklist.status_code == 201 and checklist.json()["used_by_session_id"] is None
    started = client.post(f"/api/v1/courses/{course_id}/console/start", headers=headers)
    assert started.status_code == 202 and started.json()["phase"] == "running"
    wait_for(lambda: client.app.state.console.get(course_id).phase == "ended", 30, "the session to end")
    [record] = sessions_of(webapp.url, course_id)
    kept = client.get(f"/api/v1/sessions/{record.id}/checklist", headers=headers).json()
    assert kept["completed_by"] == "operator" and kept["used_by_session_id"] == record.id
    assert kept["items"] == items and {round(e["wavelength_nm"]) for e in kept["eyewear"]} == {810, 980}
    # The checklist served that start: a second start of the same session is refused again.
    again = client.post(f"/api/v1/courses/{course_id}/console/start", headers=headers)
    assert again.status_code == 409 and armed == ["ARM"]


# -- consent -------------------------------------------------------------------------------------------------


def test_consent_over_the_api_and_its_printable_form(client, webapp):
    course_id = signed_course(webapp.url, SHORT_PLAN)
    clinician = bearer(client, "clinician")
    assert client.get(f"/api/v1/courses/{course_id}/consent", headers=clinician).status_code == 404
    body = {"patient_name": "Console Patient", "signed_on": utcnow().date().isoformat()}
    assert client.post(f"/api/v1/courses/{course_id}/consent", json=body,
                       headers=bearer(client, "operator")).status_code == 403  # fmt: skip
    future = body | {"signed_on": (utcnow().date() + dt.timedelta(days=2)).isoformat()}
    answer = client.post(f"/api/v1/courses/{course_id}/consent", json=future, headers=clinician)
    assert answer.status_code == 422 and "today or earlier" in answer.json()["detail"]
    assert (
        client.post(f"/api/v1/courses/{course_id}/consent", json=body, headers=clinician).status_code == 201
    )
    again = client.post(f"/api/v1/courses/{course_id}/consent", json=body, headers=clinician)
    assert again.status_code == 422 and "recorded already" in again.json()["detail"]
    [kept] = _rows(webapp.url, select(Consent))
    assert (kept.patient_name, kept.course_id) == ("Console Patient", course_id)
    login(client, "operator")
    page = client.get(f"/courses/{course_id}/consent").text
    assert (
        "Consent recorded: signed by <strong>Console Patient</strong>" in page
        and "taken by clinician" in page
    )
    form = client.get(f"/courses/{course_id}/consent/form").text
    for words in ("Skin burns", "Eye injury", "The alternatives", "What the research says",
                  "6 sessions, 2 a week", "Patient's signature", "Console Patient"):  # fmt: skip
        assert words in form


def test_the_chart_records_consent_with_field_errors_kept(client, webapp):
    course_id = signed_course(webapp.url, SHORT_PLAN)
    login(client, "clinician")
    page = client.get(f"/courses/{course_id}/consent").text
    assert 'value="Console Patient"' in page  # the name as on the chart, to correct if signed otherwise
    refused = client.post(f"/courses/{course_id}/consent", data={
        "csrf_token": csrf_of(page), "consent_name": "C. Patient", "consent_date": "2026-13-01"})  # fmt: skip
    assert refused.status_code == 422 and "tick the box once the patient has signed" in refused.text
    assert 'value="C. Patient"' in refused.text
    today = utcnow().date().isoformat()
    done = client.post(f"/courses/{course_id}/consent", data={
        "csrf_token": csrf_of(page), "consent_name": "C. Patient", "consent_date": today,
        "consent_given": "yes"}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert "signed by <strong>C. Patient</strong>" in client.get(f"/courses/{course_id}/consent").text
