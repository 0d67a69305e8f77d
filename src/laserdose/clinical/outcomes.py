"""Scoring of back-pain outcome measures, minimal important change, responders and recovery.

Only the scoring rules live here. The item texts of the Oswestry Disability Index and the Roland-Morris
Disability Questionnaire are copyrighted ([FairbankPynsent2000], [RolandMorris1983]; licences [U]); they
live in a data file that a clinic replaces with its licensed version (see `questionnaire_texts`).

Sources:
    Pain NRS 0-10: 11-point numeric rating scale, 0 = no pain, 10 = worst imaginable pain.
    ODI: Fairbank & Pynsent (2000) Spine 25(22):2940-2953, ten sections scored 0-5; index =
        total / (5 x sections answered) x 100 %, which is how the instrument handles a missed section.
    RMDQ: Roland & Morris (1983) Spine 8(2):141-144; Roland & Fairbank (2000) Spine 25(24):3115-3124:
        24 statements, the score is the number the patient ticks (0-24).
    MIC: Ostelo et al. (2008) Spine 33(1):90-94: NRS 2 points or 30 %, ODI 10 points, RMDQ 5 points.
    Recovered [Kamper2010]: NRS 0 and RMDQ <= 2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from laserdose.errors import InputError, require_range

NRS_MAX = 10  # 11-point NRS, 0-10
ODI_SECTIONS = 10  # Fairbank & Pynsent (2000)
ODI_SECTION_MAX = 5  # each section scored 0-5, Fairbank & Pynsent (2000)
# Fairbank & Pynsent (2000) give the adjustment for one missed (or not applicable) section; a clinic
# may accept more, but the default follows the instrument.
ODI_DEFAULT_MAX_MISSING = 1
RMDQ_ITEMS = 24  # Roland & Morris (1983)


class Measure(StrEnum):
    """The outcome measures scored here."""

    NRS = "nrs"
    ODI = "odi"
    RMDQ = "rmdq"


@dataclass(frozen=True)
class Mic:
    """Minimal important change of one measure (Ostelo et al. 2008).

    Attributes:
        points: improvement in the measure's own units that counts as important [points].
        fraction: relative improvement from baseline that counts as important [-], or None.
        scale_max: largest possible score [points].
    """

    points: float
    fraction: float | None
    scale_max: float


# Ostelo et al. (2008) Spine 33(1):90-94, consensus MIC values for low back pain.
MIC: dict[Measure, Mic] = {
    Measure.NRS: Mic(points=2.0, fraction=0.30, scale_max=NRS_MAX),
    Measure.ODI: Mic(points=10.0, fraction=None, scale_max=100.0),
    Measure.RMDQ: Mic(points=5.0, fraction=None, scale_max=RMDQ_ITEMS),
}

RECOVERED_NRS_MAX = 0  # [Kamper2010]
RECOVERED_RMDQ_MAX = 2  # [Kamper2010]


def _require_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be a whole number between {low} and {high}, got {value!r}")
    require_range(name, value, low, high)
    return value


def score_nrs(value: int) -> int:
    """Validate a pain rating on the 0-10 numeric rating scale and return it.

    Args:
        value: the patient's rating [points, 0-10].
    """
    return _require_int("pain NRS", value, 0, NRS_MAX)


@dataclass(frozen=True)
class OdiScore:
    """A scored Oswestry Disability Index.

    Attributes:
        index_percent: disability index [%, 0-100].
        total: sum of the answered sections [points].
        sections_answered: number of sections with an answer [-].
    """

    index_percent: float
    total: int
    sections_answered: int


def score_odi(sections: Sequence[int | None], max_missing: int = ODI_DEFAULT_MAX_MISSING) -> OdiScore:
    """Score the ODI: total / (5 x sections answered) x 100 (Fairbank & Pynsent 2000).

    Args:
        sections: ten answers in instrument order, each 0-5, or None for a missed section.
        max_missing: how many missed sections still give a valid score [-, 0-9].
    """
    _require_int("ODI max_missing", max_missing, 0, ODI_SECTIONS - 1)
    if len(sections) != ODI_SECTIONS:
        raise InputError(f"ODI needs {ODI_SECTIONS} sections (None for a missed one), got {len(sections)}")
    answered = [
        _require_int(f"ODI section {number}", value, 0, ODI_SECTION_MAX)
        for number, value in enumerate(sections, start=1)
        if value is not None
    ]
    missing = ODI_SECTIONS - len(answered)
    if missing > max_missing:
        raise InputError(f"ODI has {missing} missed sections; at most {max_missing} allowed")
    total = sum(answered)
    index = total / (ODI_SECTION_MAX * len(answered)) * 100.0
    return OdiScore(index_percent=index, total=total, sections_answered=len(answered))


def score_rmdq(ticked: Sequence[bool]) -> int:
    """Score the RMDQ: the number of the 24 statements the patient ticks (Roland & Morris 1983).

    Args:
        ticked: 24 booleans in instrument order, True where the patient ticked the statement.
    """
    if len(ticked) != RMDQ_ITEMS:
        raise InputError(f"RMDQ needs {RMDQ_ITEMS} answers (ticked or not), got {len(ticked)}")
    for number, value in enumerate(ticked, start=1):
        if not isinstance(value, bool):
            raise InputError(f"RMDQ item {number} must be true or false, got {value!r}")
    return sum(ticked)


def _require_score(measure: Measure, name: str, value: float) -> float:
    if not math.isfinite(value):
        raise InputError(f"{measure.value} {name} must be a finite number, got {value!r}")
    return require_range(f"{measure.value} {name}", value, 0.0, MIC[measure].scale_max)


def improvement(measure: Measure, baseline: float, follow_up: float) -> float:
    """Return the improvement from baseline (positive = better, lower score) [points].

    Args:
        measure: which outcome measure.
        baseline: score at the first assessment [points].
        follow_up: score at a later assessment [points].
    """
    return _require_score(measure, "baseline", baseline) - _require_score(measure, "follow-up", follow_up)


def is_responder(measure: Measure, baseline: float, follow_up: float) -> bool:
    """Whether the improvement reaches the minimal important change (Ostelo et al. 2008).

    For the NRS either criterion is enough: 2 points, or 30 % of the baseline score.

    Args:
        measure: which outcome measure.
        baseline: score at the first assessment [points].
        follow_up: score at a later assessment [points].
    """
    gain = improvement(measure, baseline, follow_up)
    mic = MIC[measure]
    if gain >= mic.points:
        return True
    return mic.fraction is not None and baseline > 0 and gain / baseline >= mic.fraction


def responder_threshold(measure: Measure, baseline: float) -> float | None:
    """Highest follow-up score that still reaches the MIC from `baseline` (Ostelo et al. 2008).

    Returns None when no score on the scale can reach it (the baseline is lower than the MIC).

    Args:
        measure: which outcome measure.
        baseline: score at the first assessment [points].
    """
    _require_score(measure, "baseline", baseline)
    mic = MIC[measure]
    limit = baseline - mic.points
    if mic.fraction is not None and baseline > 0:
        limit = max(limit, baseline * (1.0 - mic.fraction))
    return limit if limit >= 0 else None


def is_recovered(nrs: int, rmdq: int) -> bool:
    """Whether the patient counts as recovered: pain NRS 0 and RMDQ <= 2 (Kamper et al. 2010).

    Args:
        nrs: pain rating [points, 0-10].
        rmdq: Roland-Morris score [points, 0-24].
    """
    score_nrs(nrs)
    _require_int("RMDQ score", rmdq, 0, RMDQ_ITEMS)
    return nrs <= RECOVERED_NRS_MAX and rmdq <= RECOVERED_RMDQ_MAX


@dataclass(frozen=True)
class QuestionnaireTexts:
    """Item texts shown on the forms; a clinic supplies its licensed versions.

    Attributes:
        placeholder: True for the shipped placeholder labels that must be replaced.
        odi_sections: ten (title, six statements scored 0-5) pairs.
        rmdq_items: twenty-four statements.
    """

    placeholder: bool
    odi_sections: tuple[tuple[str, tuple[str, ...]], ...]
    rmdq_items: tuple[str, ...]


def questionnaire_texts(path: Path | None = None) -> QuestionnaireTexts:
    """Load the ODI and RMDQ item texts from `path`, or the shipped placeholder file.

    Args:
        path: a JSON file with the clinic's licensed texts, in the shipped file's format.
    """
    if path is None:
        raw = resources.files("laserdose.clinical").joinpath("data/questionnaires.json").read_text("utf-8")
    else:
        raw = Path(path).read_text("utf-8")
    return _parse_texts(json.loads(raw))


def _parse_texts(data: dict[str, Any]) -> QuestionnaireTexts:
    sections = data.get("odi_sections", [])
    items = data.get("rmdq_items", [])
    if len(sections) != ODI_SECTIONS or any(len(s.get("statements", [])) != 6 for s in sections):
        raise InputError(f"questionnaire file needs {ODI_SECTIONS} ODI sections with 6 statements each")
    if len(items) != RMDQ_ITEMS:
        raise InputError(f"questionnaire file needs {RMDQ_ITEMS} RMDQ items, got {len(items)}")
    return QuestionnaireTexts(
        placeholder=bool(data.get("placeholder", False)),
        odi_sections=tuple((s["title"], tuple(s["statements"])) for s in sections),
        rmdq_items=tuple(items),
    )
