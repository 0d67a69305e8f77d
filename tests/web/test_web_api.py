"""JSON API: OAuth2 password flow, 401 without a token, patients CRUD, 422 naming the field, roles."""

import pytest

from conftest import PASSWORD, bearer

ANNA = {"name": "Anna Berg", "birth_date": "1970-05-17", "skin_type": 3, "bmi": 26.5}


def test_every_api_route_needs_a_token(client):
    for method, path in [
        ("get", "/api/v1/patients"),
        ("post", "/api/v1/patients"),
        ("get", "/api/v1/patients/1"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    response = client.get("/api/v1/patients", headers={"Authorization": "Bearer forged.token.value"})
    assert response.status_code == 401


def test_token_rejects_wrong_password(client):
    response = client.post("/api/v1/token", data={"username": "clinician", "password": "not the password"})
    assert response.status_code == 401


def test_create_get_search_patients(client):
    headers = bearer(client, "clinician")
    created = client.post("/api/v1/patients", json=ANNA, headers=headers)
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ANNA} == ANNA
    client.post("/api/v1/patients", json={**ANNA, "name": "Bruno Costa"}, headers=headers)
    assert client.get(f"/api/v1/patients/{body['id']}", headers=headers).json() == body
    found = client.get("/api/v1/patients", params={"q": "berg"}, headers=headers).json()
    assert [p["name"] for p in found] == ["Anna Berg"]
    assert len(client.get("/api/v1/patients", headers=headers).json()) == 2
    assert client.get("/api/v1/patients/999", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("skin_type", 7),
        ("skin_type", 0),
        ("bmi", 3.0),
        ("birth_date", "2999-01-01"),
        ("birth_date", "17/05/1970"),
        ("name", ""),
    ],
)
def test_invalid_field_gives_422_naming_it(client, field, value):
    response = client.post(
        "/api/v1/patients", json={**ANNA, field: value}, headers=bearer(client, "clinician")
    )
    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]


def test_missing_and_unknown_fields_are_named(client):
    headers = bearer(client, "clinician")
    response = client.post("/api/v1/patients", json={"name": "X"}, headers=headers)
    assert {e["loc"][-1] for e in response.json()["detail"]} == {"birth_date", "skin_type", "bmi"}
    response = client.post("/api/v1/patients", json={**ANNA, "ssn": "123"}, headers=headers)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "ssn"


def test_operator_may_read_but_not_create(client):
    created = client.post("/api/v1/patients", json=ANNA, headers=bearer(client, "clinician")).json()
    operator = bearer(client, "operator")
    assert client.get(f"/api/v1/patients/{created['id']}", headers=operator).status_code == 200
    response = client.post("/api/v1/patients", json=ANNA, headers=operator)
    assert response.status_code == 403 and "operator" in response.json()["detail"]


def test_patch_updates_only_given_fields(client):
    headers = bearer(client, "clinician")
    created = client.post("/api/v1/patients", json=ANNA, headers=headers).json()
    patched = client.patch(f"/api/v1/patients/{created['id']}", json={"bmi": 24.0}, headers=headers).json()
    assert patched == {**created, "bmi": 24.0}


def test_token_endpoint_is_rate_limited(client):
    for _ in range(5):
        assert (
            client.post("/api/v1/token", data={"username": "admin", "password": "wrong-guess"}).status_code
            == 401
        )
    # Sixth try within the window is refused even with the right password (settings: 5 attempts).
    assert client.post("/api/v1/token", data={"username": "admin", "password": PASSWORD}).status_code == 429


def test_openapi_lists_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/token", "/api/v1/patients", "/api/v1/patients/{patient_id}"} <= set(paths)
