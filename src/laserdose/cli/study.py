"""`laserdose study`: one protocol's plan simulated on a cohort of patients, here or on a Dask cluster."""

from pathlib import Path
from typing import Annotated, Any

import typer

from laserdose.cli.options import JsonFlag, SkinLimit
from laserdose.cli.output import print_json, print_table, progress_bar
from laserdose.clinical.protocols import get_protocol
from laserdose.errors import require_range
from laserdose.planning.cohort import cohort_device, load_cohort
from laserdose.planning.physics import default_physics
from laserdose.planning.plan import DEFAULT_SKIN_LIMIT_C, PlanSettings
from laserdose.planning.study import (
    PatientOutcome,
    PatientTask,
    cohort_plan,
    patient_tasks,
    personalised_tasks,
    run_study,
)
from laserdose.planning.study_report import comparison, plot_comparison, plot_study, summary
from laserdose.thermal.surrogate.model import skin_rise_k_per_w
from laserdose.transport.cluster import check_scheduler


def study(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name, e.g. chronic-nonspecific-lbp.")],
    cohort: Annotated[
        Path, typer.Option("--cohort", help="cohort.toml (patients, seed, device, BMI or fat).")
    ],
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Where patients run: omit for this process, 'local' for a LocalCluster, or a Dask "
            "scheduler address (tcp://HOST:8786). The results are the same bit for bit."
        ),
    ] = None,
    photons: Annotated[float, typer.Option(help="Photons per patient and wavelength.")] = 2000,
    skin_limit: SkinLimit = DEFAULT_SKIN_LIMIT_C,
    as_json: JsonFlag = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the plots (PNG).")] = None,
    personalised: Annotated[
        bool,
        typer.Option(
            "--personalised",
            help="Also plan each patient for equivalence and compare with the one plan (twice the time).",
        ),
    ] = False,
    template: Annotated[str | None, typer.Option("--template", help="Dose template id.")] = None,
) -> None:
    """Apply the protocol's plan for the cohort's reference patient to every patient of the cohort."""
    settings = PlanSettings(skin_limit_c=skin_limit, template=template)
    count = int(require_range("photons", photons, 100, 1e8))
    check_scheduler(scheduler)
    spec = load_cohort(cohort)
    device = cohort_device(spec, str(cohort))
    clinical, physics = get_protocol(protocol), default_physics()
    plan = cohort_plan(spec, clinical, device, physics, settings)
    tasks = patient_tasks(spec, plan, device, count, skin_rise_k_per_w)
    outcomes = _run(tasks, scheduler, quiet=as_json)
    payload = summary(outcomes, plan, count) | {"protocol": protocol, "device": device.name}
    if personalised:
        own = personalised_tasks(spec, clinical, device, physics, settings, count, skin_rise_k_per_w)
        arm = (_run(own, scheduler, quiet=as_json), [task.plan for task in own])
        payload["comparison"] = comparison((outcomes, plan), arm)
    if plot is not None:
        if personalised:
            plot_comparison((outcomes, plan), arm, plot)
        else:
            plot_study(outcomes, plan, plot)
    if as_json:
        print_json(payload)
    else:
        _print_summary(payload)
        if personalised:
            _print_comparison(payload["comparison"])
        if plot is not None:
            typer.echo(f"wrote the plots to {plot}")


def _run(tasks: list[PatientTask], scheduler: str | None, quiet: bool) -> list[PatientOutcome]:
    if quiet:
        return run_study(tasks, scheduler)
    with progress_bar() as bar:
        task = bar.add_task("patients", total=len(tasks))
        return run_study(tasks, scheduler, lambda done, total: bar.update(task, completed=done, total=total))


def _print_summary(payload: dict[str, Any]) -> None:
    plan = payload["plan"]
    dose = payload["target_dose_j_per_cm2"]
    skin = payload["skin_peak_c"]
    error = payload["target_dose_monte_carlo_rel_se"]
    powers = ", ".join(f"{w} nm {p:.2f} W" for w, p in plan["power_w_by_wavelength"].items() if p > 0)
    rows = [
        ("plan (reference patient)", f"{powers} for {plan['duration_s']:.0f} s, {plan['handpiece']}"),
        ("feasible for the reference", str(plan["feasible_for_reference_patient"]).lower()),
        ("patients", str(payload["patients"])),
        (
            f"target dose at {plan['target']}",
            f"p5 {dose['p5']:.3g}, p50 {dose['p50']:.3g}, p95 {dose['p95']:.3g} J/cm2",
        ),
        (
            "Monte Carlo error of a dose",
            f"p50 {error['p50']:.1%}, p95 {error['p95']:.1%} (more --photons: less)",
        ),
        *_bound_rows(payload),
        ("band", "{:.3g}-{:.3g} J/cm2 ({})".format(*plan["band_j_per_cm2"], plan["template"])),
        ("in band", f"{payload['fraction_in_band']:.1%}"),
        ("peak skin", f"p50 {skin['p50']:.1f}, p95 {skin['p95']:.1f}, max {skin['max']:.1f} C"),
        (f"skin at or under {plan['skin_limit_c']:g} C", f"{payload['fraction_skin_safe']:.1%}"),
        ("both", f"{payload['fraction_in_band_and_skin_safe']:.1%}"),
    ]
    print_table(f"Study: {payload['protocol']} on {payload['device']}", ["", "value"], rows)
    by_type = [
        (
            f"{t}",
            str(g["patients"]),
            f"{g['fraction_in_band']:.0%}",
            f"{g['fraction_skin_safe']:.0%}",
            f"{g['skin_peak_c_max']:.1f}",
        )
        for t, g in payload["by_skin_type"].items()
    ]
    print_table("By skin type", ["type", "patients", "in band", "skin safe", "max skin C"], by_type)


def _bound_rows(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The upper-bound warning on the target doses, when they are upper bounds."""
    if not payload.get("target_dose_is_upper_bound"):
        return []
    return [("TARGET DOSES ARE UPPER BOUNDS", str(payload["upper_bound_reason"]))]


def _print_comparison(data: dict[str, Any]) -> None:
    arms = (data["reference_plan"], data["personalised"])
    rows = [
        ("in band", *(f"{arm['fraction_in_band']:.1%}" for arm in arms)),
        ("skin at or under the limit", *(f"{arm['fraction_skin_safe']:.1%}" for arm in arms)),
        ("both", *(f"{arm['fraction_in_band_and_skin_safe']:.1%}" for arm in arms)),
        (
            "equivalence p5-p50-p95",
            *("{p5:.2f}-{p50:.2f}-{p95:.2f}".format(**arm["equivalence"]) for arm in arms),
        ),
        ("plans reaching the band (planner)", *(f"{arm['plans_feasible']:.1%}" for arm in arms)),
    ]
    for skin_type in data["personalised"]["by_skin_type"]:
        groups = (arm["by_skin_type"][skin_type] for arm in arms)
        rows.append((f"type {skin_type}: in band, skin safe", *(
            f"{g['fraction_in_band']:.0%}, {g['fraction_skin_safe']:.0%}" for g in groups)))  # fmt: skip
    print_table("One plan for everyone against each patient planned", ["", "one plan", "each planned"], rows)
    for key, value in _bound_rows(data):
        typer.echo(f"{key.capitalize()}: {value}")
