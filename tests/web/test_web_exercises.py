"""The exercise pages: the library, a course's programme (prescribe, refuse, stop) and the handout PDF."""

import re
import subprocess

from conftest import bearer, csrf_of, login

COURSE = {"condition": "chronic_nslbp", "protocol": "demo", "sessions_planned": 10, "sessions_per_week": 2}


def _course(client) -> int:
    headers = bearer(client, "clinician")
    body = {"name": "Grace Programme", "birth_date": "1958-11-03", "skin_type": 2, "bmi": 24.0}
    patient = client.post("/api/v1/patients", json=body, headers=headers).json()["id"]
    return client.post(f"/api/v1/patients/{patient}/courses", json=COURSE, headers=headers).json()["id"]


def _exercise_id(html: str, name: str) -> str:
    match = re.search(rf'<option value="(\d+)"[^>]*>{name} \(usually', html)
    assert match, name
    return match.group(1)


def test_a_clinician_prescribes_with_plain_errors_and_the_typed_values_kept(client, tmp_path):
    course = _course(client)
    login(client, "clinician")
    page = client.get(f"/courses/{course}/exercises").text
    bridge = _exercise_id(page, "Bridge")
    form = {"csrf_token": csrf_of(page), "exercise_id": bridge, "sets": "30", "repetitions": "12",
            "hold_s": "5", "per_week": "4", "note": "Slowly"}  # fmt: skip
    refused = client.post(f"/courses/{course}/exercises", data=form)
    assert refused.status_code == 422
    assert "Sets must be a whole number from 1 to 10, got 30." in refused.text
    assert 'value="30"' in refused.text and 'value="Slowly"' in refused.text and "selected" in refused.text
    saved = client.post(f"/courses/{course}/exercises", data={**form, "sets": "3"}, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get(f"/courses/{course}/exercises").text
    assert "3 sets of 12, hold 5 s, 4 days a week. Slowly" in page and "<svg" in page
    twice = client.post(f"/courses/{course}/exercises", data={**form, "sets": "1"})
    assert twice.status_code == 422 and "Bridge is already in this programme" in twice.text
    entry = re.search(r"/exercises/(\d+)/stop", page).group(1)
    client.post(f"/courses/{course}/exercises/{entry}/stop", data={"csrf_token": csrf_of(page)})
    page = client.get(f"/courses/{course}/exercises").text
    assert "Stopped" in page and "Bridge: 3 sets of 12" in page and "Nothing prescribed yet." in page


def test_operators_read_the_programme_and_print_the_handout_but_do_not_prescribe(client, tmp_path):
    course = _course(client)
    login(client, "clinician")
    page = client.get(f"/courses/{course}/exercises").text
    form = {"csrf_token": csrf_of(page), "exercise_id": _exercise_id(page, "Walking"), "sets": "1",
            "repetitions": "1", "hold_s": "900", "per_week": "5"}  # fmt: skip
    assert client.post(f"/courses/{course}/exercises", data=form, follow_redirects=False).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    login(client, "operator")
    page = client.get(f"/courses/{course}/exercises").text
    assert "15 min, 5 days a week" in page and "Prescribe an exercise" not in page
    refused = client.post(f"/courses/{course}/exercises", data={**form, "csrf_token": csrf_of(page)})
    assert refused.status_code == 403
    pdf = client.get(f"/courses/{course}/handout.pdf")
    assert (
        pdf.headers["content-type"] == "application/pdf" and "Grace" not in pdf.headers["content-disposition"]
    )
    (tmp_path / "h.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "h.pdf"), "-"], capture_output=True, text=True).stdout
    assert (
        "Grace Programme, born 1958-11-03" in text and "Walking" in text and "15 min, 5 days a week" in text
    )


def test_the_clinic_adds_its_own_exercise_and_a_bad_drawing_is_named(client):
    login(client, "clinician")
    page = client.get("/exercises/new").text
    form = {
        "csrf_token": csrf_of(page),
        "name": "Side plank",
        "instructions": "Lie on your side, lift your hips.",
        "evidence_note": "Our physiotherapists' choice",
        "drawing": "line 10 50 100 40\ncircle 10 x 4",
        "sets": "2",
        "repetitions": "1",
        "hold_s": "20",
        "per_week": "3",
    }
    refused = client.post("/exercises/new", data=form)
    assert refused.status_code == 422 and "Drawing line 2" in refused.text and "Side plank" in refused.text
    assert client.post("/exercises/new", data={**form, "drawing": "line 10 50 100 40"}).status_code == 200
    library = client.get("/exercises").text
    assert "Side plank" in library and "(added by the clinic)" in library and "Bird dog" in library
    login(client, "operator")
    assert client.get("/exercises/new", follow_redirects=False).status_code == 403


def test_a_blank_dosage_prescribes_the_exercises_usual_one_and_a_partial_one_is_refused(client):
    course = _course(client)
    login(client, "clinician")
    page = client.get(f"/courses/{course}/exercises").text
    blank = {"csrf_token": csrf_of(page), "exercise_id": _exercise_id(page, "Walking"), "sets": "",
             "repetitions": "", "hold_s": "", "per_week": "", "note": ""}  # fmt: skip
    partial = client.post(f"/courses/{course}/exercises", data={**blank, "sets": "2"})
    assert partial.status_code == 422 and "Repetitions must be a whole number from 1 to 100." in partial.text
    assert client.post(f"/courses/{course}/exercises", data=blank, follow_redirects=False).status_code == 303
    assert "20 min, 5 days a week" in client.get(f"/courses/{course}/exercises").text  # the library's dosage
