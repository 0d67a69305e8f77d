"""Regenerate docs/validation.md and its figures: our engine against every reference (`make validation`).

Run from the repository root: `python docs/validation.py` (about three minutes on two cores; the skin
reflectance section comes from docs/skin_reflectance.py).

References: van de Hulst via MCML's paper, MCML's own sample output, iadpython (adding-doubling),
diffusion theory, in vivo skin reflectance [Cooksey2017], and pmcxcl when
benchmarks/transport_results.json exists (`make bench`).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "tests" / "transport"))  # reuse the tests' reference helpers

from test_references import (  # noqa: E402
    MCML_SAMPLE,
    SLABS,
    TWO_LAYERS,
    _combined_se,
    _iad_slab,
    _iad_two_layers,
    _specular,
)

from skin_reflectance import section as skin_reflectance_section  # noqa: E402

from laserdose.optics.back import back_model  # noqa: E402
from laserdose.transport import FlatBeam, Grid, Layer, PencilBeam, Stack, TransportResult, simulate  # noqa: E402
from laserdose.transport.diffusion import planar_fluence_rate  # noqa: E402
from laserdose.transport.plots import plot_centre_line_fluence  # noqa: E402

DOCS = ROOT / "docs"
BENCHMARKS = ROOT / "benchmarks"
Row = tuple[str, str, float, float, float]  # reference, quantity, reference value, ours, our SE


def _row(reference: str, quantity: str, theirs: float, ours: float, se: float) -> Row:
    return reference, quantity, theirs, ours, se


def van_de_hulst() -> list[Row]:
    """Thin slab of van de Hulst, as compared in the MCML paper."""
    result = simulate(Stack((Layer(0.2, 1.0, 9.0, 0.75, 1.0),)), PencilBeam(), 1_000_000, seed=3)
    source = "van de Hulst 1980 (MCML paper, Table 2), slab 0.2 mm, a 0.9, g 0.75"
    return [
        _row(source, "Rd", 0.09739, result.diffuse_reflectance, result.diffuse_reflectance_se),
        _row(source, "Tt", 0.66096, result.transmittance, result.transmittance_se),
    ]


def mcml_sample() -> list[Row]:
    """MCML's 3-layer sample against its published output."""
    n = 1_000_000
    result = simulate(MCML_SAMPLE, PencilBeam(), n, seed=5)
    source = "MCML 1.2.2 sample output (1e6 photons), 3 layers; SE combined with MCML's"
    rd_se = _combined_se(result.diffuse_reflectance_se, n)
    rows = [
        _row(source, "Rsp", 0.0243729, result.specular_reflectance, 0.0),
        _row(source, "Rd", 0.237544, result.diffuse_reflectance, rd_se),
        _row(source, "A", 0.641594, result.absorbed, _combined_se(result.absorbed_se, n)),
        _row(source, "T", 0.0964896, result.transmittance, _combined_se(result.transmittance_se, n)),
    ]
    for i, theirs in enumerate((0.2612, 0.1488, 0.2316)):
        rows.append(
            _row(
                source,
                f"A layer {i + 1}",
                theirs,
                result.absorbed_by_layer[i],
                _combined_se(result.absorbed_by_layer_se[i], n),
            )
        )
    return rows


def iadpython_slabs() -> list[Row]:
    """Single slabs and a two-layer stack against iadpython."""
    rows = []
    for name, layer in SLABS.items():
        ur1, ut1 = _iad_slab(layer)
        result = simulate(Stack((layer,)), PencilBeam(), 300_000, seed=7)
        source = f"iadpython, {name} slab (n {layer.n:g})"
        rsp = _specular(1.0, layer.n)
        rows.append(
            _row(
                source, "Rd = UR1 - Rsp", ur1 - rsp, result.diffuse_reflectance, result.diffuse_reflectance_se
            )
        )
        if layer.thickness_mm is not None:  # semi-infinite: T is 0 for both (iadpython: < 1e-13)
            rows.append(_row(source, "T = UT1", ut1, result.transmittance, result.transmittance_se))
    for order, label in ((1, "forward"), (-1, "reversed")):
        top, bottom = TWO_LAYERS[::order]
        ur1, ut1 = _iad_two_layers(top, bottom)
        result = simulate(Stack((top, bottom)), PencilBeam(), 300_000, seed=11)
        source = f"iadpython add_layers, two different layers ({label})"
        rows.append(_row(source, "Rd = UR1", ur1, result.diffuse_reflectance, result.diffuse_reflectance_se))
        rows.append(_row(source, "T = UT1", ut1, result.transmittance, result.transmittance_se))
    return rows


def diffusion() -> list[Row]:
    """Laterally integrated fluence deep in a semi-infinite medium against diffusion theory."""
    mua, musp = 0.01, 1.0
    result = simulate(Stack((Layer(None, mua, musp, 0.0, 1.4),)), PencilBeam(), 200_000, seed=17,
                      grid=Grid(1.0, 100, 0.5, 40))  # fmt: skip
    planar = (result.fluence_rate_per_mm2 * np.pi * np.diff(result.r_edges_mm**2)[:, None]).sum(axis=0)
    rows = []
    for depth in (5.0, 10.0, 15.0):
        iz = int(depth / 0.5)
        theory = float(planar_fluence_rate(result.z_centres_mm[iz], mua, musp, 1.4)) * (
            1 - result.specular_reflectance
        )
        source = "Diffusion theory (Farrell 1992), mua 0.01, mus' 1 /mm, n 1.4"
        rows.append(
            _row(
                source,
                f"planar phi at {result.z_centres_mm[iz]:g} mm [1/mm]",
                theory,
                float(planar[iz]),
                math.nan,
            )
        )
    return rows


def pmcxcl_rows() -> list[Row]:
    """Diffuse reflectance against pmcxcl, from the last `make bench` run."""
    path = BENCHMARKS / "transport_results.json"
    if not path.exists():
        return []
    rows = []
    for name, entry in json.loads(path.read_text())["problems"].items():
        mcx = entry.get("pmcxcl", {})
        ours = entry.get("laserdose") or entry.get("one_core", {}).get("in_process")
        if "photons" not in mcx or not ours:
            continue
        source = f"pmcxcl {mcx['photons']:,} photons, {mcx['voxel_mm']} mm voxels: {name}"
        se = math.hypot(ours["diffuse_reflectance_se"], mcx["diffuse_reflectance_se"])
        rows.append(
            _row(source, "Rd (x (1 - Rsp))", mcx["diffuse_reflectance"], ours["diffuse_reflectance"], se)
        )
    return rows


# Cassano et al. 2019 Table 1 [mua, mus'] in 1/mm; muscle at 1064 nm is not in the table: 980 nm values [U].
CASSANO = {
    810: ((0.045, 2.18), (0.00054, 1.09), (0.028, 0.704)),
    980: ((0.028, 1.85), (0.0014, 0.99), (0.049, 0.58)),
    1064: ((0.017, 2.03), (0.0054, 0.945), (0.049, 0.58)),
}


def cassano_stack(wavelength_nm: int) -> Stack:
    """Skin 2 mm, fat 10 mm [U], semi-infinite muscle; g 0.9 (Jacques 2013); n 1.37 / 1.44 / 1.37 [U]."""
    (skin, fat, muscle), g = CASSANO[wavelength_nm], 0.9
    thickness = (2.0, 10.0, None)
    index = (1.37, 1.44, 1.37)
    coefficients = (skin, fat, muscle)
    layers = [
        Layer(d, mua, musp / (1 - g), g, n)
        for d, (mua, musp), n in zip(thickness, coefficients, index, strict=True)
    ]
    return Stack(tuple(layers))


def back_figures() -> list[tuple[str, int, TransportResult]]:
    """Fluence against depth at 810, 980 and 1064 nm in our back model (plotted) and a literature stack."""
    # Innermost bin: 5 mm of radius, where the fluence under a 30 mm flat beam is nearly flat.
    grid = Grid(dr_mm=5.0, nr=8, dz_mm=0.5, nz=100)
    results = []
    for wavelength in CASSANO:
        for model, stack in (
            (OUR_BACK, Stack.from_layers(back_model(3, wavelength, bmi=27.0).layers)),
            (CASSANO_BACK, cassano_stack(wavelength)),
        ):
            result = simulate(stack, FlatBeam(30.0), 200_000, seed=wavelength, grid=grid)
            results.append((model, wavelength, result))
    plot_centre_line_fluence(
        [(f"{w} nm", r) for m, w, r in results if m == OUR_BACK],
        DOCS / "fluence_back.png",
        title="laserdose back model (skin type III, BMI 27), 30 mm flat beam",
    )
    return results


OUR_BACK = "laserdose back model, skin type III, BMI 27"
CASSANO_BACK = "skin 2 mm, fat 10 mm, muscle (Cassano 2019 values)"


def write_markdown(rows: list[Row], back: list[tuple[str, int, TransportResult]]) -> None:
    """Write docs/validation.md: the intro, the table of comparisons and the back-model summary."""
    lines = (DOCS / "validation_intro.md").read_text().rstrip().splitlines()
    lines += [
        "",
        "| reference | quantity | reference value | ours | our SE | deviation |",
        "|---|---|---|---|---|---|",
    ]
    for source, quantity, theirs, ours, se in rows:
        deviation = (
            f"{(ours - theirs) / se:+.1f} SE"
            if se > 0 and math.isfinite(se)
            else f"{(ours / theirs - 1) * 100:+.1f} %"
        )
        se_text = f"{se:.2g}" if math.isfinite(se) else "-"
        lines.append(f"| {source} | {quantity} | {theirs:.6g} | {ours:.6g} | {se_text} | {deviation} |")
    lines += [
        "",
        "## Fluence against depth in a back model",
        "",
        "![fluence against depth](fluence_back.png)",
        "",
        "The figure: the optics back model (`laserdose optics back --skin-type 3 --bmi 27`: epidermis,",
        "dermis, 11 mm fat, muscle, bone). For comparison, a stack built directly from the literature:",
        "skin 2 mm, fat 10 mm, muscle below, [mua, mus'] from Cassano et al. 2019 Table 1, g 0.9,",
        "n 1.37/1.44/1.37 [U]; muscle at 1064 nm is not in Cassano's table: its 980 nm values stand in [U].",
        "Fluence rate within 5 mm of the axis of a 30 mm flat beam, per W incident [W/mm^2 per W];",
        "multiply by power [W], time [s] and 100 for J/cm^2:",
        "",
        "| model | wavelength | Rsp | Rd | 10 mm | 20 mm | 30 mm | 40 mm |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, wavelength, result in back:
        values = " | ".join(f"{result.fluence_rate_at(d - 0.25):.3g}" for d in (10.0, 20.0, 30.0, 40.0))
        lines.append(
            f"| {model} | {wavelength} nm | {result.specular_reflectance:.4f} "
            f"| {result.diffuse_reflectance:.4f} | {values} |"
        )
    lines += skin_reflectance_section()
    lines += speed_section()
    (DOCS / "validation.md").write_text("\n".join(lines) + "\n")


def speed_section() -> list[str]:
    """Photons per CPU-second from the last `make bench` run (benchmarks/transport_results.json)."""
    path = BENCHMARKS / "transport_results.json"
    if not path.exists():
        return []
    report = json.loads(path.read_text())
    lines = [
        "",
        "## Speed (`make bench`, 2 shared cores; timings are noisy)",
        "",
        "Photons per CPU-second on one core (threads=1), in process and as the whole command",
        "`laserdose simulate --stack FILE --photons N --json` at MCML's photon counts (start-up included),",
        "against MCML 1.2's single-thread figures on this machine class [McmlSpeed2026]; load: the machine's",
        "1-minute load average when the figure was taken (2 cores).",
        "",
        "| problem | MCML | ours, in process | x MCML | load | ours, whole command | x MCML | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in report["problems"].items():
        if "one_core" not in entry:
            continue
        one = entry["one_core"]
        ours, command = one["in_process"], one["command"]
        lines.append(
            f"| {name} | {one['mcml_photons_per_cpu_second']:,.0f} "
            f"| {ours['photons_per_cpu_second']:,.0f} | {ours['ratio_to_mcml']:.2f} "
            f"| {ours['load_average']:.1f} "
            f"| {command['photons_per_cpu_second']:,.0f} ({command['photons']:,} photons) "
            f"| {command['ratio_to_mcml']:.2f} | {command['load_average']:.1f} |"
        )
    if fixed := report.get("command_fixed_costs"):
        lines += [
            "",
            f"The command's fixed cost (the same command with 10 photons): {fixed['startup_cpu_s']:.2f} s",
            "of CPU (interpreter, imports, the compiled kernel loaded from Numba's cache, output); a first",
            "run with an empty cache compiles the kernel: "
            f"{fixed['jit_compile_cpu_s']:.1f} s of CPU more, once.",
        ]
    mcx_rows = [
        (name, entry["laserdose"], entry["pmcxcl"])
        for name, entry in report["problems"].items()
        if "photons_per_second" in entry.get("pmcxcl", {}) and "laserdose" in entry
    ]
    if mcx_rows:
        lines += [
            "",
            "Against pmcxcl (MCX over OpenCL on the same 2 cores, its kernel time; ours on all threads):",
            "",
            "| problem | laserdose photons/s | pmcxcl photons/s (kernel) | ratio |",
            "|---|---|---|---|",
        ]
        for name, ours, mcx in mcx_rows:
            rate, theirs = ours["photons_per_second"], mcx["photons_per_second"]
            note = " (an earlier run)" if "carried_over" in mcx or "carried_over" in ours else ""
            lines.append(f"| {name}{note} | {rate:,.0f} | {theirs:,.0f} | {rate / theirs:.1f} |")
    return lines + [""] + (DOCS / "validation_speed.md").read_text().rstrip().splitlines()


def main() -> None:
    """Run every comparison and regenerate the docs."""
    rows = van_de_hulst() + mcml_sample() + iadpython_slabs() + diffusion() + pmcxcl_rows()
    write_markdown(rows, back_figures())
    print(f"wrote {DOCS / 'validation.md'} and {DOCS / 'fluence_back.png'}")


if __name__ == "__main__":
    main()
