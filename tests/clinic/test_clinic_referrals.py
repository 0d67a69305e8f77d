"""The red-flag path: a referring screening opens a referral; planning waits for its outcome or override."""

import datetime as dt

import pytest
from factories import make_patient, make_user
from sqlalchemy import select

from laserdose.clinic import plans, referrals, screenings
from laserdose.clinic.models import AuditEntry
from laserdose.clinic.users import Forbidden
from laserdose.domain.plan import Refusal, TreatmentPlan
from laserdose.errors import InputError
from laserdose.planning.physics import default_physics
from plan_protocols import write_wide_protocol

PHYSICS = default_physics()
TODAY = dt.date(2026, 11, 23)
FLAGGED = {"diagnosis": "chronic-nonspecific-lbp", "red_flags": ["bilateral-sciatica", "fever"]}


@pytest.fixture(autouse=True)
def clinic_protocols(tmp_path, monkeypatch):
    monkeypatch.setenv("LASERDOSE_PROTOCOLS_DIR", str(write_wide_protocol(tmp_path / "protocols")))


def _referred(session, answers=FLAGGED):
    clinician = make_user(session)
    record = make_patient(session, clinician)
    screening, _decision = screenings.screen_patient(
        session=session, actor=clinician, patient_id=record.id, answers=answers, today=TODAY
    )
    return clinician, record, screening


def _inputs(screening_id):
    return plans.PlanInputs(
        protocol="chronic-nonspecific-lbp", device="15w-dual", area_cm2=150.0, skin_limit_c=43.0,
        fat_mm=None, bmi=27.0, screening_id=screening_id,
    )  # fmt: skip


def _plan(session, clinician, record, screening):
    plan, _patient = plans.propose_plan(
        session=session, actor=clinician, patient_id=record.id, inputs=_inputs(screening.id), physics=PHYSICS,
        today=TODAY,
    )  # fmt: skip
    return plan


def _actions(session):
    return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_referring_screening_opens_a_referral_with_urgency_and_reasons(session):
    # Bilateral sciatica: suspected cauda equina, emergency (NICE CKS; Eur Spine J 2011 triage table).
    _clinician, record, screening = _referred(session)
    referral = screening.referral
    assert referral is not None and referral.status == "open" and referral.urgency == "emergency"
    assert [r["code"] for r in referral.reasons] == [
        "bilateral-sciatica",
        "fever",
    ]  # the diagnosis is not one
    assert referral.complaint == "chronic-nonspecific-lbp" and referral.patient_id == record.id
    assert "referral.create" in _actions(session)


def test_no_referral_when_the_decision_is_not_to_refer(session):
    _clinician, _record, screening = _referred(session, {"diagnosis": "chronic-nonspecific-lbp"})
    assert screening.referral is None


def test_planning_waits_for_the_outcome_and_opens_when_cleared(session):
    clinician, record, screening = _referred(session)
    assert isinstance(_plan(session, clinician, record, screening), Refusal)  # open referral: no laser plan
    outcome = referrals.Outcome("Dr A. Spine, spinal surgeon", dt.date.today(), True, "MRI normal")
    referrals.record_outcome(
        session=session, actor=clinician, referral_id=screening.referral.id, outcome=outcome
    )
    assert screening.referral.status == "cleared" and screening.referral.seen_by.startswith("Dr A. Spine")
    plan = _plan(session, clinician, record, screening)
    assert isinstance(plan, TreatmentPlan) and plan.decision == "treat-with-precautions"
    assert "referral.outcome" in _actions(session)
    with pytest.raises(referrals.ReferralClosed):
        referrals.record_outcome(
            session=session, actor=clinician, referral_id=screening.referral.id, outcome=outcome
        )


def test_not_cleared_keeps_planning_closed_until_an_override_with_a_reason(session):
    clinician, record, screening = _referred(session)
    outcome = referrals.Outcome("Dr B", dt.date.today(), False, "awaiting MRI")
    referrals.record_outcome(
        session=session, actor=clinician, referral_id=screening.referral.id, outcome=outcome
    )
    assert isinstance(_plan(session, clinician, record, screening), Refusal)
    with pytest.raises(InputError, match="reason is required"):
        referrals.override_referral(
            session=session, actor=clinician, referral_id=screening.referral.id, reason=" "
        )
    referrals.override_referral(
        session=session, actor=clinician, referral_id=screening.referral.id, reason="palliative care, agreed"
    )
    assert screening.referral.status == "overridden" and isinstance(
        _plan(session, clinician, record, screening), TreatmentPlan
    )
    assert _actions(session)[-1] == "referral.override"


def test_a_contraindication_still_stops_laser_after_the_referral_is_cleared(session):
    answers = {**FLAGGED, "contraindications": ["transdermal-patch-at-site"]}
    clinician, record, screening = _referred(session, answers)
    outcome = referrals.Outcome("Dr C", dt.date.today(), True)
    referrals.record_outcome(
        session=session, actor=clinician, referral_id=screening.referral.id, outcome=outcome
    )
    assert _plan(session, clinician, record, screening).decision == "do-not-treat"


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (referrals.Outcome("", dt.date.today(), True), "seen by is required"),
        (
            referrals.Outcome("Dr D", dt.date.today() + dt.timedelta(days=1), True),
            "between the referral and today",
        ),
        (referrals.Outcome("Dr D", dt.date(2000, 1, 1), True), "between the referral and today"),
        (referrals.Outcome("Dr D", dt.date.today(), True, "x" * 2001), "at most 2000 characters"),
    ],
)
def test_bad_outcomes_are_refused(session, outcome, message):
    clinician, _record, screening = _referred(session)
    with pytest.raises(InputError, match=message):
        referrals.record_outcome(
            session=session, actor=clinician, referral_id=screening.referral.id, outcome=outcome
        )
    assert screening.referral.status == "open"


def test_only_clinicians_record_outcomes(session):
    _clinician, _record, screening = _referred(session)
    operator = make_user(session, role="operator")
    with pytest.raises(Forbidden):
        referrals.override_referral(
            session=session, actor=operator, referral_id=screening.referral.id, reason="x"
        )


def test_rescreening_that_drops_a_red_flag_needs_a_reason_and_keeps_the_history(session):
    clinician, record, first = _referred(session)
    calmer = {"diagnosis": "chronic-nonspecific-lbp", "red_flags": ["fever"]}
    with pytest.raises(screenings.DropReasonNeeded) as info:
        screenings.screen_patient(
            session=session, actor=clinician, patient_id=record.id, answers=calmer, today=TODAY
        )
    assert info.value.dropped == ["bilateral-sciatica"]
    second, _ = screenings.screen_patient(
        session=session, actor=clinician, patient_id=record.id, today=TODAY,
        answers={**calmer, "drop_reason": "sciatica was one-sided on examination"},
    )  # fmt: skip
    assert second.answers["dropped"] == ["bilateral-sciatica"]
    assert second.answers["drop_reason"] == "sciatica was one-sided on examination"
    history = screenings.patient_screenings(session=session, actor=clinician, patient_id=record.id)
    assert [s.id for s in history] == [second.id, first.id]


def test_the_timeline_shows_the_outcome_and_the_override(session):
    from laserdose.clinic.chart import timeline

    clinician, record, screening = _referred(session)
    outcome = referrals.Outcome("Dr E", dt.date.today(), False, "MRI booked")
    referrals.record_outcome(
        session=session, actor=clinician, referral_id=screening.referral.id, outcome=outcome
    )
    referrals.override_referral(
        session=session, actor=clinician, referral_id=screening.referral.id, reason="why"
    )
    lines = [
        e.summary
        for e in timeline(session=session, actor=clinician, patient_id=record.id)
        if e.kind == "referral"
    ]
    assert lines == ["referral (emergency) not cleared: seen by Dr E", "referral (emergency) overridden: why"]
