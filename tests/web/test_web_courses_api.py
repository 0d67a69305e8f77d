"""Courses and session records over the API: create, sign, report a session; roles and validation."""

import datetime as dt

import pytest

from conftest import bearer
from laserdose.clinic import db
from laserdose.clinic.models import Course, User, utcnow

ANNA = {"name": "Anna Berg", "birth_date": "1970-05-17", "skin_type": 3, "bmi": 26.5}
COURSE = {"condition": "chronic_nslbp", "protocol": "demo", "plan": {"power_w": 10.0}, "sessions_planned": 12,
          "sessions_per_week": 3, "home_exercise": "walking 30 min daily"}  # fmt: skip
RECORD = {
    "started_at": "2026-03-02T10:00:00+01:00",
    "duration_s": 300.0,
    "energy_j_by_wavelength": {"810": 1500.0, "980": 1200.0},
    "interruptions": [{"at_s": 120.0, "reason": "footswitch released"}],
    "completed": False,
}


@pytest.fixture
def course(client):
    clinician = bearer(client, "clinician")
    patient = client.post("/api/v1/patients", json=ANNA, headers=clinician).json()
    created = client.post(f"/api/v1/patients/{patient['id']}/courses", json=COURSE, headers=clinician)
    assert created.status_code == 201 and created.json()["signed_at"] is None
    return created.json()


def _sign_in_database(webapp, course_id):
    """The row as the signing gate leaves it: the API signs only planner-made plans (tested below)."""
    with db.session_factory(db.make_engine(webapp.url)).begin() as session:
        clinician = session.query(User).filter_by(username="clinician").one()
        course = session.get(Course, course_id)
        course.signed_by_id, course.signed_at = clinician.id, utcnow()
        # Dated back: a session is not dated before its course was created (RECORD is of 2026-03-02).
        course.created_at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def test_the_api_signs_only_plans_made_by_the_planner(client, course):
    # A plan posted over the API was never checked against the skin limit or the reference band.
    url = f"/api/v1/courses/{course['id']}/sign"
    assert client.post(url, headers=bearer(client, "operator")).status_code == 403
    refused = client.post(url, headers=bearer(client, "clinician"))
    assert refused.status_code == 422 and "plan editor" in refused.json()["detail"]
    assert (
        client.get(f"/api/v1/courses/{course['id']}", headers=bearer(client, "clinician")).json()["signed_at"]
        is None
    )


def test_signed_course_takes_session_records(webapp, client, course):
    clinician, operator = bearer(client, "clinician"), bearer(client, "operator")
    url = f"/api/v1/courses/{course['id']}/sessions"
    response = client.post(url, json=RECORD, headers=operator)
    assert response.status_code == 422 and "no signed plan" in response.json()["detail"]
    _sign_in_database(webapp, course["id"])
    stored = client.post(url, json=RECORD, headers=operator)
    assert stored.status_code == 201
    assert stored.json()["energy_j_by_wavelength"] == {"810": 1500.0, "980": 1200.0}
    listed = client.get(url, headers=clinician).json()
    assert listed == [stored.json()]
    assert listed[0]["started_at"] in ("2026-03-02T09:00:00Z", "2026-03-02T09:00:00+00:00")  # UTC kept


@pytest.mark.parametrize(
    ("started_at", "message"),
    [
        ("0001-01-01T00:00:00+00:01", "is not a time this clinic can record"),  # found by schemathesis
        (
            "2025-12-31T23:00:00+00:00",
            "session start 2025-12-31 is before the course was created (2026-01-02)",
        ),
        ("1969-05-17T10:00:00+00:00", "is before the patient's birth date (1970-05-17)"),
    ],
)
def test_session_dates_follow_the_clinic_date_rules(webapp, client, course, started_at, message):
    _sign_in_database(webapp, course["id"])
    url, body = f"/api/v1/courses/{course['id']}/sessions", {**RECORD, "started_at": started_at}
    response = client.post(url, json=body, headers=bearer(client, "operator"))
    assert response.status_code == 422 and message in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"started_at": "2026-03-02T09:00:00"}, "started_at"),  # no time zone: ambiguous
        ({"duration_s": -1}, "duration_s"),
        ({"energy_j_by_wavelength": {"810": -5.0}}, "energy_j_by_wavelength"),
        ({"interruptions": [{"at_s": 1.0}]}, "interruptions"),
    ],
)
def test_bad_session_records_name_the_field(webapp, client, course, change, field):
    _sign_in_database(webapp, course["id"])
    response = client.post(f"/api/v1/courses/{course['id']}/sessions", json={**RECORD, **change},
                           headers=bearer(client, "operator"))  # fmt: skip
    assert response.status_code == 422 and field in response.json()["detail"][0]["loc"]


def test_operator_and_admin_cannot_create_courses(client, course):
    for role in ("operator", "admin"):
        url = f"/api/v1/patients/{course['patient_id']}/courses"
        assert client.post(url, json=COURSE, headers=bearer(client, role)).status_code == 403
    assert client.get(f"/api/v1/courses/{course['id']}").status_code == 401


def test_the_api_serves_the_plan_documents_json_schema(client):
    schema = client.get("/api/v1/schema/plan")
    assert schema.status_code == 200
    assert schema.json()["discriminator"]["propertyName"] == "decision"
    assert set(schema.json()["$defs"]) >= {"TreatmentPlan", "Refusal", "Delivery", "TargetDose"}
