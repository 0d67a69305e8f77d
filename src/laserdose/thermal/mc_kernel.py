"""The Monte Carlo kernel of a treatment: one back model gives both the optics and the thermal layers.

[kernel] kind = "monte-carlo" builds the optics back model (skin type, BMI or fat, wavelength), traces
photons through it with the transport engine and hands the absorbed power density to the heat solver; the
thermal layers are the same back model's layers, so the two engines describe one patient.
"""

import math
from dataclasses import dataclass
from typing import Any

from laserdose.errors import InputError
from laserdose.optics.back import BackModel, back_model
from laserdose.thermal.config import Table, optional_number
from laserdose.thermal.grid import LayeredMedium
from laserdose.thermal.properties import tissue
from laserdose.thermal.source import AbsorbedKernel
from laserdose.transport import Grid, Stack, TransportResult, simulate
from laserdose.transport.geometry import Beam, FibreBeam, FlatBeam, GaussianBeam, beam_from_spec

MC_KEYS = ("kind", "skin_type", "bmi", "fat_mm", "beam", "photons", "seed", "threads")
DEFAULT_PHOTONS = 200_000
# Refractive index of air above the skin and n of the deepest layer below (no exit through bone).
N_AIR = 1.0
# Scoring grid: 20 um depth bins (5 in the 0.1 mm epidermis) down to 60 mm; radial bins over the
# beam plus 30 mm of lateral spread. Absorption outside counts only in the transport totals.
DZ_MM = 0.02
DEPTH_MM = 60.0
LATERAL_SPREAD_MM = 30.0
RADIAL_BINS = 300


@dataclass(frozen=True)
class MonteCarloKernel:
    """The kernel, the transport result it came from and the back model both engines share."""

    kernel: AbsorbedKernel
    transport: TransportResult
    back: BackModel
    medium: LayeredMedium


def summary(mc: MonteCarloKernel) -> dict[str, Any]:
    """What the Monte Carlo run found, for the JSON payload: fractions of the incident power [-]."""
    result = mc.transport
    return {
        "skin_type": mc.back.skin_type,
        "fat_mm": mc.back.fat_mm,
        "photons": result.photons,
        "seed": result.seed,
        "specular_reflectance": result.specular_reflectance,
        "diffuse_reflectance": result.diffuse_reflectance,
        "absorbed": result.absorbed,
        "absorbed_se": result.absorbed_se,
        "absorbed_by_layer": {
            layer.name: value for layer, value in zip(mc.back.layers, result.absorbed_by_layer, strict=True)
        },
        "kernel_absorbed": mc.kernel.absorbed_fraction(),
    }


def beam_radius_mm(beam: Beam) -> float:
    """Radius that holds (nearly) all of a beam's power at the surface [mm]."""
    if isinstance(beam, FlatBeam):
        return beam.diameter_mm / 2
    if isinstance(beam, GaussianBeam):
        return beam.diameter_1e2_mm  # twice the 1/e^2 radius: 99.97 % of the power
    if isinstance(beam, FibreBeam):
        spread = beam.standoff_mm * math.tan(math.asin(beam.numerical_aperture))
        return beam.core_diameter_mm / 2 + spread
    return 0.0


def scoring_grid(beam: Beam) -> Grid:
    """A grid fine near the surface and wide enough for the beam and its lateral spread."""
    reach = beam_radius_mm(beam) + LATERAL_SPREAD_MM
    return Grid(dr_mm=reach / RADIAL_BINS, nr=RADIAL_BINS, dz_mm=DZ_MM, nz=round(DEPTH_MM / DZ_MM))


def thermal_medium(back: BackModel) -> LayeredMedium:
    """The thermal layers of a back model (optics names epidermis/dermis/fat/muscle/bone are thermal ones)."""
    thicknesses = tuple(float(layer.thickness_mm) for layer in back.layers if layer.thickness_mm is not None)
    names = tuple(layer.name for layer in back.layers)
    return LayeredMedium(thicknesses, tuple(tissue(name) for name in names), names)


def monte_carlo_kernel(table: Table, wavelength_nm: float | None) -> MonteCarloKernel:
    """Build the back model of [kernel], trace photons through it and return the kernel.

    Args:
        table: the [kernel] section: skin_type, bmi or fat_mm, beam (spec), photons, seed, threads.
        wavelength_nm: [beam] wavelength_nm [nm]; required here.

    Raises:
        InputError: for a missing or bad field, naming it.
    """
    if wavelength_nm is None:
        raise InputError("beam.wavelength_nm is required for kernel.kind 'monte-carlo'")
    if "beam" not in table:
        raise InputError('kernel.beam is required for kind \'monte-carlo\' (e.g. "flat:30" or "gauss:20")')
    back = back_model(
        _whole(table, "skin_type", None),
        wavelength_nm,
        fat_mm=optional_number(table, "kernel", "fat_mm"),
        bmi=optional_number(table, "kernel", "bmi"),
    )
    threads = table.get("threads")
    return trace_kernel(
        back,
        beam_from_spec(str(table["beam"])),
        _whole(table, "photons", DEFAULT_PHOTONS),
        _whole(table, "seed", 0),
        threads=None if threads is None else _whole(table, "threads", 1),
    )


def trace_kernel(
    back: BackModel, beam: Beam, photons: int = DEFAULT_PHOTONS, seed: int = 0, threads: int | None = None
) -> MonteCarloKernel:
    """Trace `beam` through the back model and return the absorbed-power kernel with its thermal layers.

    Args:
        back: the optics back model (its layers are also the thermal layers).
        beam: the beam at the skin.
        photons: photons to trace.
        seed: the run's seed.
        threads: transport threads; None for the engine's default.
    """
    result = simulate(
        Stack.from_layers(back.layers, n_above=N_AIR),
        beam,
        photons,
        seed,
        grid=scoring_grid(beam),
        threads=threads,
    )
    kernel = AbsorbedKernel(result.r_edges_mm, result.z_edges_mm, result.absorbed_density_per_mm3)
    return MonteCarloKernel(kernel, result, back, thermal_medium(back))


def _whole(table: Table, key: str, default: int | None) -> int:
    """kernel.<key> as a whole number >= 0; required when default is None."""
    if key not in table and default is not None:
        return default
    value = table.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"kernel.{key} must be a whole number >= 0, got {value!r}")
    return value
