"""The visit note form: plain sentences per field, everything typed kept, the note listed on its course."""

import re

from conftest import bearer, csrf_of, login

COURSE = {"condition": "chronic_nslbp", "protocol": "demo", "sessions_planned": 10, "sessions_per_week": 2}


def _course(client) -> int:
    headers = bearer(client, "clinician")
    body = {"name": "Nora Notes", "birth_date": "1966-02-14", "skin_type": 4, "bmi": 28.0}
    patient = client.post("/api/v1/patients", json=body, headers=headers).json()["id"]
    return client.post(f"/api/v1/patients/{patient}/courses", json=COURSE, headers=headers).json()["id"]


def test_an_operator_writes_a_note_after_fixing_a_field(client):
    course = _course(client)
    login(client, "operator")
    page = client.get(f"/courses/{course}/notes/new").text
    today = re.search(r'id="visit_on"[^>]*value="([0-9-]+)"', page).group(1)
    form = {
        "csrf_token": csrf_of(page),
        "visit_on": today,
        "session_id": "",
        "pain_before": "7",
        "pain_after": "12",
        "exercise_adherence_percent": "",
        "subjective": "Stiff in the mornings",
        "objective": "",
        "assessment": "",
        "plan": "Review in a week",
    }
    refused = client.post(f"/courses/{course}/notes/new", data=form)
    assert refused.status_code == 422
    assert "Pain after must be a whole number from 0 to 10." in refused.text
    assert "Stiff in the mornings" in refused.text and 'value="12"' in refused.text
    saved = client.post(
        f"/courses/{course}/notes/new", data={**form, "pain_after": "5"}, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/courses/{course}/notes"
    notes = client.get(f"/courses/{course}/notes").text
    assert "Pain 7 before, 5 after (0-10)." in notes and "Review in a week" in notes
    assert client.get(f"/courses/{course}/notes/new?session=abc").status_code == 422


def test_a_date_that_is_not_a_date_or_a_stray_session_is_a_sentence(client):
    course = _course(client)
    login(client, "clinician")
    page = client.get(f"/courses/{course}/notes/new").text
    form = {
        "csrf_token": csrf_of(page),
        "visit_on": "0001-01-01x",
        "session_id": "999",
        "pain_before": "",
        "pain_after": "",
        "exercise_adherence_percent": "50",
        "subjective": "",
        "objective": "",
        "assessment": "",
        "plan": "",
    }
    refused = client.post(f"/courses/{course}/notes/new", data=form)
    assert (
        "Enter the visit date as a date (YYYY-MM-DD)." in refused.text
        and 'value="0001-01-01x"' in refused.text
    )
    ancient = client.post(f"/courses/{course}/notes/new", data={**form, "visit_on": "0001-01-01"})
    assert "visit date 0001-01-01 is before the patient&#39;s birth date" in ancient.text
    today = re.search(r'id="visit_on"[^>]*value="([0-9-]+)"', page).group(1)
    stray = client.post(f"/courses/{course}/notes/new", data={**form, "visit_on": today})
    assert stray.status_code == 422 and "Choose one of this course&#39;s sessions, or none." in stray.text
