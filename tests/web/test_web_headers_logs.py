"""Security headers on every response, no inline script or style in any template, and no patient data
in the server's log, even when a database error becomes a 500 (a real `laserdose serve` process)."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from conftest import PASSWORD, bearer, csrf_of, login
from laserdose.clinic import courses, db, patients
from laserdose.clinic.models import User

TEMPLATES = Path(__file__).parents[2] / "src" / "laserdose" / "web" / "templates"
SECRET_NAME = "Zelda Quintessa-Marlowe"


def _check_headers(response, patient_data: bool = True) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    if patient_data:
        assert headers["Cache-Control"] == "no-store"


def test_every_kind_of_response_carries_the_headers(webapp, client):
    login(client, "clinician")
    headers = bearer(client, "clinician")
    patient = client.post(
        "/api/v1/patients",
        json={"name": "Header Probe", "birth_date": "1960-01-01", "skin_type": 2, "bmi": 24},
        headers=headers,
    ).json()
    for path in (
        "/login",
        "/patients",
        f"/patients/{patient['id']}",
        "/patients/999999",
        "/nowhere",
        f"/patients/{patient['id']}/plan",
        "/api/docs",
    ):
        _check_headers(client.get(path))
    _check_headers(client.get("/api/v1/patients", headers=headers))
    _check_headers(client.get("/api/v1/patients/999999", headers=headers))
    _check_headers(
        client.post("/api/v1/patients", content=b"{", headers={**headers, "Content-Type": "application/json"})
    )
    static = client.get("/static/app.css")
    _check_headers(static, patient_data=False)
    assert "no-store" not in static.headers.get("Cache-Control", "")


def _course(webapp, name: str) -> int:
    """A course of a new patient called `name`, made by the seeded clinician; its id."""
    with db.session_factory(db.make_engine(webapp.url)).begin() as session:
        clinician = session.query(User).filter_by(username="clinician").one()
        patient = patients.add_patient(
            session=session, actor=clinician, name=name, birth_date=dt.date(1960, 1, 1), skin_type=2,
            bmi_kg_m2=24.0,
        )  # fmt: skip
        course = courses.create_course(
            session=session, actor=clinician, patient_id=patient.id, condition="chronic_nslbp",
            protocol="demo", plan={}, sessions_planned=6, sessions_per_week=2,
        )  # fmt: skip
        return course.id


def test_the_pdf_report_is_not_stored(webapp, client):
    course_id = _course(webapp, "Pdf Probe")
    login(client, "clinician")
    response = client.get(f"/courses/{course_id}/report.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    _check_headers(response)


def test_no_template_has_inline_script_style_or_handlers():
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template.name
        assert not re.search(r"\sstyle=", html), template.name
        assert not re.search(r"\son[a-z]+=", html), template.name
        assert "<style" not in html, template.name
        assert "hx-on" not in html, template.name  # htmx would need eval


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path, seeded_database):
    """`laserdose serve` on a copy of the seeded database where renaming a patient fails in the database."""
    path = tmp_path / "served.sqlite3"
    path.write_bytes(seeded_database.read_bytes())
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    with db.session_factory(engine).begin() as session:
        clinician = session.query(User).filter_by(username="clinician").one()
        patients.add_patient(
            session=session,
            actor=clinician,
            name=SECRET_NAME,
            birth_date=dt.date(1970, 2, 3),
            skin_type=3,
            bmi_kg_m2=25.0,
        )
        session.execute(
            text(
                "CREATE TRIGGER frozen BEFORE UPDATE ON patients "
                "BEGIN SELECT RAISE(ABORT, 'renames are frozen'); END"
            )
        )
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "LASERDOSE_ENVIRONMENT": "test",
        "LASERDOSE_SECRET_KEY": "s" * 40,
        "LASERDOSE_AUDIT_CHECKPOINT_FILE": str(tmp_path / "checkpoints.jsonl"),
    }
    log = tmp_path / "server.log"
    command = [
        sys.executable,
        "-c",
        "from laserdose.cli.main import app; app()",
        "serve",
        "--port",
        str(port),
        "--database-url",
        url,
    ]
    with log.open("w") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/login").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield base, log
        finally:
            process.terminate()
            process.wait(timeout=20)


def test_no_patient_name_reaches_the_log_even_from_a_500(served):
    base, log = served
    with httpx.Client(base_url=base) as client:
        token = client.post("/api/v1/token", data={"username": "clinician", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        found = client.get("/api/v1/patients", params={"q": "Zelda"}, headers=headers).json()
        assert [p["name"] for p in found["items"]] == [SECRET_NAME]
        pid = found["items"][0]["id"]
        body = {"name": SECRET_NAME + " Jr", "reason": "typo"}
        failed = client.patch(f"/api/v1/patients/{pid}", json=body, headers=headers)
        assert failed.status_code == 500 and SECRET_NAME not in failed.text
        client.post(
            "/api/v1/patients",
            json={"name": SECRET_NAME, "birth_date": 0, "skin_type": 3, "bmi": 20},
            headers=headers,
        )
        client.post(
            "/api/v1/patients",
            content=('{"name": "' + SECRET_NAME + '", "bmi": NaN}').encode(),
            headers={**headers, "Content-Type": "application/json"},
        )
        page = client.get("/login")
        form = {"username": "clinician", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
        client.post("/login", data=form)
        client.get("/patients", params={"q": SECRET_NAME})
        client.get(f"/patients/{pid}")
    time.sleep(0.3)
    written = log.read_text()
    assert f"500 on PATCH /api/v1/patients/{pid}" in written  # the error was logged, by type and place
    for part in SECRET_NAME.replace("-", " ").split():
        assert part not in written, f"{part!r} in the server log"


def test_the_course_report_prints_the_audit_state(webapp):
    with webapp.client() as client:  # `with`: the app starts, checks its audit log and writes a checkpoint
        course_id = _course(webapp, "Report Probe")
        login(client, "admin")
        status = client.get("/admin/audit-status")
        assert status.status_code == 200 and "Intact" in status.text and "Last checkpoint" in status.text
        login(client, "clinician")
        assert client.get("/admin/audit-status").status_code == 403  # admins only
        pdf = client.get(f"/courses/{course_id}/report.pdf").content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "audit log intact" in text and "checkpoint" in text
