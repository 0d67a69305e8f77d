"""The plan editor and the chart say when the target dose is an upper bound, and why."""

import html as html_lib
import re

from sqlalchemy import select

from conftest import csrf_of, login
from daykit import consent_fields
from laserdose.clinic import db
from laserdose.clinic.models import Course
from laserdose.optics.back import UPPER_BOUND_REASONS


def _screened_patient(client, diagnosis):
    login(client, "clinician")
    token = csrf_of(client.get("/patients/new").text)
    data = {"name": "Bound Patient", "birth_date": "1970-05-17", "skin_type": "3", "bmi": "27"}
    response = client.post("/patients/new", data=data | {"csrf_token": token}, follow_redirects=False)
    patient_id = int(response.headers["location"].rsplit("/", 1)[1])
    screening = {"diagnosis": diagnosis, "csrf_token": token}
    assert client.post(f"/patients/{patient_id}/screening/new", data=screening).status_code == 200
    return patient_id, token


def _values(token, protocol):
    return {
        "protocol": protocol, "device": "15w-dual", "area_cm2": "150", "skin_limit_c": "43", "fat_mm": "",
        "bmi": "27", "home_exercise": "", "advice": "", "csrf_token": token, "screening_id": "1",
        **consent_fields(),
    }  # fmt: skip


def _text(page):
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_editor_preview_and_the_chart_mark_a_facet_dose_as_an_upper_bound(client, webapp):
    patient_id, token = _screened_patient(client, "facet-pain")
    values = _values(token, "facet-pain")
    preview = client.post(f"/patients/{patient_id}/plan/preview", data=values).text
    bound = re.search(r'<p class="upper-bound" role="note" id="plan-upper-bound">(.*?)</p>', preview, re.S)
    assert bound is not None
    assert _text(bound.group(1)) == "The target dose is an upper bound. " + UPPER_BOUND_REASONS["facet_joint"]
    target = _text(re.search(r'id="plan-target">(.*?)</td>', preview, re.S).group(1))
    assert (
        target.startswith("facet_joint at") and ": at most " in target and target.endswith("an upper bound")
    )
    assert "tissue optics alone: x/÷" in target
    assert "Reference dose at most" in _text(preview)  # the reference participant's, at the same target
    created = client.post(f"/patients/{patient_id}/plan", data=values, follow_redirects=False)
    assert created.status_code == 303, created.text
    with db.session_factory(db.make_engine(webapp.url))() as session:
        course = session.scalars(select(Course)).one()
        assert course.plan["target"]["dose_is_upper_bound"] is True
    chart = client.get(created.headers["location"]).text
    assert (
        f'id="chart-upper-bound-{course.id}"' in chart and "cancellous bone filled with red marrow" in chart
    )


def test_a_multifidus_plan_has_no_upper_bound_note(client):
    patient_id, token = _screened_patient(client, "chronic-nonspecific-lbp")
    preview = client.post(
        f"/patients/{patient_id}/plan/preview", data=_values(token, "chronic-nonspecific-lbp")
    )
    assert 'id="plan-upper-bound"' not in preview.text and "target dose is an upper bound" not in preview.text
    assert "tissue optics alone: x/÷" in _text(preview.text)
