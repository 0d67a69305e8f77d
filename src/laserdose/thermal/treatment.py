"""Read a treatment case ([[layers]], [beam], [kernel], [pulsing], [scan], [boundary], [time], [grid]).

The absorbed-power kernel is analytic (a beam profile times exponential decay in depth, with an
absorbed fraction), read from an .npz file written by the transport engine, or "monte-carlo": traced
through the optics back model, whose layers then replace [[layers]] (mc_kernel.py).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.errors import InputError, require_choice
from laserdose.thermal.bioheat import StationaryCase
from laserdose.thermal.config import Table, boundaries_from, number, optional_number, section
from laserdose.thermal.grid import LayeredMedium, graded_edges
from laserdose.thermal.mc_kernel import MC_KEYS, monte_carlo_kernel, summary
from laserdose.thermal.properties import tissue
from laserdose.thermal.scan import PATTERNS, ScanPath
from laserdose.thermal.scanned import ScannedCase, scanned_z_edges
from laserdose.thermal.source import AbsorbedKernel, Emission, analytic_kernel, load_kernel


@dataclass(frozen=True)
class Treatment:
    """A parsed treatment: a stationary case (axisymmetric) or a scanned one (3-D), and what it was.

    `monte_carlo` summarises the transport run of a monte-carlo kernel (mc_kernel.summary); else None.
    """

    case: StationaryCase | ScannedCase
    wavelength_nm: float | None
    monte_carlo: dict[str, Any] | None = None


def layers_from(config: Table) -> LayeredMedium:
    """The [[layers]] array: every layer but the last has thickness_mm; the last fills the domain."""
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise InputError("layers must be a non-empty array of tables [[layers]]")
    thicknesses, tissues, names = [], [], []
    for index, layer in enumerate(layers):
        where = f"layers[{index}]"
        if not isinstance(layer, dict) or set(layer) - {"tissue", "thickness_mm"}:
            raise InputError(f"{where} must have only the keys tissue and thickness_mm")
        name = str(layer.get("tissue", ""))
        tissues.append(tissue(name))
        names.append(name)
        if index < len(layers) - 1:
            thicknesses.append(number(layer, where, "thickness_mm"))
    return LayeredMedium(tuple(thicknesses), tuple(tissues), tuple(names))


def is_monte_carlo(config: Table) -> bool:
    """True when [kernel] kind is "monte-carlo": the layers then come from the back model."""
    kernel = config.get("kernel")
    return isinstance(kernel, dict) and kernel.get("kind") == "monte-carlo"


def medium_and_kernel(
    config: Table, base_dir: Path, wavelength_nm: float | None
) -> tuple[LayeredMedium, AbsorbedKernel, dict[str, Any] | None]:
    """The layers, the kernel and a Monte Carlo summary (None unless the kernel is "monte-carlo").

    From [[layers]] and [kernel], or all from one Monte Carlo back model.
    """
    if not is_monte_carlo(config):
        return layers_from(config), kernel_from(config, base_dir), None
    if "layers" in config:
        raise InputError(
            "omit [[layers]] with kernel.kind 'monte-carlo': the layers come from the back model"
        )
    mc = monte_carlo_kernel(section(config, "kernel", MC_KEYS), wavelength_nm)
    return mc.medium, mc.kernel, summary(mc)


def kernel_from(config: Table, base_dir: Path) -> AbsorbedKernel:
    """The [kernel] section: kind "analytic" or "file" (npz with r_edges_mm, z_edges_mm, density)."""
    keys = ("kind", "profile", "radius_mm", "mu_eff_per_mm", "absorbed_fraction", "path")
    table = section(config, "kernel", keys)
    kinds = ("analytic", "file", "monte-carlo")
    kind = require_choice("kernel.kind", str(table.get("kind", "")), kinds)
    if kind == "file":
        if "path" not in table:
            raise InputError("kernel.path is required for kind 'file'")
        return load_kernel(base_dir / str(table["path"]))
    profile = require_choice("kernel.profile", str(table.get("profile", "gaussian")), ("gaussian", "flat"))
    radius = number(table, "kernel", "radius_mm")
    mu_eff = number(table, "kernel", "mu_eff_per_mm")
    fraction = number(table, "kernel", "absorbed_fraction", 1.0)
    if fraction > 1:
        raise InputError(f"kernel.absorbed_fraction must be <= 1, got {fraction:g}")
    reach = radius * (3.0 if profile == "gaussian" else 1.0)
    r_edges = graded_edges(reach, min(radius / 20, 0.25), max(radius / 8, 0.05), 1.1)
    z_edges = graded_edges(8 / mu_eff, min(0.01, 0.05 / mu_eff), 0.25 / mu_eff, 1.1)
    return analytic_kernel(r_edges, z_edges, radius, profile, mu_eff, fraction)


def emission_from(config: Table) -> tuple[Emission, float | None]:
    """[beam] power_w (peak) and wavelength_nm (recorded only), [pulsing] frequency_hz and duty_cycle."""
    beam = section(config, "beam", ("power_w", "wavelength_nm"))
    pulsing = section(config, "pulsing", ("frequency_hz", "duty_cycle"), required=False)
    frequency = optional_number(pulsing, "pulsing", "frequency_hz")
    duty = number(pulsing, "pulsing", "duty_cycle", 1.0)
    if duty > 1:
        raise InputError(f"pulsing.duty_cycle must be <= 1, got {duty:g}")
    wavelength = optional_number(beam, "beam", "wavelength_nm")
    return Emission(number(beam, "beam", "power_w"), frequency, duty), wavelength


def treatment_case(config: Table, base_dir: Path = Path(".")) -> Treatment:
    """Build the case of a treatment config; a stationary pattern runs in axisymmetric r-z."""
    emission, wavelength = emission_from(config)
    medium, kernel, monte_carlo = medium_and_kernel(config, base_dir, wavelength)
    boundaries = boundaries_from(config, idealised=False)
    timing = section(config, "time", ("duration_s", "dt_s", "save_times_s"))
    grid = section(config, "grid", ("dx_mm", "depth_mm", "threads"), required=False)
    scan_keys = ("pattern", "width_mm", "height_mm", "speed_mm_per_s", "line_spacing_mm", "circle_radius_mm")
    scan_table = section(config, "scan", scan_keys, required=False)
    pattern = require_choice("scan.pattern", str(scan_table.get("pattern", "stationary")), PATTERNS)
    duration = number(timing, "time", "duration_s")
    depth = number(grid, "grid", "depth_mm", 30.0)
    saves = _save_times(timing, duration)
    if pattern == "stationary":
        r_max = float(kernel.r_edges_mm[-1]) + 4 * np.sqrt(0.15 * duration)
        case: StationaryCase | ScannedCase = StationaryCase(
            medium,
            kernel,
            emission,
            boundaries,
            r_edges_mm=graded_edges(r_max, 0.05, 1.0, 1.1),
            z_edges_mm=scanned_z_edges(medium, depth),
            duration_s=duration,
            dt_s=number(timing, "time", "dt_s", min(0.05, duration)),
            save_times_s=saves,
        )
        return Treatment(case, wavelength, monte_carlo)
    scan = ScanPath(
        pattern, **{key: number(scan_table, "scan", key) for key in scan_keys[1:] if key in scan_table}
    )
    case = ScannedCase(
        medium,
        kernel,
        emission,
        boundaries,
        scan,
        duration,
        dt_s=number(timing, "time", "dt_s", 0.1),
        dx_mm=number(grid, "grid", "dx_mm", 2.0),
        depth_mm=depth,
        save_times_s=saves,
        threads=_threads(grid),
    )
    return Treatment(case, wavelength, monte_carlo)


def _save_times(timing: Table, duration_s: float) -> tuple[float, ...]:
    """time.save_times_s: a list of times in (0, duration_s] at which to report the field [s]."""
    raw = timing.get("save_times_s", [])
    if not isinstance(raw, list):
        raise InputError("time.save_times_s must be a list of times in seconds")
    times = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= duration_s:
            raise InputError(f"time.save_times_s entries must be in (0, {duration_s:g}] s, got {value!r}")
        times.append(float(value))
    return tuple(times)


def _threads(grid: Table) -> int:
    """grid.threads: a whole number of Numba threads (default 1)."""
    value = grid.get("threads", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"grid.threads must be a whole number >= 1, got {value!r}")
    return int(value)
