"""Screening before laser therapy for low back pain: one decision, with its reasons and sources.

A structured questionnaire (red flags, contraindications, precautions, the working diagnosis) gives
exactly one decision, from least to most cautious:

    treat < treat-with-precautions < do-not-treat < refer (routine < urgent < emergency)

Every answer maps to one rule; the decision is the most cautious rule that applies, and every rule that
applies is kept as a reason. "refer" means: no laser now, the patient needs a medical opinion first.
The rule table and its sources (docs/references.md keys with [S]/[U]) live in screening_rules; some
precautions also change the plan (only 980 nm, a lower skin limit), collected here as one `PlanLimit`
that the planner honours. Which referral urgency a red flag gets is marked [U] where it is our judgement
rather than the guideline's words. This is decision support for a clinician, not a diagnosis.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from laserdose.clinical.screening_rules import (
    ALL_RULES,
    CONTRAINDICATIONS,
    DECISIONS,
    DIAGNOSES,
    DO_NOT_TREAT,
    NOT_FIRST_LINE_DIAGNOSES,
    PRECAUTIONS,
    RED_FLAGS,
    REFER,
    REFERRAL_FIRST_DIAGNOSES,
    TREAT,
    TREAT_WITH_PRECAUTIONS,
    URGENCIES,
    PlanLimit,
    Rule,
)
from laserdose.clinical.screening_sources import PRODUCT_BRIEF
from laserdose.domain.plan import TREATABLE_DECISIONS
from laserdose.domain.quantities import AGE, SKIN_TYPE
from laserdose.errors import InputError, require_choice

__all__ = [
    "ALL_RULES",
    "CONTRAINDICATIONS",
    "DECISIONS",
    "DIAGNOSES",
    "DO_NOT_TREAT",
    "NOT_FIRST_LINE_DIAGNOSES",
    "PRECAUTIONS",
    "RED_FLAGS",
    "REFER",
    "REFERRAL_FIRST_DIAGNOSES",
    "TREAT",
    "TREAT_WITH_PRECAUTIONS",
    "URGENCIES",
    "PlanLimit",
    "Reason",
    "Rule",
    "ScreeningAnswers",
    "ScreeningDecision",
    "automatic_terms",
    "caution_rank",
    "screen",
]


def _rank(rule: Rule) -> int:
    """Caution of a rule: 0 treat ... 3 refer routine, 4 urgent, 5 emergency."""
    if rule.decision == REFER:
        return 3 + URGENCIES.index(rule.urgency or "routine")
    return DECISIONS.index(rule.decision)


# Terms once asked as precautions that are now contraindications at Class 4 power: answers stored or
# written before keep their meaning (the term is moved, never dropped).
MOVED_TO_CONTRAINDICATIONS = ("reduced-sensation", "radiotherapy-6-months", "photosensitive-disorder")


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
        age_years: age [years], if known; under 20 adds the "age-under-20" red flag, under 16 also
            "age-under-16".
        first_line_reason: for a diagnosis where laser is not first-line (acute non-specific LBP), the
            clinician's stated reason to treat with laser all the same; "" when none.
        referral_cleared: the referral this screening made was cleared by the specialist, or a clinician
            overrode it with a reason (recorded in the clinic): its referring rules no longer block laser.
            Contraindications still do.
    """

    diagnosis: str
    red_flags: tuple[str, ...] = field(default=())
    contraindications: tuple[str, ...] = field(default=())
    precautions: tuple[str, ...] = field(default=())
    medical_clearance: bool = False
    skin_type: int | None = None
    age_years: int | None = None
    first_line_reason: str = ""
    referral_cleared: bool = False

    def __post_init__(self) -> None:
        require_choice("diagnosis", self.diagnosis, sorted(DIAGNOSES))
        object.__setattr__(self, "red_flags", _terms("red flag", self.red_flags, RED_FLAGS))
        precautions = tuple(self.precautions) if not isinstance(self.precautions, str) else self.precautions
        moved = tuple(t for t in precautions if t in MOVED_TO_CONTRAINDICATIONS)
        contraindications = (*self.contraindications, *moved) if moved else self.contraindications
        object.__setattr__(
            self, "contraindications", _terms("contraindication", contraindications, CONTRAINDICATIONS)
        )
        kept = tuple(t for t in precautions if t not in moved) if moved else precautions
        object.__setattr__(self, "precautions", _terms("precaution", kept, PRECAUTIONS))
        if not isinstance(self.referral_cleared, bool):
            raise InputError(f"referral_cleared must be true or false, got {self.referral_cleared!r}")
        if not isinstance(self.first_line_reason, str):
            raise InputError(f"first_line_reason must be text, got {self.first_line_reason!r}")
        object.__setattr__(self, "first_line_reason", self.first_line_reason.strip())
        if not isinstance(self.medical_clearance, bool):
            raise InputError(f"medical_clearance must be true or false, got {self.medical_clearance!r}")
        if self.skin_type is not None:
            SKIN_TYPE.check_whole(self.skin_type)
        if self.age_years is not None:
            AGE.check_whole(self.age_years)


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
    plan_limit: PlanLimit | None = None

    @property
    def allows_laser(self) -> bool:
        """True when laser may be given now (treat, or treat with precautions)."""
        return self.decision in TREATABLE_DECISIONS

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: {"decision", "urgency", "reasons", "plan_limit"}.

        "reasons" is a list of {"code", "text", "source"}.

        "plan_limit" is None or {"wavelengths_nm": [...] or None, "skin_limit_c": float or None}.
        """
        reasons = [{"code": r.code, "text": r.text, "source": r.source} for r in self.reasons]
        limit = self.plan_limit
        plan_limit = (
            None
            if limit is None
            else {
                "wavelengths_nm": None if limit.wavelengths_nm is None else list(limit.wavelengths_nm),
                "skin_limit_c": limit.skin_limit_c,
            }
        )
        return {
            "decision": self.decision,
            "urgency": self.urgency,
            "reasons": reasons,
            "plan_limit": plan_limit,
        }


def caution_rank(decision: ScreeningDecision) -> int:
    """How cautious a decision is: 0 treat, 1 precautions, 2 do not treat, 3-5 refer routine-emergency."""
    return _rank(Rule("", decision.decision, decision.urgency, "", ()))


def automatic_terms(skin_type: int | None, age_years: int | None) -> tuple[str, ...]:
    """The terms a patient's record adds by itself: "age-under-16", "age-under-20", "dark-skin".

    Args:
        skin_type: Fitzpatrick skin type 1-6, or None.
        age_years: age [years], or None.
    """
    terms: list[str] = []
    if age_years is not None and age_years < 16:
        terms.append("age-under-16")  # NICE NG59 covers over 16s only
    if age_years is not None and age_years < 20:
        terms.append("age-under-20")  # AHCPR 1994
    if skin_type is not None and skin_type >= 5:
        terms.append("dark-skin")  # LightForce
    return tuple(terms)


def _diagnosis_rule(answers: ScreeningAnswers) -> Rule:
    diagnosis = DIAGNOSES[answers.diagnosis]
    if answers.diagnosis in REFERRAL_FIRST_DIAGNOSES and answers.medical_clearance:
        condition = REFERRAL_FIRST_DIAGNOSES[answers.diagnosis]
        text = f"{condition}: medical clearance given; laser only as an adjunct"
        return Rule(answers.diagnosis, TREAT_WITH_PRECAUTIONS, None, text, (PRODUCT_BRIEF,))
    if answers.diagnosis in NOT_FIRST_LINE_DIAGNOSES and answers.first_line_reason:
        condition = NOT_FIRST_LINE_DIAGNOSES[answers.diagnosis]
        reason = answers.first_line_reason
        text = f"{condition}: laser is not first-line; the clinician treats for this reason: {reason}"
        return Rule(answers.diagnosis, TREAT_WITH_PRECAUTIONS, None, text, diagnosis.sources)
    return diagnosis


def _applicable_rules(answers: ScreeningAnswers) -> list[Rule]:
    rules = [_diagnosis_rule(answers), *(RED_FLAGS[code] for code in answers.red_flags)]
    rules += [CONTRAINDICATIONS[code] for code in answers.contraindications]
    rules += [PRECAUTIONS[code] for code in answers.precautions]
    ticked = {*answers.red_flags, *answers.precautions}
    for code in automatic_terms(answers.skin_type, answers.age_years):
        if code not in ticked:
            evidence = f"skin type {answers.skin_type}" if code == "dark-skin" else f"age {answers.age_years}"
            rules.append(_derived(ALL_RULES[code], evidence))
    if answers.referral_cleared:
        rules = [_cleared(rule) if rule.decision == REFER else rule for rule in rules]
    return rules


def _cleared(rule: Rule) -> Rule:
    """A referring rule after its referral was cleared (or overridden): laser with precautions."""
    text = f"{rule.text} (referral cleared or overridden: laser allowed; re-check at each session)"
    return replace(rule, decision=TREAT_WITH_PRECAUTIONS, urgency=None, text=text)


def _plan_limit(rules: Iterable[Rule]) -> PlanLimit | None:
    """The strictest combination of the rules' plan limits: common wavelengths, lowest skin limit."""
    limits = [rule.plan_limit for rule in rules if rule.plan_limit is not None]
    if not limits:
        return None
    wavelengths: set[float] | None = None
    for limit in limits:
        if limit.wavelengths_nm is not None:
            allowed = set(limit.wavelengths_nm)
            wavelengths = allowed if wavelengths is None else wavelengths & allowed
    skins = [limit.skin_limit_c for limit in limits if limit.skin_limit_c is not None]
    return PlanLimit(
        wavelengths_nm=None if wavelengths is None else tuple(sorted(wavelengths)),
        skin_limit_c=min(skins) if skins else None,
    )


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
    return ScreeningDecision(worst.decision, worst.urgency, reasons, _plan_limit(rules))
