"""What the treatment console shows of the safety checklist: today's appointment, the eyewear, the items."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from laserdose.clinic import checklists, schedule
from laserdose.clinic.models import User, utcnow
from laserdose.domain.plan import Delivery
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile
from laserdose.safety.checklist import ITEMS, KEYS, MAX_AGE_S, eyewear_for_plan
from laserdose.safety.summary import EyewearNeed


def checklist_eyewear(plan: Delivery | None, profile: DeviceProfile | None) -> list[EyewearNeed]:
    """The eyewear the checklist asks for (the plan's wavelengths at the machine's maximum power)."""
    if plan is None or profile is None:
        return []
    try:
        return eyewear_for_plan(profile, plan.power_w_by_wavelength)
    except InputError:
        return []


def checklist_answers(form: FormData) -> dict[str, bool]:
    """The items ticked on the console's checklist form."""
    return {key: form.get(key) == "yes" for key in KEYS}


def checklist_context(
    db: Session, user: User, course_id: int, plan: Delivery | None, profile: DeviceProfile | None,
    form: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """The console template's checklist variables; `form` is a refused form's {"values", "error"}."""
    now = utcnow()
    entry = schedule.current_appointment(session=db, actor=user, course_id=course_id, today=now.date())
    upcoming = None
    if entry is None:
        upcoming = schedule.next_open(session=db, actor=user, course_id=course_id, today=now.date())
    pending = (
        checklists.pending_checklist(session=db, appointment_id=entry.appointment.id, now=now)
        if entry is not None
        else None
    )
    return {
        "appointment": entry, "upcoming": upcoming, "pending_checklist": pending,
        "checklist_items": ITEMS, "checklist_eyewear": checklist_eyewear(plan, profile),
        "checklist_values": (form or {}).get("values", {}), "checklist_error": (form or {}).get("error", ""),
        "checklist_minutes": f"{MAX_AGE_S / 60:g}",
    }  # fmt: skip
