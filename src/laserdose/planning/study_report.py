"""A population study's summary (the `laserdose study --json` schema) and its plots."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.domain.plan import TreatmentPlan
from laserdose.domain.quantities import SKIN_TYPES
from laserdose.domain.wavelengths import wavelength_key
from laserdose.errors import InputError
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
        "target_dose_monte_carlo_rel_se": _percentiles(np.array([o.target_dose_rel_se for o in outcomes])),
        "skin_peak_c": _percentiles(peaks) | {"max": float(peaks.max())},
        "by_skin_type": _by_skin_type(outcomes, plan),
        "redrawn_outside_model_range": sum(o.redraws for o in outcomes),
        "photons_per_wavelength": photons,
        "plan": _plan(plan),
    }


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
    left.set(xscale="log", xlabel=f"dose at the {plan.target.structure} [J/cm2]", ylabel="patients")
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
