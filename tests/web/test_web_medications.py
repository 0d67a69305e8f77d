"""The medication page: plain errors with the typed values kept, a stop date, read-only for admins."""

import re

from conftest import bearer, csrf_of, login


def _patient(client) -> int:
    body = {"name": "Mira Meds", "birth_date": "1975-06-30", "skin_type": 3, "bmi": 25.0}
    return client.post("/api/v1/patients", json=body, headers=bearer(client, "clinician")).json()["id"]


def test_an_operator_adds_and_stops_a_medication(client):
    patient = _patient(client)
    login(client, "operator")
    page = client.get(f"/patients/{patient}/medications").text
    form = {"csrf_token": csrf_of(page), "drug": "naproxen", "dose": "", "how_often": "twice a day",
            "started_on": "2026-01-10"}  # fmt: skip
    refused = client.post(f"/patients/{patient}/medications", data=form)
    assert refused.status_code == 422 and "Dose is needed (for example 400 mg)." in refused.text
    assert 'value="naproxen"' in refused.text and 'value="twice a day"' in refused.text
    saved = client.post(
        f"/patients/{patient}/medications", data={**form, "dose": "250 mg"}, follow_redirects=False
    )
    assert saved.status_code == 303
    page = client.get(f"/patients/{patient}/medications").text
    row = re.search(r'id="medication-(\d+)"', page).group(1)
    late = client.post(f"/patients/{patient}/medications/{row}/stop", data={"csrf_token": csrf_of(page),
                       "stopped_on": "2025-12-31"})  # fmt: skip
    assert "The stop date cannot be before naproxen was started (2026-01-10)." in late.text
    client.post(f"/patients/{patient}/medications/{row}/stop", data={"csrf_token": csrf_of(page),
                "stopped_on": "2026-02-01"})  # fmt: skip
    page = client.get(f"/patients/{patient}/medications").text
    assert "<td>2026-02-01</td>" in page and "Record stop" not in page


def test_admins_read_the_list_without_forms(client):
    patient = _patient(client)
    login(client, "admin")
    page = client.get(f"/patients/{patient}/medications")
    assert (
        page.status_code == 200
        and "No medication recorded." in page.text
        and "Add a medication" not in page.text
    )
