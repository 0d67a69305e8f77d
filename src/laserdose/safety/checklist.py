"""The safety checklist completed before every emission, and the eyewear it asks for.

Six items, each confirmed by the operator in the treatment room just before ARM: the patient's identity;
eyewear on everyone in the room, rated for the plan's wavelengths; the controlled area (door closed or
interlocked, warning sign); the skin in the field inspected; the handpiece clean; the aiming beam seen
[IEC60825-1] [IECTR60825-14] [IEC60601-2-22] [NAALT2010] [Houghton2010] [FDAFentanyl]. ARM is refused
until every item is confirmed for that session: the web console, the JSON API and `laserdose treat`
all ask this module which items are missing.

The eyewear is rated for the machine, not for this plan's setting: the optical density and EN 207
marking at each of the plan's wavelengths come from the source's maximum power over the machine's
smallest handpiece (`safety_summary`), since a setting can be changed in the room and goggles cannot
[IEC60825-1] [EN207].
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from laserdose.errors import InputError
from laserdose.files import parse_toml
from laserdose.machines.profile import DeviceProfile
from laserdose.safety.hazard import DEFAULT_EXPOSURE_S
from laserdose.safety.summary import EyewearNeed, safety_summary

# A checklist is done in the room just before emission: older than this, it is done again [U: our choice].
MAX_AGE_S = 3600.0


@dataclass(frozen=True)
class Item:
    """One checklist item.

    Attributes:
        key: its name in files, forms and the stored record.
        label: what the operator confirms, in plain words.
    """

    key: str
    label: str


ITEMS: tuple[Item, ...] = (
    Item("identity", "patient identity confirmed (name and date of birth against the chart)"),
    Item(
        "eyewear",
        "everyone in the room, the patient too, wears eyewear rated for the plan's wavelengths "
        "(optical density and EN 207 marking as listed)",
    ),
    Item("controlled_area", "controlled area: door closed or interlocked, laser warning sign up"),
    Item(
        "skin",
        "skin in the field inspected: no tattoo, naevus, broken skin or drug patch; "
        "no photosensitising drug taken today",
    ),
    Item("handpiece", "handpiece clean"),
    Item("aiming_beam", "aiming beam seen on the skin"),
)
KEYS = tuple(item.key for item in ITEMS)


def missing_items(answers: Mapping[str, Any]) -> list[Item]:
    """The items not confirmed in `answers` (only the value True confirms one), in checklist order."""
    return [item for item in ITEMS if answers.get(item.key) is not True]


def missing_sentence(missing: Iterable[Item]) -> str:
    """One plain line naming the first missing item (and how many more)."""
    items = list(missing)
    if not items:
        return ""
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return f"safety checklist incomplete: not confirmed: {items[0].label}{more}"


def eyewear_for_plan(profile: DeviceProfile, wavelengths_nm: Iterable[float]) -> list[EyewearNeed]:
    """Eyewear for each of the plan's wavelengths at the machine's maximum power (see the module doc).

    Args:
        profile: the machine.
        wavelengths_nm: the plan's wavelengths [nm].
    """
    wanted = set(wavelengths_nm)
    needs = safety_summary(profile, DEFAULT_EXPOSURE_S).eyewear
    found = [need for need in needs if need.wavelength_nm in wanted]
    if len(found) != len(wanted):
        raise InputError(f"the machine {profile.name} has no source at some of {sorted(wanted)} nm")
    return found


@dataclass(frozen=True)
class ChecklistFile:
    """A checklist as `laserdose treat --checklist FILE` reads it.

    Attributes:
        answers: each item's key with its value as written.
        plan_sha256: the SHA-256 (hex) of the plan file it was done for.
        completed_at: when it was completed (timezone-aware).
        operator: who completed it.
    """

    answers: dict[str, Any]
    plan_sha256: str
    completed_at: dt.datetime
    operator: str


def read_checklist_file(path: Path) -> ChecklistFile:
    """Read a checklist file (TOML, or JSON when it ends in .json); InputError naming what is wrong.

    The file holds `plan_sha256`, `completed_at` (ISO 8601 with a zone), `operator` and one `true` per item.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read checklist {path}: {exc.strerror or exc}") from None
    data: Any
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"checklist {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    else:
        data = parse_toml(text, str(path))
    if not isinstance(data, dict):
        raise InputError(f"checklist {path} must be a table of fields")
    unknown = sorted(set(data) - {*KEYS, "plan_sha256", "completed_at", "operator"})
    if unknown:
        raise InputError(f"checklist {path}: unknown field {unknown[0]!r}; allowed: {', '.join(KEYS)}, "
                         "plan_sha256, completed_at, operator")  # fmt: skip
    return ChecklistFile(
        answers={key: data[key] for key in KEYS if key in data},
        plan_sha256=_text(path, data, "plan_sha256").lower(),
        completed_at=_moment(path, data.get("completed_at")),
        operator=_text(path, data, "operator"),
    )


def _text(path: Path, data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"checklist {path}: {key} must be given as text")
    return value.strip()


def _moment(path: Path, value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InputError(f"checklist {path}: completed_at must be a date and time, e.g. "
                             "2026-12-02T09:30:00Z") from None  # fmt: skip
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise InputError(f"checklist {path}: completed_at must be a date and time with its zone (Z for UTC)")
    return value


def file_problem(checklist: ChecklistFile, plan_sha256: str, now: dt.datetime) -> str:
    """Why the checklist does not let this session arm, or "": another plan, too old, an item missing."""
    if checklist.plan_sha256 != plan_sha256:
        given = checklist.plan_sha256[:12]
        return f"the checklist is for another plan (plan_sha256 {given}...); this plan's is {plan_sha256}"
    age_s = (now - checklist.completed_at).total_seconds()
    if not 0.0 <= age_s <= MAX_AGE_S:
        return (f"the checklist was completed at {checklist.completed_at.isoformat()}: it must be done within"
                f" the {MAX_AGE_S / 60:g} minutes before emission, not later or in the future")  # fmt: skip
    return missing_sentence(missing_items(checklist.answers))
