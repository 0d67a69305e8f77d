"""Checks of a fluence table against what the planner needs: precision where it reads, and fat order.

Precision: every entry's worst relative standard error over the bins the planner reads from it
(planning/table_reads.py) must meet the build's target.

Fat order: the planner looks a structure up at depth z = c + fat (c: its depth below the top of the fat,
optics/back.py target_depths), and the table reads each fat entry i at the same distance below its own
fat, c + fat_i (FluenceTable.factor, conforming_depth_mm), and interpolates L = log F linearly in fat
between the entries a < b around the patient's fat. So between a and b, L is linear in fat with slope

    (L_b(c + b) - L_a(c + a)) / (b - a),

per radius (interpolation in radius is a weighted mean of such slopes). `fat_order` evaluates it for
every structure, fat cell, radius, wavelength and skin type: if the largest is below 0, a thicker fat
gives every patient a smaller nominal target fluence, exactly, with no tolerance. It also says by how
many standard errors the closest one lies below 0 (the two entries are independent runs; each value's
relative SE is taken as the larger of its two neighbouring bins').
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
        where: (structure, wavelength [nm], skin type, thinner fat of the cell [mm], radius [mm]) of the
            largest derivative.
    """

    largest_per_mm: float
    standard_errors: float
    where: tuple[str, float, int, float, float]


def fat_order(table: FluenceTable, offsets_mm: dict[str, float]) -> FatOrder:
    """The largest d log F / d fat over every nominal lookup of the structures (module docstring).

    Args:
        table: the fluence table as the planner reads it.
        offsets_mm: each structure's depth below the top of the fat, c in z = c + fat [mm].
    """
    log_f = np.log(np.maximum(table.factors, 1e-300))
    rel = np.zeros_like(table.factors) if table.se is None else relative_se(table.factors, table.se)
    rel = np.where(np.isnan(rel), np.inf, rel)
    largest: tuple[float, tuple[str, float, int, float, float]] | None = None
    margin = np.inf
    for structure, c in offsets_mm.items():
        for ia in range(table.fat_mm.size - 1):
            a, b = float(table.fat_mm[ia]), float(table.fat_mm[ia + 1])
            if c + b > table.z_centres_mm[-1]:
                continue  # deeper than the table: the planner refuses such a lookup
            la, ra = _at_depth(table.z_centres_mm, log_f[:, :, ia], rel[:, :, ia], c + a)
            lb, rb = _at_depth(table.z_centres_mm, log_f[:, :, ia + 1], rel[:, :, ia + 1], c + b)
            slope = (lb - la) / (b - a)
            se = np.hypot(ra, rb) / (b - a)
            with np.errstate(divide="ignore", invalid="ignore"):
                margin = min(margin, float(np.nanmin(np.where(se > 0, -slope / se, np.inf))))
            iw, isk, ir = (int(i) for i in np.unravel_index(int(np.argmax(slope)), slope.shape))
            if largest is None or slope[iw, isk, ir] > largest[0]:
                where = (structure, float(table.wavelengths_nm[iw]), int(table.skin_types[isk]), a,
                         float(table.radii_mm[ir]))  # fmt: skip
                largest = (float(slope[iw, isk, ir]), where)
    if largest is None:
        raise InputError("a fat order needs at least two fat entries and lookups inside the depth axis")
    return FatOrder(largest[0], margin, largest[1])


def _at_depth(
    z_mm: np.ndarray, log_f: np.ndarray, rel: np.ndarray, depth_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """The log F interpolated at `depth_mm` (last axis), and the larger relative SE of its two bins."""
    k = min(max(int(np.searchsorted(z_mm, depth_mm)) - 1, 0), z_mm.size - 2)
    w = (depth_mm - z_mm[k]) / (z_mm[k + 1] - z_mm[k])
    value = (1 - w) * log_f[..., k] + w * log_f[..., k + 1]
    return value, np.maximum(rel[..., k], rel[..., k + 1])
