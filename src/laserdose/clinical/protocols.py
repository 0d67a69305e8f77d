"""Treatment protocols: per condition, the target structures, dose templates, limits and course.

Protocols are TOML files, one per protocol, so that a clinic can add or edit one without touching code.
The shipped ones live in `laserdose/clinical/data/protocols/`; files in the directory named by the
environment variable LASERDOSE_PROTOCOLS_DIR, then in a directory given as an argument, add protocols or
override a shipped one of the same name. Every file is validated strictly: a bad one raises InputError
naming the file and the field.

No protocol prescribes a dose at the target: the planner aims at what a dose template's participants
received there (planning/reference.py), within the `[prescription]` band. The biphasic dose-response
literature (cells stimulated at low doses, inhibited at high ones: Huang 2009, 2011; Sharma 2011; AlGhamdi
2011) survives only as an upper bound on the target dose relative to that reference (`max_target_ratio`).
A protocol without templates of its own names the protocol it borrows them from (`templates_from`).
"""

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from laserdose.clinical.screening import DIAGNOSES, REFERRAL_FIRST_DIAGNOSES
from laserdose.clinical.templates import DoseTemplate, parse_templates
from laserdose.domain.quantities import DOSE
from laserdose.errors import InputError
from laserdose.files import read_toml

ENV_DIR = "LASERDOSE_PROTOCOLS_DIR"
# Structures of the patient's back model whose depth planning looks up (optics/back.py).
TARGET_STRUCTURES = ("facet_joint", "multifidus", "nerve_root", "sacroiliac_joint")
MAX_DOSE_J_PER_CM2 = DOSE.high  # plausibility cap for any dose: the domain's dose range
_KEYS = ("name", "title", "diagnosis", "referral_first", "max_surface_dose_j_per_cm2", "course", "targets")
_OPTIONAL_KEYS = ("notes", "sources", "templates", "prescription", "max_irradiance_w_per_cm2")
_TARGET_KEYS = ("structure", "why")
_PRESCRIPTION_KEYS = ("default_template", "templates_from", "band", "max_target_ratio")
_RETIRED = {
    "window_j_per_cm2": "no protocol sets a dose window at the target any more: the planner aims at a dose "
    "template's reference dose (give [prescription] band)",
    "window_basis": "no protocol sets a dose window at the target any more",
    "surface_dose_j_per_cm2": "give max_surface_dose_j_per_cm2 (the highest surface dose allowed); the "
    "template sets the aim",
}
# Defaults of [prescription] [U]: the patient's nominal target dose within 0.8-1.25 of the reference (a
# factor 1.25 either way, our judgement: smaller than the spread of the reference dose between the
# templates' participants); never more than twice the reference (the biphasic dose response: too much
# inhibits, Huang 2009, 2011; the factor is our judgement).
DEFAULT_BAND = (0.8, 1.25)
DEFAULT_MAX_TARGET_RATIO = 2.0


@dataclass(frozen=True)
class Target:
    """One structure to reach.

    Attributes:
        structure: a back-model structure, one of TARGET_STRUCTURES.
        why: why this structure is treated.
    """

    structure: str
    why: str


@dataclass(frozen=True)
class PrescriptionRules:
    """How a plan aims at a dose template's reference dose (the `[prescription]` table).

    Attributes:
        default_template: the template planned when none is chosen (None: the first trial, else the first).
        templates_from: the protocol whose templates this one borrows (None: its own).
        band: (low, high) the patient's target dose / the reference dose must reach [-].
        max_target_ratio: the target dose never exceeds this times the reference (biphasic bound) [-].
    """

    default_template: str | None = None
    templates_from: str | None = None
    band: tuple[float, float] = DEFAULT_BAND
    max_target_ratio: float = DEFAULT_MAX_TARGET_RATIO


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
        max_surface_dose_j_per_cm2: the highest radiant exposure at the skin a plan may give [J/cm^2].
        course: sessions and sessions per week.
        notes: evidence notes, [S]/[U] marked.
        sources: the sources the numbers come from.
        origin: the file it was read from.
        templates: published deliveries (clinical/templates.py), borrowed ones included.
        prescription: how plans aim at a template.
        max_irradiance_w_per_cm2: the highest irradiance under the beam (total power / beam area) a plan
            may give [W/cm^2]; None: the skin temperature alone limits it.
    """

    name: str
    title: str
    diagnosis: str
    referral_first: bool
    targets: tuple[Target, ...]
    max_surface_dose_j_per_cm2: float
    course: Course
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    origin: str
    templates: tuple[DoseTemplate, ...] = ()
    prescription: PrescriptionRules = PrescriptionRules()
    max_irradiance_w_per_cm2: float | None = None

    @property
    def primary_target(self) -> Target:
        """The structure the plan is optimised for."""
        return self.targets[0]

    @property
    def borrowed(self) -> bool:
        """True when the templates come from another protocol (an extrapolation across conditions)."""
        return self.prescription.templates_from is not None

    def template(self, template_id: str | None) -> DoseTemplate:
        """The template `template_id`, or the default one when None; InputError if unknown or none."""
        if not self.templates:
            raise InputError(f"protocol {self.name} has no dose template: the planner has nothing to aim at")
        by_id = {t.id: t for t in self.templates}
        if template_id is None:
            template_id = self.prescription.default_template
        if template_id is None:
            trials = [t for t in self.templates if t.kind == "trial"]
            return (trials or list(self.templates))[0]
        if template_id not in by_id:
            raise InputError(f"unknown template {template_id!r} for {self.name}; allowed: {', '.join(by_id)}")
        return by_id[template_id]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "name": self.name,
            "title": self.title,
            "diagnosis": self.diagnosis,
            "referral_first": self.referral_first,
            "targets": [{"structure": t.structure, "why": t.why} for t in self.targets],
            "max_surface_dose_j_per_cm2": self.max_surface_dose_j_per_cm2,
            "max_irradiance_w_per_cm2": self.max_irradiance_w_per_cm2,
            "prescription": {
                "default_template": self.template(None).id if self.templates else None,
                "templates_from": self.prescription.templates_from,
                "band": list(self.prescription.band),
                "max_target_ratio": self.prescription.max_target_ratio,
            },
            "course": {"sessions": self.course.sessions, "per_week": self.course.per_week},
            "notes": list(self.notes),
            "sources": list(self.sources),
            "origin": self.origin,
            "templates": [t.to_dict() for t in self.templates],
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
    return {name: _with_borrowed(protocol, protocols) for name, protocol in protocols.items()}


def _with_borrowed(protocol: Protocol, protocols: Mapping[str, Protocol]) -> Protocol:
    """The protocol with the templates of the protocol it borrows from (one step, no chains)."""
    lender_name = protocol.prescription.templates_from
    if lender_name is None:
        return protocol
    lender = protocols.get(lender_name)
    if lender is None or lender.borrowed or not lender.templates:
        raise InputError(
            f"{protocol.origin}: prescription.templates_from {lender_name!r} must name a protocol with "
            "templates of its own"
        )
    return replace(protocol, templates=lender.templates)


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
    _check_retired(data, source, "")
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
    templates = parse_templates(data.get("templates", []), source)
    rules = _prescription(data.get("prescription", {}), templates, source)
    return Protocol(
        name=_text(data, "name", source),
        title=_text(data, "title", source),
        diagnosis=diagnosis,
        referral_first=referral_first,
        targets=_targets(data["targets"], source),
        max_surface_dose_j_per_cm2=_positive(data, "max_surface_dose_j_per_cm2", source, MAX_DOSE_J_PER_CM2),
        course=_course(data["course"], source),
        notes=_texts(data, "notes", source),
        sources=_texts(data, "sources", source, required=True),
        origin=source,
        templates=templates,
        prescription=rules,
        max_irradiance_w_per_cm2=(
            _positive(data, "max_irradiance_w_per_cm2", source, 100.0)
            if "max_irradiance_w_per_cm2" in data
            else None
        ),
    )


def _check_retired(data: Any, source: str, where: str) -> None:
    """A field the format no longer has, named with what replaces it."""
    if isinstance(data, Mapping):
        for key in data:
            if key in _RETIRED:
                raise InputError(f"{source}: {where}{key}: {_RETIRED[key]}")


def _positive(data: Mapping[str, Any], key: str, source: str, high: float) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
        raise InputError(f"{source}: {key} must be a number > 0 and <= {high:g}, got {value!r}")
    return float(value)


def _prescription(value: Any, templates: tuple[DoseTemplate, ...], source: str) -> PrescriptionRules:
    """Validate the `[prescription]` table against the protocol's own templates."""
    _check_keys(value, (), _PRESCRIPTION_KEYS, source, "prescription.")
    lender = value.get("templates_from")
    if lender is not None and (not isinstance(lender, str) or templates):
        raise InputError(
            f"{source}: prescription.templates_from names another protocol, and only in a protocol "
            "without templates of its own"
        )
    if lender is None and not templates:
        raise InputError(f"{source}: no dose template: give [[templates]] or prescription.templates_from")
    default = value.get("default_template")
    if default is not None and default not in {t.id for t in templates}:
        raise InputError(f"{source}: prescription.default_template {default!r} is not one of its templates")
    band = _range(value.get("band", list(DEFAULT_BAND)), "prescription.band", source)
    ratio = value.get("max_target_ratio", DEFAULT_MAX_TARGET_RATIO)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not math.isfinite(ratio):
        raise InputError(f"{source}: prescription.max_target_ratio must be a number, got {ratio!r}")
    if not band[0] <= 1.0 <= band[1] <= ratio:
        raise InputError(
            f"{source}: prescription needs band low <= 1 <= band high <= max_target_ratio, got band "
            f"{band[0]:g}-{band[1]:g} and max_target_ratio {ratio:g}"
        )
    return PrescriptionRules(default, lender, band, float(ratio))


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


def _range(value: Any, field: str, source: str) -> tuple[float, float]:
    """A (low, high) range with 0 < low < high <= MAX_DOSE_J_PER_CM2."""
    numbers = isinstance(value, list) and len(value) == 2
    numbers = numbers and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if not numbers or not all(math.isfinite(v) for v in value):
        raise InputError(f"{source}: {field} must be [low, high], got {value!r}")
    low, high = float(value[0]), float(value[1])
    if not 0.0 < low < high <= MAX_DOSE_J_PER_CM2:
        raise InputError(
            f"{source}: {field} must satisfy 0 < low < high <= {MAX_DOSE_J_PER_CM2:g}, got {value!r}"
        )
    return (low, high)


def _targets(value: Any, source: str) -> tuple[Target, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{source}: targets must be one or more [[targets]] tables")
    targets = []
    for index, table in enumerate(value):
        where = f"targets[{index}]."
        _check_retired(table, source, where)
        _check_keys(table, _TARGET_KEYS, (), source, where)
        structure = _text(table, "structure", source, where)
        if structure not in TARGET_STRUCTURES:
            raise InputError(
                f"{source}: {where}structure {structure!r} unknown; allowed: {', '.join(TARGET_STRUCTURES)}"
            )
        targets.append(Target(structure, _text(table, "why", source, where)))
    return tuple(targets)


def _course(value: Any, source: str) -> Course:
    _check_keys(value, ("sessions", "per_week"), (), source, "course.")
    sessions, per_week = value["sessions"], value["per_week"]
    if not isinstance(sessions, int) or isinstance(sessions, bool) or not 1 <= sessions <= 100:
        raise InputError(f"{source}: course.sessions must be a whole number from 1 to 100, got {sessions!r}")
    if not isinstance(per_week, int) or isinstance(per_week, bool) or not 1 <= per_week <= 7:
        raise InputError(f"{source}: course.per_week must be a whole number from 1 to 7, got {per_week!r}")
    return Course(sessions, per_week)
