"""What people read: error pages in sentences with a way back, JSON for the API, field errors that name the
field, no authors' marks, and outcome answers that are never dropped."""

import re

import pytest

from conftest import bearer, csrf_of, login
from laserdose.web.plain_words import describe, plain_sources, plain_text

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _new_patient(client, **fields):
    token = csrf_of(client.get("/patients/new").text)
    data = {"given_name": "Anna", "family_name": "Berg", "birth_date": "1970-05-17", "skin_type": "3",
            "bmi": "26", "csrf_token": token} | fields  # fmt: skip
    return client.post("/patients/new", data=data, follow_redirects=False)


def test_a_mistyped_address_is_a_page_for_people_and_json_for_the_api(client):
    login(client, "clinician")
    page = client.get("/patients/1/chartt", headers=HTML | {"Referer": "http://testserver/patients"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in page.text and '{"detail"' not in page.text
    assert 'href="/patients" id="error-back"' in page.text  # back to where the person came from
    api = client.get("/api/v1/nothing-here", headers=bearer(client, "clinician"))
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_a_missing_record_and_a_wrong_method_are_said_in_sentences(client):
    login(client, "clinician")
    missing = client.get("/patients/4242", headers=HTML)
    assert missing.status_code == 404 and "No patient with id 4242." in missing.text
    wrong = client.delete("/patients", headers=HTML)
    assert wrong.status_code == 405 and "This address cannot be used with DELETE;" in wrong.text


def test_an_off_site_referer_gets_no_back_link(client):
    login(client, "clinician")
    page = client.get("/no-such-page", headers=HTML | {"Referer": "https://elsewhere.example/x"})
    assert 'id="error-back"' not in page.text and 'id="error-home"' in page.text


def test_role_refusals_say_who_can_and_what_the_person_can_do(client):
    login(client, "operator")
    page = client.get("/patients/new", headers=HTML)
    assert page.status_code == 403
    assert (
        "Only a clinician or an admin can add or change patient records; you are signed in as an operator. "
        "As an operator you can look up patients, run signed plans at the console" in page.text
    )
    assert '<span class="who">operator (operator)</span>' in page.text  # the menu stays on the error page


def test_a_bad_date_is_a_sentence_about_the_field_and_everything_typed_stays(client):
    login(client, "clinician")
    response = _new_patient(client, birth_date="19", given_name="Zoë")
    assert response.status_code == 422
    assert "Input should be" not in response.text
    assert re.search(r'id="birth_date-error">Date of birth: type a date as YYYY-MM-DD', response.text)
    assert 'value="19"' in response.text and 'value="Zoë"' in response.text


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ({"type": "missing"}, "Birth date is required."),
        (
            {"type": "string_too_long", "ctx": {"max_length": 200}, "input": "x" * 201},
            "Birth date can have at most 200 characters; it has 201.",
        ),  # fmt: skip
        ({"type": "float_parsing", "msg": "Input should be a valid number"}, "Birth date must be a number."),
        ({"type": "extra_forbidden"}, "Birth date is not a field of this form; it was not saved."),
    ],
)
def test_pydantic_errors_become_sentences(error, said):
    assert describe(error, "Birth date") == said


def test_authors_marks_are_said_in_words():
    assert plain_sources("[NICECKS] [S] [AHCPR1994] [U]") == (
        "NICECKS (read in the source); AHCPR1994 (not verified)"
    )
    old = "Fever: suspected spinal infection [U urgency]"  # as screenings saved before stored it
    assert (
        plain_text(old)
        == "Fever: suspected spinal infection (urgency: laserdose's judgement; no source sets it)"
    )


def test_the_screening_pages_show_no_marks(client):
    login(client, "clinician")
    patient_url = _new_patient(client).headers["location"]
    token = csrf_of(client.get(patient_url + "/screening/new").text)
    form = client.get(patient_url + "/screening/new").text
    result = client.post(
        patient_url + "/screening/new",
        data={"diagnosis": "chronic-nonspecific-lbp", "red_flags": ["fever"], "csrf_token": token},
    ).text
    for page in (form, result):
        assert "[U urgency]" not in page and "[S]" not in page and "[U]" not in page
    assert "AHCPR1994 (not verified)" in result and "laserdose&#39;s judgement" in result


def test_ticked_rmdq_statements_are_scored_without_the_completed_box(client):
    login(client, "clinician")
    patient_url = _new_patient(client).headers["location"]
    form = client.get(patient_url + "/outcomes/new").text
    assert "the score is the number ticked (0-24) and is" in form
    ticks = {f"rmdq_{n}": "1" for n in (2, 5, 9)}
    saved = client.post(
        patient_url + "/outcomes/new",
        data={"csrf_token": csrf_of(form), "assessed_on": "2026-03-01", **ticks},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    patient_id = patient_url.rsplit("/", 1)[1]
    series = client.get(f"/api/v1/patients/{patient_id}/outcomes", headers=bearer(client, "clinician")).json()
    assert [entry["rmdq"] for entry in series] == [3]  # RMDQ: one point per statement ticked


def test_a_completed_rmdq_with_nothing_ticked_is_a_score_of_zero_and_an_empty_form_is_refused(client):
    login(client, "clinician")
    patient_url = _new_patient(client).headers["location"]
    token = csrf_of(client.get(patient_url + "/outcomes/new").text)
    empty = client.post(
        patient_url + "/outcomes/new", data={"csrf_token": token, "assessed_on": "2026-03-01"}
    )
    assert empty.status_code == 422 and "Enter at least one of pain NRS, ODI or RMDQ." in empty.text
    zero = client.post(
        patient_url + "/outcomes/new",
        data={"csrf_token": token, "assessed_on": "2026-03-01", "rmdq_included": "1"},
        follow_redirects=False,
    )
    assert zero.status_code == 303


def test_a_body_too_large_is_a_page_for_people_and_json_for_the_api(client, webapp):
    login(client, "clinician")
    token = csrf_of(client.get("/patients/new").text)
    huge = "x" * (webapp.settings.max_body_bytes + 1)
    page = client.post("/patients/new", data={"csrf_token": token, "given_name": huge}, headers=HTML)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert (
        "<h1>Too large</h1>" in page.text and "What was sent is larger than the 1,048,576 bytes" in page.text
    )
    api = client.post("/api/v1/patients", content=huge, headers=bearer(client, "clinician"))
    assert api.status_code == 413 and "larger than" in api.json()["detail"]
