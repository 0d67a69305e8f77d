"""Boundary conditions and the steady baseline state of a layered column.

The solvers work on the temperature rise above a steady baseline (the state before the laser is on): the
equation is linear, so the rise obeys the same equation with homogeneous boundaries and only the laser
as source, and absolute temperature = baseline(z) + rise.
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from laserdose.errors import InputError, require_choice
from laserdose.thermal.grid import ColumnProperties, FloatArray
from laserdose.thermal.properties import ARTERIAL_TEMPERATURE_C

SURFACE_KINDS = ("insulated", "convective", "contact")


@dataclass(frozen=True)
class Boundaries:
    """Surface and bottom boundaries.

    Attributes:
        surface: "insulated", "convective" (to air at `ambient_c` with `h_w_per_m2_k`) or "contact"
            (a handpiece window held at `contact_c`).
        h_w_per_m2_k: convective heat-transfer coefficient [W/(m^2 K)].
        ambient_c: air temperature [C].
        contact_c: temperature of the contact window [C].
        core_c: temperature held at the bottom of the domain [C]; None for an insulated bottom.
    """

    surface: str = "convective"
    h_w_per_m2_k: float = 10.0
    ambient_c: float = 25.0
    contact_c: float = 30.0
    core_c: float | None = ARTERIAL_TEMPERATURE_C

    def __post_init__(self) -> None:
        require_choice("boundary.surface", self.surface, SURFACE_KINDS)
        if self.surface == "convective" and not self.h_w_per_m2_k > 0:
            raise InputError(f"boundary.h_w_per_m2_k must be > 0, got {self.h_w_per_m2_k:g}")

    def surface_conductance_w_per_mm2_k(self) -> float:
        """Conductance from the skin surface to the surroundings [W/(mm^2 K)]; inf for contact."""
        if self.surface == "insulated":
            return 0.0
        if self.surface == "contact":
            return float("inf")
        return self.h_w_per_m2_k * 1e-6

    @property
    def surroundings_c(self) -> float:
        """Temperature the surface exchanges heat with [C]."""
        return self.contact_c if self.surface == "contact" else self.ambient_c


def top_conductance(column: ColumnProperties, boundaries: Boundaries) -> float:
    """Conductance per area from the top cell centre to the surroundings [W/(mm^2 K)]."""
    inner = 2.0 * column.k_w_per_mm_k[0] / column.dz_mm[0]
    outer = boundaries.surface_conductance_w_per_mm2_k()
    if outer == 0.0:
        return 0.0
    if np.isinf(outer):
        return float(inner)
    return float(inner * outer / (inner + outer))


def surface_flux_fraction(column: ColumnProperties, boundaries: Boundaries) -> float:
    """Share of a flux absorbed at the surface itself that enters the tissue (the rest leaves) [-]."""
    inner = 2.0 * column.k_w_per_mm_k[0] / column.dz_mm[0]
    outer = boundaries.surface_conductance_w_per_mm2_k()
    if np.isinf(outer):
        return 0.0
    return float(inner / (inner + outer))


def bottom_conductance(column: ColumnProperties, boundaries: Boundaries) -> float:
    """Conductance per area from the bottom cell centre to the held core temperature [W/(mm^2 K)]."""
    if boundaries.core_c is None:
        return 0.0
    return float(2.0 * column.k_w_per_mm_k[-1] / column.dz_mm[-1])


def surface_value(
    top_cell: FloatArray, flux_w_per_mm2: FloatArray | float, column: ColumnProperties, boundaries: Boundaries
) -> FloatArray:
    """Surface temperature (or rise) reconstructed from the top cell and the boundary condition.

    Args:
        top_cell: value in the top cell [C or K].
        flux_w_per_mm2: flux absorbed at the surface itself [W/mm^2] (0 for volumetric sources).
        column: the column's properties.
        boundaries: the boundaries; the surroundings are at 0 for a rise.
    """
    inner = 2.0 * column.k_w_per_mm_k[0] / column.dz_mm[0]
    outer = boundaries.surface_conductance_w_per_mm2_k()
    if np.isinf(outer):
        return np.zeros_like(np.asarray(top_cell, dtype=float))
    return np.asarray((inner * np.asarray(top_cell) + flux_w_per_mm2) / (inner + outer), dtype=float)


def baseline_column(column: ColumnProperties, boundaries: Boundaries) -> FloatArray:
    """Steady temperature at the cell centres before the laser is on [C].

    Solves d/dz(k dT/dz) - w rho_b c_b (T - T_a) + q_met = 0 with the given boundaries; arterial blood at
    37 C [U]. The problem is laterally uniform, so one column describes it.
    """
    n = column.dz_mm.size
    k, dz = column.k_w_per_mm_k, column.dz_mm
    between = 1.0 / (dz[:-1] / (2 * k[:-1]) + dz[1:] / (2 * k[1:]))
    diag = column.perfusion_w_per_mm3_k * dz
    rhs = column.perfusion_w_per_mm3_k * dz * ARTERIAL_TEMPERATURE_C + column.metabolic_w_per_mm3 * dz
    diag[:-1] += between
    diag[1:] += between
    g_top, g_bottom = top_conductance(column, boundaries), bottom_conductance(column, boundaries)
    diag[0] += g_top
    rhs[0] += g_top * boundaries.surroundings_c
    if boundaries.core_c is not None:
        diag[-1] += g_bottom
        rhs[-1] += g_bottom * boundaries.core_c
    if not np.any(diag > np.concatenate(([0.0], between)) + np.concatenate((between, [0.0]))):
        raise InputError(
            "the baseline needs a held temperature: perfusion, a core temperature or a cooled surface"
        )
    banded = np.zeros((3, n))
    banded[0, 1:] = -between
    banded[1] = diag
    banded[2, :-1] = -between
    return np.asarray(scipy.linalg.solve_banded((1, 1), banded, rhs), dtype=float)
