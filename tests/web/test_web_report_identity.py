"""Every page of the plan and course PDFs names the patient and the signed plan (text read with pdftotext)."""

import datetime as dt
import hashlib
import json
import re
import subprocess

import pytest
from sqlalchemy import select

from conftest import csrf_of, login
from daykit import consent_fields
from laserdose.clinic import audit, db, treatment
from laserdose.clinic.models import AuditEntry, Course, User
from laserdose.clinic.plans import stored_plan
from plan_protocols import WIDE_PROTOCOL, write_wide_protocol

BORN = "1970-05-17"


@pytest.fixture(autouse=True)
def clinic_protocols(tmp_path, monkeypatch):
    monkeypatch.setenv("LASERDOSE_PROTOCOLS_DIR", str(write_wide_protocol(tmp_path / "protocols")))


def _pages(pdf: bytes) -> list[str]:
    """The text of each page (pdftotext, page by page)."""
    count = int(re.search(rb"/Count (\d+)", pdf).group(1))
    return [
        subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-", "-"], input=pdf, capture_output=True,
                       check=True).stdout.decode()
        for n in range(1, count + 1)
    ]  # fmt: skip


def _plan_form(token: str, area_cm2: str) -> dict[str, str]:
    return {
        "protocol": WIDE_PROTOCOL, "device": "15w-dual", "area_cm2": area_cm2, "skin_limit_c": "43",
        "fat_mm": "", "bmi": "27", "home_exercise": "", "advice": "", "csrf_token": token,
        "screening_id": "1", **consent_fields("Ada Identity-Check"),
        # the plan may fall outside the band: signed with the acknowledgement, as a clinician would
        "accept_outside_window": "yes", "outside_window_reason": "report identity only; dose not studied",
    }  # fmt: skip


@pytest.fixture
def signed(client, webapp):
    """A patient planned and signed in the plan editor: (patient id, csrf token)."""
    login(client, "clinician")
    token = csrf_of(client.get("/patients/new").text)
    data = {
        "name": "Ada Identity-Check",
        "birth_date": BORN,
        "skin_type": "3",
        "bmi": "27",
        "csrf_token": token,
    }
    patient_id = int(client.post("/patients/new", data=data, follow_redirects=False).headers["location"][10:])
    client.post(f"/patients/{patient_id}/screening/new", data={"diagnosis": "chronic-nonspecific-lbp",
                                                               "csrf_token": token})  # fmt: skip
    plan = _plan_form(token, "150") | consent_fields()  # signing needs the consent since the clinic day
    assert client.post(f"/patients/{patient_id}/plan", data=plan, follow_redirects=False).status_code == 303
    return patient_id, token


def _signing(webapp):
    """(course, the signing's audit entry, the SHA-256 of the stored plan's canonical JSON, computed here)."""
    with db.session_factory(db.make_engine(webapp.url))() as session:
        course = session.scalars(select(Course)).one()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.sign")).one()
        # The canonical JSON as the plan document defines it: sorted keys, no spaces (hashed here anew).
        canonical = json.dumps(
            stored_plan(course).model_dump(mode="json"), sort_keys=True, separators=(",", ":")
        )
        session.expunge_all()
    return course, entry, hashlib.sha256(canonical.encode()).hexdigest()


def _assert_identified(page: str, patient_id: int, course: Course, sha256: str) -> None:
    assert "Ada Identity-Check" in page and f"born {BORN}" in page
    assert f"record no. LD-{patient_id}" in page
    assert f"Plan signed by clinician on {course.signed_at:%Y-%m-%d %H:%M:%S} UTC" in page
    assert f"plan SHA-256 {sha256[:16]}..." in page


def test_every_page_of_the_signed_plan_names_the_patient_and_the_signature(client, webapp, signed):
    patient_id, _ = signed
    course, entry, sha256 = _signing(webapp)
    assert entry.details["plan_sha256"] == sha256
    pages = _pages(client.get(f"/courses/{course.id}/plan.pdf").content)
    assert len(pages) >= 4  # plan table, curves, laser safety, sources
    for number, page in enumerate(pages, start=1):
        _assert_identified(page, patient_id, course, sha256)
        assert f"audit log entry {entry.id} (course.sign)" in page
        assert f"page {number} of {len(pages)}" in page
    first = re.sub(r"\s+", "", pages[0])
    assert sha256 in first  # in full on the first page
    assert "patientname-" not in first  # the old report's nameless row


def test_a_plan_that_is_not_the_signed_one_gets_no_report(client, webapp, signed):
    course, entry, sha256 = _signing(webapp)
    with db.session_factory(
        db.make_engine(webapp.url)
    ).begin() as session:  # a later signing, of another plan
        audit.record(session=session, actor="clinician", action="course.sign", entity="courses",
                     entity_id=course.id, details={"plan_sha256": "0" * 64})  # fmt: skip
    response = client.get(f"/courses/{course.id}/plan.pdf")
    assert response.status_code == 422 and "differs from the one signed" in response.text
    assert not response.content.startswith(b"%PDF")


def test_the_editor_report_of_a_draft_says_it_is_not_signed_on_every_page(client, signed):
    patient_id, token = signed
    plan = _plan_form(token, "120")
    pages = _pages(client.post(f"/patients/{patient_id}/plan/report.pdf", data=plan).content)
    for page in pages:
        assert "Ada Identity-Check" in page and f"record no. LD-{patient_id}" in page
        assert "Plan NOT SIGNED (draft)" in page


def test_every_page_of_a_long_course_report_names_the_patient_and_the_signature(client, webapp, signed):
    patient_id, _ = signed
    course, entry, sha256 = _signing(webapp)
    start = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    with db.session_factory(db.make_engine(webapp.url)).begin() as session:
        operator = session.scalars(select(User).where(User.username == "operator")).one()
        # The course began before its first session (a session is not dated before its course was created).
        session.get(Course, course.id).created_at = start - dt.timedelta(days=1)
        for day in range(30):  # more than the first page holds
            treatment.record_session(
                db=session, actor=operator, course_id=course.id, started_at=start + dt.timedelta(days=day),
                duration_s=100.0, energy_j_by_wavelength={810: 500.0}, interruptions=[], completed=True,
            )  # fmt: skip
    pages = _pages(client.get(f"/courses/{course.id}/report.pdf").content)
    assert len(pages) == 2
    for number, page in enumerate(pages, start=1):
        _assert_identified(page, patient_id, course, sha256)
        assert f"page {number} of 2" in page
    assert sha256 in pages[0] and f"audit log entry {entry.id} (course.sign)" in pages[0]
    listed = [day for page in pages for day in re.findall(r"^(2026-\d\d-\d\d) 09:00 UTC$", page, re.M)]
    assert listed == [f"{start + dt.timedelta(days=day):%Y-%m-%d}" for day in range(30)]  # none dropped
