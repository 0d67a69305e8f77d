"""API schemas: separate Create / Update / Public models, strict about unknown and out-of-range fields."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from laserdose.clinic.models import Patient
from laserdose.clinic.service import BMI_RANGE_KG_M2

# No control characters: they have no place in a name, and PostgreSQL refuses NUL in text.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
SkinType = Annotated[int, Field(ge=1, le=6, description="Fitzpatrick skin type 1-6")]
Bmi = Annotated[
    float, Field(ge=BMI_RANGE_KG_M2[0], le=BMI_RANGE_KG_M2[1], description="body mass index [kg/m2]")
]


def _not_in_future(value: dt.date | None) -> dt.date | None:
    if value is not None and not dt.date(1900, 1, 1) <= value <= dt.date.today():
        raise ValueError("must be between 1900-01-01 and today")
    return value


class PatientCreate(BaseModel):
    """A new patient."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    birth_date: dt.date
    skin_type: SkinType
    bmi: Bmi

    _birth_date = field_validator("birth_date")(_not_in_future)


class PatientUpdate(BaseModel):
    """Fields to change on a patient; all optional."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    birth_date: dt.date | None = None
    skin_type: SkinType | None = None
    bmi: Bmi | None = None

    _birth_date = field_validator("birth_date")(_not_in_future)


class PatientPublic(BaseModel):
    """A patient as the API returns it."""

    id: int
    name: str
    birth_date: dt.date
    skin_type: int
    bmi: float

    @classmethod
    def of(cls, patient: Patient) -> PatientPublic:
        """Build from a database row."""
        return cls(
            id=patient.id, name=patient.name, birth_date=patient.birth_date, skin_type=patient.skin_type,
            bmi=patient.bmi_kg_m2,
        )  # fmt: skip


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
