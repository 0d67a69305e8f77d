"""Checks of a fluence table against what the planner needs: precision where it reads, and fat order.

Precision: every entry's worst relative standard error over the bins the planner reads from it
(planning/table_reads.py) must meet the build's target.

Fat order: the planner looks a structure up at depth z = c + fat (c: its depth below the fat,
optics/back.py target_depths) and interpolates L = log F linearly in depth between bin centres and in fat
between the entries a < b around it (FluenceTable.factor). With t = (fat - a) / (b - a),

    d L / d fat = (L_b(z) - L_a(z)) / (b - a) + (1 - t) L_a'(z) + t L_b'(z).

While z stays between two bin centres, L_a' and L_b' are constant and the rest is linear in fat, so the
derivative is linear in fat there: its sign over the whole range is settled by its values at the ends
of each such piece. `fat_order` evaluates them all, for every structure, fat cell, radius, wavelength
and skin type (interpolation in radius is a weighted mean of per-radius derivatives): if the largest is
below 0, a thicker fat gives every patient a smaller nominal target fluence, with no tolerance. It also
says how many standard errors below 0 the closest piece lies (the SEs of the values combined as if
independent, which overstates them: neighbouring bins of one run are positively correlated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laserdose.errors import InputError
from laserdose.optics.back import target_depths
from laserdose.transport.batch_stats import relative_se
from laserdose.transport.tables import FluenceTable


@dataclass(frozen=True)
class EntryPrecision:
    """The least precise read bin of one entry.

    Attributes:
        wavelength_nm: the entry's wavelength [nm].
        skin_type: its Fitzpatrick skin type.
        fat_mm: its fat thickness [mm].
        relative_se: worst relative SE over the bins the planner reads [-].
        radius_mm: radius of that bin [mm].
        depth_mm: depth of that bin [mm].
    """

    wavelength_nm: float
    skin_type: int
    fat_mm: float
    relative_se: float
    radius_mm: float
    depth_mm: float


def _read_bins(table: FluenceTable, read_depth_mm: float) -> int:
    """Number of depth bins from the surface that a lookup down to `read_depth_mm` touches."""
    return int(np.searchsorted(table.z_centres_mm, read_depth_mm, side="left")) + 1


def entry_precision(table: FluenceTable, read_depths_mm: dict[float, float]) -> list[EntryPrecision]:
    """Worst relative SE over the read bins of every entry, in axis order.

    Raises:
        InputError: the table has no standard errors (built with fixed photons).
    """
    if table.se is None:
        raise InputError(
            "this fluence table has no standard errors: build it with `laserdose tables precise`"
        )
    rows = []
    for iw, wavelength in enumerate(table.wavelengths_nm):
        for isk, skin in enumerate(table.skin_types):
            for ifat, fat in enumerate(table.fat_mm):
                bins = _read_bins(table, read_depths_mm[float(fat)])
                rel = relative_se(table.factors[iw, isk, ifat, :, :bins], table.se[iw, isk, ifat, :, :bins])
                rel = np.where(np.isnan(rel), np.inf, rel)
                ir, iz = np.unravel_index(int(np.argmax(rel)), rel.shape)
                rows.append(
                    EntryPrecision(
                        float(wavelength), int(skin), float(fat), float(rel[ir, iz]),
                        float(table.radii_mm[ir]), float(table.z_centres_mm[iz]),
                    )
                )  # fmt: skip
    return rows


def structure_offsets_mm() -> dict[str, float]:
    """Each target structure's depth below the fat, c in z = c + fat (optics/back.py) [mm]."""
    return {name: target.depth_mm for name, target in target_depths(0.0, 0.0).items()}


@dataclass(frozen=True)
class FatOrder:
    """The largest d log F / d fat of a nominal target lookup (module docstring).

    Attributes:
        largest_per_mm: the largest derivative [1/mm]; < 0 means more fat always lowers the dose.
        standard_errors: the fewest (over-estimated) SEs by which any derivative lies below 0 [-]; inf for
            a table without standard errors.
        where: (structure, wavelength [nm], skin type, fat [mm], radius [mm]) of the largest derivative.
    """

    largest_per_mm: float
    standard_errors: float
    where: tuple[str, float, int, float, float]


def fat_order(table: FluenceTable, offsets_mm: dict[str, float]) -> FatOrder:
    """The largest d log F / d fat over every nominal lookup of the structures (module docstring).

    Args:
        table: the fluence table as the planner reads it.
        offsets_mm: each structure's depth below the fat, c in z = c + fat [mm].
    """
    log_f = np.log(np.maximum(table.factors, 1e-300))
    rel = np.zeros_like(table.factors) if table.se is None else relative_se(table.factors, table.se)
    rel = np.where(np.isnan(rel), np.inf, rel)
    z = table.z_centres_mm
    largest: tuple[float, tuple[str, float, int, float, float]] | None = None
    margin = np.inf
    for structure, c in offsets_mm.items():
        for ia in range(table.fat_mm.size - 1):
            a, b = float(table.fat_mm[ia]), float(table.fat_mm[ia + 1])
            for fat, k in _pieces(z, c, a, b):
                t = (fat - a) / (b - a)
                w = (c + fat - z[k]) / (z[k + 1] - z[k])  # position of the depth inside the piece
                la, lb = log_f[..., ia, :, k : k + 2], log_f[..., ia + 1, :, k : k + 2]
                gap = ((1 - w) * (lb[..., 0] - la[..., 0]) + w * (lb[..., 1] - la[..., 1])) / (b - a)
                dz = z[k + 1] - z[k]
                slope = (1 - t) * (la[..., 1] - la[..., 0]) / dz + t * (lb[..., 1] - lb[..., 0]) / dz
                derivative = gap + slope
                ra, rb = rel[..., ia, :, k : k + 2], rel[..., ia + 1, :, k : k + 2]
                se = (
                    np.hypot(ra.max(axis=-1), rb.max(axis=-1)) / (b - a)
                    + np.maximum(np.hypot(ra[..., 0], ra[..., 1]), np.hypot(rb[..., 0], rb[..., 1])) / dz
                )
                with np.errstate(divide="ignore", invalid="ignore"):
                    margin = min(margin, float(np.nanmin(np.where(se > 0, -derivative / se, np.inf))))
                iw, isk, ir = (int(i) for i in np.unravel_index(int(np.argmax(derivative)), derivative.shape))
                value = float(derivative[iw, isk, ir])
                if largest is None or value > largest[0]:
                    where = (structure, float(table.wavelengths_nm[iw]), int(table.skin_types[isk]), fat,
                             float(table.radii_mm[ir]))  # fmt: skip
                    largest = (value, where)
    if largest is None:
        raise InputError("a fat order needs at least two fat entries and lookups inside the depth axis")
    return FatOrder(largest[0], margin, largest[1])


def _pieces(z: np.ndarray, c: float, a: float, b: float) -> list[tuple[float, int]]:
    """(fat [mm], depth interval k) at both ends of each piece of [a, b] where c + fat stays in one interval.

    Fats whose depth lies outside the depth axis are left out (the planner refuses them).
    """
    ends = sorted({a, b} | {float(zk - c) for zk in z if a < zk - c < b})
    out = []
    for lo, hi in zip(ends[:-1], ends[1:], strict=True):
        k = int(np.searchsorted(z, c + 0.5 * (lo + hi))) - 1
        if 0 <= k < z.size - 1:
            out += [(lo, k), (hi, k)]
    return out
