"""One plan document end to end: made on the CLI, signed in the clinic, delivered, simulated in a study.

The same `TreatmentPlan` travels through all four, and at each step it is asserted equal to the one the
CLI printed (model equality, and the SHA-256 fingerprint the signing gate records).
"""

import datetime as dt
import json

import pytest
from factories import make_patient, make_user
from sqlalchemy import select

from consolekit import simulator
from dask_cluster import linear_skin_rise
from daykit import consent_for
from laserdose.clinic import plans, screenings, signing
from laserdose.clinic.models import AuditEntry
from laserdose.clinical.protocols import get_protocol
from laserdose.device.plan import read_plan_file
from laserdose.domain.plan import TreatmentPlan, fingerprint, read_plan_document
from laserdose.machines.profile import load_profile
from laserdose.planning.cohort import parse_cohort
from laserdose.planning.physics import default_physics
from laserdose.planning.plan import PlanSettings
from laserdose.planning.study import cohort_plan, patient_tasks, run_study

PHYSICS = default_physics()  # what `laserdose plan` uses: the shipped Monte Carlo fluence table
PROTOCOL, DEVICE = "chronic-nonspecific-lbp", "15w-dual"
# A small area keeps the session short: 200 J at the protocol's 10 J/cm2 over 20 cm2, about 74 s of
# machine time, under 8 s of wall-clock time at the simulator's time scale.
PATIENT_TOML = f"""skin_type = 3
bmi = 27.0
area_cm2 = 20
[screening]
diagnosis = "{PROTOCOL}"
"""
TIME_SCALE = 10.0
REASON = "The nearest the safety limits allow to the reference dose at this depth"


def test_one_document_from_the_cli_through_the_clinic_and_the_machine_to_a_study(cli, session, tmp_path):
    # 1. The CLI prints the document.
    patient_file = tmp_path / "patient.toml"
    patient_file.write_text(PATIENT_TOML)
    made = cli("plan", "--patient", patient_file, "--condition", PROTOCOL, "--device", DEVICE, "--json")
    assert made.exit_code == 0, made.output
    document = read_plan_document(json.loads(made.stdout))
    assert isinstance(document, TreatmentPlan) and document.device == DEVICE

    # 2. The clinic signs that very document through the gate, which makes it again from the inputs.
    clinician = make_user(session)
    record = make_patient(session, clinician, skin_type=3, bmi_kg_m2=27.0)
    screening, _ = screenings.screen_patient(
        session=session, actor=clinician, patient_id=record.id, answers={"diagnosis": PROTOCOL},
        today=dt.date(2026, 11, 23),
    )  # fmt: skip
    inputs = plans.PlanInputs(
        protocol=PROTOCOL, device=DEVICE, area_cm2=20.0, skin_limit_c=43.0, fat_mm=None, bmi=27.0,
        screening_id=screening.id,
    )  # fmt: skip
    acknowledgement = None if document.feasible else signing.WindowAcknowledgement(True, REASON)
    course = signing.create_signed_course(
        session=session, actor=clinician, patient_id=record.id, plan=document, inputs=inputs, physics=PHYSICS,
        acknowledgement=acknowledgement, given=consent_for(record.name),
    )  # fmt: skip
    session.flush()
    session.expire(course)  # read back what the database stored
    stored = plans.stored_plan(course)
    assert course.signed_at is not None and stored == document
    signed = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.sign")).one()
    assert signed.details["plan_sha256"] == fingerprint(stored) == fingerprint(document)

    # 3. `laserdose treat --plan` reads the stored document and delivers it on the simulator.
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plans.stored_plan_json(course)))
    assert read_plan_document(json.loads(plan_file.read_text())) == document
    assert read_plan_file(plan_file) == document.delivery
    with simulator(scale=TIME_SCALE) as server:
        treated = cli(
            "treat",
            "--plan",
            plan_file,
            "--device",
            server.address,
            "--operator",
            "A",
            "--json",
            "--simulator",
        )
    assert treated.exit_code == 0, treated.output
    outcome = json.loads(treated.stdout)
    assert outcome["completed"] is True
    planned = {f"{wl:g}": energy for wl, energy in document.delivery.energy_j_by_wavelength.items()}
    assert outcome["planned_j"] == pytest.approx(planned)
    for key, energy_j in planned.items():  # the controller's 1 % energy tolerance
        assert outcome["delivered_j"][key] == pytest.approx(energy_j, rel=0.01, abs=0.01)

    # 4. The cohort study of the same patient makes the same document and simulates it.
    cohort = parse_cohort(
        {"patients": 2, "seed": 3, "device": DEVICE, "area_cm2": 20.0,
         "bmi": {"distribution": "normal", "mean": 27.0, "sd": 4.0},
         "skin_type_weights": [0.1, 0.2, 0.4, 0.2, 0.05, 0.05]}
    )  # fmt: skip
    device = load_profile(DEVICE)
    studied = cohort_plan(cohort, get_protocol(PROTOCOL), device, PHYSICS, PlanSettings())
    assert studied == stored == document
    tasks = patient_tasks(cohort, stored, device, 200, linear_skin_rise)
    assert all(task.plan == document for task in tasks)
    outcomes = run_study(tasks)
    assert [o.index for o in outcomes] == [0, 1]
    for o in outcomes:  # the stand-in skin model: 0.5 K/W per skin type step, at the plan's powers
        rise_k = sum(document.delivery.power_w_by_wavelength.values()) * 0.5 * o.skin_type
        assert o.skin_peak_c == pytest.approx(document.skin_start_c + rise_k)
