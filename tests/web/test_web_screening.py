"""Screening through the CLI, the API and the web form: one rule table, the same decision for every code;
the referral path through the web pages and the API; wording that says only what applies."""

import datetime as dt
import html
import json
import re

import pytest

from conftest import bearer, csrf_of, login
from laserdose.clinical.screening_rules import CONTRAINDICATIONS, DIAGNOSES, PRECAUTIONS, RED_FLAGS

KINDS = {"red_flags": RED_FLAGS, "contraindications": CONTRAINDICATIONS, "precautions": PRECAUTIONS}
TODAY = dt.datetime.now(dt.UTC).date().isoformat()  # a referral is seen on or after the day it is made
CASES = [(kind, code) for kind, rules in KINDS.items() for code in sorted(rules)]
PATIENT_TOML = """
skin_type = 3
bmi = 27.0
area_cm2 = 150
[screening]
diagnosis = "{diagnosis}"
{kind} = ["{code}"]
"""


def _patient(client, birth_date="1968-01-10", skin_type="3"):
    token = csrf_of(client.get("/patients/new").text)
    data = {"name": "Screen Patient", "birth_date": birth_date, "skin_type": skin_type, "bmi": "27"}
    response = client.post("/patients/new", data=data | {"csrf_token": token}, follow_redirects=False)
    return int(response.headers["location"].rsplit("/", 1)[1]), token


def _web_decision(page: str) -> tuple[str, list[str]]:
    label = re.search(r'id="decision-preview">([^<]+)<', page).group(1)
    codes = re.findall(r"<tr><td>([a-z0-9-]+)</td>", page)
    return label, codes


def _label(data):
    return f"refer ({data['urgency']})" if data["decision"] == "refer" else data["decision"]


@pytest.fixture
def patient(client):
    login(client, "clinician")
    return _patient(client)


@pytest.mark.parametrize(("kind", "code"), CASES)
def test_cli_api_and_web_form_agree_on_every_code(client, patient, cli, tmp_path, kind, code):
    patient_id, token = patient
    diagnosis = "chronic-nonspecific-lbp"
    path = tmp_path / "patient.toml"
    path.write_text(PATIENT_TOML.format(diagnosis=diagnosis, kind=kind, code=code))
    result = cli("screen", "--patient", path, "--json")
    assert result.exit_code == 0, result.output
    by_cli = json.loads(result.stdout)
    api = client.post(
        "/api/v1/screening/decide", headers=bearer(client, "clinician"),
        json={"diagnosis": diagnosis, kind: [code], "skin_type": 3},
    )  # fmt: skip
    assert api.status_code == 200, api.text
    by_api = api.json()
    preview = client.post(
        f"/patients/{patient_id}/screening/preview",
        data={"diagnosis": diagnosis, kind: code, "csrf_token": token},
    )
    label, codes = _web_decision(preview.text)
    assert by_cli == by_api
    assert label == _label(by_cli)
    assert codes == [reason["code"] for reason in by_cli["reasons"]]
    assert codes[0] == code  # every code here is more cautious than the chronic LBP diagnosis it joins


@pytest.mark.parametrize("diagnosis", sorted(DIAGNOSES))
def test_cli_and_api_agree_on_every_diagnosis(client, cli, tmp_path, diagnosis):
    login(client, "clinician")
    path = tmp_path / "patient.toml"
    path.write_text(PATIENT_TOML.format(diagnosis=diagnosis, kind="precautions", code="dvt"))
    by_cli = json.loads(cli("screen", "--patient", path, "--json").stdout)
    api = client.post(
        "/api/v1/screening/decide", headers=bearer(client, "clinician"),
        json={"diagnosis": diagnosis, "precautions": ["dvt"], "skin_type": 3},
    )  # fmt: skip
    assert by_cli == api.json()


@pytest.mark.parametrize(
    ("birth_date", "skin_type", "says", "never"),
    [
        # A 58-year-old of skin type III: the record adds nothing (the old text claimed both).
        ("1968-01-10", "3", "nothing in the record adds a term", ("dark-skin", "age-under-20")),
        ("1968-01-10", "6", "the dark-skin precaution", ("age-under-20",)),
        ("2008-01-10", "2", "the age-under-20 red flag", ("dark-skin", "age-under-16")),
    ],
)
def test_the_form_says_only_what_the_record_adds(client, birth_date, skin_type, says, never):
    login(client, "clinician")
    patient_id, _token = _patient(client, birth_date, skin_type)
    page = client.get(f"/patients/{patient_id}/screening/new").text
    automatic = re.search(r'<p id="automatic">(.*?)</p>', page, re.S).group(1)
    assert says in automatic
    assert not any(term in automatic for term in never)


def _screen(client, patient_id, token, **answers):
    data = {"diagnosis": "chronic-nonspecific-lbp", "csrf_token": token} | answers
    return client.post(f"/patients/{patient_id}/screening/new", data=data)


def test_referral_outcome_opens_the_plan_editor_and_the_chart_shows_it(client, patient):
    patient_id, token = patient
    page = _screen(client, patient_id, token, red_flags=["pulsatile-abdominal-mass"]).text
    assert 'id="referral-status">open<' in page and "Referral (emergency)" in page
    assert 'id="open-plan"' not in page and "the referral must be cleared or overridden first" in page
    action = re.search(r'action="(/referrals/\d+/outcome)"', page).group(1)
    bad = client.post(action, data={"seen_by": "", "seen_on": "yesterday", "csrf_token": token})
    assert bad.status_code == 422
    assert "say who saw the patient" in bad.text and "YYYY-MM-DD" in bad.text and "choose cleared" in bad.text
    good = client.post(
        action,
        data={"seen_by": "Dr V. Ascular", "seen_on": TODAY, "cleared": "yes", "note": "scan normal",
              "csrf_token": token},
    )  # fmt: skip
    assert good.status_code == 200 and 'id="referral-status">cleared<' in good.text
    assert 'id="open-plan"' in good.text
    chart = client.get(f"/patients/{patient_id}").text
    history = re.search(r'<table id="screening-history">(.*?)</table>', chart, re.S).group(1)
    assert "emergency: cleared" in history and "Dr V. Ascular" in history and "scan normal" in history


def test_override_needs_a_reason_and_is_shown_on_the_chart(client, patient):
    patient_id, token = patient
    page = _screen(client, patient_id, token, red_flags=["osteoporosis"]).text
    action = re.search(r'action="(/referrals/\d+/override)"', page).group(1)
    refused = client.post(action, data={"override_reason": "  ", "csrf_token": token})
    assert refused.status_code == 422 and "reason is required" in refused.text
    done = client.post(
        action, data={"override_reason": "DEXA and X-ray last week normal", "csrf_token": token}
    )
    assert 'id="referral-status">overridden<' in done.text and 'id="open-plan"' in done.text
    chart = client.get(f"/patients/{patient_id}").text
    assert "Override: DEXA and X-ray last week normal" in html.unescape(chart)


def test_rescreening_that_drops_a_contraindication_asks_why_and_keeps_the_answers(client, patient):
    patient_id, token = patient
    _screen(client, patient_id, token, contraindications=["infection-at-site"])
    again = _screen(client, patient_id, token, precautions=["dvt"])
    assert again.status_code == 422
    assert "the previous screening had infection-at-site; say why it no longer applies" in again.text
    assert re.search(r'value="dvt" checked', again.text)  # what was typed is kept
    done = _screen(client, patient_id, token, precautions=["dvt"], drop_reason="infection healed, seen today")
    assert "No longer present since the previous screening: infection-at-site" in done.text
    chart = client.get(f"/patients/{patient_id}").text
    assert chart.count('<tr id="screening-') == 2  # the whole history, not only the latest


def test_api_referral_path(client):
    headers = bearer(client, "clinician")
    created = client.post(
        "/api/v1/patients", headers=headers,
        json={"name": "Api Patient", "birth_date": "1960-03-01", "skin_type": 2, "bmi": 25.0},
    ).json()  # fmt: skip
    body = {"diagnosis": "radicular-pain", "red_flags": ["loss-of-rectal-sensation"]}
    screening = client.post(f"/api/v1/patients/{created['id']}/screenings", headers=headers, json=body)
    assert screening.status_code == 201, screening.text
    data = screening.json()
    assert data["decision"] == "refer (emergency)" and data["referral"]["status"] == "open"
    referral_id = data["referral"]["id"]
    dropped = client.post(
        f"/api/v1/patients/{created['id']}/screenings", headers=headers, json={"diagnosis": "radicular-pain"}
    )
    assert dropped.status_code == 422 and "loss-of-rectal-sensation" in dropped.text
    future = client.post(
        f"/api/v1/referrals/{referral_id}/outcome", headers=headers,
        json={"seen_by": "Dr N", "seen_on": "2999-01-01", "cleared": True},
    )  # fmt: skip
    assert future.status_code == 422
    cleared = client.post(
        f"/api/v1/referrals/{referral_id}/outcome", headers=headers,
        json={"seen_by": "Dr N, neurosurgeon", "seen_on": TODAY, "cleared": False, "note": "MRI booked"},
    )  # fmt: skip
    assert cleared.status_code == 200 and cleared.json()["status"] == "not-cleared"
    assert not cleared.json()["planning_open"]
    again = client.post(
        f"/api/v1/referrals/{referral_id}/outcome", headers=headers,
        json={"seen_by": "Dr N", "seen_on": TODAY, "cleared": True},
    )  # fmt: skip
    assert again.status_code == 422  # an outcome is recorded once
    override = client.post(
        f"/api/v1/referrals/{referral_id}/override", headers=headers, json={"reason": "x\x00"}
    )
    assert override.status_code == 422
    history = client.get(f"/api/v1/patients/{created['id']}/screenings", headers=headers).json()
    assert [s["referral"]["status"] for s in history] == ["not-cleared"]
