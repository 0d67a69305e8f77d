"""Dose templates: what a named source delivered at the skin, to whom, and with what result.

A protocol (clinical/protocols.py) carries one or more templates under `[[templates]]`. A template is a
published delivery: a trial's arm, a guideline's dose table or a manufacturer's setting, with its kind
(`trial`, `guideline`, `manufacturer`). Numbers not reported by the source are either left out or given
as a judgement; the data files mark each number [S] (read in the source) or [U] (not found or judged).

Energy is given per area (`surface_dose_j_per_cm2` over `area_cm2`) or per point
(`energy_per_point_j` at `points` spots of `spot_area_cm2` each); planning/reference.py turns a template
into the dose its participants received at the protocol's target.
"""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from laserdose.errors import InputError

KINDS = ("trial", "guideline", "manufacturer")
MODES = ("cw", "pulsed")
_KEYS = ("id", "source", "kind", "wavelengths_nm", "mode", "sessions", "per_week", "evidence")
_OPTIONAL = (
    "energy_fractions",
    "pulse",
    "irradiance_w_per_cm2",
    "surface_dose_j_per_cm2",
    "energy_per_point_j",
    "points",
    "spot_area_cm2",
    "area_cm2",
    "time_s",
    "participants",
    "result",
)
_PULSE_KEYS = ("peak_power_w", "frequency_hz", "pulse_duration_us", "fluence_per_pulse_j_per_cm2")
_PARTICIPANT_KEYS = ("skin_types", "bmi", "weight_kg", "number")
_RESULT_KEYS = ("control", "pain", "disability")


@dataclass(frozen=True)
class Pulse:
    """Pulsed emission as the source reports it (any field None when not reported)."""

    peak_power_w: float | None = None
    frequency_hz: float | None = None
    pulse_duration_us: float | None = None
    fluence_per_pulse_j_per_cm2: float | None = None


@dataclass(frozen=True)
class Participants:
    """Who received the delivery: Fitzpatrick skin types, mean BMI [kg/m2] or weight [kg], number."""

    skin_types: tuple[int, ...] = ()
    bmi: float | None = None
    weight_kg: float | None = None
    number: int | None = None


@dataclass(frozen=True)
class Result:
    """The effect against the control, in the source's words with its confidence interval."""

    control: str = ""
    pain: str = ""
    disability: str = ""


@dataclass(frozen=True)
class DoseTemplate:
    """One published delivery.

    Attributes:
        id: short identifier, unique in its protocol, e.g. "walt2010".
        source: the source, with its key in docs/references.md.
        kind: "trial", "guideline" or "manufacturer".
        wavelengths_nm: the wavelengths emitted [nm].
        energy_fractions: share of the energy at each wavelength [-], summing to 1.
        mode: "cw" or "pulsed".
        pulse: the pulse parameters when pulsed, else None.
        irradiance_w_per_cm2: average irradiance at the skin [W/cm2], if known.
        surface_dose_j_per_cm2: energy per area at the skin [J/cm2], when given per area.
        energy_per_point_j: energy per point [J], when given per point.
        points: number of points.
        spot_area_cm2: area of one point's spot [cm2].
        area_cm2: treated area [cm2] (per-area delivery).
        time_s: time per session [s], if known.
        sessions: sessions in the course.
        per_week: sessions per week.
        participants: who received it.
        result: effect on pain and disability against the control.
        evidence: the evidence note.
    """

    id: str
    source: str
    kind: str
    wavelengths_nm: tuple[float, ...]
    energy_fractions: tuple[float, ...]
    mode: str
    pulse: Pulse | None
    irradiance_w_per_cm2: float | None
    surface_dose_j_per_cm2: float | None
    energy_per_point_j: float | None
    points: int | None
    spot_area_cm2: float | None
    area_cm2: float | None
    time_s: float | None
    sessions: int
    per_week: int
    participants: Participants
    result: Result
    evidence: str

    @property
    def dose_at_skin_j_per_cm2(self) -> float:
        """Radiant exposure at the skin under the lit area [J/cm2] (per point: energy / spot area)."""
        if self.surface_dose_j_per_cm2 is not None:
            return self.surface_dose_j_per_cm2
        assert self.energy_per_point_j is not None and self.spot_area_cm2 is not None  # parse checks
        return self.energy_per_point_j / self.spot_area_cm2

    @property
    def lit_area_cm2(self) -> float:
        """The area lit at once around the target [cm2]: the treated area, or one point's spot."""
        area = self.area_cm2 if self.surface_dose_j_per_cm2 is not None else self.spot_area_cm2
        assert area is not None  # parse checks
        return area

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        data = asdict(self)
        data["wavelengths_nm"] = list(self.wavelengths_nm)
        data["energy_fractions"] = list(self.energy_fractions)
        data["participants"]["skin_types"] = list(self.participants.skin_types)
        return data


def parse_templates(value: Any, source: str) -> tuple[DoseTemplate, ...]:
    """Validate the `[[templates]]` tables of a protocol; `source` names the file in errors."""
    if not isinstance(value, list):
        raise InputError(f"{source}: templates must be [[templates]] tables")
    templates = tuple(_template(table, source, f"templates[{i}].") for i, table in enumerate(value))
    ids = [t.id for t in templates]
    if len(set(ids)) != len(ids):
        raise InputError(f"{source}: template ids must be unique, got {', '.join(ids)}")
    return templates


def _template(table: Any, source: str, where: str) -> DoseTemplate:
    _keys(table, _KEYS, _OPTIONAL, source, where)
    kind, mode = _choice(table, "kind", KINDS, source, where), _choice(table, "mode", MODES, source, where)
    wavelengths = tuple(
        _number(w, f"{where}wavelengths_nm", source) for w in _list(table, "wavelengths_nm", source, where)
    )
    if not wavelengths:
        raise InputError(f"{source}: {where}wavelengths_nm must list at least one wavelength")
    fractions = tuple(
        _number(f, f"{where}energy_fractions", source)
        for f in _list(table, "energy_fractions", source, where, [1.0 / len(wavelengths)] * len(wavelengths))
    )
    if len(fractions) != len(wavelengths) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise InputError(
            f"{source}: {where}energy_fractions must give one share per wavelength, summing to 1"
        )
    pulse = _pulse(table.get("pulse"), source, where)
    if (mode == "pulsed") != (pulse is not None):
        raise InputError(f"{source}: {where}pulse must be given exactly when mode is 'pulsed'")
    opt = {key: _optional(table, key, source, where) for key in _OPTIONAL[2:9]}
    per_area = opt["surface_dose_j_per_cm2"] is not None and opt["area_cm2"] is not None
    per_point = opt["energy_per_point_j"] is not None and opt["spot_area_cm2"] is not None
    if per_area == per_point:
        raise InputError(
            f"{source}: {where.rstrip('.')}: give the dose either per area "
            "(surface_dose_j_per_cm2 and area_cm2) or per point (energy_per_point_j and spot_area_cm2)"
        )
    points = _whole(table, "points", 1, 100, source, where) if "points" in table else None
    return DoseTemplate(
        id=_text(table, "id", source, where),
        source=_text(table, "source", source, where),
        kind=kind,
        wavelengths_nm=wavelengths,
        energy_fractions=fractions,
        mode=mode,
        pulse=pulse,
        irradiance_w_per_cm2=opt["irradiance_w_per_cm2"],
        surface_dose_j_per_cm2=opt["surface_dose_j_per_cm2"],
        energy_per_point_j=opt["energy_per_point_j"],
        points=points,
        spot_area_cm2=opt["spot_area_cm2"],
        area_cm2=opt["area_cm2"],
        time_s=_optional(table, "time_s", source, where),
        sessions=_whole(table, "sessions", 1, 100, source, where),
        per_week=_whole(table, "per_week", 1, 7, source, where),
        participants=_participants(table.get("participants", {}), source, where),
        result=_result(table.get("result", {}), source, where),
        evidence=_text(table, "evidence", source, where),
    )


def _pulse(value: Any, source: str, where: str) -> Pulse | None:
    if value is None:
        return None
    _keys(value, (), _PULSE_KEYS, source, f"{where}pulse.")
    return Pulse(**{key: _optional(value, key, source, f"{where}pulse.") for key in _PULSE_KEYS})


def _participants(value: Any, source: str, where: str) -> Participants:
    where = f"{where}participants."
    _keys(value, (), _PARTICIPANT_KEYS, source, where)
    skin_types = tuple(_list(value, "skin_types", source, where))
    if not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 6 for s in skin_types):
        raise InputError(f"{source}: {where}skin_types must list Fitzpatrick types 1-6, got {skin_types!r}")
    number = _whole(value, "number", 1, 100_000, source, where) if "number" in value else None
    bmi, weight = _optional(value, "bmi", source, where), _optional(value, "weight_kg", source, where)
    return Participants(skin_types, bmi, weight, number)


def _result(value: Any, source: str, where: str) -> Result:
    where = f"{where}result."
    _keys(value, (), _RESULT_KEYS, source, where)
    return Result(**{key: _text(value, key, source, where) for key in _RESULT_KEYS if key in value})


def _keys(data: Any, required: tuple[str, ...], optional: tuple[str, ...], source: str, where: str) -> None:
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: {where.rstrip('.')} must be a table, got {data!r}")
    for key in data:
        if key not in required + optional:
            raise InputError(
                f"{source}: unknown field {where}{key}; allowed: {', '.join(required + optional)}"
            )
    for key in required:
        if key not in data:
            raise InputError(f"{source}: missing field {where}{key}")


def _text(data: Mapping[str, Any], key: str, source: str, where: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{source}: {where}{key} must be a non-empty string, got {value!r}")
    return value


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...], source: str, where: str) -> str:
    value = data[key]
    if value not in allowed:
        raise InputError(f"{source}: {where}{key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _list(
    data: Mapping[str, Any], key: str, source: str, where: str, default: list[Any] | None = None
) -> list[Any]:
    value = data.get(key, [] if default is None else default)
    if not isinstance(value, list):
        raise InputError(f"{source}: {where}{key} must be a list, got {value!r}")
    return value


def _number(value: Any, field: str, source: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InputError(f"{source}: {field} must be a number > 0, got {value!r}")
    return float(value)


def _optional(data: Mapping[str, Any], key: str, source: str, where: str) -> float | None:
    return _number(data[key], f"{where}{key}", source) if key in data else None


def _whole(data: Mapping[str, Any], key: str, low: int, high: int, source: str, where: str) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InputError(f"{source}: {where}{key} must be a whole number from {low} to {high}, got {value!r}")
    return value
