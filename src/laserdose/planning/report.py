"""Report pages drawn with matplotlib (no extra dependency), written together as one PDF."""

import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

import matplotlib

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle, Rectangle  # noqa: E402

from laserdose.clinical import body_chart  # noqa: E402
from laserdose.clinical.patient import Patient  # noqa: E402
from laserdose.clinical.protocols import Protocol as ClinicalProtocol  # noqa: E402
from laserdose.domain.plan import Refusal, TreatmentPlan  # noqa: E402
from laserdose.machines.profile import DeviceProfile  # noqa: E402
from laserdose.planning.curves import (  # noqa: E402
    depth_dose_curve,
    plan_handpiece,
    plan_scan,
    skin_temperature_curve,
)
from laserdose.planning.letterhead import (  # noqa: E402
    A4_INCHES,
    BODY_BOTTOM,
    BODY_TOP,
    LEFT,
    RIGHT,
    Letterhead,
    dress,
)
from laserdose.planning.page_stamp import PageStamp, stamp_rows  # noqa: E402
from laserdose.planning.physics import TablePhysics  # noqa: E402
from laserdose.safety.summary import SafetySummary, safety_summary, summary_rows  # noqa: E402

ROWS_PER_PAGE = 26
COLUMN_WIDTHS = (0.15, 0.33, 0.52)  # fractions of the page's table width
WRAP_CHARACTERS = (16, 40, 56)  # what fits each column at 7 pt
ROW_HEIGHT = 0.022  # one line of 7 pt text, as a fraction of the table's axes
TABLE_SHARE = 0.97  # of the axes a page's rows may fill (the table sits a little below the axes' top)


def table_pages(title: str, rows: Sequence[tuple[str, str, str]]) -> list[Figure]:
    """A4 pages holding `rows` (section, item, value) as a table under `title`, continued as needed."""
    chunks = _page_chunks(rows)
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        figure = Figure(figsize=A4_INCHES)
        suffix = f" ({number}/{len(chunks)})" if len(chunks) > 1 else ""
        figure.text(LEFT, BODY_TOP, title + suffix, va="top", fontsize=12, weight="bold")
        axes = figure.add_axes((LEFT, BODY_BOTTOM, RIGHT - LEFT, BODY_TOP - 0.035 - BODY_BOTTOM))
        axes.axis("off")
        cells = [_wrapped(row) for row in chunk]
        table = axes.table(
            cellText=cells,
            colLabels=["section", "item", "value"],
            colWidths=list(COLUMN_WIDTHS),
            loc="upper left",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        for (row, _column), cell in table.get_celld().items():
            cell.set_height(_row_height(["header"] if row == 0 else cells[row - 1]))
        pages.append(figure)
    return pages


def _wrapped(row: tuple[str, str, str]) -> list[str]:
    """The row's cells wrapped to their columns."""
    return [textwrap.fill(text, width) for text, width in zip(row, WRAP_CHARACTERS, strict=True)]


def _row_height(cells: Sequence[str]) -> float:
    """A table row's height as a fraction of the table's axes, from its most-wrapped cell."""
    return ROW_HEIGHT * (max(text.count("\n") + 1 for text in cells) + 0.4)


def _page_chunks(rows: Sequence[tuple[str, str, str]]) -> list[Sequence[tuple[str, str, str]]]:
    """`rows` cut into pages: at most ROWS_PER_PAGE rows, and no more wrapped lines than fit the axes."""
    chunks: list[Sequence[tuple[str, str, str]]] = []
    start, used = 0, _row_height(["header"])
    for index, row in enumerate(rows):
        height = _row_height(_wrapped(row))
        if index > start and (index - start >= ROWS_PER_PAGE or used + height > TABLE_SHARE):
            chunks.append(rows[start:index])
            start, used = index, _row_height(["header"])
        used += height
    chunks.append(rows[start:])
    return chunks


def safety_pages(summary: SafetySummary) -> list[Figure]:
    """The laser safety summary of a machine (IEC 60825-1:2014) as report pages."""
    return table_pages(f"Laser safety summary: {summary.device}", summary_rows(summary))


def write_pdf(path: str | Path | BinaryIO, pages: Sequence[Figure], head: Letterhead | None = None) -> None:
    """Write `pages` as one PDF document to a path or a binary file object, under `head` if given."""
    if head is not None:
        dress(pages, head)
    metadata = {"Creator": "laserdose", **({"Title": head.title} if head is not None else {})}
    with PdfPages(path, metadata=metadata) as pdf:
        for page in pages:
            pdf.savefig(page)


def write_plan_report(
    target: str | Path | BinaryIO,
    plan: TreatmentPlan | Refusal,
    patient: Patient,
    basis: tuple[DeviceProfile, ClinicalProtocol],
    physics: TablePhysics,
    outside_band_reason: str | None = None,
    body_zones: Sequence[str] = (),
    stamp: PageStamp | None = None,
    head: Letterhead | None = None,
) -> None:
    """The plan report: patient and screening, the plan, its curves and area, laser safety, sources.

    `basis` is the plan's machine and protocol. `outside_band_reason` is the clinician's reason for
    signing a plan whose target dose is outside its band; the report then says "Signed outside the
    band: <reason>". `body_zones` are the zones marked on the course's body chart, drawn on a page of
    their own. A clinic's report gives `stamp`: the patient's identification and the signature, in full
    on the first page and at the foot of every page. `head` is the letterhead (default: titled
    "Treatment plan", no clinic); the stamp's lines join its footer.
    """
    device, protocol = basis
    rows = plan_rows(plan, patient, device, with_name=stamp is None)
    if outside_band_reason is not None:
        rows.insert(0, ("SIGNED", "Signed outside the band:", outside_band_reason))
    if stamp is not None:
        rows = stamp_rows(stamp) + rows
    pages = table_pages("Plan and patient", rows)
    if isinstance(plan, TreatmentPlan):
        pages.append(_curves_page(plan, patient, device, physics))
        if body_zones:
            pages.append(body_chart_page(body_zones, f"{plan.area_cm2:g} cm2 in all"))
        pages += safety_pages(safety_summary(device, plan.delivery.duration_s))
    pages += table_pages("Sources", _source_rows(plan, protocol, physics))
    head = head or Letterhead(title="Treatment plan", profile=device)
    if stamp is not None:
        head = replace(head, footer_lines=(stamp.patient_line(), stamp.signature_line(), *head.footer_lines))
    write_pdf(target, pages, head)


def body_chart_page(zones: Sequence[str], note: str) -> Figure:
    """An A4 page with the body chart, the marked zones filled and named."""
    figure = Figure(figsize=A4_INCHES)
    figure.text(LEFT, BODY_TOP, "Treated area", va="top", fontsize=12, weight="bold")
    body_chart.draw(figure.add_axes((0.1, 0.3, 0.5, 0.56)), zones)
    text = f"Marked: {body_chart.describe(zones)}. {note}. Seen from behind: the patient's left on the left."
    figure.text(0.08, 0.25, "\n".join(textwrap.wrap(text, 90)), fontsize=9, va="top")
    return figure


def plan_rows(
    plan: TreatmentPlan | Refusal, patient: Patient, device: DeviceProfile, with_name: bool = True
) -> list[tuple[str, str, str]]:
    """The patient, the screening and the plan as (section, item, value) rows (`device`: its machine).

    `with_name`: a row with the patient's label (a clinic's report names the patient in its stamp).
    """
    rows = _patient_rows(plan, patient, device, with_name)
    if not isinstance(plan, TreatmentPlan):
        return rows + [("plan", "parameters", "none: the screening decision is not to treat")]
    rows += _parameter_rows(plan)
    if not plan.feasible:
        rows += [
            ("OUTSIDE BAND", "binding limit", plan.binding_limit or ""),
            ("OUTSIDE BAND", "advice", plan.advice or ""),
        ]
    return rows + [("note", str(number), note) for number, note in enumerate(plan.notes, start=1)]


def _patient_rows(
    plan: TreatmentPlan | Refusal, patient: Patient, device: DeviceProfile, with_name: bool
) -> list[tuple[str, str, str]]:
    fat = f"{patient.fat_mm:g} mm (ultrasound)" if patient.fat_mm is not None else f"from BMI {patient.bmi:g}"
    urgency = f" ({plan.urgency})" if isinstance(plan, Refusal) and plan.urgency else ""
    rows = [("patient", "name", patient.name or "-")] if with_name else []
    rows += [
        ("patient", "skin type (Fitzpatrick)", str(patient.skin_type)),
        ("patient", "subcutaneous fat", fat),
        ("patient", "treatment area", f"{patient.area_cm2:g} cm2"),
        ("machine", "maker and model", f"{device.manufacturer} {device.model} ({device.name})"),
        ("screening", "decision", plan.decision + urgency),
    ]
    return rows + [("screening", reason.code, f"{reason.text} {reason.source}") for reason in plan.reasons]


def _parameter_rows(plan: TreatmentPlan) -> list[tuple[str, str, str]]:
    """Rows for the parameters of a treatment plan."""
    target, course, delivery = plan.target, plan.course, plan.delivery
    powers = ", ".join(f"{w:g} nm: {p:.2f} W" for w, p in delivery.power_w_by_wavelength.items())
    energy = f"{delivery.total_energy_j:.0f} J / {plan.surface_dose_j_per_cm2:.2f} J/cm2"
    dose = "{:.3g} J/cm2 ({:.3g}-{:.3g})".format(target.dose_j_per_cm2, *target.dose_range_j_per_cm2)
    if target.dose_is_upper_bound:
        dose = f"at most {dose}: an upper bound"
    return [
        ("plan", "condition / protocol", plan.condition),
        ("plan", "device", delivery.device),
        ("plan", "average power", powers),
        ("plan", "mode / handpiece", f"{delivery.mode} / {delivery.handpiece}"),
        ("plan", "scan", f"zig-zag over the area at {plan.scan_speed_mm_per_s:g} mm/s"),
        ("plan", "duration", f"{delivery.duration_s:.0f} s"),
        ("plan", "energy / surface dose", energy),
        ("target", target.structure, f"{target.depth_mm:.1f} mm deep"),
        ("target", "dose (nominal, range)", dose),
        *target_bound_rows(plan),
        *prescription_rows(plan),
        ("skin", "peak temperature", f"{plan.peak_skin_temperature_c:.1f} C"),
        ("course", "sessions", f"{course.sessions}, {course.per_week} per week"),
    ]


def target_bound_rows(plan: TreatmentPlan) -> list[tuple[str, str, str]]:
    """Rows for the optics' share of the target dose range and, where it is one, the upper bound."""
    target = plan.target
    if target.optics_spread_factor is None:
        optics = "not assessed"
    else:
        optics = f"x/÷ {target.optics_spread_factor:.3g} at 2 SD, from each tissue's spread of mua and mus'"
    rows = [("target", "range from tissue optics", optics)]
    if target.dose_is_upper_bound is None:
        rows.append(("target", "upper bound?", "not assessed (a plan made before version 4)"))
    elif target.upper_bound_reason is not None:
        rows.append(("target", "DOSE IS AN UPPER BOUND", target.upper_bound_reason))
    return rows


def prescription_rows(plan: TreatmentPlan) -> list[tuple[str, str, str]]:
    """Rows for the template, its reference dose and this patient's equivalence."""
    prescription = plan.prescription
    if prescription is None:
        return [("prescription", "template", "none: made for a dose window, before prescriptions")]
    reference = prescription.reference
    who = f"skin type {reference.skin_type}, BMI {reference.bmi:g}" + ("" if reference.reported else " [U]")
    verdict = "inside" if prescription.in_band else "OUTSIDE"
    at_most = "at most " if plan.target.dose_is_upper_bound else ""  # the same target, the same model
    rows = [
        ("prescription", "template", f"{prescription.template} ({prescription.kind}): {prescription.source}"),
        ("prescription", "mode", prescription.mode),
        ("prescription", "reference participant", who),
        ("prescription", "reference dose", at_most + "{:.3g} J/cm2 ({:.3g}-{:.3g})".format(
            reference.target_dose_j_per_cm2, *reference.target_dose_range_j_per_cm2)),
        ("prescription", "equivalence", "{:.2f} x the reference, {} the band {:g}-{:g}".format(
            prescription.equivalence, verdict, *prescription.band)),
    ]  # fmt: skip
    if prescription.extrapolated:
        rows.append(("prescription", "extrapolated", "beyond the source: see the notes"))
    return rows


def _curves_page(
    plan: TreatmentPlan, patient: Patient, device: DeviceProfile, physics: TablePhysics
) -> Figure:
    figure = Figure(figsize=A4_INCHES)
    figure.text(LEFT, BODY_TOP, "Dose, skin temperature and area", va="top", fontsize=12, weight="bold")
    grid = {"hspace": 0.45, "top": BODY_TOP - 0.05, "bottom": BODY_BOTTOM + 0.035}
    depth_axes, skin_axes, area_axes = figure.subplots(3, 1, gridspec_kw=grid)
    curve = depth_dose_curve(plan, patient, physics)
    depth_axes.fill_between(curve.depth_mm, curve.low, curve.high, alpha=0.3, label="fat +/- 2 SD")
    depth_axes.semilogy(curve.depth_mm, curve.nominal, label="nominal")
    if curve.band_j_per_cm2 is not None:
        depth_axes.axhspan(*curve.band_j_per_cm2, color="green", alpha=0.15, label="reference band")
    depth_axes.axvline(curve.target_depth_mm, color="black", linestyle=":", label=curve.target)
    depth_axes.set(xlabel="depth [mm]", ylabel="dose [J/cm2]", title="Dose under the centre of the area")
    depth_axes.set_ylim(bottom=plan.target.dose_j_per_cm2 / 1e3)  # three decades below the target dose
    depth_axes.legend(fontsize=7)
    times, skin_c = skin_temperature_curve(plan, patient, device, physics)
    skin_axes.plot(times, skin_c)
    skin_axes.axhline(plan.skin_limit_c, color="red", linestyle="--", label="limit")
    skin_axes.set(xlabel="time [s]", ylabel="peak skin [C]", title="Peak skin temperature (fast model)")
    skin_axes.legend(fontsize=7)
    _draw_area(area_axes, plan, device)
    return figure


def _draw_area(axes: Axes, plan: TreatmentPlan, device: DeviceProfile) -> None:
    """The treated square with the zig-zag path and the beam, to scale."""
    handpiece, scan = plan_handpiece(plan, device), plan_scan(plan, device)
    path = scan.vertices_mm()
    axes.plot(path[:, 0], path[:, 1], linewidth=0.8)
    half = scan.side_mm / 2
    axes.add_patch(Rectangle((-half, -half), scan.side_mm, scan.side_mm, fill=False))
    axes.add_patch(Circle(tuple(path[0]), handpiece.beam_diameter_mm / 2, alpha=0.4))
    axes.set_aspect("equal")
    axes.set(
        xlabel="mm",
        ylabel="mm",
        title=f"Treatment area {plan.area_cm2:g} cm2, beam {handpiece.beam_diameter_mm:g} mm",
    )


def _source_rows(
    plan: TreatmentPlan | Refusal, protocol: ClinicalProtocol, physics: TablePhysics
) -> list[tuple[str, str, str]]:
    rows = [("protocol", "source", source) for source in protocol.sources]
    rows += [("protocol", "note", note) for note in protocol.notes]
    rows += [("target", target.structure, target.why) for target in protocol.targets]
    rows += [("screening", reason.code, reason.source) for reason in plan.reasons]
    rows += [
        ("physics", "target light", physics.table.provenance()),
        (
            "physics",
            "skin heating",
            "fast scanned-handpiece model, checked against the 3-D bioheat solver (thermal/surrogate)",
        ),
        ("physics", "laser safety", "IEC 60825-1:2014 MPE and NOHD (safety/)"),
    ]
    rows += [
        (
            "optics spread",
            tissue,
            f"mua {'up to ' if s.chromophore_sd_fractions else ''}{s.mua_sd_fraction:.0%}, "
            f"mus' {s.musp_sd_fraction:.0%} (1 SD): {s.source}",
        )
        for tissue, s in physics.spreads.items()
    ]
    return rows
