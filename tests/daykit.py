"""The clinic's day for tests that are not about it: consent, today's sessions, a completed checklist.

Signing needs the patient's recorded consent and ARM a completed safety checklist of the session; tests
of other things get both here, in one place. The tests of consent, schedule and checklist themselves
(tests/clinic/test_clinic_day.py, tests/web/test_web_day.py, tests/browser/test_browser_day.py) do not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import checklists, consent, schedule
from laserdose.clinic.models import Appointment, Consent, Course, SafetyChecklist, User, utcnow
from laserdose.safety.checklist import KEYS

ALL_CONFIRMED = dict.fromkeys(KEYS, True)


def earlier_today(now: dt.datetime, before: dt.timedelta) -> dt.datetime:
    """`before` earlier than `now`, but never before midnight UTC of `now`'s day (the clinic's day in tests).

    "An hour ago" is yesterday between 00:00 and 01:00 UTC; a test about a second dose the same day must
    not depend on the hour it runs at.
    """
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - before, midnight)


def give_consent(session: Session, clinician: User, course_id: int) -> Consent:
    """Record the patient's consent for `course_id` as signed today under the patient's name."""
    course = session.get(Course, course_id)
    assert course is not None
    given = consent.ConsentGiven(course.patient.name, utcnow().date())
    return consent.record_consent(
        session=session, actor=clinician, course_id=course_id, given=given, today=utcnow().date()
    )


def ensure_consent(session: Session, clinician: User, course_id: int) -> Consent:
    """The course's consent, recorded now (`give_consent`) unless it is recorded already."""
    found = consent.course_consent(session=session, actor=clinician, course_id=course_id)
    return found if found is not None else give_consent(session, clinician, course_id)


def consent_for(patient_name: str) -> consent.ConsentGiven:
    """The consent `create_signed_course` records for a patient, signed today."""
    return consent.ConsentGiven(patient_name, utcnow().date())


def plan_today(session: Session, course: Course) -> list[Appointment]:
    """Every session of a signed course planned for today, a minute apart from now (whatever the weekday).

    For tests that treat; the weekday schedule that signing makes is tested on its own.
    """
    now = utcnow().replace(second=0, microsecond=0)
    minutes = [min(i, 24 * 60 - 1 - now.hour * 60 - now.minute) for i in range(course.sessions_planned)]
    appointments = [
        Appointment(course_id=course.id, number=n, planned_at=now + dt.timedelta(minutes=m))
        for n, m in enumerate(minutes, 1)
    ]
    session.add_all(appointments)
    session.flush()
    return appointments


def complete_checklist(session: Session, operator: User, course_id: int) -> SafetyChecklist:
    """A completed safety checklist for the course's session today (it serves one start)."""
    now = utcnow()
    entry = schedule.current_appointment(
        session=session, actor=operator, course_id=course_id, today=now.date()
    )
    assert entry is not None, f"course {course_id} has no session left to treat today"
    return checklists.record_checklist(
        session=session, actor=operator, appointment_id=entry.appointment.id, answers=ALL_CONFIRMED,
        eyewear=[], now=now,
    )  # fmt: skip


def checklist_form(csrf_token: str) -> dict[str, str]:
    """The console's checklist form with every item ticked."""
    return {"csrf_token": csrf_token, **dict.fromkeys(KEYS, "yes")}


def write_checklist(plan: Path, folder: Path, **changes: Any) -> Path:
    """A `laserdose treat --checklist` file for `plan`, every item true, completed now (TOML)."""
    fields: dict[str, Any] = {
        "plan_sha256": hashlib.sha256(plan.read_bytes()).hexdigest(),
        "completed_at": utcnow().isoformat(), "operator": "Test Operator", **ALL_CONFIRMED, **changes,
    }  # fmt: skip
    lines = [f"{key} = {json.dumps(value)}" for key, value in fields.items() if value is not None]
    path = folder / f"checklist-{fields['plan_sha256'][:8]}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def with_checklist(args: list[str]) -> list[str]:
    """`laserdose treat` arguments with a complete checklist for their plan added, unless one is given.

    Every test that treats from the command line gets its checklist here; the tests of the checklist
    (tests/cli/test_treat_checklist.py) give theirs themselves.
    """
    if not args or args[0] != "treat" or "--checklist" in args or "--plan" not in args:
        return args
    plan = Path(args[args.index("--plan") + 1])
    if not plan.is_file():
        return args
    return [*args, "--checklist", str(write_checklist(plan, plan.parent))]


def consent_fields(name: str = "Test Patient") -> dict[str, str]:
    """The plan editor's (or the consent page's) consent fields, filled: signed today by `name`."""
    return {"consent_given": "yes", "consent_name": name, "consent_date": utcnow().date().isoformat()}
