"""Consent to Class 4 laser treatment, one per course: recorded from the signed form before signing.

The printed form (web template consent_form.html) explains what the treatment is for, its risks (skin
burns, eye injury), the alternatives and the evidence in plain words; the patient signs it, and the
clinician records the name as signed, the date and themselves as the one who took it. The signing gate
(clinic/signing.py) signs no plan without it. Like every clinic service: keyword-only database session,
never committed, role checks, audited changes (field names only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic.models import Consent, Role, User
from laserdose.clinic.records import audit_change, get_course
from laserdose.clinic.users import READERS, require_role
from laserdose.errors import InputError

FORM_VERSION = "2026-12"  # the consent text's version, stored with each consent
MAX_NAME_CHARS = 200
EARLIEST_SIGNING = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class ConsentGiven:
    """What the clinician records from the signed form.

    Attributes:
        patient_name: the patient's name as they signed it.
        signed_on: the date on the form.
    """

    patient_name: str
    signed_on: dt.date


def consent_problems(given: ConsentGiven | None, today: dt.date) -> dict[str, str]:
    """An error per field ("consent_name", "consent_date"), empty when the consent can be recorded."""
    if given is None:
        return {"consent": "record the patient's consent to Class 4 laser treatment before signing"}
    errors = {}
    name = given.patient_name.strip()
    if not name:
        errors["consent_name"] = "give the patient's name as they signed the consent form"
    elif len(name) > MAX_NAME_CHARS:
        errors["consent_name"] = f"at most {MAX_NAME_CHARS} characters"
    elif any(ord(char) < 32 or ord(char) == 127 for char in name):
        errors["consent_name"] = "the name must not contain control characters (a tab, a line break)"
    if not EARLIEST_SIGNING <= given.signed_on <= today:
        errors["consent_date"] = "the date the patient signed: today or earlier"
    return errors


def record_consent(
    *, session: Session, actor: User, course_id: int, given: ConsentGiven, today: dt.date
) -> Consent:
    """Record the patient's signed consent for a course (clinicians); audited.

    Raises:
        InputError: a field is wrong (the sentence says which), or the course has its consent already.
    """
    require_role(actor, Role.CLINICIAN)
    course = get_course(session, course_id)
    errors = consent_problems(given, today)
    if errors:
        raise InputError("; ".join(errors.values()))
    if course_consent(session=session, actor=actor, course_id=course_id) is not None:
        raise InputError(f"the consent for course {course_id} is recorded already")
    consent = Consent(
        course_id=course.id, patient_name=given.patient_name.strip(), signed_on=given.signed_on,
        taken_by_id=actor.id, form_version=FORM_VERSION,
    )  # fmt: skip
    session.add(consent)
    session.flush()
    audit_change(session, actor, "consent.record", "consents", consent.id, course_id=course.id,
                 fields=["patient_name", "signed_on"], form_version=FORM_VERSION)  # fmt: skip
    return consent


def course_consent(*, session: Session, actor: User, course_id: int) -> Consent | None:
    """The course's recorded consent, or None."""
    require_role(actor, *READERS)
    return session.scalars(select(Consent).where(Consent.course_id == course_id)).first()
