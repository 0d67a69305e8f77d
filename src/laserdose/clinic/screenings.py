"""Screening in the clinic: the questionnaire's decision for a patient record, stored with its reasons.

Like every clinic service: keyword-only database session, no commits, role checks, audit entries with
field names only. A referring decision opens a referral (referrals.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import corrections, patients, referrals
from laserdose.clinic.models import Patient as PatientRecord
from laserdose.clinic.models import Role, Screening, User
from laserdose.clinic.records import audit_change, get_row
from laserdose.clinic.users import require_role
from laserdose.clinical.screening import REFER, ScreeningAnswers, ScreeningDecision, screen
from laserdose.domain.record_dates import check_record_date
from laserdose.errors import InputError

QUESTIONNAIRE_LISTS = ("red_flags", "contraindications", "precautions")
# Lists whose terms may not silently disappear from one screening to the next.
GUARDED_LISTS = ("red_flags", "contraindications")
MAX_REASON_CHARS = 2000


class DropReasonNeeded(InputError):
    """A re-screening drops red flags or contraindications of the previous one without saying why.

    Attributes:
        dropped: the terms present before and absent now.
    """

    def __init__(self, dropped: list[str]) -> None:
        """Name the dropped terms in the message."""
        super().__init__(
            f"the previous screening had {', '.join(dropped)}; say why it no longer applies (drop_reason)"
        )
        self.dropped = dropped


def decision_label(decision: ScreeningDecision) -> str:
    """The decision as stored and shown: "treat", ..., "refer (emergency)"."""
    return f"{REFER} ({decision.urgency})" if decision.decision == REFER else decision.decision


def age_years(birth_date: dt.date, today: dt.date) -> int:
    """Completed years between `birth_date` and `today`."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def questionnaire(
    record: PatientRecord, answers: dict[str, Any], today: dt.date, referral_cleared: bool = False
) -> ScreeningAnswers:
    """Validated screening answers of a patient record; skin type and age come from the record.

    Args:
        record: the patient in the database.
        answers: {"diagnosis", "red_flags", "contraindications", "precautions", "medical_clearance",
            "first_line_reason"}.
        today: the date the age is taken at.
        referral_cleared: the screening's referral was cleared or overridden (never from the answers).
    """
    return ScreeningAnswers(
        diagnosis=str(answers.get("diagnosis", "")),
        red_flags=tuple(answers.get("red_flags", ())),
        contraindications=tuple(answers.get("contraindications", ())),
        precautions=tuple(answers.get("precautions", ())),
        medical_clearance=bool(answers.get("medical_clearance", False)),
        skin_type=record.skin_type,
        age_years=age_years(record.birth_date, today),
        first_line_reason=str(answers.get("first_line_reason", "")),
        referral_cleared=referral_cleared,
    )


def dropped_terms(previous: Screening | None, validated: ScreeningAnswers) -> list[str]:
    """Red flags and contraindications of the previous screening that the new answers no longer have."""
    if previous is None:
        return []
    now = {*validated.red_flags, *validated.contraindications}
    before = [term for key in GUARDED_LISTS for term in previous.answers.get(key, ())]
    return [term for term in dict.fromkeys(before) if term not in now]


def preview_screening(
    *, session: Session, actor: User, patient_id: int, answers: dict[str, Any], today: dt.date
) -> ScreeningDecision:
    """The decision the questionnaire gives now, without storing it (clinician)."""
    require_role(actor, Role.CLINICIAN)
    record = patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    return screen(questionnaire(record, answers, today))


def screen_patient(
    *, session: Session, actor: User, patient_id: int, answers: dict[str, Any], today: dt.date
) -> tuple[Screening, ScreeningDecision]:
    """Screen a patient and store the screening (clinician); unknown terms raise InputError.

    Args:
        session: open database session.
        actor: the clinician.
        patient_id: the patient.
        answers: the questionnaire, as for `questionnaire`.
        today: the date of the screening (for the patient's age).

    Returns:
        The stored screening (decision label, answers, reasons with sources) and the decision. A
        referring decision also opens a referral (referrals.open_referral).

    Raises:
        DropReasonNeeded: red flags or contraindications of the previous screening are gone and
            answers["drop_reason"] does not say why.
    """
    require_role(actor, Role.CLINICIAN)
    record = patients.live_patient(session=session, actor=actor, patient_id=patient_id)
    check_record_date("screening date", today, today=dt.date.today(), birth_date=record.birth_date)
    validated = questionnaire(record, answers, today)
    previous = latest_screening(session=session, actor=actor, patient_id=patient_id)
    dropped = dropped_terms(previous, validated)
    drop_reason = str(answers.get("drop_reason", "")).strip()
    if dropped and not drop_reason:
        raise DropReasonNeeded(dropped)
    for name, text in (("drop_reason", drop_reason), ("first_line_reason", validated.first_line_reason)):
        if len(text) > MAX_REASON_CHARS or "\x00" in text:
            raise InputError(f"{name} must have at most {MAX_REASON_CHARS} characters and no NUL")
    decision = screen(validated)
    stored: dict[str, Any] = {
        "diagnosis": validated.diagnosis,
        **{key: list(getattr(validated, key)) for key in QUESTIONNAIRE_LISTS},
        "medical_clearance": validated.medical_clearance,
        "first_line_reason": validated.first_line_reason,
    }
    if dropped:
        stored |= {"dropped": dropped, "drop_reason": drop_reason}
    elif drop_reason:  # typed though nothing was dropped: kept as typed, never thrown away
        stored["drop_reason"] = drop_reason
    screening = record_screening(
        session=session, actor=actor, patient_id=patient_id, decision=decision_label(decision),
        answers=stored, reasons=decision.to_dict()["reasons"],
    )  # fmt: skip
    referrals.open_referral(session=session, actor=actor, screening=screening, decision=decision)
    return screening, decision


def get_screening(*, session: Session, actor: User, screening_id: int) -> Screening:
    """Return a screening or raise NotFound (any role that may read the patient)."""
    screening = get_row(session, Screening, screening_id, "screening")
    patients.get_patient(session=session, actor=actor, patient_id=screening.patient_id)
    return screening


def patient_screenings(*, session: Session, actor: User, patient_id: int) -> list[Screening]:
    """Every screening of the patient, newest first (the chart keeps the whole history)."""
    patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    statement = select(Screening).where(Screening.patient_id == patient_id).order_by(Screening.id.desc())
    return list(session.scalars(statement))


def latest_screening(*, session: Session, actor: User, patient_id: int) -> Screening | None:
    """The patient's most recent screening that is not voided, or None."""
    patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    statement = select(Screening).where(Screening.patient_id == patient_id, corrections.live(Screening))
    statement = statement.order_by(Screening.id.desc())
    return session.scalars(statement.limit(1)).first()


def record_screening(
    *,
    session: Session,
    actor: User,
    patient_id: int,
    decision: str,
    answers: dict[str, Any],
    reasons: list[str],
) -> Screening:
    """Store a screening's decision, answers and reasons (clinician)."""
    require_role(actor, Role.CLINICIAN)
    patients.get_patient(session=session, actor=actor, patient_id=patient_id)
    screening = Screening(
        patient_id=patient_id, clinician_id=actor.id, decision=decision, answers=answers, reasons=reasons
    )
    session.add(screening)
    session.flush()
    audit_change(session, actor, "screening.create", "screenings", screening.id, decision=decision)
    return screening
