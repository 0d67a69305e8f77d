"""Sessions end: logout, password change and deactivation end every session cookie and API token of the
user; an idle session ends; login throttling slows one client without locking the account; TOTP."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from conftest import PASSWORD, bearer, csrf_of, login
from laserdose.clinic import db, totp, users
from laserdose.web.app import create_app


def _logged_in(webapp, username="clinician") -> TestClient:
    client = webapp.client()
    assert login(client, username).status_code == 303
    return client


def test_logout_ends_the_copied_cookie_and_the_api_tokens(webapp):
    client = _logged_in(webapp)
    stolen = dict(client.cookies)  # someone copied the cookie before logout
    headers = bearer(client, "clinician")
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    token = csrf_of(client.get("/patients").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    replay = webapp.client()
    replay.cookies.update(stolen)
    response = replay.get("/patients", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/api/v1/patients", headers=headers).status_code == 401


def test_api_logout_revokes_the_token(webapp):
    client = webapp.client()
    headers = bearer(client, "operator")
    assert client.post("/api/v1/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/patients", headers=headers).status_code == 401
    assert client.get("/api/v1/patients", headers=bearer(client, "operator")).status_code == 200  # new login


def test_password_change_and_deactivation_end_sessions(webapp):
    client = _logged_in(webapp, "operator")
    engine = db.make_engine(webapp.url)
    with db.session_factory(engine).begin() as session:
        users.set_password(
            session=session, username="operator", password="a brand new passphrase", actor_name="t"
        )
    assert client.get("/patients", follow_redirects=False).status_code == 303
    client = _logged_in(webapp, "clinician")
    with db.session_factory(engine).begin() as session:
        users.deactivate_user(session=session, username="clinician", actor_name="t")
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_an_idle_session_ends(webapp):
    client = TestClient(create_app(webapp.settings.model_copy(update={"session_idle_s": 1})))
    assert login(client, "clinician").status_code == 303
    assert client.get("/patients", follow_redirects=False).status_code == 200
    time.sleep(2.2)  # the cookie's last-use time has one-second resolution
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_failed_logins_slow_that_client_but_never_lock_the_owner_out(webapp):
    settings = webapp.settings.model_copy(update={"trusted_proxies": ["testclient"]})
    client = TestClient(create_app(settings))
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(5):
        bad = client.post("/api/v1/token", data={"username": "admin", "password": "x" * 20}, headers=attacker)
        assert bad.status_code == 401
    throttled = client.post(
        "/api/v1/token", data={"username": "admin", "password": PASSWORD}, headers=attacker
    )
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    owner = {"X-Forwarded-For": "192.0.2.10"}
    assert (
        client.post(
            "/api/v1/token", data={"username": "admin", "password": PASSWORD}, headers=owner
        ).status_code
        == 200
    )


def test_forwarded_for_from_an_untrusted_peer_changes_nothing(webapp):
    client = webapp.client()  # no trusted proxies: the peer address counts, whatever the header says
    for n in range(5):
        headers = {"X-Forwarded-For": f"198.51.100.{n}"}
        client.post("/api/v1/token", data={"username": "admin", "password": "x" * 20}, headers=headers)
    again = client.post(
        "/api/v1/token",
        data={"username": "admin", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.99"},
    )
    assert again.status_code == 429


def test_an_admin_with_totp_needs_the_current_code_once(webapp):
    engine = db.make_engine(webapp.url)
    with db.session_factory(engine).begin() as session:
        secret = users.enable_totp(session=session, username="admin", actor_name="t")
    client = webapp.client()
    no_code = client.post("/api/v1/token", data={"username": "admin", "password": PASSWORD})
    assert no_code.status_code == 401
    code = totp.totp_at(totp._key(secret), time.time())
    form = {"username": "admin", "password": PASSWORD, "client_secret": code}
    assert client.post("/api/v1/token", data=form).status_code == 200
    assert client.post("/api/v1/token", data=form).status_code == 401  # the same code twice: replay


def test_the_chart_and_the_api_list_end_sessions_and_follow_role_changes_at_once(webapp):
    """The busiest routes read the user in their one worker-thread hop: the same session checks apply."""
    client = _logged_in(webapp, "clinician")
    headers = bearer(client, "clinician")
    patient = {"name": "Cora Quist", "birth_date": "1970-01-01", "skin_type": 3, "bmi": 24.0}
    patient_id = client.post("/api/v1/patients", json=patient, headers=headers).json()["id"]
    chart = f"/patients/{patient_id}"
    page = client.get(chart, follow_redirects=False)
    assert page.status_code == 200 and "Screen patient" in page.text and "(clinician)" in page.text
    engine = db.make_engine(webapp.url)
    with db.session_factory(engine).begin() as session:
        users.change_role(session=session, username="clinician", role="operator", actor_name="t")
    page = client.get(chart, follow_redirects=False)
    assert page.status_code == 200 and "(operator)" in page.text and "Screen patient" not in page.text
    stolen = dict(client.cookies)
    with db.session_factory(engine).begin() as session:
        users.set_password(session=session, username="clinician", password="a brand new passphrase",
                           actor_name="t")  # fmt: skip
    for who in (client, webapp.client()):
        who.cookies.update(stolen)
        response = who.get(chart, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/api/v1/patients", headers=headers).status_code == 401
    operator = _logged_in(webapp, "operator")
    token = bearer(operator, "operator")
    assert (
        operator.get(chart).status_code == 200
        and operator.get("/api/v1/patients", headers=token).status_code == 200
    )
    with db.session_factory(engine).begin() as session:
        users.deactivate_user(session=session, username="operator", actor_name="t")
    assert operator.get(chart, follow_redirects=False).headers["location"] == "/login"
    assert operator.get("/api/v1/patients", headers=token).status_code == 401
