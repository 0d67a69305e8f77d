"""Over the API: doses counted apart, completing an interrupted session, a second dose on one day, and a
closed course that refuses sessions and outcomes. Energies: 6 W + 4 W for 30 s = 180 J + 120 J."""

import datetime as dt
import subprocess

import pytest

from conftest import bearer, login
from consolekit import signed_course
from daykit import earlier_today
from laserdose.clinic.models import utcnow

PLAN = {
    "decision": "treat", "device": "15w-dual", "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
    "mode": "cw", "handpiece": "large-standoff", "duration_s": 30, "total_energy_j": 300.0,
}  # fmt: skip


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _record(energy, completed, at, **extra):
    return {"started_at": _iso(at), "duration_s": 10.0, "energy_j_by_wavelength": energy,
            "interruptions": extra.pop("interruptions", []), "completed": completed, **extra}  # fmt: skip


@pytest.fixture
def course_id(webapp):
    return signed_course(webapp.url, PLAN, checked=False)


def test_counts_interrupted_apart_and_a_completion_once(client, course_id):
    operator, clinician = bearer(client, "operator"), bearer(client, "clinician")
    url = f"/api/v1/courses/{course_id}/sessions"
    day = utcnow() - dt.timedelta(days=3)
    full = client.post(url, json=_record({"810": 180.0, "980": 120.0}, True, day), headers=operator)
    assert full.status_code == 201
    cut = client.post(url, headers=operator, json=_record(
        {"810": 40.8, "980": 27.2}, False, day + dt.timedelta(days=1),
        interruptions=[{"at_s": 6.8, "reason": "footswitch released"}]))  # fmt: skip
    count = client.get(f"/api/v1/courses/{course_id}/doses", headers=clinician).json()
    assert (count["delivered"], count["interrupted"], count["interrupted_j"]) == (1, 1, [68.0])
    assert count["sentence"] == "1 of 6 delivered, 1 interrupted (68 J of 300 J)"
    # the rest of the plan: 180 - 40.8 = 139.2 J and 120 - 27.2 = 92.8 J
    rest = client.get(f"/api/v1/courses/{course_id}/sessions/{cut.json()['id']}/completion", headers=operator)
    assert rest.status_code == 200
    assert rest.json()["remaining_j"] == {"810": pytest.approx(139.2), "980": pytest.approx(92.8)}
    too_much = _record({"810": 180.0, "980": 92.8}, True, day + dt.timedelta(days=1, minutes=5),
                       completes_session_id=cut.json()["id"])  # fmt: skip
    refused = client.post(url, json=too_much, headers=operator)
    assert refused.status_code == 409 and "at most 139.2 J at 810 nm" in refused.json()["detail"]
    done = _record({"810": 139.2, "980": 92.8}, True, day + dt.timedelta(days=1, minutes=5),
                   completes_session_id=cut.json()["id"])  # fmt: skip
    stored = client.post(url, json=done, headers=operator)
    assert stored.status_code == 201 and stored.json()["completes_session_id"] == cut.json()["id"]
    count = client.get(f"/api/v1/courses/{course_id}/doses", headers=clinician).json()
    assert count["sentence"] == "2 of 6 delivered"
    assert login(client, "clinician").status_code == 303
    pdf = client.get(f"/courses/{course_id}/report.pdf").content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "2 of 6 delivered;" in " ".join(text.split()) and f"completes session {cut.json()['id']}" in text
    again = client.post(url, json=done, headers=operator)  # a dose is completed once
    assert again.status_code == 409 and "part of a dose that is delivered" in again.json()["detail"]


def test_an_untrustworthy_record_cannot_be_completed(client, course_id):
    operator = bearer(client, "operator")
    url = f"/api/v1/courses/{course_id}/sessions"
    lost = _record({"810": 40.0, "980": 27.0}, False, utcnow() - dt.timedelta(days=1),
                   interruptions=[{"at_s": 6.0, "reason": "link lost: no answer"}])  # fmt: skip
    first = client.post(url, json=lost, headers=operator).json()
    answer = client.get(f"/api/v1/courses/{course_id}/sessions/{first['id']}/completion", headers=operator)
    assert answer.status_code == 409 and "energy is uncertain" in answer.json()["detail"]


def test_a_second_dose_today_needs_a_confirmation(client, course_id):
    operator = bearer(client, "operator")
    url = f"/api/v1/courses/{course_id}/sessions"
    now = utcnow()
    first = _record({"810": 180.0, "980": 120.0}, True, earlier_today(now, dt.timedelta(hours=2)))
    assert client.post(url, json=first, headers=operator).status_code == 201
    second = _record({"810": 180.0, "980": 120.0}, True, now)
    refused = client.post(url, json=second, headers=operator)
    assert refused.status_code == 409
    assert (
        "already had a dose on" in refused.json()["detail"] and "clinic time, UTC" in refused.json()["detail"]
    )
    confirmed = client.post(url, json={**second, "same_day_reason": "split dose: morning and evening"},
                            headers=operator)  # fmt: skip
    assert confirmed.status_code == 201
    assert confirmed.json()["same_day_reason"] == "split dose: morning and evening"
    assert confirmed.json()["same_day_confirmed_at"] is not None


def test_a_closed_course_refuses_sessions_and_outcomes_until_reopened(client, course_id):
    clinician, operator = bearer(client, "clinician"), bearer(client, "operator")
    course = client.get(f"/api/v1/courses/{course_id}", headers=clinician).json()
    patient_outcomes = f"/api/v1/patients/{course['patient_id']}/outcomes"
    for day, nrs in (("2026-01-05", 8), ("2026-02-02", 4)):
        assert client.post(patient_outcomes, json={"assessed_on": day, "nrs": nrs},
                           headers=clinician).status_code == 201  # fmt: skip
    close = f"/api/v1/courses/{course_id}/close"
    assert client.post(close, json={"reason": "completed"}, headers=operator).status_code == 403
    assert client.post(close, json={"reason": "bored"}, headers=clinician).status_code == 422
    closed = client.post(close, json={"reason": "completed", "note": "back at work"}, headers=clinician)
    assert closed.status_code == 200
    closure = closed.json()["closure"]
    assert closure["reason"] == "completed" and closure["note"] == "back at work"
    assert closure["summary"]["nrs"] == {
        "first": 8,
        "first_on": "2026-01-05",
        "last": 4,
        "last_on": "2026-02-02",
    }
    session = _record({"810": 1.0, "980": 1.0}, False, utcnow() - dt.timedelta(days=1))
    refused = client.post(f"/api/v1/courses/{course_id}/sessions", json=session, headers=operator)
    assert refused.status_code == 409 and f"course {course_id} was closed on" in refused.json()["detail"]
    outcome = client.post(patient_outcomes, json={"assessed_on": "2026-03-01", "nrs": 3,
                                                  "course_id": course_id}, headers=clinician)  # fmt: skip
    assert outcome.status_code == 409 and "recording an outcome is not possible" in outcome.json()["detail"]
    assert client.post(close, json={"reason": "completed"}, headers=clinician).status_code == 409
    reopen = f"/api/v1/courses/{course_id}/reopen"
    assert client.post(reopen, json={"reason": "short"}, headers=clinician).status_code == 422
    reopened = client.post(reopen, json={"reason": "flare-up after discharge"}, headers=clinician)
    assert reopened.status_code == 200 and reopened.json()["closure"] is None
    assert (
        client.post(f"/api/v1/courses/{course_id}/sessions", json=session, headers=operator).status_code
        == 201
    )


def test_a_second_course_for_the_same_condition_is_refused_naming_the_first(client, course_id):
    clinician = bearer(client, "clinician")
    patient_id = client.get(f"/api/v1/courses/{course_id}", headers=clinician).json()["patient_id"]
    second = client.post(f"/api/v1/patients/{patient_id}/courses", headers=clinician, json={
        "condition": "chronic_nslbp", "protocol": "demo", "plan": PLAN, "sessions_planned": 6,
        "sessions_per_week": 2})  # fmt: skip
    refused = client.post(f"/api/v1/courses/{second.json()['id']}/sign", headers=clinician)
    assert refused.status_code == 409
    assert f"already has an active course for chronic nslbp: course {course_id}" in refused.json()["detail"]


def test_closing_from_the_chart_keeps_the_typed_note_on_an_error_and_shows_the_summary(client, course_id):
    from conftest import csrf_of, login

    clinician = bearer(client, "clinician")
    patient_id = client.get(f"/api/v1/courses/{course_id}", headers=clinician).json()["patient_id"]
    for day, nrs in (("2026-01-05", 8), ("2026-02-02", 4)):
        client.post(f"/api/v1/patients/{patient_id}/outcomes", json={"assessed_on": day, "nrs": nrs},
                    headers=clinician)  # fmt: skip
    assert login(client, "clinician").status_code == 303
    token = csrf_of(client.get(f"/patients/{patient_id}").text)
    missing = client.post(f"/courses/{course_id}/close", data={"csrf_token": token, "note": "doing well"})
    assert missing.status_code == 422 and "choose why the course ends" in missing.text
    assert "doing well</textarea>" in missing.text
    closed = client.post(f"/courses/{course_id}/close", follow_redirects=False,
                         data={"csrf_token": token, "reason": "completed", "note": "doing well"})  # fmt: skip
    assert closed.status_code == 303
    chart = client.get(f"/patients/{patient_id}").text
    assert "course completed.</strong>" in chart and "Closing note: doing well" in chart
    assert "Pain NRS: first 8 (2026-01-05), last 4 (2026-02-02)" in chart
    assert f'href="/courses/{course_id}/console"' not in chart  # no console link on a closed course
    short = client.post(f"/courses/{course_id}/reopen", data={"csrf_token": token, "reason": "oops"})
    assert short.status_code == 422 and "reason for reopening" in short.text and 'value="oops"' in short.text


def test_the_console_of_a_closed_course_offers_no_start_and_refuses_one(client, course_id):
    from conftest import csrf_of, login

    clinician = bearer(client, "clinician")
    client.post(f"/api/v1/courses/{course_id}/close", json={"reason": "referred"}, headers=clinician)
    assert login(client, "operator").status_code == 303
    page = client.get(f"/courses/{course_id}/console")
    assert "This course was closed on" in page.text and 'id="start"' not in page.text
    refused = client.post(f"/courses/{course_id}/console/start", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 409  # not connected, and closed: nothing is armed
