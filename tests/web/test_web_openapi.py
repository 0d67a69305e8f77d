"""Schemathesis against /openapi.json, on SQLite and PostgreSQL: generated requests never cause a 5xx."""

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import text

from conftest import PASSWORD, TEST_SECRET
from laserdose.clinic import db, users
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings

IN_CI = os.environ.get("CI") == "true"  # CI replays a fixed set of examples; local runs explore new ones
EXAMPLES = int(os.environ.get("LASERDOSE_FUZZ_EXAMPLES", "25"))  # per API operation


def _fresh_database(backend: str, tmp_path_factory, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}"
    server_url = request.getfixturevalue("postgres_url")
    with db.make_engine(server_url).connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DROP DATABASE IF EXISTS laserdose_fuzz"))
        connection.execute(text("CREATE DATABASE laserdose_fuzz"))
    return server_url.rsplit("/", 1)[0] + "/laserdose_fuzz"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_app(request, tmp_path_factory):
    url = _fresh_database(request.param, tmp_path_factory, request)
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        users.create_user(
            session=session, username="clinician", password=PASSWORD, role="clinician", actor_name="t"
        )
    engine.dispose()
    app = create_app(
        WebSettings(environment="test", secret_key=TEST_SECRET, database_url=url, login_attempts=10**6)
    )
    token = TestClient(app).post("/api/v1/token", data={"username": "clinician", "password": PASSWORD})
    yield app, {"Authorization": f"Bearer {token.json()['access_token']}"}
    app.state.engine.dispose()


def test_no_server_errors(fuzz_app):
    app, headers = fuzz_app
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 5  # token, list, create, get, patch

    for operation in operations:

        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=IN_CI
        )
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
