"""Graded finite-volume grids and per-cell properties of a layered medium (units: mm, W, J, K)."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from laserdose.errors import InputError
from laserdose.thermal.properties import ThermalTissue

FloatArray = NDArray[np.float64]


def graded_edges(length_mm: float, first_mm: float, max_mm: float, ratio: float = 1.12) -> FloatArray:
    """Cell edges from 0 to `length_mm`: the first cell `first_mm` wide, each next one `ratio` times wider.

    Args:
        length_mm: extent of the grid [mm].
        first_mm: width of the first cell [mm].
        max_mm: largest cell width [mm].
        ratio: growth factor between neighbouring cells [-].
    """
    if not (length_mm > 0 and 0 < first_mm <= max_mm and ratio >= 1.0):
        raise InputError("grid needs length > 0, 0 < first cell <= largest cell and ratio >= 1")
    edges = [0.0]
    width = first_mm
    while edges[-1] + width < length_mm:
        edges.append(edges[-1] + width)
        width = min(width * ratio, max_mm)
    if length_mm - edges[-1] < 0.5 * width and len(edges) > 1:
        edges[-1] = length_mm
    else:
        edges.append(length_mm)
    return np.asarray(edges)


def insert_interfaces(edges: FloatArray, interfaces_mm: Sequence[float]) -> FloatArray:
    """Return `edges` with each interface made a cell edge, dropping edges that would make slivers."""
    result = np.asarray(edges, dtype=float)
    for depth in interfaces_mm:
        if not 0 < depth < result[-1]:
            continue
        index = int(np.searchsorted(result, depth))
        width = result[index] - result[index - 1]
        keep = np.abs(result - depth) > 0.3 * width
        keep[0] = keep[-1] = True
        result = np.sort(np.append(result[keep], depth))
    return result


@dataclass(frozen=True)
class LayeredMedium:
    """A laterally infinite stack of tissues; the last one fills the domain to its depth.

    Attributes:
        thicknesses_mm: thickness of every layer but the last [mm].
        tissues: thermal properties, one per layer (len(thicknesses_mm) + 1).
        names: tissue names, for reports.
    """

    thicknesses_mm: tuple[float, ...]
    tissues: tuple[ThermalTissue, ...]
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.tissues) != len(self.thicknesses_mm) + 1:
            raise InputError("a layered medium needs one tissue more than it has finite thicknesses")
        for thickness in self.thicknesses_mm:
            if not thickness > 0:
                raise InputError(f"layer thickness_mm must be > 0, got {thickness:g}")

    @property
    def interfaces_mm(self) -> FloatArray:
        """Depths of the interfaces between layers [mm]."""
        return np.cumsum(np.asarray(self.thicknesses_mm, dtype=float))

    def layer_index(self, z_mm: FloatArray) -> NDArray[np.int64]:
        """Index of the layer holding each depth [mm]."""
        return np.searchsorted(self.interfaces_mm, z_mm, side="right").astype(np.int64)


@dataclass(frozen=True)
class ColumnProperties:
    """Per-cell properties along depth, in solver units.

    Attributes:
        z_edges_mm: cell edges in depth [mm].
        k_w_per_mm_k: conductivity [W/(mm K)].
        heat_capacity_j_per_mm3_k: rho c [J/(mm^3 K)].
        perfusion_w_per_mm3_k: w rho_b c_b [W/(mm^3 K)].
        metabolic_w_per_mm3: metabolic heat [W/mm^3].
    """

    z_edges_mm: FloatArray
    k_w_per_mm_k: FloatArray
    heat_capacity_j_per_mm3_k: FloatArray
    perfusion_w_per_mm3_k: FloatArray
    metabolic_w_per_mm3: FloatArray

    @property
    def dz_mm(self) -> FloatArray:
        """Cell heights [mm]."""
        return np.diff(self.z_edges_mm)

    @property
    def z_centres_mm(self) -> FloatArray:
        """Cell centres [mm]."""
        return 0.5 * (self.z_edges_mm[1:] + self.z_edges_mm[:-1])


def column_properties(medium: LayeredMedium, z_edges_mm: FloatArray) -> ColumnProperties:
    """Sample the medium's properties at the centres of the cells bounded by `z_edges_mm` [mm]."""
    centres = 0.5 * (z_edges_mm[1:] + z_edges_mm[:-1])
    layers = [medium.tissues[i] for i in medium.layer_index(centres)]
    return ColumnProperties(
        z_edges_mm=np.asarray(z_edges_mm, dtype=float),
        k_w_per_mm_k=np.array([t.k_w_per_mm_k for t in layers]),
        heat_capacity_j_per_mm3_k=np.array([t.heat_capacity_j_per_mm3_k for t in layers]),
        perfusion_w_per_mm3_k=np.array([t.perfusion_w_per_mm3_k for t in layers]),
        metabolic_w_per_mm3=np.array([t.metabolic_w_per_mm3 for t in layers]),
    )
