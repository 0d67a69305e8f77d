"""The patient list in the API and the browser pages: pages with the total, family-name order, search."""

from conftest import bearer, csrf_of, login

BASE = {"birth_date": "1970-05-17", "skin_type": 3, "bmi": 26.5}


def _add_many(client, headers, count: int) -> None:
    for number in range(count):
        body = {**BASE, "given_name": "Anna", "family_name": f"Family{number:03d}"}
        assert client.post("/api/v1/patients", json=body, headers=headers).status_code == 201


def test_the_api_pages_patients_with_the_total(client):
    headers = bearer(client, "clinician")
    _add_many(client, headers, 57)
    first = client.get("/api/v1/patients", headers=headers).json()
    assert (len(first["items"]), first["total"], first["offset"], first["limit"]) == (50, 57, 0, 50)
    second = client.get("/api/v1/patients", params={"offset": 50}, headers=headers).json()
    assert [p["family_name"] for p in second["items"]] == [f"Family{n:03d}" for n in range(50, 57)]
    by_page = client.get("/api/v1/patients", params={"page": 3, "limit": 25}, headers=headers).json()
    assert by_page["offset"] == 50 and len(by_page["items"]) == 7
    refused = client.get("/api/v1/patients", params={"limit": 201}, headers=headers)
    assert refused.status_code == 422


def test_the_api_takes_name_parts_and_record_numbers(client):
    headers = bearer(client, "clinician")
    body = {**BASE, "given_name": "Bruno", "family_name": "Costa", "record_number": "K-17"}
    created = client.post("/api/v1/patients", json=body, headers=headers).json()
    assert (created["name"], created["record_number"]) == ("Bruno Costa", "K-17")
    one_text = client.post("/api/v1/patients", json={**BASE, "name": "Berg, Anna"}, headers=headers).json()
    assert (one_text["given_name"], one_text["family_name"], one_text["name"]) == (
        "Anna",
        "Berg",
        "Anna Berg",
    )
    assert one_text["record_number"] == f"LD-{one_text['id']}"
    again = client.post("/api/v1/patients", json={**body, "family_name": "Dahl"}, headers=headers)
    assert again.status_code == 422 and "already belongs to another patient" in again.json()["detail"]
    nameless = client.post("/api/v1/patients", json=BASE, headers=headers)
    assert nameless.status_code == 422
    changed = client.patch(
        f"/api/v1/patients/{created['id']}",
        json={"given_name": "Bruna", "reason": "spelling"},
        headers=headers,
    )
    assert changed.json()["name"] == "Bruna Costa"
    found = client.get("/api/v1/patients", params={"q": "k-17"}, headers=headers).json()
    assert [p["id"] for p in found["items"]] == [created["id"]]


def test_the_list_page_shows_where_it_is_and_pages_on(client):
    headers = bearer(client, "clinician")
    _add_many(client, headers, 57)
    login(client, "clinician")
    page = client.get("/patients", params={"page": 2, "size": 25}).text
    assert "26-50 of 57 patients" in page
    assert 'href="/patients?page=1&amp;size=25"' in page and 'href="/patients?page=3&amp;size=25"' in page
    last = client.get("/patients", params={"page": 3, "size": 25}).text
    assert "51-57 of 57 patients" in last and "Family056" in last and 'id="page-next"' not in last


def test_the_new_patient_form_keeps_everything_typed_when_the_record_number_is_taken(client):
    headers = bearer(client, "clinician")
    client.post(
        "/api/v1/patients", json={**BASE, "name": "Anna Berg", "record_number": "R1"}, headers=headers
    )
    login(client, "clinician")
    token = csrf_of(client.get("/patients/new").text)
    typed = {
        "given_name": "Carla", "family_name": "Dahl", "record_number": "r1", "birth_date": "1980-01-02",
        "skin_type": "2", "bmi": "22", "csrf_token": token,
    }  # fmt: skip
    response = client.post("/patients/new", data=typed)
    assert response.status_code == 422
    assert 'id="record_number-error">Record number r1 already belongs to another patient.' in response.text
    for value in ("Carla", "Dahl", "r1", "1980-01-02", "22"):
        assert f'value="{value}"' in response.text
