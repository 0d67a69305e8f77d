"""Treatment protocols: per condition, the target structures, dose windows, surface dose and course.

Protocols are TOML files, one per protocol, so that a clinic can add or edit one without touching code.
The shipped ones live in `laserdose/clinical/data/protocols/`; files in the directory named by the
environment variable LASERDOSE_PROTOCOLS_DIR, then in a directory given as an argument, add protocols or
override a shipped one of the same name. Every file is validated strictly: a bad one raises InputError
naming the file and the field.

The dose window at the target comes from the biphasic dose-response literature (cells stimulated at
~0.5-4 J/cm^2, inhibited towards 30 J/cm^2: Huang 2009, 2011; Sharma 2011; AlGhamdi 2011); applying it to
the fluence at a structure in vivo is a judgement, marked [U] in the files.
"""

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from laserdose.clinical.screening import DIAGNOSES, REFERRAL_FIRST_DIAGNOSES
from laserdose.domain.quantities import DOSE
from laserdose.errors import InputError
from laserdose.files import read_toml

ENV_DIR = "LASERDOSE_PROTOCOLS_DIR"
# Structures of the patient's back model whose depth planning looks up (optics/back.py).
TARGET_STRUCTURES = ("facet_joint", "multifidus", "nerve_root", "sacroiliac_joint")
MAX_DOSE_J_PER_CM2 = DOSE.high  # plausibility cap for any window: the domain's dose range
_KEYS = ("name", "title", "diagnosis", "referral_first", "surface_dose_j_per_cm2", "course", "targets")
_OPTIONAL_KEYS = ("notes", "sources")
_TARGET_KEYS = ("structure", "window_j_per_cm2", "why", "window_basis")


@dataclass(frozen=True)
class Target:
    """One structure to reach and the fluence wanted there.

    Attributes:
        structure: a back-model structure, one of TARGET_STRUCTURES.
        window_j_per_cm2: (low, high) fluence wanted at the structure [J/cm^2].
        why: why this structure is treated.
        window_basis: where the window comes from, with [U] where it is a judgement.
    """

    structure: str
    window_j_per_cm2: tuple[float, float]
    why: str
    window_basis: str


@dataclass(frozen=True)
class Course:
    """A course of treatment: `sessions` in all, `per_week` each week."""

    sessions: int
    per_week: int

    @property
    def weeks(self) -> float:
        """Length of the course [weeks]."""
        return self.sessions / self.per_week


@dataclass(frozen=True)
class Protocol:
    """A treatment protocol for one condition.

    Attributes:
        name: the protocol's name (the file's stem), e.g. "chronic-nonspecific-lbp".
        title: a human title.
        diagnosis: the screening diagnosis code it treats (screening.DIAGNOSES).
        referral_first: laser only as an adjunct after a medical opinion (herniated disc, stenosis).
        targets: the structures to reach; the first is the primary target.
        surface_dose_j_per_cm2: (low, high) radiant exposure at the skin [J/cm^2].
        course: sessions and sessions per week.
        notes: evidence notes, [S]/[U] marked.
        sources: the sources the numbers come from.
        origin: the file it was read from.
    """

    name: str
    title: str
    diagnosis: str
    referral_first: bool
    targets: tuple[Target, ...]
    surface_dose_j_per_cm2: tuple[float, float]
    course: Course
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    origin: str

    @property
    def primary_target(self) -> Target:
        """The structure the plan is optimised for."""
        return self.targets[0]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "name": self.name,
            "title": self.title,
            "diagnosis": self.diagnosis,
            "referral_first": self.referral_first,
            "targets": [
                {
                    "structure": t.structure,
                    "window_j_per_cm2": list(t.window_j_per_cm2),
                    "why": t.why,
                    "window_basis": t.window_basis,
                }
                for t in self.targets
            ],
            "surface_dose_j_per_cm2": list(self.surface_dose_j_per_cm2),
            "course": {"sessions": self.course.sessions, "per_week": self.course.per_week},
            "notes": list(self.notes),
            "sources": list(self.sources),
            "origin": self.origin,
        }


def shipped_dir() -> Path:
    """The directory of the protocols shipped with laserdose."""
    return Path(str(resources.files("laserdose.clinical") / "data" / "protocols"))


def load_protocols(extra_dir: str | Path | None = None) -> dict[str, Protocol]:
    """All protocols by name: shipped, then LASERDOSE_PROTOCOLS_DIR, then `extra_dir` (later ones override).

    Args:
        extra_dir: a directory of protocol TOML files added on top, or None.

    Raises:
        InputError: a directory does not exist or a file in it is invalid.
    """
    protocols: dict[str, Protocol] = {}
    env_dir = os.environ.get(ENV_DIR)
    for directory, label in ((shipped_dir(), None), (env_dir, ENV_DIR), (extra_dir, "protocols directory")):
        if directory:
            protocols.update(_load_dir(Path(directory), label))
    return protocols


def get_protocol(name: str, extra_dir: str | Path | None = None) -> Protocol:
    """The protocol called `name`; an unknown name raises InputError listing the known ones."""
    protocols = load_protocols(extra_dir)
    if name not in protocols:
        raise InputError(f"unknown protocol {name!r}; allowed: {', '.join(sorted(protocols))}")
    return protocols[name]


def _load_dir(directory: Path, label: str | None) -> dict[str, Protocol]:
    if not directory.is_dir():
        raise InputError(f"{label}: {directory} is not a directory")
    return {p.name: p for p in (load_protocol_file(path) for path in sorted(directory.glob("*.toml")))}


def load_protocol_file(path: str | Path) -> Protocol:
    """Read and validate one protocol file; its `name` must equal the file's stem."""
    source = str(path)
    protocol = parse_protocol(read_toml(path, "protocol file"), source)
    if protocol.name != Path(path).stem:
        raise InputError(f"{source}: name {protocol.name!r} must match the file name {Path(path).stem!r}")
    return protocol


def parse_protocol(data: Mapping[str, Any], source: str) -> Protocol:
    """Validate a protocol already parsed into a mapping; `source` names it in error messages."""
    _check_keys(data, _KEYS, _OPTIONAL_KEYS, source, "")
    diagnosis = _text(data, "diagnosis", source)
    if diagnosis not in DIAGNOSES:
        raise InputError(
            f"{source}: unknown diagnosis {diagnosis!r}; allowed: {', '.join(sorted(DIAGNOSES))}"
        )
    referral_first = data["referral_first"]
    if not isinstance(referral_first, bool):
        raise InputError(f"{source}: referral_first must be true or false, got {referral_first!r}")
    if diagnosis in REFERRAL_FIRST_DIAGNOSES and not referral_first:
        raise InputError(
            f"{source}: referral_first must be true for diagnosis {diagnosis!r} (medical opinion first)"
        )
    return Protocol(
        name=_text(data, "name", source),
        title=_text(data, "title", source),
        diagnosis=diagnosis,
        referral_first=referral_first,
        targets=_targets(data["targets"], source),
        surface_dose_j_per_cm2=_window(data["surface_dose_j_per_cm2"], "surface_dose_j_per_cm2", source),
        course=_course(data["course"], source),
        notes=_texts(data, "notes", source),
        sources=_texts(data, "sources", source, required=True),
        origin=source,
    )


def _check_keys(
    data: Any, required: tuple[str, ...], optional: tuple[str, ...], source: str, where: str
) -> None:
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: {where or 'protocol'} must be a table, got {data!r}")
    for key in data:
        if key not in required + optional:
            raise InputError(
                f"{source}: unknown field {where}{key!r}; allowed: {', '.join(required + optional)}"
            )
    for key in required:
        if key not in data:
            raise InputError(f"{source}: missing field {where}{key}")


def _text(data: Mapping[str, Any], key: str, source: str, where: str = "") -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{source}: {where}{key} must be a non-empty string, got {value!r}")
    return value


def _texts(data: Mapping[str, Any], key: str, source: str, required: bool = False) -> tuple[str, ...]:
    values = data.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise InputError(f"{source}: {key} must be a list of non-empty strings, got {values!r}")
    if required and not values:
        raise InputError(f"{source}: {key} must name at least one source")
    return tuple(values)


def _window(value: Any, field: str, source: str) -> tuple[float, float]:
    """A (low, high) dose range [J/cm^2] with 0 < low < high <= MAX_DOSE_J_PER_CM2."""
    numbers = isinstance(value, list) and len(value) == 2
    numbers = numbers and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if not numbers or not all(math.isfinite(v) for v in value):
        raise InputError(f"{source}: {field} must be [low, high] in J/cm^2, got {value!r}")
    low, high = float(value[0]), float(value[1])
    if not 0.0 < low < high <= MAX_DOSE_J_PER_CM2:
        raise InputError(
            f"{source}: {field} must satisfy 0 < low < high <= {MAX_DOSE_J_PER_CM2:g} J/cm^2, got {value!r}"
        )
    return (low, high)


def _targets(value: Any, source: str) -> tuple[Target, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{source}: targets must be one or more [[targets]] tables")
    targets = []
    for index, table in enumerate(value):
        where = f"targets[{index}]."
        _check_keys(table, _TARGET_KEYS, (), source, where)
        structure = _text(table, "structure", source, where)
        if structure not in TARGET_STRUCTURES:
            raise InputError(
                f"{source}: {where}structure {structure!r} unknown; allowed: {', '.join(TARGET_STRUCTURES)}"
            )
        window = _window(table["window_j_per_cm2"], f"{where}window_j_per_cm2", source)
        why = _text(table, "why", source, where)
        targets.append(Target(structure, window, why, _text(table, "window_basis", source, where)))
    return tuple(targets)


def _course(value: Any, source: str) -> Course:
    _check_keys(value, ("sessions", "per_week"), (), source, "course.")
    sessions, per_week = value["sessions"], value["per_week"]
    if not isinstance(sessions, int) or isinstance(sessions, bool) or not 1 <= sessions <= 100:
        raise InputError(f"{source}: course.sessions must be a whole number from 1 to 100, got {sessions!r}")
    if not isinstance(per_week, int) or isinstance(per_week, bool) or not 1 <= per_week <= 7:
        raise InputError(f"{source}: course.per_week must be a whole number from 1 to 7, got {per_week!r}")
    return Course(sessions, per_week)
