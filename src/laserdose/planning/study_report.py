"""A population study's summary (the `laserdose study --json` schema) and its plots."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.domain.plan import TreatmentPlan
from laserdose.domain.quantities import SKIN_TYPES
from laserdose.domain.wavelengths import wavelength_key
from laserdose.errors import InputError
from laserdose.optics.back import dose_upper_bound_reason
from laserdose.planning.curves import reference_band_j_per_cm2
from laserdose.planning.study import PatientOutcome

PERCENTILES = (5, 50, 95)


def band_j_per_cm2(plan: TreatmentPlan) -> tuple[float, float]:
    """The target doses inside the plan's band: band x the template's reference dose [J/cm2]."""
    band = reference_band_j_per_cm2(plan)
    if band is None:
        raise InputError("the plan has no prescription: a study needs the reference dose it aims at")
    return band


def in_band(outcome: PatientOutcome, plan: TreatmentPlan) -> bool:
    """True when the patient's target dose lies inside the band around the reference (ends included)."""
    low, high = band_j_per_cm2(plan)
    return low <= outcome.target_dose_j_per_cm2 <= high


def skin_safe(outcome: PatientOutcome, plan: TreatmentPlan) -> bool:
    """True when the patient's peak skin temperature stays at or under the plan's skin limit."""
    return outcome.skin_peak_c <= plan.skin_limit_c


def summary(outcomes: Sequence[PatientOutcome], plan: TreatmentPlan, photons: int) -> dict[str, Any]:
    """The study as JSON-ready data: fractions, dose and skin percentiles, per skin type, and the plan."""
    doses = np.array([o.target_dose_j_per_cm2 for o in outcomes])
    peaks = np.array([o.skin_peak_c for o in outcomes])
    return {
        "patients": len(outcomes),
        "fraction_in_band": _fraction([in_band(o, plan) for o in outcomes]),
        "fraction_skin_safe": _fraction([skin_safe(o, plan) for o in outcomes]),
        "fraction_in_band_and_skin_safe": _fraction(
            [in_band(o, plan) and skin_safe(o, plan) for o in outcomes]
        ),
        "target_dose_j_per_cm2": _percentiles(doses),
        **upper_bound(plan),
        "target_dose_monte_carlo_rel_se": _percentiles(np.array([o.target_dose_rel_se for o in outcomes])),
        "skin_peak_c": _percentiles(peaks) | {"max": float(peaks.max())},
        "by_skin_type": _by_skin_type(outcomes, plan),
        "redrawn_outside_model_range": sum(o.redraws for o in outcomes),
        "photons_per_wavelength": photons,
        "plan": _plan(plan),
    }


def upper_bound(plan: TreatmentPlan) -> dict[str, Any]:
    """Whether the simulated doses at the plan's target are upper bounds, and why (JSON-ready).

    The study simulates the same layered back as the planner, so where the planner's dose is an upper
    bound (optics/back.py), so is every simulated patient's.
    """
    reason = dose_upper_bound_reason(plan.target.structure)
    return {"target_dose_is_upper_bound": reason is not None, "upper_bound_reason": reason}


def _fraction(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags)


def _percentiles(values: np.ndarray[Any, Any]) -> dict[str, float]:
    return {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}


def _by_skin_type(outcomes: Sequence[PatientOutcome], plan: TreatmentPlan) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for skin_type in SKIN_TYPES:
        group = [o for o in outcomes if o.skin_type == skin_type]
        if group:
            table[str(skin_type)] = {
                "patients": len(group),
                "fraction_in_band": _fraction([in_band(o, plan) for o in group]),
                "fraction_skin_safe": _fraction([skin_safe(o, plan) for o in group]),
                "skin_peak_c_max": max(o.skin_peak_c for o in group),
            }
    return table


def _plan(plan: TreatmentPlan) -> dict[str, Any]:
    delivery = plan.delivery
    return {
        "feasible_for_reference_patient": plan.feasible,
        "power_w_by_wavelength": {
            wavelength_key(w): p for w, p in sorted(delivery.power_w_by_wavelength.items())
        },
        "duration_s": delivery.duration_s,
        "area_cm2": plan.area_cm2,
        "handpiece": delivery.handpiece,
        "target": plan.target.structure,
        "band_j_per_cm2": list(band_j_per_cm2(plan)),
        "template": plan.prescription.template if plan.prescription else None,
        "skin_limit_c": plan.skin_limit_c,
    }


def plot_study(outcomes: Sequence[PatientOutcome], plan: TreatmentPlan, path: str | Path) -> None:
    """Write a PNG: target dose histogram with the band, and peak skin temperature by skin type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    doses = np.array([o.target_dose_j_per_cm2 for o in outcomes])
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    low, high = band_j_per_cm2(plan)
    edges = np.geomspace(min(doses.min(), low) / 1.5, max(doses.max(), high) * 1.5, 30)
    left.hist(doses, bins=edges, color="tab:blue", alpha=0.8)
    left.axvspan(low, high, color="tab:green", alpha=0.15, label=f"band {low:.3g}-{high:.3g} J/cm2")
    bound = " (upper bound)" if dose_upper_bound_reason(plan.target.structure) else ""
    left.set(xscale="log", xlabel=f"dose at the {plan.target.structure}{bound} [J/cm2]", ylabel="patients")
    left.legend()
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(outcomes))  # display only, fixed seed
    types = np.array([o.skin_type for o in outcomes]) + jitter
    right.scatter(types, [o.skin_peak_c for o in outcomes], s=12, color="tab:red", alpha=0.7)
    right.axhline(plan.skin_limit_c, color="black", linestyle="--", label=f"limit {plan.skin_limit_c:g} C")
    right.set(xlabel="Fitzpatrick skin type", ylabel="peak skin temperature [C]", xticks=SKIN_TYPES)
    right.legend()
    figure.suptitle(
        f"{len(outcomes)} patients, one plan: {_powers(plan)} for {plan.delivery.duration_s:.0f} s"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _powers(plan: TreatmentPlan) -> str:
    powers = sorted(plan.delivery.power_w_by_wavelength.items())
    return " + ".join(f"{p:.2f} W at {w:g} nm" for w, p in powers if p > 0)


def comparison(
    reference: tuple[Sequence[PatientOutcome], TreatmentPlan],
    personalised: tuple[Sequence[PatientOutcome], Sequence[TreatmentPlan]],
) -> dict[str, Any]:
    """One plan for everyone against each patient planned for equivalence, on the same cohort.

    For each arm: the share of patients whose target dose lies in the band around the reference dose,
    whose skin stays at or under the limit, both, and the same by skin type; and the equivalence
    percentiles. `reference` is (outcomes, the one plan); `personalised` (outcomes, each one's plan).
    """
    outcomes, plan = reference
    return {
        **upper_bound(plan),
        "reference_plan": _arm(outcomes, [plan] * len(outcomes)),
        "personalised": _arm(*personalised),
    }


def equivalences(outcomes: Sequence[PatientOutcome], plans: Sequence[TreatmentPlan]) -> np.ndarray[Any, Any]:
    """Each patient's simulated target dose / the template's reference dose [-]."""
    return np.array([o.target_dose_j_per_cm2 / _reference(p) for o, p in zip(outcomes, plans, strict=True)])


def _reference(plan: TreatmentPlan) -> float:
    if plan.prescription is None:
        raise InputError("the plan has no prescription: a study needs the reference dose it aims at")
    return plan.prescription.reference.target_dose_j_per_cm2


def _arm(outcomes: Sequence[PatientOutcome], plans: Sequence[TreatmentPlan]) -> dict[str, Any]:
    pairs = list(zip(outcomes, plans, strict=True))
    by_type: dict[str, Any] = {}
    for skin_type in SKIN_TYPES:
        group = [(o, p) for o, p in pairs if o.skin_type == skin_type]
        if group:
            by_type[str(skin_type)] = {
                "patients": len(group),
                "fraction_in_band": _fraction([in_band(o, p) for o, p in group]),
                "fraction_skin_safe": _fraction([skin_safe(o, p) for o, p in group]),
            }
    return {
        "patients": len(pairs),
        "fraction_in_band": _fraction([in_band(o, p) for o, p in pairs]),
        "fraction_skin_safe": _fraction([skin_safe(o, p) for o, p in pairs]),
        "fraction_in_band_and_skin_safe": _fraction([in_band(o, p) and skin_safe(o, p) for o, p in pairs]),
        "equivalence": _percentiles(equivalences(outcomes, plans)),
        "plans_feasible": _fraction([p.feasible for p in plans]),
        "by_skin_type": by_type,
    }


def plot_comparison(
    reference: tuple[Sequence[PatientOutcome], TreatmentPlan],
    personalised: tuple[Sequence[PatientOutcome], Sequence[TreatmentPlan]],
    path: str | Path,
) -> None:
    """Write a PNG: the equivalence of both arms with the band, and the share in band by skin type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes, plan = reference
    arms = {
        "one plan for everyone": equivalences(outcomes, [plan] * len(outcomes)),
        "each patient planned": equivalences(*personalised),
    }
    low, high = plan.prescription.band if plan.prescription else (0.8, 1.25)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    values = np.concatenate(list(arms.values()))
    edges = np.geomspace(max(values.min(), 1e-3) / 1.2, values.max() * 1.2, 40)
    for (name, ratio), colour in zip(arms.items(), ("tab:grey", "tab:blue"), strict=True):
        left.hist(ratio, bins=edges, alpha=0.6, color=colour, label=name)
    left.axvspan(low, high, color="tab:green", alpha=0.15, label=f"band {low:g}-{high:g}")
    left.set(xscale="log", xlabel="target dose / reference dose", ylabel="patients")
    left.legend(fontsize=8)
    summary = comparison(reference, personalised)
    types = [t for t in map(str, SKIN_TYPES) if t in summary["personalised"]["by_skin_type"]]
    x = np.arange(len(types))
    for offset, key, colour in ((-0.2, "reference_plan", "tab:grey"), (0.2, "personalised", "tab:blue")):
        shares = [summary[key]["by_skin_type"][t]["fraction_in_band"] for t in types]
        right.bar(x + offset, shares, width=0.4, color=colour, label=key.replace("_", " "))
    right.set(
        xticks=x, xticklabels=types, xlabel="Fitzpatrick skin type", ylabel="share in the band", ylim=(0, 1)
    )
    right.legend(fontsize=8)
    one, each = summary["reference_plan"]["fraction_in_band"], summary["personalised"]["fraction_in_band"]
    figure.suptitle(f"{len(outcomes)} patients: in band {one:.0%} with one plan, {each:.0%} planned each")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
