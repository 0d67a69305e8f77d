"""Screening and planning services on SQLite and PostgreSQL: stored decisions, plan inputs, roles."""

import datetime as dt

import pytest
from factories import make_patient, make_user
from sqlalchemy import select

from laserdose.clinic import plans, screenings
from laserdose.clinic.models import AuditEntry
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError
from laserdose.planning.physics import default_physics
from plan_protocols import write_wide_protocol

PHYSICS = default_physics()  # the shipped Monte Carlo fluence table
TODAY = dt.date(2026, 11, 23)
CLEAN = {"diagnosis": "chronic-nonspecific-lbp"}


@pytest.fixture(autouse=True)
def clinic_protocols(tmp_path, monkeypatch):
    monkeypatch.setenv("LASERDOSE_PROTOCOLS_DIR", str(write_wide_protocol(tmp_path / "protocols")))


def _inputs(screening_id, **changes):
    fields = {
        "protocol": "chronic-nonspecific-lbp", "device": "15w-dual", "area_cm2": 150.0, "skin_limit_c": 43.0,
        "fat_mm": None, "bmi": 27.0, "screening_id": screening_id,
    }  # fmt: skip
    return plans.PlanInputs(**(fields | changes))


def _screened(session, answers=CLEAN, **patient):
    clinician = make_user(session)
    record = make_patient(session, clinician, **patient)
    screening, decision = screenings.screen_patient(
        session=session, actor=clinician, patient_id=record.id, answers=answers, today=TODAY
    )
    return clinician, record, screening, decision


@pytest.mark.parametrize(
    ("birth", "years"),
    [(dt.date(1970, 11, 23), 56), (dt.date(1970, 11, 24), 55), (dt.date(2000, 2, 29), 26)],
)
def test_age_counts_completed_years(birth, years):
    # Completed years: the birthday itself counts, the day before does not (2026-11-23).
    assert screenings.age_years(birth, TODAY) == years


def test_screening_is_stored_with_its_reasons_sources_and_an_audit_entry(session):
    _clinician, _record, screening, decision = _screened(
        session, {**CLEAN, "red_flags": ["urinary-retention"]}
    )
    # NICE CKS sciatica: new urinary retention suggests cauda equina syndrome, an emergency referral.
    assert (decision.decision, decision.urgency) == ("refer", "emergency")
    assert screening.decision == "refer (emergency)"
    assert (
        screening.reasons[0]["code"] == "urinary-retention" and "[NICECKS]" in screening.reasons[0]["source"]
    )
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "screening.create")).one()
    assert entry.entity_id == screening.id and "urinary-retention" not in str(entry.details)


def test_the_patient_record_adds_dark_skin_and_age_rules(session):
    # [LightForce]: Fitzpatrick V-VI is a precaution.
    assert _screened(session, skin_type=5)[3].decision == "treat-with-precautions"
    # AHCPR 1994: back pain under age 20 is a red flag (routine referral here, [U]).
    young = _screened(session, birth_date=dt.date(2010, 1, 1))[3]
    assert (young.decision, young.urgency) == ("refer", "routine")


def test_only_clinicians_screen_and_unknown_terms_are_refused(session):
    clinician, record, _screening, _decision = _screened(session)
    operator = make_user(session, role="operator")
    with pytest.raises(Forbidden):
        screenings.screen_patient(
            session=session, actor=operator, patient_id=record.id, answers=CLEAN, today=TODAY
        )
    with pytest.raises(InputError, match="unknown precaution 'garlic'"):
        screenings.screen_patient(
            session=session, actor=clinician, patient_id=record.id,
            answers={**CLEAN, "precautions": ["garlic"]}, today=TODAY,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"skin_limit_c": 44.0}, "skin limit must be between 34 and 43 C"),  # IEC 60601-1 ed. 3: 43 C
        ({"skin_limit_c": float("nan")}, "skin limit must be between 34 and 43 C, got nan C"),
        ({"device": "60w-dream"}, "unknown device '60w-dream'"),
        ({"protocol": "moonlight"}, "unknown protocol 'moonlight'"),
        ({"bmi": None}, "give the fat thickness or the BMI"),
        ({"area_cm2": 0.5}, "treatment area must be between 1 and 3500"),
    ],
)
def test_plan_inputs_are_validated(changes, message):
    with pytest.raises(InputError, match=message):
        _inputs(1, **changes)


def test_a_protocol_for_another_diagnosis_and_an_operator_are_refused(session):
    clinician, record, screening, _decision = _screened(session)
    with pytest.raises(InputError, match="protocol facet-pain treats facet-pain"):
        plans.propose_plan(
            session=session, actor=clinician, patient_id=record.id,
            inputs=_inputs(screening.id, protocol="facet-pain"), physics=PHYSICS, today=TODAY,
        )  # fmt: skip
    operator = make_user(session, role="operator")
    with pytest.raises(Forbidden):
        plans.propose_plan(
            session=session, actor=operator, patient_id=record.id, inputs=_inputs(screening.id),
            physics=PHYSICS, today=TODAY,
        )  # fmt: skip


def test_a_drop_reason_typed_when_nothing_was_dropped_is_kept(session):
    _clinician, _record, screening, _decision = _screened(
        session, answers={**CLEAN, "drop_reason": "Typed anyway"}
    )
    assert screening.answers["drop_reason"] == "Typed anyway" and "dropped" not in screening.answers
