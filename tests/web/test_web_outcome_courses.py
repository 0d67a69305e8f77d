"""Outcomes over the API and the form land on a course of the patient: the default, the choice, refusals."""

import datetime as dt
import re

from conftest import bearer, csrf_of, login
from laserdose.clinic import db
from laserdose.clinic.models import Course, Outcome

COURSE = {"condition": "chronic_nslbp", "protocol": "demo", "sessions_planned": 12, "sessions_per_week": 3}


def _patient_with_courses(client, headers, name: str, signed: int) -> tuple[int, list[int]]:
    """A patient with `signed` courses (the last ones signed, in order) after one draft."""
    body = {"name": name, "birth_date": "1970-05-17", "skin_type": 3, "bmi": 26.5}
    patient = client.post("/api/v1/patients", json=body, headers=headers).json()["id"]
    url = f"/api/v1/patients/{patient}/courses"
    ids = [client.post(url, json=COURSE, headers=headers).json()["id"] for _ in range(signed + 1)]
    return patient, ids


def _sign(webapp, course_ids: list[int]) -> None:
    """Mark courses signed as the signing gate leaves them (the gate has its own tests), a day apart.

    Every course is dated back to 2026-01-02: an assessment is not dated before its course was created.
    """
    with db.session_factory(db.make_engine(webapp.url)).begin() as session:
        for course in session.query(Course):
            course.created_at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        for day, course_id in enumerate(course_ids, start=1):
            course = session.get(Course, course_id)
            course.signed_by_id, course.signed_at = 1, dt.datetime(2026, 2, day, tzinfo=dt.UTC)


def test_api_uses_the_single_active_course_and_refuses_ambiguity_or_a_strangers_course(webapp, client):
    headers = bearer(client, "clinician")
    one, (draft, active) = _patient_with_courses(client, headers, "One Course", signed=1)
    two, (_, first, second) = _patient_with_courses(client, headers, "Two Courses", signed=2)
    _sign(webapp, [active, first, second])
    created = client.post(f"/api/v1/patients/{one}/outcomes", json={"assessed_on": "2026-03-01", "nrs": 5},
                          headers=headers)  # fmt: skip
    assert created.status_code == 201 and created.json()["course_id"] == active
    ambiguous = client.post(f"/api/v1/patients/{two}/outcomes", json={"assessed_on": "2026-03-01", "nrs": 5},
                            headers=headers)  # fmt: skip
    assert ambiguous.status_code == 422
    assert f"several active courses ({second}, {first}): choose the course_id" in ambiguous.text
    chosen = {"assessed_on": "2026-03-01", "nrs": 5, "course_id": first}
    assert (
        client.post(f"/api/v1/patients/{two}/outcomes", json=chosen, headers=headers).json()["course_id"]
        == first
    )
    stranger = client.post(f"/api/v1/patients/{one}/outcomes", json=chosen, headers=headers)
    assert (
        stranger.status_code == 422
        and f"course {first} is not one of this patient's courses" in stranger.text
    )
    draft_ok = {"assessed_on": "2026-03-02", "nrs": 4, "course_id": draft}
    assert client.post(f"/api/v1/patients/{one}/outcomes", json=draft_ok, headers=headers).status_code == 201
    bad = client.post(f"/api/v1/patients/{one}/outcomes", json={**chosen, "course_id": "x"}, headers=headers)
    assert bad.status_code == 422 and "course_id" in bad.text


def test_form_offers_the_courses_with_the_latest_signed_selected_and_saves_on_it(webapp, client):
    headers = bearer(client, "clinician")
    patient, (_, first, second) = _patient_with_courses(client, headers, "Form Patient", signed=2)
    _sign(webapp, [first, second])
    login(client, "clinician")
    form = client.get(f"/patients/{patient}/outcomes/new").text
    options = re.findall(r'<option value="(\d+)" (selected)?>Course', form)
    assert [int(value) for value, _ in options] == [first - 1, first, second]
    assert [int(value) for value, selected in options if selected] == [second]
    data = {"csrf_token": csrf_of(form), "assessed_on": "2026-03-01", "nrs": "6", "course_id": str(first)}
    saved = client.post(f"/patients/{patient}/outcomes/new", data=data, follow_redirects=False)
    assert saved.status_code == 303
    refused = client.post(
        f"/patients/{patient}/outcomes/new", data={**data, "course_id": "987654", "nrs": "3"}
    )
    assert refused.status_code == 422
    assert "Course: course 987654 is not one of this patient&#39;s courses" in refused.text
    assert 'value="2026-03-01"' in refused.text and '<option value="3" selected>' in refused.text  # kept
    with db.session_factory(db.make_engine(webapp.url))() as session:
        assert [o.course_id for o in session.query(Outcome).filter_by(patient_id=patient)] == [first]
