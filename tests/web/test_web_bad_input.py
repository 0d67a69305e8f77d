"""Bad input gets a 4xx with a plain message, never a 5xx, on SQLite and on PostgreSQL: non-standard JSON
numbers, lone surrogates, ids beyond the integer columns, long searches, deep nesting, huge bodies, names
without a visible character, booleans and numbers where other types belong; a locked SQLite file gives
503 with Retry-After."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from conftest import PASSWORD, TEST_SECRET, bearer, login
from laserdose.clinic import db, users
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings

GOOD = {"name": "Bad Input Probe", "birth_date": "1970-01-02", "skin_type": 3, "bmi": 25.0}


def _own_database(server_url: str) -> str:
    """A database of its own on the test server: these tests commit, the shared one must stay empty."""
    admin = db.make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = 'bad_input'")).first()
        if exists is None:
            connection.execute(text("CREATE DATABASE bad_input"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/bad_input"


def _postgres_client(server_url: str) -> TestClient:
    url = _own_database(server_url)
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        known = {user.username for user in users.list_users(session=session)}
        for role in ("admin", "clinician", "operator"):
            if role not in known:
                users.create_user(
                    session=session, username=role, password=PASSWORD, role=role, actor_name="t"
                )
    engine.dispose()
    return TestClient(create_app(WebSettings(environment="test", secret_key=TEST_SECRET, database_url=url)))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_client(request, webapp) -> TestClient:
    """A client of the app on SQLite, then on PostgreSQL (answers must not depend on the database)."""
    if request.param == "sqlite":
        return webapp.client()
    return _postgres_client(request.getfixturevalue("postgres_url"))


def _raw(client, path, text, headers):
    return client.post(path, content=text.encode(), headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400", "1" * 30])
def test_non_standard_json_numbers_are_refused(any_client, number):
    headers = bearer(any_client, "clinician")
    text = '{"name": "X Y", "birth_date": "1970-01-02", "skin_type": 3, "bmi": ' + number + "}"
    response = _raw(any_client, "/api/v1/patients", text, headers)
    assert response.status_code == 422, response.text
    assert "number" in response.json()["detail"] or "too large" in response.json()["detail"]


def test_nan_in_a_plan_is_refused(any_client):
    headers = bearer(any_client, "clinician")
    patient = any_client.post("/api/v1/patients", json=GOOD, headers=headers).json()
    text = (
        '{"condition": "chronic_nslbp", "protocol": "demo", "plan": {"power_w": NaN}, '
        '"sessions_planned": 6, "sessions_per_week": 2}'
    )
    response = _raw(any_client, f"/api/v1/patients/{patient['id']}/courses", text, headers)
    assert response.status_code == 422 and "NaN" in response.json()["detail"]


@pytest.mark.parametrize("field", ["name", "birth_date"])
def test_a_lone_surrogate_in_any_string_is_refused(any_client, field):
    headers = bearer(any_client, "clinician")
    text = '{"name": "Ann", "birth_date": "1970-01-02", "skin_type": 3, "bmi": 25}'
    text = text.replace('"Ann"' if field == "name" else '"1970-01-02"', '"A\\ud800"')
    response = _raw(any_client, "/api/v1/patients", text, headers)
    assert response.status_code == 422 and "surrogate" in response.json()["detail"]


@pytest.mark.parametrize("huge", [2**31, 2**63, 10**30])
def test_ids_beyond_the_integer_columns_are_not_found(any_client, huge):
    login(any_client, "clinician")
    headers = bearer(any_client, "clinician")
    for path in (
        f"/patients/{huge}",
        f"/api/v1/patients/{huge}",
        f"/api/v1/courses/{huge}",
        f"/patients/{huge}/plan",
        f"/courses/{huge}/console",
    ):
        response = any_client.get(path, headers=headers)
        assert response.status_code in (404, 422), (path, response.status_code)


def test_a_page_search_of_50000_characters_is_refused(any_client):
    login(any_client, "clinician")
    response = any_client.get("/patients", params={"q": "a" * 50_000})
    assert (
        response.status_code == 422
        and "The search can have at most 200 characters; it has 50000." in response.text
    )


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def test_a_plan_nested_255_levels_is_refused_and_the_course_stays_readable(any_client):
    headers = bearer(any_client, "clinician")
    patient = any_client.post("/api/v1/patients", json=GOOD, headers=headers).json()
    text = (
        '{"condition": "chronic_nslbp", "protocol": "demo", "plan": PLAN, "sessions_planned": 6, '
        '"sessions_per_week": 2}'
    ).replace("PLAN", _nested(255))
    response = _raw(any_client, f"/api/v1/patients/{patient['id']}/courses", text, headers)
    assert response.status_code == 422 and "nested deeper" in response.json()["detail"]
    assert any_client.get(f"/api/v1/patients/{patient['id']}", headers=headers).status_code == 200


def test_a_20_mib_body_is_refused_with_413(any_client):
    headers = bearer(any_client, "clinician")
    plan = '{"notes": "' + "x" * (20 * 1024 * 1024) + '"}'
    text = (
        '{"condition": "chronic_nslbp", "protocol": "demo", "plan": PLAN, "sessions_planned": 6, '
        '"sessions_per_week": 2}'
    ).replace("PLAN", plan)
    response = _raw(any_client, "/api/v1/patients/1/courses", text, headers)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "\u200b\u200b\u2060"}, "name"),  # only invisible characters
        ({"name": "\u202e\u202d\u2066"}, "name"),  # only bidi controls
        ({"name": "Ann\u202eaB"}, "name"),  # a bidi override inside a name
        ({"birth_date": 0}, "birth_date"),
        ({"skin_type": True}, "skin_type"),
        ({"bmi": True}, "bmi"),
    ],
)
def test_names_without_a_visible_character_and_wrong_types_are_refused(any_client, change, field):
    response = any_client.post(
        "/api/v1/patients", json={**GOOD, **change}, headers=bearer(any_client, "clinician")
    )
    assert response.status_code == 422
    assert any(error["loc"][-1] == field for error in response.json()["detail"])


def test_a_write_while_another_process_holds_the_sqlite_lock_gets_503(webapp):
    client = webapp.client()
    headers = bearer(client, "clinician")
    path = webapp.url.removeprefix("sqlite:///")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({path!r}, isolation_level=None); c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True); time.sleep(8)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        response = client.post("/api/v1/patients", json=GOOD, headers=headers)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"].isdigit() and "busy" in response.json()["detail"]
        assert time.monotonic() - start >= 4.5  # it waited for the lock first (busy_timeout 5 s)
    finally:
        holder.kill()
        holder.wait()
