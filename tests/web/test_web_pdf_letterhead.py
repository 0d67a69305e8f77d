"""The PDFs the clinic issues carry its name (setting `clinic_name`), the machine's maker and page n of N."""

import subprocess

import pytest
from sqlalchemy import select

from conftest import WebApp, csrf_of, login
from daykit import consent_fields
from laserdose.clinic import db
from laserdose.clinic.models import User
from laserdose.web.settings import WebSettings
from qakit import SERIAL, record_check

CLINIC = "Riverside Spine & Physio"


@pytest.fixture
def named(webapp) -> WebApp:
    settings = WebSettings(**(webapp.settings.model_dump() | {"clinic_name": CLINIC}))
    return WebApp(webapp.url, settings)


def _pages(pdf: bytes) -> list[str]:
    assert pdf.startswith(b"%PDF-")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode().split("\f")[:-1]


def _signed_course(client) -> tuple[int, str]:
    """A patient screened "treat" and a course signed in the plan editor (a planner's plan document)."""
    token = csrf_of(client.get("/patients/new").text)
    data = {"name": "Letterhead Patient", "birth_date": "1970-05-17", "skin_type": "3", "bmi": "27"}
    response = client.post("/patients/new", data=data | {"csrf_token": token}, follow_redirects=False)
    patient_id = int(response.headers["location"].rsplit("/", 1)[1])
    client.post(f"/patients/{patient_id}/screening/new",
                data={"diagnosis": "chronic-nonspecific-lbp", "csrf_token": token})  # fmt: skip
    values = {
        "protocol": "chronic-nonspecific-lbp", "device": "15w-dual", "area_cm2": "150", "skin_limit_c": "43",
        "fat_mm": "", "bmi": "27", "home_exercise": "", "advice": "", "csrf_token": token,
        "screening_id": "1", "accept_outside_window": "yes", "outside_window_reason": "letterhead test",
        **consent_fields(),
    }  # fmt: skip
    response = client.post(f"/patients/{patient_id}/plan", data=values, follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("#course-", 1)[1]), token


def test_course_plan_and_qa_reports_carry_the_letterhead_on_every_page(named):
    client = named.client()
    login(client, "clinician")
    course_id, _token = _signed_course(client)
    reports = {
        "Course report": client.get(f"/courses/{course_id}/report.pdf").content,
        f"Treatment plan, course {course_id}": client.get(f"/courses/{course_id}/plan.pdf").content,
    }
    for title, pdf in reports.items():
        pages = _pages(pdf)
        for number, text in enumerate(pages, start=1):
            assert CLINIC in text and title in text, f"{title}, page {number}"
            assert "Machine: laserdose demo devices Dual 15 (class 4)" in text  # 15w-dual.toml
            assert f"page {number} of {len(pages)}" in text
    assert len(_pages(reports[f"Treatment plan, course {course_id}"])) > 1


def test_the_clinic_name_defaults_and_is_validated():
    assert WebSettings().clinic_name == "laserdose clinic"
    with pytest.raises(ValueError, match="clinic_name"):
        WebSettings(clinic_name="")


def test_the_qa_report_carries_the_letterhead(named):
    engine = db.make_engine(named.url)
    with db.session_factory(engine).begin() as session:
        record_check(session, session.scalars(select(User).where(User.username == "operator")).one())
    engine.dispose()
    client = named.client()
    login(client, "operator")
    [page] = _pages(client.get(f"/machines/{SERIAL}/qa-report.pdf").content)
    assert CLINIC in page and "Output power QA report" in page and "page 1 of 1" in page
    assert "Machine: laserdose demo devices Dual 15 (class 4)" in page


def test_the_pages_carry_the_clinic_name_in_their_header(named):
    client = named.client()
    assert CLINIC.replace("&", "&amp;") in client.get("/login").text
