"""`laserdose db upgrade`, `users add`, `audit verify` end to end on an SQLite file."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from laserdose.cli.main import app
from laserdose.clinic import db
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'clinic.sqlite3'}"


def run(*args, stdin=None):
    return CliRunner().invoke(app, list(args), input=stdin)


def test_upgrade_add_user_verify(url):
    result = run("db", "upgrade", "--database-url", url)
    assert result.exit_code == 0 and "is at revision 0008_corrections" in result.stdout
    result = run(
        "users",
        "add",
        "alice",
        "--role",
        "admin",
        "--database-url",
        url,
        "--json",
        stdin="a long s3cret passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"id": 1, "username": "alice", "role": "admin"}
    result = run("audit", "verify", "--database-url", url)
    assert result.exit_code == 0 and "intact: 1 rows" in result.stdout


def test_bad_role_and_short_password_exit_2(url):
    run("db", "upgrade", "--database-url", url)
    result = run(
        "users", "add", "bob", "--role", "root", "--database-url", url, stdin="a long s3cret passphrase\n"
    )
    assert result.exit_code == 2 and "unknown role 'root'" in result.stderr
    result = run("users", "add", "bob", "--role", "operator", "--database-url", url, stdin="short\n")
    assert result.exit_code == 2 and "at least 15 characters" in result.stderr


def test_tampering_exits_1_naming_the_row(url):
    run("db", "upgrade", "--database-url", url)
    for name in ("ann", "ben", "cat"):
        run(
            "users",
            "add",
            name,
            "--role",
            "clinician",
            "--database-url",
            url,
            stdin="a long s3cret passphrase\n",
        )
    with db.make_engine(url).begin() as connection:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(text('UPDATE audit_log SET details = \'{"role": "admin"}\' WHERE id = 2'))
    result = run("audit", "verify", "--database-url", url)
    assert result.exit_code == 1
    assert "BROKEN: row 2: content does not match its hash" in result.stderr


def test_unsupported_url_is_an_input_error():
    result = run("db", "upgrade", "--database-url", "mysql://x")
    assert result.exit_code == 2 and "unsupported database URL 'mysql'" in result.stderr


def test_serve_refuses_default_secret_in_production(monkeypatch, url):
    monkeypatch.setenv("LASERDOSE_ENVIRONMENT", "production")
    monkeypatch.delenv("LASERDOSE_SECRET_KEY", raising=False)
    result = run("serve", "--database-url", url)
    assert result.exit_code == 2 and "LASERDOSE_SECRET_KEY must be set" in result.stderr


def test_serve_refuses_an_unmigrated_database(monkeypatch, url):
    monkeypatch.setenv("LASERDOSE_ENVIRONMENT", "development")
    result = run("serve", "--database-url", url)
    assert result.exit_code == 2 and "run `laserdose db upgrade` first" in result.stderr


def test_serve_refuses_a_database_behind_the_migrations(monkeypatch, url):
    monkeypatch.setenv("LASERDOSE_ENVIRONMENT", "development")
    db.upgrade(db.make_engine(url), "0001")  # a clinic database from before the treatment console
    result = run("serve", "--database-url", url)
    assert result.exit_code == 2 and "is at revision 0001" in result.stderr and "db upgrade" in result.stderr


def test_seed_demo_prints_working_passwords_and_refuses_twice(url):
    from laserdose.clinic import users

    run("db", "upgrade", "--database-url", url)
    result = run("db", "seed-demo", "--database-url", url)
    assert result.exit_code == 0, result.output
    passwords = dict(line.split()[::2] for line in result.stdout.splitlines()[1:])  # "  NAME  password PW"
    assert set(passwords) == {"admin", "clinician", "operator"}
    with db.session_factory(db.make_engine(url))() as session:
        user = users.authenticate(session=session, username="operator", password=passwords["operator"])
        assert user is not None and user.role == "operator"
    assert run("audit", "verify", "--database-url", url).exit_code == 0
    again = run("db", "seed-demo", "--database-url", url)
    assert again.exit_code == 2 and "already has users" in again.stderr


def test_list_and_deactivate_users(url):
    run("db", "upgrade", "--database-url", url)
    run(
        "users",
        "add",
        "olga",
        "--role",
        "operator",
        "--database-url",
        url,
        stdin="a long s3cret passphrase\n",
    )
    listed = json.loads(run("users", "list", "--database-url", url, "--json").stdout)
    assert listed == {"users": [{"id": 1, "username": "olga", "role": "operator", "active": True}]}
    assert run("users", "deactivate", "olga", "--database-url", url).exit_code == 0
    client = TestClient(create_app(WebSettings(environment="test", secret_key="k" * 40, database_url=url)))
    token = client.post("/api/v1/token", data={"username": "olga", "password": "a long s3cret passphrase"})
    assert token.status_code == 401  # a deactivated user cannot log in
    again = run("users", "deactivate", "olga", "--database-url", url)
    assert again.exit_code == 2 and "already deactivated" in again.stderr
    assert run("audit", "verify", "--database-url", url).exit_code == 0


def test_audit_checkpoint_then_truncation_exits_1(url):
    run("db", "upgrade", "--database-url", url)
    for name in ("ann", "ben", "cat"):
        run(
            "users",
            "add",
            name,
            "--role",
            "clinician",
            "--database-url",
            url,
            stdin="a long s3cret passphrase\n",
        )
    result = run("audit", "checkpoint", "--database-url", url)
    assert result.exit_code == 0 and "intact: 3 rows" in result.output and "last checkpoint" in result.output
    with db.make_engine(url).begin() as connection:
        connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        connection.execute(text("DELETE FROM audit_log WHERE id = 3"))  # the newest row
    result = run("audit", "verify", "--database-url", url)
    assert result.exit_code == 1 and "rows were removed" in result.stderr


def test_password_change_ends_api_tokens(url):
    run("db", "upgrade", "--database-url", url)
    run(
        "users",
        "add",
        "olga",
        "--role",
        "operator",
        "--database-url",
        url,
        stdin="a long s3cret passphrase\n",
    )
    client = TestClient(create_app(WebSettings(environment="test", secret_key="k" * 40, database_url=url)))
    token = client.post("/api/v1/token", data={"username": "olga", "password": "a long s3cret passphrase"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    result = run("users", "passwd", "olga", "--database-url", url, stdin="another long passphrase\n")
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/patients", headers=headers).status_code == 401
