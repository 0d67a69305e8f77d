"""The screening decision table in words: one row per rule, for the docs and `laserdose screen --rules`."""

from laserdose.clinical.screening_rules import (
    CONTRAINDICATIONS,
    DIAGNOSES,
    PRECAUTIONS,
    RED_FLAGS,
    PlanLimit,
    Rule,
)

KINDS = (
    ("red flag", RED_FLAGS),
    ("contraindication", CONTRAINDICATIONS),
    ("precaution", PRECAUTIONS),
    ("diagnosis", DIAGNOSES),
)
COLUMNS = ("code", "kind", "decision", "plan change", "why", "sources")


def plan_change(limit: PlanLimit | None) -> str:
    """A rule's change to the plan in words ("" when none)."""
    if limit is None:
        return ""
    parts = []
    if limit.wavelengths_nm is not None:
        parts.append("only " + ", ".join(f"{w:g} nm" for w in limit.wavelengths_nm))
    if limit.skin_limit_c is not None:
        parts.append(f"skin <= {limit.skin_limit_c:g} C")
    return "; ".join(parts)


def _decision(rule: Rule) -> str:
    return f"{rule.decision} ({rule.urgency})" if rule.urgency else rule.decision


def rule_rows() -> list[tuple[str, str, str, str, str, str]]:
    """Every rule as (code, kind, decision, plan change, why, sources), in table order."""
    return [
        (rule.code, kind, _decision(rule), plan_change(rule.plan_limit), rule.text, rule.source)
        for kind, rules in KINDS
        for rule in rules.values()
    ]


def decision_table_markdown() -> str:
    """The decision table as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += [
        "| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(row)) + " |" for row in rule_rows()
    ]
    return "\n".join(lines) + "\n"
