"""Referrals in the clinic: the red-flag path, auditable from the screening to the outcome.

A screening whose decision is "refer" opens a referral with its urgency and reasons. Its outcome is
recorded later (seen by whom, on which day, cleared or not, a note); or a clinician overrides it with a
reason. Planning for that complaint opens only when the referral is cleared or overridden; each step is
audited (field names only, like every clinic service) and shown on the chart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import patients
from laserdose.clinic.models import Referral, Role, Screening, User, utcnow
from laserdose.clinic.records import audit_change, get_row
from laserdose.clinic.users import require_role
from laserdose.clinical.screening import ALL_RULES, REFER, ScreeningDecision
from laserdose.errors import InputError

OPEN, CLEARED, NOT_CLEARED, OVERRIDDEN = "open", "cleared", "not-cleared", "overridden"
PLANNING_OPEN = (CLEARED, OVERRIDDEN)
MAX_NOTE_CHARS = 2000
MAX_NAME_CHARS = 200


class ReferralClosed(InputError):
    """The referral's outcome is already recorded (or it was overridden): it cannot change again."""


@dataclass(frozen=True)
class Outcome:
    """What came of a referral.

    Attributes:
        seen_by: who saw the patient (name and role, e.g. "Dr A. Smith, spinal surgeon").
        seen_on: the day they were seen.
        cleared: True when laser therapy may go ahead for this complaint.
        note: what the specialist found or advised.
    """

    seen_by: str
    seen_on: dt.date
    cleared: bool
    note: str = ""


def _text(name: str, value: str, limit: int, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise InputError(f"{name} is required")
    if len(value) > limit:
        raise InputError(f"{name} must have at most {limit} characters")
    if any((ord(char) < 32 and char not in "\n\r\t") or ord(char) == 127 for char in value):
        raise InputError(f"{name} must not contain control characters")
    return value


def open_referral(
    *, session: Session, actor: User, screening: Screening, decision: ScreeningDecision
) -> Referral | None:
    """Record the referral a screening made (clinician); None when the decision is not to refer."""
    require_role(actor, Role.CLINICIAN)
    if decision.decision != REFER:
        return None
    reasons = [r for r in decision.to_dict()["reasons"] if r["code"] in _referring_codes(decision)]
    referral = Referral(
        patient_id=screening.patient_id, screening_id=screening.id, referred_by_id=actor.id,
        complaint=str(screening.answers.get("diagnosis", "")), urgency=decision.urgency or "routine",
        reasons=reasons, status=OPEN,
    )  # fmt: skip
    session.add(referral)
    session.flush()
    audit_change(session, actor, "referral.create", "referrals", referral.id, urgency=referral.urgency)
    return referral


def _referring_codes(decision: ScreeningDecision) -> set[str]:
    """The codes of the reasons that made the decision "refer" (red flags, referral-first diagnoses)."""
    return {r.code for r in decision.reasons if r.code in ALL_RULES and ALL_RULES[r.code].decision == REFER}


def get_referral(*, session: Session, actor: User, referral_id: int) -> Referral:
    """Return a referral or raise NotFound (any role that may read the patient)."""
    referral = get_row(session, Referral, referral_id, "referral")
    patients.get_patient(session=session, actor=actor, patient_id=referral.patient_id)
    return referral


def patient_referrals(*, session: Session, actor: User, patient_id: int) -> list[Referral]:
    """The patient's referrals, oldest first."""
    patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    return list(
        session.scalars(select(Referral).where(Referral.patient_id == patient_id).order_by(Referral.id))
    )


def record_outcome(*, session: Session, actor: User, referral_id: int, outcome: Outcome) -> Referral:
    """Record what came of an open referral (clinician); raises ReferralClosed if it is not open."""
    require_role(actor, Role.CLINICIAN)
    referral = get_referral(session=session, actor=actor, referral_id=referral_id)
    if referral.status != OPEN:
        raise ReferralClosed(f"referral {referral_id} is {referral.status}; its outcome cannot change")
    seen_by = _text("seen by", outcome.seen_by, MAX_NAME_CHARS, required=True)
    note = _text("note", outcome.note, MAX_NOTE_CHARS, required=False)
    if outcome.seen_on < referral.referred_at.date() or outcome.seen_on > dt.datetime.now(dt.UTC).date():
        raise InputError("the day seen must be between the referral and today")
    referral.status = CLEARED if outcome.cleared else NOT_CLEARED
    referral.seen_by, referral.seen_on, referral.outcome_note = seen_by, outcome.seen_on, note
    referral.outcome_by_id, referral.outcome_at = actor.id, utcnow()
    session.flush()
    audit_change(
        session, actor, "referral.outcome", "referrals", referral.id, status=referral.status,
        fields=["seen_by", "seen_on", "outcome_note"],
    )  # fmt: skip
    return referral


def override_referral(*, session: Session, actor: User, referral_id: int, reason: str) -> Referral:
    """Open planning despite an open or not-cleared referral, with the clinician's stated reason."""
    require_role(actor, Role.CLINICIAN)
    referral = get_referral(session=session, actor=actor, referral_id=referral_id)
    if referral.status in PLANNING_OPEN:
        raise ReferralClosed(f"referral {referral_id} is already {referral.status}")
    referral.override_reason = _text("reason", reason, MAX_NOTE_CHARS, required=True)
    referral.status, referral.override_by_id, referral.override_at = OVERRIDDEN, actor.id, utcnow()
    session.flush()
    audit_change(session, actor, "referral.override", "referrals", referral.id, fields=["override_reason"])
    return referral


def planning_open(screening: Screening) -> bool:
    """True when the screening's referral was cleared or overridden (planning may go ahead)."""
    return screening.referral is not None and screening.referral.status in PLANNING_OPEN


def referral_summary(referral: Referral) -> dict[str, Any]:
    """Plain data for the API: the referral, its outcome and any override."""
    return {
        "id": referral.id, "patient_id": referral.patient_id, "screening_id": referral.screening_id,
        "complaint": referral.complaint, "urgency": referral.urgency, "reasons": referral.reasons,
        "referred_at": referral.referred_at.isoformat(), "status": referral.status,
        "seen_by": referral.seen_by or None,
        "seen_on": referral.seen_on.isoformat() if referral.seen_on else None,
        "outcome_note": referral.outcome_note or None,
        "override_reason": referral.override_reason or None,
        "planning_open": referral.status in PLANNING_OPEN,
    }  # fmt: skip
