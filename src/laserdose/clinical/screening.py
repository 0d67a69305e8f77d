"""Screening before laser therapy for low back pain: one decision, with its reasons and sources.

A structured questionnaire (red flags, contraindications, precautions, the working diagnosis) gives
exactly one decision, from least to most cautious:

    treat < treat-with-precautions < do-not-treat < refer (routine < urgent < emergency)

Every answer maps to one rule; the decision is the most cautious rule that applies, and every rule that
applies is kept as a reason. "refer" means: no laser now, the patient needs a medical opinion first.
The vocabulary and its sources follow the clinical keys of docs/references.md ([NICENG59], [AHCPR1994],
[Houghton2010], [NAALT2010]). Which referral urgency a red flag gets is marked [U] where it is our
judgement rather than the guideline's words. This is decision support for a clinician, not a diagnosis.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from laserdose.clinical.screening_rules import (
    CONTRAINDICATIONS,
    DECISIONS,
    DIAGNOSES,
    DO_NOT_TREAT,
    PRECAUTIONS,
    PRODUCT_BRIEF,
    RED_FLAGS,
    REFER,
    REFERRAL_FIRST_DIAGNOSES,
    TREAT,
    TREAT_WITH_PRECAUTIONS,
    URGENCIES,
    Rule,
)
from laserdose.errors import InputError, require_choice

__all__ = [
    "CONTRAINDICATIONS",
    "DECISIONS",
    "DIAGNOSES",
    "DO_NOT_TREAT",
    "PRECAUTIONS",
    "RED_FLAGS",
    "REFER",
    "REFERRAL_FIRST_DIAGNOSES",
    "TREAT",
    "TREAT_WITH_PRECAUTIONS",
    "URGENCIES",
    "Reason",
    "Rule",
    "ScreeningAnswers",
    "ScreeningDecision",
    "caution_rank",
    "screen",
]


def _rank(rule: Rule) -> int:
    """Caution of a rule: 0 treat ... 3 refer routine, 4 urgent, 5 emergency."""
    if rule.decision == REFER:
        return 3 + URGENCIES.index(rule.urgency or "routine")
    return DECISIONS.index(rule.decision)


def _terms(kind: str, values: Iterable[Any], allowed: dict[str, Rule]) -> tuple[str, ...]:
    """Validate a list of questionnaire terms; keep the order, drop repeats."""
    if isinstance(values, str):
        raise InputError(f"{kind}s must be a list of terms, got the string {values!r}")
    terms: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InputError(f"{kind}s must be strings, got {value!r}")
        require_choice(kind, value, sorted(allowed))
        if value not in terms:
            terms.append(value)
    return tuple(terms)


@dataclass(frozen=True)
class ScreeningAnswers:
    """The questionnaire, validated on construction (unknown terms raise InputError listing the allowed ones).

    Attributes:
        diagnosis: the working diagnosis, one of DIAGNOSES.
        red_flags: low back pain red flags present, from RED_FLAGS.
        contraindications: contraindications present, from CONTRAINDICATIONS.
        precautions: precautions present, from PRECAUTIONS.
        medical_clearance: a doctor has assessed a referral-first diagnosis (herniated disc, spinal
            stenosis) and agrees to laser as an adjunct.
        skin_type: Fitzpatrick skin type 1-6, if known; 5-6 adds the "dark-skin" precaution.
        age_years: age [years], if known; under 20 adds the "age-under-20" red flag.
    """

    diagnosis: str
    red_flags: tuple[str, ...] = field(default=())
    contraindications: tuple[str, ...] = field(default=())
    precautions: tuple[str, ...] = field(default=())
    medical_clearance: bool = False
    skin_type: int | None = None
    age_years: int | None = None

    def __post_init__(self) -> None:
        require_choice("diagnosis", self.diagnosis, sorted(DIAGNOSES))
        object.__setattr__(self, "red_flags", _terms("red flag", self.red_flags, RED_FLAGS))
        object.__setattr__(
            self, "contraindications", _terms("contraindication", self.contraindications, CONTRAINDICATIONS)
        )
        object.__setattr__(self, "precautions", _terms("precaution", self.precautions, PRECAUTIONS))
        if not isinstance(self.medical_clearance, bool):
            raise InputError(f"medical_clearance must be true or false, got {self.medical_clearance!r}")
        _optional_int("skin_type", self.skin_type, 1, 6)
        _optional_int("age_years", self.age_years, 0, 120)


def _optional_int(name: str, value: object, low: int, high: int) -> None:
    """Reject a value that is given but is not a whole number from `low` to `high`."""
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


@dataclass(frozen=True)
class Reason:
    """One reason behind a decision: the term, why it matters, and its source."""

    code: str
    text: str
    source: str


@dataclass(frozen=True)
class ScreeningDecision:
    """The screening result.

    Attributes:
        decision: one of DECISIONS.
        urgency: one of URGENCIES when the decision is "refer", else None.
        reasons: every rule that applied, most cautious first.
    """

    decision: str
    urgency: str | None
    reasons: tuple[Reason, ...]

    @property
    def allows_laser(self) -> bool:
        """True when laser may be given now (treat, or treat with precautions)."""
        return self.decision in (TREAT, TREAT_WITH_PRECAUTIONS)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: {"decision", "urgency", "reasons": [{"code", "text", "source"}]}."""
        reasons = [{"code": r.code, "text": r.text, "source": r.source} for r in self.reasons]
        return {"decision": self.decision, "urgency": self.urgency, "reasons": reasons}


def caution_rank(decision: ScreeningDecision) -> int:
    """How cautious a decision is: 0 treat, 1 precautions, 2 do not treat, 3-5 refer routine-emergency."""
    return _rank(Rule("", decision.decision, decision.urgency, "", ""))


def _applicable_rules(answers: ScreeningAnswers) -> list[Rule]:
    diagnosis = DIAGNOSES[answers.diagnosis]
    if answers.diagnosis in REFERRAL_FIRST_DIAGNOSES and answers.medical_clearance:
        condition = REFERRAL_FIRST_DIAGNOSES[answers.diagnosis]
        text = f"{condition}: medical clearance given; laser only as an adjunct"
        diagnosis = Rule(answers.diagnosis, TREAT_WITH_PRECAUTIONS, None, text, PRODUCT_BRIEF)
    rules = [diagnosis, *(RED_FLAGS[code] for code in answers.red_flags)]
    if answers.age_years is not None and answers.age_years < 20 and "age-under-20" not in answers.red_flags:
        rules.append(_derived(RED_FLAGS["age-under-20"], f"age {answers.age_years}"))  # AHCPR 1994
    rules += [CONTRAINDICATIONS[code] for code in answers.contraindications]
    rules += [PRECAUTIONS[code] for code in answers.precautions]
    if answers.skin_type is not None and answers.skin_type >= 5 and "dark-skin" not in answers.precautions:
        rules.append(_derived(PRECAUTIONS["dark-skin"], f"skin type {answers.skin_type}"))  # LightForce
    return rules


def _derived(rule: Rule, evidence: str) -> Rule:
    """A rule the patient's data implies though the questionnaire did not tick it; says where it came from."""
    return replace(rule, text=f"{rule.text} (from {evidence})")


def screen(answers: ScreeningAnswers) -> ScreeningDecision:
    """Decide whether to treat, treat with precautions, not treat, or refer; most cautious rule wins.

    Args:
        answers: the validated questionnaire.

    Returns:
        The decision, its urgency (referrals only) and every reason that applied, most cautious first.
    """
    rules = sorted(_applicable_rules(answers), key=_rank, reverse=True)  # stable: keeps answer order
    worst = rules[0]
    reasons = tuple(Reason(rule.code, rule.text, rule.source) for rule in rules)
    return ScreeningDecision(worst.decision, worst.urgency, reasons)
