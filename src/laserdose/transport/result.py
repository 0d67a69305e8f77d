"""What a transport run returns, normalised to the incident power.

Normalisation (as MCML, Wang et al. 1995): every quantity is a fraction of the power that reaches the
surface, so Rsp + Rd + A + T = 1 (up to the zero-mean Russian-roulette balance, reported separately).
Spatial quantities are densities of that fraction: A(r, z) [1/mm^3] is W/mm^3 absorbed per W incident,
phi(r, z) [1/mm^2] is the fluence rate in W/mm^2 per W, and Rd(r), T(r) [1/mm^2] are W/mm^2 per W leaving
the surface. Multiply by power [W] and time [s] for J/mm^2 (x 100 for J/cm^2).

Peers differ: MCX launches unit weight after the specular reflection, so its Rd is ours / (1 - Rsp);
iadpython's UR1 includes the specular reflection (and unscattered light reflected back out), and its UT1
includes unscattered transmission, which our Rd and T count as MCML does (all light leaving the top after
entering is Rd).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from laserdose.errors import InputError
from laserdose.transport.batch_stats import MIN_BATCHES_PER_CONTROL, batch_mean_se, controlled_mean_se

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TransportResult:
    """Outcome of `simulate`: fractions of the incident power, each with its standard error over batches.

    Attributes:
        photons: packets traced.
        specular_reflectance: Rsp, reflected at the surface before entering [-].
        diffuse_reflectance: Rd, leaving through the surface after entering [-].
        diffuse_reflectance_se: standard error of Rd over independent batches [-].
        absorbed: A, absorbed in the stack [-].
        absorbed_se: standard error of A [-].
        absorbed_by_layer: A of each layer, top first [-].
        absorbed_by_layer_se: standard error of each [-].
        transmittance: T, leaving through the bottom of the stack [-].
        transmittance_se: standard error of T [-].
        roulette_balance: net weight created by Russian roulette per photon (expected 0) [-].
        roulette_balance_se: its standard error [-].
        photons_per_second: tracing speed, compilation excluded [1/s].
        r_edges_mm: radial bin edges [mm].
        z_edges_mm: depth bin edges [mm].
        reflectance_by_radius: Rd(r) per unit area of each annulus [1/mm^2].
        transmittance_by_radius: T(r) per unit area of each annulus [1/mm^2].
        absorbed_density_per_mm3: A(r, z), absorbed power density per incident power [1/mm^3].
        fluence_rate_per_mm2: phi(r, z), fluence rate per incident power [1/mm^2]; A = mua phi in each bin.
        broad_beam_fluence_by_batch: each batch's phi(z) integrated over the whole plane (all radii, the
            grid's and beyond), per incident power, by depth bin, shape (batches, nz) [-]; see
            `broad_beam_fluence`.
        fluence_rate_sets_per_mm2: phi(r, z) of each absorption set scored in the same pass
            (engine.simulate's `absorption_sets`), shape (sets, nr, nz) [1/mm^2].
        controls_by_batch: with variance reduction, each batch's zero-mean control variates per photon
            (kernel_cpu.CONTROL_*, by kind and importance region), shape (batches, controls) [-];
            (batches, 0) without. `broad_beam_fluence` corrects its batch means with them.
        seed: the seed of the run.
        batches: independent batches used for the standard errors.
        backend: where the photons were traced.
    """

    photons: int
    specular_reflectance: float
    diffuse_reflectance: float
    diffuse_reflectance_se: float
    absorbed: float
    absorbed_se: float
    absorbed_by_layer: tuple[float, ...]
    absorbed_by_layer_se: tuple[float, ...]
    transmittance: float
    transmittance_se: float
    roulette_balance: float
    roulette_balance_se: float
    photons_per_second: float
    r_edges_mm: FloatArray = field(repr=False)
    z_edges_mm: FloatArray = field(repr=False)
    reflectance_by_radius: FloatArray = field(repr=False)
    transmittance_by_radius: FloatArray = field(repr=False)
    absorbed_density_per_mm3: FloatArray = field(repr=False)
    fluence_rate_per_mm2: FloatArray = field(repr=False)
    broad_beam_fluence_by_batch: FloatArray = field(repr=False)
    seed: int = 0
    batches: int = 0
    backend: str = "cpu"
    fluence_rate_sets_per_mm2: FloatArray = field(repr=False, default_factory=lambda: np.zeros((0, 0, 0)))
    controls_by_batch: FloatArray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))

    @property
    def z_centres_mm(self) -> FloatArray:
        """Depth of each bin centre [mm]."""
        return 0.5 * (self.z_edges_mm[1:] + self.z_edges_mm[:-1])

    @property
    def r_centres_mm(self) -> FloatArray:
        """Radius of each bin centre [mm]."""
        return 0.5 * (self.r_edges_mm[1:] + self.r_edges_mm[:-1])

    def centre_line_fluence_rate(self) -> FloatArray:
        """Phi on the beam axis (innermost radial bin) at each depth bin [W/mm^2 per W]."""
        axis: FloatArray = self.fluence_rate_per_mm2[0].copy()
        return axis

    def fluence_rate_at(self, depth_mm: float, radius_mm: float = 0.0) -> float:
        """Phi in the bin holding (radius, depth) [W/mm^2 per W].

        Args:
            depth_mm: depth below the surface [mm], inside the grid.
            radius_mm: distance from the beam axis [mm], inside the grid.
        """
        iz = _bin("depth_mm", depth_mm, self.z_edges_mm)
        ir = _bin("radius_mm", radius_mm, self.r_edges_mm)
        return float(self.fluence_rate_per_mm2[ir, iz])

    def fluence_at_depth(
        self, depth_mm: float, power_w: float, time_s: float, radius_mm: float = 0.0
    ) -> float:
        """Fluence delivered at a point for a given power and time [J/cm^2].

        Args:
            depth_mm: depth below the surface [mm].
            power_w: incident power [W].
            time_s: exposure time [s].
            radius_mm: distance from the beam axis [mm].
        """
        if power_w < 0 or time_s < 0:
            raise InputError(f"power_w and time_s must be >= 0, got {power_w:g} W, {time_s:g} s")
        return self.fluence_rate_at(depth_mm, radius_mm) * power_w * time_s * 100.0  # 1 J/mm^2 = 100 J/cm^2

    def broad_beam_fluence(self, depths_mm: list[float] | tuple[float, ...]) -> list[DepthFluence]:
        """Fluence rate under a wide uniform beam per unit incident irradiance at each depth [-].

        By translation invariance, the fluence rate at depth z under a laterally infinite beam of unit
        irradiance equals the whole plane's integral of the response to unit power in this run's beam:
        phi_broad(z) = integral of 2 pi r phi_pencil(r, z) dr for a pencil beam
        [FarrellPattersonWilson1992]. It is the figure penetration studies report. Each batch's depth
        profile is interpolated linearly between depth-bin centres, so the standard error is over
        independent batches. A variance-reduced run with at least MIN_BATCHES_PER_CONTROL batches per
        control corrects the batch values with its control variates (batch_stats.controlled_mean_se:
        unbiased, and at 30 mm in the back model about half the variance); other runs take their
        plain mean.

        Args:
            depths_mm: depths [mm], each between the first and the last depth-bin centre.

        Raises:
            InputError: for a depth outside that range.
        """
        centres = self.z_centres_mm
        entries = []
        for depth_mm in depths_mm:
            if not centres[0] <= depth_mm <= centres[-1]:
                raise InputError(
                    f"depth must be between {centres[0]:g} and {centres[-1]:g} mm (the depth-bin centres "
                    f"of the grid), got {depth_mm:g}"
                )
            per_batch = np.array(
                [np.interp(depth_mm, centres, row) for row in self.broad_beam_fluence_by_batch]
            )
            if self.controlled:
                mean, se = controlled_mean_se(per_batch, self.controls_by_batch)
            else:
                mean, se = (float(value) for value in batch_mean_se(per_batch))
            entries.append(DepthFluence(float(depth_mm), mean, se))
        return entries

    @property
    def controlled(self) -> bool:
        """Whether `broad_beam_fluence` corrects its batch means with control variates."""
        controls = int(self.controls_by_batch.shape[1])
        return 0 < controls and MIN_BATCHES_PER_CONTROL * controls <= self.controls_by_batch.shape[0]

    def to_json_dict(self) -> dict[str, Any]:
        """The summary as `laserdose simulate --json` prints it (fractions of incident power)."""
        return {
            "photons": self.photons,
            "specular_reflectance": self.specular_reflectance,
            "diffuse_reflectance": self.diffuse_reflectance,
            "diffuse_reflectance_se": self.diffuse_reflectance_se,
            "absorbed": self.absorbed,
            "absorbed_se": self.absorbed_se,
            "absorbed_by_layer": list(self.absorbed_by_layer),
            "transmittance": self.transmittance,
            "transmittance_se": self.transmittance_se,
            "photons_per_second": self.photons_per_second,
        }

    def save_npz(self, path: str | Path) -> None:
        """Write every array and the summary (as JSON text under "summary") to a compressed .npz file."""
        np.savez_compressed(
            Path(path),
            summary=np.array(json.dumps(self.to_json_dict())),
            r_edges_mm=self.r_edges_mm,
            z_edges_mm=self.z_edges_mm,
            reflectance_by_radius=self.reflectance_by_radius,
            transmittance_by_radius=self.transmittance_by_radius,
            absorbed_density_per_mm3=self.absorbed_density_per_mm3,
            fluence_rate_per_mm2=self.fluence_rate_per_mm2,
        )


@dataclass(frozen=True)
class DepthFluence:
    """Broad-beam fluence rate at one depth per unit incident irradiance.

    Attributes:
        depth_mm: depth below the surface [mm].
        ratio: fluence rate / incident irradiance [-].
        ratio_se: its standard error over independent batches [-].
    """

    depth_mm: float
    ratio: float
    ratio_se: float

    def to_json_dict(self) -> dict[str, float]:
        """{"depth_mm", "ratio", "ratio_se"} as `laserdose simulate --depths --json` prints it."""
        return {"depth_mm": self.depth_mm, "ratio": self.ratio, "ratio_se": self.ratio_se}


def _bin(name: str, value: float, edges: FloatArray) -> int:
    if not edges[0] <= value < edges[-1]:
        raise InputError(
            f"{name} must be between {edges[0]:g} and {edges[-1]:g} mm (the grid), got {value:g}"
        )
    return int(np.searchsorted(edges, value, side="right") - 1)
