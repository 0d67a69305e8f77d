"""Each limit is refused with the same message by the CLI, the API, the web forms and the planner.

The expected message is the domain checker's (`Quantity.check`); every site must show it unchanged, so a
user meets one range and one sentence for a value wherever they type it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from laserdose.clinic import db, patients, users
from laserdose.clinic.plans import PlanInputs
from laserdose.clinical.patient import Patient
from laserdose.clinical.screening import ScreeningAnswers
from laserdose.domain import quantities as q
from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.planning.plan import PlanSettings
from laserdose.web.app import create_app
from laserdose.web.settings import WebSettings

PASSWORD = "correct horse battery"
GOOD_PATIENT = {"name": "Vera Domain", "birth_date": "1970-05-17", "skin_type": 3, "bmi": 27.0}
GOOD_PLAN = {
    "protocol": "chronic-nonspecific-lbp", "device": "15w-dual", "area_cm2": 150.0, "skin_limit_c": 43.0,
    "fat_mm": None, "bmi": 27.0, "screening_id": 1,
}  # fmt: skip
PATIENT_TOML = """skin_type = {skin_type}
{body}
area_cm2 = {area_cm2}
[screening]
diagnosis = "chronic-nonspecific-lbp"
"""


def _message(quantity: q.Quantity, value: object) -> str:
    with pytest.raises(InputError) as caught:
        quantity.check(value)
    return str(caught.value)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        users.create_user(
            session=session, username="clinician", password=PASSWORD, role="clinician", actor_name="t"
        )
    engine.dispose()
    settings = WebSettings(environment="test", secret_key="test-secret-" + "x" * 32, database_url=url)
    return TestClient(create_app(settings))


def _bearer(client: TestClient) -> dict[str, str]:
    token = client.post("/api/v1/token", data={"username": "clinician", "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _log_in(client: TestClient) -> str:
    token = _csrf(client.get("/login").text)
    client.post("/login", data={"username": "clinician", "password": PASSWORD, "csrf_token": token})
    return _csrf(client.get("/patients/new").text)


# ---- the sites ------------------------------------------------------------------------------------


def _cli_error(cli, *args: object) -> str:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    return result.stderr


def _patient_file(
    tmp_path: Path, skin_type: int = 3, body: str = "bmi = 27.0", area_cm2: float = 150
) -> Path:
    path = tmp_path / "patient.toml"
    path.write_text(PATIENT_TOML.format(skin_type=skin_type, body=body, area_cm2=area_cm2), encoding="utf-8")
    return path


def _plan_cli(cli, tmp_path: Path, *args: object, **patient: object) -> str:
    path = _patient_file(tmp_path, **patient)
    return _cli_error(cli, "plan", "--patient", path, "--condition", "chronic-nonspecific-lbp",
                      "--device", "15w-dual", *args)  # fmt: skip


def _api_patient(client: TestClient, **changes: object) -> str:
    response = client.post("/api/v1/patients", json=GOOD_PATIENT | changes, headers=_bearer(client))
    assert response.status_code == 422, response.text
    return " | ".join(error["msg"] for error in response.json()["detail"])


def _api_plan(client: TestClient, **changes: object) -> str:
    """A course whose stored planner inputs break a limit: signing it through the API is refused."""
    headers = _bearer(client)
    patient = client.post("/api/v1/patients", json=GOOD_PATIENT, headers=headers).json()
    body = {
        "condition": "chronic_nonspecific_lbp", "protocol": "chronic-nonspecific-lbp",
        "plan": {"inputs": GOOD_PLAN | changes}, "sessions_planned": 12, "sessions_per_week": 3,
    }  # fmt: skip
    course = client.post(f"/api/v1/patients/{patient['id']}/courses", json=body, headers=headers)
    assert course.status_code == 201, course.text
    response = client.post(f"/api/v1/courses/{course.json()['id']}/sign", headers=headers)
    assert response.status_code == 422, response.text
    return str(response.json()["detail"])


def _api_session(client: TestClient, energies: dict[str, float]) -> str:
    record = {
        "started_at": "2026-01-05T10:00:00+00:00", "duration_s": 60.0,
        "energy_j_by_wavelength": energies, "completed": True,
    }  # fmt: skip
    response = client.post("/api/v1/courses/1/sessions", json=record, headers=_bearer(client))
    assert response.status_code == 422, response.text
    return " | ".join(error["msg"] for error in response.json()["detail"])


def _web_patient(client: TestClient, **changes: str) -> str:
    token = _log_in(client)
    values = {key: str(value) for key, value in GOOD_PATIENT.items()} | changes
    page = client.post("/patients/new", data=values | {"csrf_token": token})
    assert page.status_code == 422
    return page.text


def _web_plan(client: TestClient, **changes: str) -> str:
    token = _log_in(client)
    values = {key: str(value) for key, value in GOOD_PATIENT.items()}
    created = client.post("/patients/new", data=values | {"csrf_token": token}, follow_redirects=False)
    patient_id = int(created.headers["location"].rsplit("/", 1)[1])
    client.post(f"/patients/{patient_id}/screening/new",
                data={"diagnosis": "chronic-nonspecific-lbp", "csrf_token": token})  # fmt: skip
    form = {
        "protocol": "chronic-nonspecific-lbp", "device": "15w-dual", "area_cm2": "150", "skin_limit_c": "43",
        "fat_mm": "", "bmi": "27", "home_exercise": "", "advice": "", "csrf_token": token,
    }  # fmt: skip
    page = client.post(f"/patients/{patient_id}/plan/preview", data=form | changes)
    return page.text


def _planner(build: Callable[[], object]) -> str:
    with pytest.raises(InputError) as caught:
        build()
    return str(caught.value)


def _patient(**changes: object) -> Patient:
    answers = ScreeningAnswers("chronic-nonspecific-lbp")
    fields: dict[str, object] = {"skin_type": 3, "area_cm2": 150.0, "bmi": 27.0, "screening": answers}
    return Patient(**(fields | changes))


# ---- one test per limit ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusals:
    message: str
    seen: dict[str, str]

    def check(self) -> None:
        # Web pages say it as a sentence: the same words, with a capital first letter.
        as_sentence = self.message[:1].upper() + self.message[1:]
        for site, text in self.seen.items():
            said = self.message in text or (site.startswith("web") and as_sentence in text)
            assert said, f"{site} did not say {self.message!r}: {text[:300]!r}"


def test_skin_type_7(cli, client):
    Refusals(
        _message(q.SKIN_TYPE, 7),
        {
            "cli optics": _cli_error(
                cli, "optics", "back", "--skin-type", "7", "--bmi", "27", "--wavelength", "810"
            ),
            "api": _api_patient(client, skin_type=7),
            "web patient form": _web_patient(client, skin_type="7"),
            "planner": _planner(lambda: _patient(skin_type=7)),
            "optics": _planner(lambda: back_model(7, 810.0, bmi=27.0)),
            "clinic": _planner(lambda: patients._check_body(dt.date(1970, 1, 1), 7, 27.0)),
        },
    ).check()


def test_bmi_70(cli, client, tmp_path):
    Refusals(
        _message(q.BMI, 70),
        {
            "cli optics": _cli_error(
                cli, "optics", "back", "--skin-type", "3", "--bmi", "70", "--wavelength", "810"
            ),
            "cli plan": _plan_cli(cli, tmp_path, body="bmi = 70"),
            "api": _api_patient(client, bmi=70),
            "api plan": _api_plan(client, bmi=70.0),
            "web patient form": _web_patient(client, bmi="70"),
            "web plan editor": _web_plan(client, bmi="70"),
            "planner": _planner(lambda: _patient(bmi=70.0)),
            "plan inputs": _planner(lambda: PlanInputs(**(GOOD_PLAN | {"bmi": 70.0}))),
        },
    ).check()


def test_fat_60_mm(cli, client, tmp_path):
    Refusals(
        _message(q.FAT_THICKNESS, 60),
        {
            "cli optics": _cli_error(
                cli, "optics", "back", "--skin-type", "3", "--fat-mm", "60", "--wavelength", "810"
            ),
            "cli plan": _plan_cli(cli, tmp_path, body="fat_mm = 60"),
            "api plan": _api_plan(client, fat_mm=60.0, bmi=None),
            "web plan editor": _web_plan(client, fat_mm="60"),
            "planner": _planner(lambda: _patient(bmi=None, fat_mm=60.0)),
        },
    ).check()


def test_treatment_area_5000_cm2(cli, client, tmp_path):
    Refusals(
        _message(q.TREATMENT_AREA, 5000),
        {
            "cli plan": _plan_cli(cli, tmp_path, area_cm2=5000),
            "api plan": _api_plan(client, area_cm2=5000.0),
            "web plan editor": _web_plan(client, area_cm2="5000"),
            "planner": _planner(lambda: _patient(area_cm2=5000.0)),
        },
    ).check()


def test_skin_limit_45_c(cli, client, tmp_path):
    Refusals(
        _message(q.SKIN_LIMIT, 45),
        {
            "cli plan": _plan_cli(cli, tmp_path, "--skin-limit", "45"),
            "api plan": _api_plan(client, skin_limit_c=45.0),
            "web plan editor": _web_plan(client, skin_limit_c="45"),
            "planner": _planner(lambda: PlanSettings(skin_limit_c=45.0)),
        },
    ).check()


def test_wavelength_1300_nm(cli, client):
    Refusals(
        _message(q.WAVELENGTH, 1300),
        {
            "cli optics": _cli_error(cli, "optics", "tissue", "--tissue", "fat", "--wavelength", "1300"),
            "api session record": _api_session(client, {"1300": 100.0}),
            "planner": _planner(lambda: back_model(3, 1300.0, bmi=27.0)),
        },
    ).check()


def test_energy_above_a_megajoule(client):
    Refusals(
        _message(q.ENERGY, 2e6),
        {"api session record": _api_session(client, {"810": 2e6})},
    ).check()


def test_birth_date_in_the_future(client):
    Refusals(
        "birth date must be between 1900-01-01 and today, got 2999-01-01",
        {
            "api": _api_patient(client, birth_date="2999-01-01"),
            "web patient form": _web_patient(client, birth_date="2999-01-01"),
            "clinic": _planner(lambda: patients._check_body(dt.date(2999, 1, 1), 3, 27.0)),
        },
    ).check()


def _api_outcome(client: TestClient, assessed_on: str) -> str:
    headers = _bearer(client)
    patient = client.post("/api/v1/patients", json=GOOD_PATIENT, headers=headers).json()
    url = f"/api/v1/patients/{patient['id']}/outcomes"
    response = client.post(url, json={"assessed_on": assessed_on, "nrs": 5}, headers=headers)
    assert response.status_code == 422, response.text
    return str(response.json()["detail"])


def _web_outcome(client: TestClient, assessed_on: str) -> str:
    token = _log_in(client)
    values = {key: str(value) for key, value in GOOD_PATIENT.items()}
    created = client.post("/patients/new", data=values | {"csrf_token": token}, follow_redirects=False)
    url = created.headers["location"] + "/outcomes/new"
    page = client.post(url, data={"assessed_on": assessed_on, "nrs": "5", "csrf_token": token})
    assert page.status_code == 422
    return page.text.replace("&#39;", "'")


def _service_outcome(assessed_on: dt.date) -> str:
    from laserdose.domain.record_dates import check_record_date

    born = dt.date.fromisoformat(str(GOOD_PATIENT["birth_date"]))
    return _planner(lambda: check_record_date("date of assessment", assessed_on, today=dt.date.today(),
                                              birth_date=born))  # fmt: skip


@pytest.mark.parametrize("day", [dt.date.today() + dt.timedelta(days=103), dt.date(1, 1, 1)])
def test_an_assessment_date_outside_the_rules(client, day):
    expected = _service_outcome(day)
    assert expected.startswith(f"date of assessment {day} is ")
    Refusals(
        expected,
        {
            "api": _api_outcome(client, day.isoformat()),
            "web outcome form": _web_outcome(client, day.isoformat()),
        },
    ).check()
