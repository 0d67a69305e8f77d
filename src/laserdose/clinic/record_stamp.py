"""The page stamp of a clinic report: the patient's identification and the plan's signature, from the records.

The fingerprint printed is the one the signing wrote into its audit entry (`course.sign`, "plan_sha256":
the SHA-256 of the canonical plan JSON); a report whose plan does not have that fingerprint is refused,
since it would not show what was signed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic.models import AuditEntry, Course, Patient, User
from laserdose.clinic.patients import AUTO_RECORD_PREFIX
from laserdose.domain.plan import Refusal, TreatmentPlan, fingerprint
from laserdose.errors import InputError
from laserdose.planning.page_stamp import PageStamp


def record_number(patient: Patient) -> str:
    """The patient's clinic record number, as the chart and the patient list show it."""
    return patient.record_number or f"{AUTO_RECORD_PREFIX}{patient.id}"


def signing_entry(session: Session, course_id: int) -> AuditEntry | None:
    """The audit entry of the course's signing (the last one, should there be several), or None."""
    statement = select(AuditEntry).where(
        AuditEntry.action == "course.sign", AuditEntry.entity == "courses", AuditEntry.entity_id == course_id
    )
    return session.scalars(statement.order_by(AuditEntry.id.desc()).limit(1)).first()


def course_stamp(session: Session, course: Course, plan: TreatmentPlan | Refusal | None = None) -> PageStamp:
    """The stamp of a course's reports: its patient, its signer and its signed plan's fingerprint.

    Args:
        session: open database session.
        course: the course (the caller checked the reader's access).
        plan: the plan the report prints, made again from the course's inputs; when given, it must have
            the fingerprint that the signing's audit entry holds.

    Raises:
        InputError: `plan` is not the signed plan (its fingerprint differs from the signing's).
    """
    patient = course.patient
    signer = session.get(User, course.signed_by_id) if course.signed_by_id is not None else None
    entry = signing_entry(session, course.id) if course.signed_at is not None else None
    signed_sha256 = str(entry.details.get("plan_sha256", "")) if entry is not None else ""
    if plan is not None and signed_sha256 and fingerprint(plan) != signed_sha256:
        raise InputError(
            f"course {course.id}: the plan differs from the one signed (SHA-256 {fingerprint(plan)[:16]}... "
            f"against {signed_sha256[:16]}... in audit log entry {entry.id if entry else '-'}); no report"
        )
    return PageStamp(
        patient_name=patient.name, birth_date=patient.birth_date, record_number=record_number(patient),
        signed_by=signer.username if signer is not None else None,
        signed_at=course.signed_at if signer is not None else None,
        plan_sha256=signed_sha256 or None,
        fingerprint_home=f"audit log entry {entry.id} (course.sign)" if entry and signed_sha256 else "",
    )  # fmt: skip


def draft_stamp(patient: Patient, plan: TreatmentPlan | Refusal) -> PageStamp:
    """The stamp of the plan editor's report of an unsigned plan (its fingerprint is the draft's own)."""
    return PageStamp(
        patient_name=patient.name, birth_date=patient.birth_date, record_number=record_number(patient),
        plan_sha256=fingerprint(plan),
    )  # fmt: skip
