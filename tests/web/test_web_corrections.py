"""Corrections over the API and the pages: edit and void with a reason, 4xx JSON, forms keep what was typed.

Also the date rules as the outcome form and the API apply them.
"""

import datetime as dt
import re

import pytest

from conftest import bearer, csrf_of, login
from laserdose.clinic import db
from laserdose.clinic.models import Course, User

ANNA = {"name": "Anna Berg", "birth_date": "1970-05-17", "skin_type": 3, "bmi": 26.5}
COURSE = {"condition": "chronic_nslbp", "protocol": "demo", "sessions_planned": 12, "sessions_per_week": 3}
RECORD = {"started_at": "2026-03-02T10:00:00+00:00", "duration_s": 300.0,
          "energy_j_by_wavelength": {"810": 1500.0}, "interruptions": [], "completed": True}  # fmt: skip


@pytest.fixture
def anna(webapp, client):
    """Anna with a signed course begun on 2026-01-02 and an assessment on it; returns their ids."""
    headers = bearer(client, "clinician")
    patient = client.post("/api/v1/patients", json=ANNA, headers=headers).json()["id"]
    course = client.post(f"/api/v1/patients/{patient}/courses", json=COURSE, headers=headers).json()["id"]
    with db.session_factory(db.make_engine(webapp.url)).begin() as session:
        row = session.get(Course, course)
        clinician = session.query(User).filter_by(username="clinician").one()
        row.created_at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        row.signed_by_id, row.signed_at = clinician.id, dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    first = {"assessed_on": "2026-03-01", "nrs": 7}
    outcome = client.post(f"/api/v1/patients/{patient}/outcomes", json=first, headers=headers).json()[
        "outcome_id"
    ]
    return {"patient": patient, "course": course, "outcome": outcome}


def test_api_corrects_an_outcome_with_a_reason_and_shows_its_history(client, anna):
    headers = bearer(client, "clinician")
    url = f"/api/v1/outcomes/{anna['outcome']}"
    missing = client.patch(url, json={"nrs": 5}, headers=headers)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "reason"]
    corrected = client.patch(url, json={"nrs": 5, "reason": "typed 7 for 5"}, headers=headers)
    assert corrected.status_code == 200 and corrected.json()["nrs"] == 5
    history = client.get(f"/api/v1/outcomes/{anna['outcome']}/history", headers=headers).json()
    assert [(h["version"], h["action"], h["reason"], h["by"]) for h in history] == [
        (1, "edit", "typed 7 for 5", "clinician")
    ]
    assert history[0]["changes"] == [{"field": "nrs", "before": 7, "after": 5}]
    future = client.patch(url, json={"assessed_on": "2027-03-15", "reason": "wrong day"}, headers=headers)
    assert future.status_code == 422
    assert future.json()["detail"].startswith("date of assessment 2027-03-15 is in the future")


def test_api_voids_a_record_once_with_a_reason_and_lists_leave_it_out(client, anna):
    headers = bearer(client, "clinician")
    url = f"/api/v1/outcomes/{anna['outcome']}/void"
    assert client.post(url, json={"reason": ""}, headers=headers).status_code == 422
    voided = client.post(url, json={"reason": "wrong patient"}, headers=headers)
    assert voided.status_code == 200 and voided.json()["void_reason"] == "wrong patient"
    again = client.post(url, json={"reason": "again"}, headers=headers)
    assert again.status_code == 422 and "is voided" in again.json()["detail"]
    assert client.get(f"/api/v1/patients/{anna['patient']}/outcomes", headers=headers).json() == []
    edit = client.patch(
        f"/api/v1/outcomes/{anna['outcome']}", json={"nrs": 2, "reason": "x"}, headers=headers
    )
    assert edit.status_code == 422


def test_api_refuses_unknown_kinds_missing_records_and_wrong_roles(client, anna):
    clinician, operator = bearer(client, "clinician"), bearer(client, "operator")
    body = {"reason": "duplicate"}
    assert (
        client.post(f"/api/v1/courses/{anna['course']}/void", json=body, headers=clinician).status_code == 422
    )
    missing = client.post("/api/v1/outcomes/987654/void", json=body, headers=clinician)
    assert missing.status_code == 404 and missing.json() == {"detail": "no outcome with id 987654"}
    denied = client.post(f"/api/v1/patients/{anna['patient']}/void", json=body, headers=operator)
    assert denied.status_code == 403
    extra = client.post(f"/api/v1/outcomes/{anna['outcome']}/void", json={**body, "x": 1}, headers=clinician)
    assert extra.status_code == 422


def test_api_corrects_and_voids_a_session(client, anna):
    operator = bearer(client, "operator")
    record = client.post(f"/api/v1/courses/{anna['course']}/sessions", json=RECORD, headers=operator).json()
    url = f"/api/v1/sessions/{record['id']}"
    fixed = client.patch(url, json={"completed": False, "reason": "stopped early"}, headers=operator)
    assert fixed.status_code == 200 and fixed.json()["completed"] is False
    future = client.patch(url, json={"started_at": "2099-01-01T00:00:00Z", "reason": "x"}, headers=operator)
    assert future.status_code == 422 and "session start 2099-01-01 00:00 UTC is in the future" in future.text
    assert client.post(f"{url}/void", json={"reason": "test run"}, headers=operator).status_code == 200
    listed = client.get(f"/api/v1/courses/{anna['course']}/sessions", headers=operator).json()
    assert [(s["id"], s["void_reason"]) for s in listed] == [(record["id"], "test run")]


def _outcome_form(client, patient, **fields):
    form = client.get(f"/patients/{patient}/outcomes/new").text
    return client.post(f"/patients/{patient}/outcomes/new", data={"csrf_token": csrf_of(form), **fields})


@pytest.mark.parametrize(
    ("day", "error"),
    [
        ("2027-03-15", "date of assessment 2027-03-15 is in the future; it must be today"),
        (
            "0001-01-01",
            "date of assessment 0001-01-01 is before the patient&#39;s birth date (1970-05-17)",
        ),
        ("2025-12-01", "date of assessment 2025-12-01 is before the course was created (2026-01-02)"),
    ],
)
def test_the_outcome_form_refuses_a_date_by_the_rules_and_keeps_what_was_typed(client, anna, day, error):
    login(client, "clinician")
    refused = _outcome_form(client, anna["patient"], assessed_on=day, nrs="6", course_id=str(anna["course"]))
    assert refused.status_code == 422 and error in refused.text
    assert "Date: date" not in refused.text  # the sentence names the field once
    assert f'value="{day}"' in refused.text and '<option value="6" selected>' in refused.text


def test_the_outcome_is_corrected_from_the_chart_and_the_history_shows_it(client, anna):
    login(client, "clinician")
    chart = client.get(f"/patients/{anna['patient']}").text
    assert f'href="/records/outcomes/{anna["outcome"]}/edit"' in chart
    assert "A signed plan is never edited" in chart
    form = client.get(f"/records/outcomes/{anna['outcome']}/edit").text
    assert 'value="2026-03-01"' in form and '<option value="7" selected>' in form  # the stored assessment
    fields = {
        "csrf_token": csrf_of(form),
        "assessed_on": "2026-03-01",
        "nrs": "4",
        "course_id": str(anna["course"]),
    }
    no_reason = client.post(f"/records/outcomes/{anna['outcome']}/edit", data=fields)
    assert no_reason.status_code == 422 and "reason is required" in no_reason.text
    assert '<option value="4" selected>' in no_reason.text  # what was typed is kept
    url = f"/records/outcomes/{anna['outcome']}/edit"
    saved = client.post(url, data={**fields, "reason": "pain 4, not 7"}, follow_redirects=False)
    assert saved.status_code == 303
    chart = client.get(f"/patients/{anna['patient']}").text
    assert "pain NRS 4/10" in chart and "pain 4, not 7" in chart
    assert re.search(r"nrs: <del>7</del> &rarr; 4", chart)


def test_a_voided_outcome_is_struck_through_with_its_reason(client, anna):
    login(client, "clinician")
    page = client.get(f"/records/outcomes/{anna['outcome']}/void").text
    assert "2026-03-01: pain NRS 7/10" in page and "Why is this outcome voided?" in page
    url = f"/records/outcomes/{anna['outcome']}/void"
    refused = client.post(url, data={"csrf_token": csrf_of(page), "reason": "   "})
    assert refused.status_code == 422 and "reason is required" in refused.text
    done = client.post(
        url, data={"csrf_token": csrf_of(page), "reason": "wrong patient"}, follow_redirects=False
    )
    assert done.status_code == 303
    chart = client.get(f"/patients/{anna['patient']}").text
    assert "<del>pain NRS 7/10</del>" in chart and "voided: wrong patient" in chart
    assert "No outcomes recorded yet." in chart  # the pain chart leaves it out


def test_the_patient_details_are_corrected_with_a_reason(client, anna):
    login(client, "clinician")
    form = client.get(f"/records/patients/{anna['patient']}/edit").text
    assert 'value="Anna"' in form and 'value="Berg"' in form
    typed = {"given_name": "Anna", "family_name": "Lind", "record_number": "", "birth_date": "1970-05-17",
             "skin_type": "3", "bmi": "26.5"}  # fmt: skip
    fields = {"csrf_token": csrf_of(form), **typed}
    late_birth = client.post(f"/records/patients/{anna['patient']}/edit",
                             data={**fields, "birth_date": "2026-03-02", "reason": "typo"})  # fmt: skip
    assert (
        late_birth.status_code == 422
        and "is after the patient&#39;s first record (2026-03-01)" in late_birth.text
    )
    assert 'value="Lind"' in late_birth.text
    saved = client.post(f"/records/patients/{anna['patient']}/edit", data={**fields, "reason": "married"},
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    chart = client.get(f"/patients/{anna['patient']}").text
    assert (
        "family name: <del>Berg</del> &rarr; Lind" in chart
        and "name: <del>Anna Berg</del> &rarr; Anna Lind" in chart
    )


def test_a_voided_screening_is_no_longer_the_latest_and_its_page_says_so(client, anna):
    headers = bearer(client, "clinician")
    body = {"diagnosis": "chronic-nonspecific-lbp"}
    screening = client.post(
        f"/api/v1/patients/{anna['patient']}/screenings", json=body, headers=headers
    ).json()
    login(client, "clinician")
    assert 'id="latest-screening"' in client.get(f"/patients/{anna['patient']}").text
    voided = client.post(
        f"/api/v1/screenings/{screening['id']}/void", json={"reason": "wrong form"}, headers=headers
    )
    assert voided.status_code == 200
    chart = client.get(f"/patients/{anna['patient']}").text
    assert 'id="latest-screening"' not in chart and "voided: wrong form" in chart
    assert "This screening was voided" in client.get(f"/screenings/{screening['id']}").text
    edit = client.get(f"/records/screenings/{screening['id']}/edit")
    assert edit.status_code in (404, 405)  # screenings are voided, never edited


def test_a_session_start_is_corrected_from_the_chart(client, anna):
    operator = bearer(client, "operator")
    record = client.post(f"/api/v1/courses/{anna['course']}/sessions", json=RECORD, headers=operator).json()
    login(client, "operator")
    url = f"/records/sessions/{record['id']}/edit"
    assert f'href="{url}"' in client.get(f"/patients/{anna['patient']}").text
    form = client.get(url).text
    assert 'value="2026-03-02T10:00"' in form and 'name="completed" value="1" checked' in form
    fields = {
        "csrf_token": csrf_of(form),
        "started_at": "2099-03-02T10:00",
        "completed": "1",
        "reason": "clock",
    }
    future = client.post(url, data=fields)
    assert future.status_code == 422 and "session start 2099-03-02 10:00 UTC is in the future" in future.text
    assert 'value="2099-03-02T10:00"' in future.text  # kept as typed
    saved = client.post(
        url, data={**fields, "started_at": "2026-03-03T10:00", "completed": ""}, follow_redirects=False
    )
    assert saved.status_code == 303
    chart = client.get(f"/patients/{anna['patient']}").text
    assert "2026-03-03 <strong>session</strong>" in chart.replace("<time>", "").replace("</time>", "")
    assert "completed: <del>True</del> &rarr; False" in chart
