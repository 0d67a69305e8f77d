"""Broad-beam absorbed-power depth profiles for the skin heating model, precomputed by Monte Carlo.

Under a beam much wider than the light's lateral spread (a few mm in the dermis) the absorbed power
density at depth z is the irradiance times a(z), the pencil-beam absorption A(r, z) integrated over the
whole plane (MCML convolution, Wang, Jacques & Zheng 1995, section 6). One run per wavelength and skin
type on the optics back model gives a(z); the file keeps its cumulative, the absorbed fraction above
each depth, so any column of cells can take its share exactly.

The top millimetres barely depend on the fat thickness (measured with this engine, 810 nm, skin type 2,
50 000 photons: absorbed above 2.1 mm 0.380 with 3 mm of fat, 0.395 with 10 mm, 0.396 with 30 mm), so
the profiles are computed at one reference fat thickness; the thermal column uses the patient's own.

Rebuild (seeded, about 3 min on one core): `python -m laserdose.thermal.surrogate.profiles`.
"""

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from laserdose.errors import InputError
from laserdose.optics.back import back_model
from laserdose.transport.engine import simulate
from laserdose.transport.geometry import Grid, PencilBeam, Stack

FloatArray = NDArray[np.float64]

WAVELENGTHS_NM = (650.0, 810.0, 915.0, 980.0, 1064.0)
SKIN_TYPES = (1, 2, 3, 4, 5, 6)
REFERENCE_FAT_MM = 10.0
PHOTONS = 40_000
SEED = 20261123
# One radial bin 300 mm wide holds the whole plane; 20 um depth bins (5 in the 0.1 mm epidermis) to 30 mm,
# the depth of the thermal column.
PROFILE_GRID = Grid(dr_mm=300.0, nr=1, dz_mm=0.02, nz=1500)
# Kept edges: every 20 um bin to 3 mm (epidermis, dermis), then every 0.1 mm.
FINE_TO_MM, COARSE_DZ_MM = 3.0, 0.1
DATA_FILE = "skin_profiles.npz"


@dataclass(frozen=True)
class DepthProfiles:
    """Cumulative broad-beam absorbed fraction over wavelength, skin type and depth.

    Attributes:
        wavelengths_nm: wavelength axis [nm].
        skin_types: Fitzpatrick skin types 1-6.
        z_edges_mm: depths at which the cumulative is kept [mm], from 0.
        cumulative: absorbed fraction of the incident power above each depth, shape
            (wavelengths, skin types, depths) [-].
        specular_reflectance: Fresnel reflection at the air-skin surface [-].
        fat_mm: fat thickness of the back model the profiles were traced in [mm].
        photons: photons per profile.
        seed: base seed; profile k used seed + k.
    """

    wavelengths_nm: FloatArray
    skin_types: NDArray[np.int64]
    z_edges_mm: FloatArray
    cumulative: FloatArray
    specular_reflectance: float
    fat_mm: float
    photons: int
    seed: int

    def absorbed_per_cell(self, wavelength_nm: float, skin_type: int, edges_mm: FloatArray) -> FloatArray:
        """Absorbed fraction of the incident power in each cell between `edges_mm` [-].

        Linear between the tabulated wavelengths; depths below the table absorb nothing.
        """
        low, high = self.wavelengths_nm[0], self.wavelengths_nm[-1]
        if not low <= wavelength_nm <= high:
            raise InputError(f"wavelength_nm must be between {low:g} and {high:g}, got {wavelength_nm:g}")
        if skin_type not in self.skin_types:
            raise InputError(f"skin_type must be one of 1-6, got {skin_type!r}")
        row = self.cumulative[:, int(np.searchsorted(self.skin_types, skin_type))]
        upper = min(int(np.searchsorted(self.wavelengths_nm, wavelength_nm, side="right")), row.shape[0] - 1)
        lower = upper - 1
        share = (wavelength_nm - self.wavelengths_nm[lower]) / (
            self.wavelengths_nm[upper] - self.wavelengths_nm[lower]
        )
        by_depth = (1 - share) * row[lower] + share * row[upper]
        return np.diff(np.interp(edges_mm, self.z_edges_mm, by_depth))

    def save(self, path: Path) -> None:
        """Write the profiles as a compressed .npz file."""
        np.savez_compressed(
            path,
            wavelengths_nm=self.wavelengths_nm,
            skin_types=self.skin_types,
            z_edges_mm=self.z_edges_mm,
            cumulative=self.cumulative,
            specular_reflectance=np.array(self.specular_reflectance),
            fat_mm=np.array(self.fat_mm),
            photons=np.array(self.photons),
            seed=np.array(self.seed),
        )


def load_profiles(path: Path | None = None) -> DepthProfiles:
    """Read the shipped profiles (or those at `path`)."""
    source = path or Path(str(resources.files("laserdose.thermal.surrogate") / "data" / DATA_FILE))
    try:
        with np.load(source) as data:
            return DepthProfiles(
                wavelengths_nm=data["wavelengths_nm"],
                skin_types=data["skin_types"],
                z_edges_mm=data["z_edges_mm"],
                cumulative=data["cumulative"],
                specular_reflectance=float(data["specular_reflectance"]),
                fat_mm=float(data["fat_mm"]),
                photons=int(data["photons"]),
                seed=int(data["seed"]),
            )
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"cannot read skin depth profiles {source}: {exc}") from None


def kept_edges_mm() -> FloatArray:
    """The depths the file keeps [mm]: 20 um steps to 3 mm, then 0.1 mm steps to the grid's depth."""
    dz, depth = PROFILE_GRID.dz_mm, PROFILE_GRID.dz_mm * PROFILE_GRID.nz
    fine = np.arange(0.0, FINE_TO_MM + dz / 2, dz)
    coarse = np.arange(FINE_TO_MM + COARSE_DZ_MM, depth + COARSE_DZ_MM / 2, COARSE_DZ_MM)
    return np.asarray(np.round(np.concatenate((fine, coarse)), 6), dtype=np.float64)


def build_profiles(photons: int = PHOTONS, seed: int = SEED, threads: int | None = 1) -> DepthProfiles:
    """Trace a pencil beam on the back model for every wavelength and skin type (seed + k for entry k)."""
    edges = kept_edges_mm()
    cumulative = np.empty((len(WAVELENGTHS_NM), len(SKIN_TYPES), edges.size))
    specular = 0.0
    index = 0
    for i, wavelength in enumerate(WAVELENGTHS_NM):
        for j, skin_type in enumerate(SKIN_TYPES):
            stack = Stack.from_layers(back_model(skin_type, wavelength, fat_mm=REFERENCE_FAT_MM).layers)
            result = simulate(stack, PencilBeam(), photons, seed + index, PROFILE_GRID, threads=threads)
            per_mm = result.absorbed_density_per_mm3[0] * np.pi * PROFILE_GRID.dr_mm**2
            running = np.concatenate(([0.0], np.cumsum(per_mm * PROFILE_GRID.dz_mm)))
            cumulative[i, j] = np.interp(edges, result.z_edges_mm, running)
            specular = result.specular_reflectance
            index += 1
    return DepthProfiles(
        wavelengths_nm=np.asarray(WAVELENGTHS_NM),
        skin_types=np.asarray(SKIN_TYPES, dtype=np.int64),
        z_edges_mm=edges,
        cumulative=cumulative,
        specular_reflectance=specular,
        fat_mm=REFERENCE_FAT_MM,
        photons=photons,
        seed=seed,
    )


if __name__ == "__main__":  # pragma: no cover - the build command
    target = Path(__file__).parent / "data" / DATA_FILE
    target.parent.mkdir(exist_ok=True)
    build_profiles().save(target)
    print(f"wrote {target}")
