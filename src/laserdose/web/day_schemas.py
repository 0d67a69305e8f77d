"""API schemas of the clinic's day: appointments, the safety checklist, consent (strict, like schemas.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from laserdose.web.schemas import Day, Name

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500,
                                          pattern=r"^[^\x00-\x1f\x7f]+$")]  # fmt: skip


class AppointmentPublic(BaseModel):
    """A planned session of a signed course, with its state (planned, running, done, interrupted, missed)."""

    id: int
    course_id: int
    patient_id: int
    patient_name: str
    number: int
    sessions_planned: int
    planned_at: dt.datetime
    state: str
    move_reason: str


class AppointmentMove(BaseModel):
    """Move a planned session to another time (audited)."""

    model_config = ConfigDict(extra="forbid")

    planned_at: AwareDatetime
    reason: Reason


class ChecklistCreate(BaseModel):
    """The safety checklist before emission: each item's key with true (GET /api/v1/checklist/items)."""

    model_config = ConfigDict(extra="forbid")

    items: dict[str, StrictBool] = Field(description="each checklist item's key with true when confirmed")


class ChecklistPublic(BaseModel):
    """A completed checklist: who, when, each item, the eyewear shown as required."""

    id: int
    appointment_id: int
    completed_by: str
    completed_at: dt.datetime
    items: dict[str, bool]
    eyewear: list[dict[str, Any]]
    used_by_session_id: int | None


class ChecklistItemPublic(BaseModel):
    """One checklist item."""

    key: str
    label: str


class ConsentCreate(BaseModel):
    """The patient's signed consent to Class 4 laser treatment for a course."""

    model_config = ConfigDict(extra="forbid")

    patient_name: Name
    signed_on: Day


class ConsentPublic(BaseModel):
    """A recorded consent."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    course_id: int
    patient_name: str
    signed_on: dt.date
    taken_by_id: int
    recorded_at: dt.datetime
    form_version: str
