"""A web app on a fresh, migrated SQLite file per test, with one user of each role."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from laserdose.clinic import db, users
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings

PASSWORD = "correct horse battery"
TEST_SECRET = "test-secret-" + "x" * 32


@dataclass
class WebApp:
    url: str
    settings: WebSettings

    def client(self) -> TestClient:
        return TestClient(create_app(self.settings))


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory) -> Path:
    """A migrated SQLite file with one user per role, copied for each test (migrating costs ~0.3 s)."""
    path = tmp_path_factory.mktemp("seed") / "web.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        for role in ("admin", "clinician", "operator"):
            users.create_user(session=session, username=role, password=PASSWORD, role=role, actor_name="test")
    with engine.connect() as connection:  # fold the WAL into the main file before copying it
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def webapp(tmp_path, seeded_database) -> WebApp:
    shutil.copy(seeded_database, tmp_path / "web.sqlite3")
    url = f"sqlite:///{tmp_path / 'web.sqlite3'}"
    return WebApp(url, WebSettings(environment="test", secret_key=TEST_SECRET, database_url=url))


@pytest.fixture
def client(webapp) -> TestClient:
    return webapp.client()


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


@pytest.fixture
def sim():
    """The machine simulator on a TCP port (test_web_day.py has its own, at its time scale)."""
    from consolekit import simulator

    with simulator() as server:
        yield server
