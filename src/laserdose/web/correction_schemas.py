"""API schemas of corrections: the reason every edit and void needs, the edits, the previous versions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from laserdose.domain.quantities import Energy, Wavelength
from laserdose.web.schemas import Day, Interruption, OutcomeMeasures, Reason

CorrectableKind = Literal["patients", "screenings", "outcomes", "sessions", "notes"]


class VoidRequest(BaseModel):
    """Void a record: it stays, struck through in the chart's history, out of counts and reports."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class OutcomeUpdate(OutcomeMeasures):
    """Fields of an assessment to correct (a null clears a measure) and the reason; the rest stays."""

    reason: Reason
    assessed_on: Day | None = None


class SessionRecordUpdate(BaseModel):
    """Fields of an ended session's record to correct, and the reason; the rest stays."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    started_at: AwareDatetime | None = None
    duration_s: Annotated[float, Field(ge=0, le=86400, description="emission time [s]")] | None = None
    energy_j_by_wavelength: dict[Wavelength, Energy] | None = None
    interruptions: list[Interruption] | None = Field(default=None, max_length=1000)
    completed: bool | None = None


class ChangePublic(BaseModel):
    """One field a correction changed."""

    model_config = ConfigDict(from_attributes=True)

    field: str
    before: Any
    after: Any


class VersionPublic(BaseModel):
    """A previous version of a record: what it was, who changed it, when and why."""

    model_config = ConfigDict(from_attributes=True)

    version: int = Field(description="1: the record as first saved")
    action: Literal["edit", "void"]
    reason: str
    by: str
    at: dt.datetime
    changes: list[ChangePublic]
    snapshot: dict[str, Any] = Field(description="the record's fields as they were")


class RecordState(BaseModel):
    """A record's void state after a void."""

    kind: str
    id: int
    voided_at: dt.datetime
    void_reason: str
