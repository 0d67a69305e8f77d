"""API schemas: separate Create / Update / Public models, strict about unknown and out-of-range fields."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from laserdose.clinic.models import Patient
from laserdose.domain.quantities import BirthDate, Bmi, Energy, SkinType, Wavelength

# Bidirectional controls reorder how a name is displayed (U+061C, U+200E-U+200F, U+202A-U+202E,
# U+2066-U+2069, Unicode TR #9): a name never needs them.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _visible_name(value: str) -> str:
    if any(char in _BIDI_CONTROLS for char in value):
        raise ValueError("must not contain bidirectional control characters")
    if not any(unicodedata.category(char)[0] in "LN" for char in value):
        raise ValueError("must contain at least one letter or digit")
    return value


def _no_bool(value: object) -> object:
    # Pydantic's lax mode reads true as 1; a number field takes numbers (or, from forms, their text).
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def _date_text(value: object) -> object:
    # Lax mode reads a number as seconds since 1970 (0 is 1970-01-01); a date is given as YYYY-MM-DD.
    if isinstance(value, int | float):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


# No control characters: they have no place in a name, and PostgreSQL refuses NUL in text.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
    AfterValidator(_visible_name),
]
Day = Annotated[dt.date, BeforeValidator(_date_text)]
BirthDay = Annotated[BirthDate, BeforeValidator(_date_text)]


NamePart = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"),
]
RecordNumber = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]


def _visible_part(value: str | None) -> str | None:
    return _visible_name(value) if value else value


class PatientCreate(BaseModel):
    """A new patient: the full `name` (split as "Family, Given" or at the last word), or its two parts."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    given_name: Annotated[NamePart, AfterValidator(_visible_part)] | None = None
    family_name: Annotated[NamePart, AfterValidator(_visible_part)] | None = None
    record_number: RecordNumber | None = Field(
        None, description="the clinic's record number; empty or absent: laserdose gives LD-<id>"
    )
    birth_date: BirthDay
    skin_type: SkinType
    bmi: Bmi

    @model_validator(mode="after")
    def _a_name(self) -> PatientCreate:
        if self.name is None and not self.family_name:
            raise ValueError("give the family name (and the given name), or the full name")
        return self


# Why a record is corrected or voided, kept with its previous version. Newlines are allowed; the clinic's
# service refuses other control characters with its own sentence (clinic/corrections.py).
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    Field(description="why the record is corrected or voided (kept with the previous version)"),
]


class PatientUpdate(BaseModel):
    """A correction of a patient: the fields to change and why (the previous version is kept)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason

    name: Name | None = None
    given_name: Annotated[NamePart, AfterValidator(_visible_part)] | None = None
    family_name: Annotated[NamePart, AfterValidator(_visible_part)] | None = None
    record_number: RecordNumber | None = None
    birth_date: BirthDay | None = None
    skin_type: SkinType | None = None
    bmi: Bmi | None = None


class PatientPublic(BaseModel):
    """A patient as the API returns it."""

    id: int
    name: str
    given_name: str
    family_name: str
    record_number: str | None
    birth_date: dt.date
    skin_type: int
    bmi: float

    @classmethod
    def of(cls, patient: Patient) -> PatientPublic:
        """Build from a database row."""
        return cls(
            id=patient.id, name=patient.name, given_name=patient.given_name, family_name=patient.family_name,
            record_number=patient.record_number, birth_date=patient.birth_date, skin_type=patient.skin_type,
            bmi=patient.bmi_kg_m2,
        )  # fmt: skip


class PatientPagePublic(BaseModel):
    """One page of patients, by family name, with how many match in all."""

    items: list[PatientPublic]
    total: int
    offset: int
    limit: int


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


Nrs = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=10, description="pain NRS 0-10")]
OdiSections = Annotated[
    list[Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=5)] | None],
    Field(min_length=10, max_length=10, description="ten ODI answers 0-5, null for a missed section"),
]
RmdqTicked = Annotated[list[bool], Field(min_length=24, max_length=24, description="the 24 RMDQ statements")]
AnalgesicUse = Literal["none", "as_needed", "daily"]
AdherencePercent = Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=100)]
CourseRef = Annotated[
    int,
    BeforeValidator(_no_bool),
    Field(gt=0, description="the patient's course; omitted: the patient's single active course"),
]


class OutcomeMeasures(BaseModel):
    """The measures of an assessment and its course, each optional (a new one and a correction share them)."""

    model_config = ConfigDict(extra="forbid")

    nrs: Nrs | None = None
    odi_sections: OdiSections | None = None
    rmdq_ticked: RmdqTicked | None = None
    analgesic_use: AnalgesicUse | None = None
    exercise_adherence_percent: AdherencePercent | None = None
    course_id: CourseRef | None = None


class OutcomeCreate(OutcomeMeasures):
    """A new outcome assessment; at least one of nrs, odi_sections, rmdq_ticked.

    The date rules (not in the future, not before birth or the course) are the clinic's.
    """

    assessed_on: Day


class OutcomePublic(BaseModel):
    """A scored assessment; `responder` says, per measure, whether the MIC from baseline is reached."""

    outcome_id: int
    assessed_on: dt.date
    nrs: int | None
    odi_percent: float | None
    rmdq: int | None
    responder: dict[str, bool]
    course_id: int | None = Field(description="the course the assessment belongs to; null if unlinked")


class CourseCreate(BaseModel):
    """A course of care: the plan (from the planning engine) beside home exercise and advice."""

    model_config = ConfigDict(extra="forbid")

    condition: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
    protocol: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
    plan: dict[str, Any] = Field(default_factory=dict, description="the plan as the planning engine gives it")
    sessions_planned: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=60)]
    sessions_per_week: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=7)]
    home_exercise: Annotated[str, StringConstraints(max_length=4000)] = ""
    advice: Annotated[str, StringConstraints(max_length=4000)] = ""


class ClosurePublic(BaseModel):
    """A course's closing: why, the note, and the first and last pain and disability scores."""

    model_config = ConfigDict(from_attributes=True)

    closed_at: dt.datetime
    reason: str
    note: str
    summary: dict[str, Any]


class CoursePublic(BaseModel):
    """A course as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    condition: str
    protocol: str
    plan: dict[str, Any]
    sessions_planned: int
    sessions_per_week: int
    home_exercise: str
    advice: str
    signed_at: dt.datetime | None
    closure: ClosurePublic | None = Field(description="the closing in force; null while the course is open")


class CourseClose(BaseModel):
    """Close (discharge) a course."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal["completed", "stopped_early", "referred", "lost_to_follow_up"]
    note: Annotated[str, StringConstraints(max_length=4000)] = ""


class CourseReopen(BaseModel):
    """Reopen a closed course, with the reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=10, max_length=4000)]


class DoseCountPublic(BaseModel):
    """How many planned sessions were delivered; interrupted ones apart, a completion counted once."""

    planned: int
    delivered: int
    interrupted: int
    interrupted_j: list[float] = Field(description="energy of each interrupted dose [J]")
    running: int
    planned_j: float | None = Field(description="energy of one planned session [J]")
    energy_j: float = Field(description="energy delivered over the course [J]")
    sentence: str


class Interruption(BaseModel):
    """A pause in emission during a session."""

    model_config = ConfigDict(extra="forbid")

    at_s: Annotated[
        float, BeforeValidator(_no_bool), Field(ge=0, le=86400, description="seconds into the session [s]")
    ]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class SessionRecordCreate(BaseModel):
    """A delivered session as the machine's controller records it."""

    model_config = ConfigDict(extra="forbid")

    started_at: AwareDatetime
    duration_s: Annotated[
        float, BeforeValidator(_no_bool), Field(ge=0, le=86400, description="emission time [s]")
    ]
    energy_j_by_wavelength: dict[Wavelength, Energy]
    interruptions: list[Interruption] = Field(default_factory=list, max_length=1000)
    completed: bool  # started_at: the date rules are the clinic's (domain/record_dates.py)
    completes_session_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None, description="the interrupted session whose remaining energy this one delivered"
    )
    same_day_reason: Annotated[str, StringConstraints(max_length=4000)] | None = Field(
        default=None, description="confirms a second dose on one calendar day (clinic time), with why"
    )


class SessionRecordPublic(BaseModel):
    """A stored session record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    course_id: int
    operator_id: int
    started_at: dt.datetime
    duration_s: float
    energy_j_by_wavelength: dict[str, float]
    interruptions: list[dict[str, Any]]
    completed: bool
    completes_session_id: int | None = None
    same_day_confirmed_at: dt.datetime | None = None
    same_day_reason: str = ""
    voided_at: dt.datetime | None = Field(default=None, description="when it was voided; null if it stands")
    void_reason: str = Field(default="", description="why it was voided (a voided session is not counted)")
