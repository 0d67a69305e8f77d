"""Read a `heat` case from TOML: an idealised validation case ([medium]) or a treatment ([[layers]]).

Every bad value raises InputError naming its field, e.g. `medium.k_w_per_m_k must be > 0, got -1`.
"""

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.errors import InputError, require_choice
from laserdose.files import read_toml
from laserdose.thermal.bioheat import StationaryCase
from laserdose.thermal.boundary import Boundaries
from laserdose.thermal.grid import LayeredMedium, graded_edges
from laserdose.thermal.properties import BLOOD_C_J_PER_KG_K, BLOOD_RHO_KG_PER_M3, ThermalTissue

SOURCE_KINDS = ("surface-disk", "surface-gaussian", "surface-uniform", "depth-exponential")
Table = Mapping[str, Any]


def load_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file is an InputError."""
    return read_toml(path, "config file")


def section(config: Table, name: str, allowed: tuple[str, ...], required: bool = True) -> Table:
    """Return table `name`, rejecting unknown keys (typos must not pass silently)."""
    value = config.get(name)
    if value is None:
        if required:
            raise InputError(f"missing section [{name}]")
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{name} must be a table")
    for key in value:
        if key not in allowed:
            raise InputError(f"unknown key {name}.{key}; allowed: {', '.join(allowed)}")
    return value


def number(
    table: Table, where: str, key: str, default: float | None = None, low: float = 0.0, strict: bool = True
) -> float:
    """A finite number `table[key]` that is > low (strict) or >= low; `where.key` names it in errors."""
    value = table.get(key, default)
    if value is None:
        raise InputError(f"{where}.{key} is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}.{key} must be a finite number, got {value!r}")
    if strict and not value > low:
        raise InputError(f"{where}.{key} must be > {low:g}, got {value:g}")
    if not strict and not value >= low:
        raise InputError(f"{where}.{key} must be >= {low:g}, got {value:g}")
    return float(value)


def optional_number(table: Table, where: str, key: str, low: float = 0.0) -> float | None:
    """Like `number`, but None when the key is absent."""
    return number(table, where, key, low=low) if key in table else None


def boundaries_from(config: Table, idealised: bool) -> Boundaries:
    """The [boundary] section; idealised cases have an insulated bottom (semi-infinite medium)."""
    table = section(
        config, "boundary", ("surface", "h_w_per_m2_k", "ambient_c", "contact_c", "core_c"), False
    )
    surface = str(table.get("surface", "insulated" if idealised else "convective"))
    require_choice("boundary.surface", surface, ("insulated", "convective", "contact"))
    h = number(table, "boundary", "h_w_per_m2_k", 10.0) if surface == "convective" else 10.0
    if surface == "convective" and idealised and "h_w_per_m2_k" not in table:
        raise InputError("boundary.h_w_per_m2_k is required for a convective surface")
    ambient = number(table, "boundary", "ambient_c", 25.0, low=-50.0)
    contact = number(table, "boundary", "contact_c", 30.0, low=-50.0)
    core = None if idealised else number(table, "boundary", "core_c", 37.0, low=0.0)
    return Boundaries(surface, h, ambient, contact, core)


def medium_from(config: Table) -> ThermalTissue:
    """The [medium] section of an idealised case, with the blood of [ComsolBioheat] unless given."""
    keys = (
        "k_w_per_m_k",
        "rho_kg_per_m3",
        "c_j_per_kg_k",
        "perfusion_per_s",
        "blood_rho_kg_per_m3",
        "blood_c_j_per_kg_k",
    )
    table = section(config, "medium", keys)
    perfusion = number(table, "medium", "perfusion_per_s", 0.0, strict=False)
    blood_rho = number(table, "medium", "blood_rho_kg_per_m3", BLOOD_RHO_KG_PER_M3)
    blood_c = number(table, "medium", "blood_c_j_per_kg_k", BLOOD_C_J_PER_KG_K)
    # ThermalTissue uses the standard blood; an equivalent perfusion carries other blood properties.
    equivalent = perfusion * blood_rho * blood_c / (BLOOD_RHO_KG_PER_M3 * BLOOD_C_J_PER_KG_K)
    return ThermalTissue(
        number(table, "medium", "k_w_per_m_k"),
        number(table, "medium", "rho_kg_per_m3"),
        number(table, "medium", "c_j_per_kg_k"),
        perfusion_per_s=equivalent,
    )


def idealised_case(config: Table, refine: float | None = None) -> StationaryCase:
    """Build the stationary case of an idealised config (homogeneous semi-infinite medium)."""
    from laserdose.thermal.source import Emission, analytic_kernel

    material = medium_from(config)
    source = section(config, "source", ("kind", "power_w", "flux_w_per_m2", "radius_mm", "mua_per_mm"))
    kind = require_choice("source.kind", str(source.get("kind", "")), SOURCE_KINDS)
    timing = section(config, "time", ("duration_s", "dt_s"))
    grid = section(config, "grid", ("refine",), False)
    refine = refine if refine is not None else number(grid, "grid", "refine", 1.0)
    duration = number(timing, "time", "duration_s")
    mua = number(source, "source", "mua_per_mm") if kind == "depth-exponential" else None
    radius, power = _beam(source, kind)
    uniform = radius == 0.0  # laterally uniform: one-dimensional in depth
    diffusion = math.sqrt(material.diffusivity_mm2_per_s * duration)
    fine = min([diffusion] + ([radius] if not uniform else []) + ([1 / mua] if mua else []))
    ratio = 1 + 0.12 / refine
    if uniform:
        r_edges = np.array([0.0, 0.5, 1.0])
        radius, power = 1.0, number(source, "source", "flux_w_per_m2") * 1e-6 * math.pi
    else:
        reach = 2.5 * radius if kind == "surface-gaussian" else radius
        r_edges = graded_edges(
            reach + 8 * diffusion, radius / 40 / refine, max(radius, diffusion) / 4 / refine, ratio
        )
    depth = 8 * diffusion + (6 / mua if mua else 0.0)
    z_edges = graded_edges(depth, fine / 100 / refine, max(fine, diffusion) / 4 / refine, ratio)
    shape = "gaussian" if kind == "surface-gaussian" else "flat"
    kernel = analytic_kernel(r_edges, z_edges, radius, shape, mua)
    dt = number(timing, "time", "dt_s", duration / (400 * refine))
    return StationaryCase(
        medium=LayeredMedium((), (material,), ("medium",)),
        kernel=kernel,
        emission=Emission(power),
        boundaries=boundaries_from(config, idealised=True),
        r_edges_mm=r_edges,
        z_edges_mm=z_edges,
        duration_s=duration,
        dt_s=min(dt, duration),
        with_baseline=False,
    )


def _beam(source: Table, kind: str) -> tuple[float, float]:
    """Radius [mm] and power [W] of a finite beam (disk, Gaussian or a disk absorbed in depth)."""
    if kind == "surface-uniform" or (kind == "depth-exponential" and "radius_mm" not in source):
        if "power_w" in source:
            raise InputError(f"source.power_w needs source.radius_mm for kind {kind!r}; give flux_w_per_m2")
        return 0.0, 0.0
    radius = number(source, "source", "radius_mm")
    if "power_w" in source and "flux_w_per_m2" in source:
        raise InputError("give source.power_w or source.flux_w_per_m2, not both")
    if "flux_w_per_m2" in source:
        if kind == "surface-gaussian":
            raise InputError("source.flux_w_per_m2 is not defined for a Gaussian beam; give source.power_w")
        return radius, number(source, "source", "flux_w_per_m2") * 1e-6 * math.pi * radius**2
    return radius, number(source, "source", "power_w")
