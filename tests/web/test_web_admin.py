"""Admin pages: users (add, role, password, deactivate: sessions end) and the audit log (filters, pages);
logins, logouts and chart views in the audit log."""

from conftest import PASSWORD, bearer, csrf_of, login
from laserdose.clinic.access_audit import UNKNOWN_USER

NEW_PASSWORD = "a fresh long passphrase"


def _post(client, url: str, page: str, **data):
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_only_admins_reach_the_admin_pages(client):
    for who in ("clinician", "operator"):
        login(client, who)
        for url in ("/admin/users", "/admin/audit"):
            response = client.get(url, headers={"Accept": "text/html"})
            assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
            assert "Only an admin can" in response.text


def test_an_admin_adds_a_user_who_can_then_log_in(client, webapp):
    login(client, "admin")
    response = _post(
        client, "/admin/users", "/admin/users", username="nora", role="clinician", password=PASSWORD,
        password_again=PASSWORD,
    )  # fmt: skip
    assert response.status_code == 303
    assert "Added nora as clinician." in client.get(response.headers["location"]).text
    other = webapp.client()
    assert login(other, "nora").status_code == 303


def test_a_refused_password_is_said_beside_its_field_and_the_name_kept(client):
    login(client, "admin")
    response = _post(
        client, "/admin/users", "/admin/users", username="nora", role="operator", password="short",
        password_again="short",
    )  # fmt: skip
    assert response.status_code == 422
    assert 'id="new-password-error">Password must have at least 15 characters (it has 5).' in response.text
    assert 'value="nora"' in response.text and '<option value="operator" selected>' in response.text
    assert 'value="short"' not in response.text  # passwords are never put back into the page


def test_deactivation_ends_that_users_sessions_and_tokens(client, webapp):
    operator = webapp.client()
    login(operator, "operator")
    token = bearer(operator, "operator")
    assert operator.get("/patients", follow_redirects=False).status_code == 200
    login(client, "admin")
    response = _post(client, "/admin/users/operator/deactivate", "/admin/users")
    assert response.status_code == 303
    assert operator.get("/patients", follow_redirects=False).headers["location"] == "/login"
    assert operator.get("/api/v1/patients", headers=token).status_code == 401
    assert login(operator, "operator").status_code == 401


def test_a_password_reset_ends_sessions_and_the_new_password_works(client, webapp):
    clinician = webapp.client()
    login(clinician, "clinician")
    login(client, "admin")
    response = _post(
        client, "/admin/users/clinician/password", "/admin/users", password=NEW_PASSWORD,
        password_again=NEW_PASSWORD,
    )  # fmt: skip
    assert response.status_code == 303
    assert clinician.get("/patients", follow_redirects=False).status_code == 303
    assert login(webapp.client(), "clinician", NEW_PASSWORD).status_code == 303


def test_role_changes_and_the_last_admin_stays(client):
    login(client, "admin")
    assert _post(client, "/admin/users/operator/role", "/admin/users", role="clinician").status_code == 303
    assert "<td>operator</td>\n    <td>clinician</td>" in client.get("/admin/users").text
    refused = _post(client, "/admin/users/admin/role", "/admin/users", role="operator")
    assert refused.status_code == 422
    assert (
        "The user admin is the only active admin; make another admin before you change the role of admin."
        in refused.text
    )


def test_logins_logouts_and_chart_views_are_audited_without_passwords(client, webapp):
    headers = bearer(client, "clinician")
    patient = client.post(
        "/api/v1/patients", json={"name": "Anna Berg", "record_number": "R-1", "birth_date": "1970-05-17",
                                  "skin_type": 3, "bmi": 26.5}, headers=headers,
    ).json()  # fmt: skip
    other = webapp.client()
    assert login(other, "clinician", "not the password at all").status_code == 401
    assert login(other, "someone-else", PASSWORD).status_code == 401
    login(other, "clinician")
    other.get(f"/patients/{patient['id']}")
    _post(other, "/logout", "/patients")
    login(client, "admin")
    page = client.get("/admin/audit").text
    assert "not the password" not in page and PASSWORD not in page and "someone-else" not in page
    rows = client.get("/admin/audit", params={"person": "clinician"}).text
    for action in ("login.failed", "login", "patient.view", "logout"):
        assert f"<td>{action}</td>" in rows
    assert f"<td>{UNKNOWN_USER}</td>" in page
    about = client.get("/admin/audit", params={"patient": "r-1", "action": "patient.view"}).text
    assert "1-1 of 1 rows" in about and f'href="/patients/{patient["id"]}"' in about
    chart = client.get(f"/patients/{patient['id']}").text  # the admin's chart links to its audit trail
    assert 'href="/admin/audit?patient=R-1" id="audit-trail"' in chart


def test_the_audit_log_pages_and_refuses_a_bad_date_in_words(client):
    for _ in range(3):
        bearer(client, "operator")  # each login is a row
    login(client, "admin")
    first = client.get("/admin/audit", params={"action": "login", "person": "operator"}).text
    assert "1-3 of 3 rows" in first
    bad = client.get("/admin/audit", params={"from": "2026-13-01"})
    assert bad.status_code == 422 and "From: type a date as YYYY-MM-DD" in bad.text
    backwards = client.get("/admin/audit", params={"from": "2026-03-02", "to": "2026-03-01"})
    assert "The From day 2026-03-02 is after the To day 2026-03-01; swap them." in backwards.text
    empty = client.get("/admin/audit", params={"from": "1999-01-01", "to": "1999-01-02"}).text
    assert "No rows match." in empty
    assert 'id="audit-state"' in first


def test_a_change_to_an_unknown_user_is_said_at_the_top(client):
    login(client, "admin")
    response = _post(client, "/admin/users/nobody/deactivate", "/admin/users")
    assert response.status_code == 422 and 'id="error-unknown">No user &#39;nobody&#39;.' in response.text


def test_checked_logins_are_audited_and_throttled_ones_are_not(client, webapp):
    from sqlalchemy import func, select

    from laserdose.clinic import db
    from laserdose.clinic.models import AuditEntry

    statuses = [
        client.post(
            "/api/v1/token", data={"username": "operator", "password": "wrong password here"}
        ).status_code
        for _ in range(webapp.settings.login_attempts + 3)
    ]
    assert 429 in statuses  # the throttle stepped in
    engine = db.make_engine(webapp.url)
    with db.session_factory(engine)() as session:
        failed = session.scalar(select(func.count()).where(AuditEntry.action == "login.failed"))
    engine.dispose()
    assert failed == statuses.count(401)
