"""Run a `heat` case and summarise it as its JSON payload (and plots via report.py).

`scanned_peak_rise_k` is the typed entry point for callers that are not a TOML case: the peak skin
rise of a hand-scanned treatment on a patient's back, by the 3-D solver with a Monte Carlo kernel.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.errors import InputError
from laserdose.optics.back import BackModel
from laserdose.thermal.bioheat import StationaryCase, StationaryResult, solve_stationary
from laserdose.thermal.boundary import Boundaries
from laserdose.thermal.config import Table, idealised_case, load_toml
from laserdose.thermal.damage import DoseAccumulator
from laserdose.thermal.grid import FloatArray
from laserdose.thermal.mc_kernel import trace_kernel
from laserdose.thermal.scan import ScanPath
from laserdose.thermal.scanned import ScannedCase, ScannedResult, solve_scanned
from laserdose.thermal.source import Emission
from laserdose.thermal.treatment import is_monte_carlo, treatment_case
from laserdose.transport.geometry import Beam

MAX_SERIES_POINTS = 201
ROOM_AIR = Boundaries()  # skin in room air (convective), the core held at the bottom


@dataclass
class HeatRun:
    """A finished run: its JSON payload and the raw result for plots."""

    payload: dict[str, Any]
    result: StationaryResult | ScannedResult


def run_config_file(path: Path) -> HeatRun:
    """Read a TOML case, run it and summarise it."""
    return run_config(load_toml(path), path.parent)


def run_config(config: Table, base_dir: Path = Path(".")) -> HeatRun:
    """Run an idealised case (a [medium] section) or a treatment (a [[layers]] array)."""
    treatment_given = "layers" in config or is_monte_carlo(config)
    if ("medium" in config) == treatment_given:
        raise InputError(
            "a case needs exactly one of [medium] (idealised) or a treatment"
            " ([[layers]] or a monte-carlo [kernel])"
        )
    if "medium" in config:
        case = idealised_case(config)
        result = solve_stationary(case)
        return HeatRun(_idealised_payload(case, result), result)
    treatment = treatment_case(config, base_dir)
    if isinstance(treatment.case, StationaryCase):
        stationary = solve_stationary(treatment.case)
        payload = _idealised_payload(treatment.case, stationary)
        assert stationary.surface_dose is not None and stationary.basal_dose is not None
        payload |= _dose_payload(
            stationary.surface_dose, stationary.basal_dose, stationary.baseline_surface_c
        )
        payload["model"] = "axisymmetric r-z (stationary beam)"
        payload["fields"] = _rz_fields(stationary, treatment.case.save_times_s)
        payload["wavelength_nm"] = treatment.wavelength_nm
        _add_monte_carlo(payload, treatment.monte_carlo)
        return HeatRun(payload, stationary)
    scanned = solve_scanned(treatment.case)
    payload = _scanned_payload(scanned)
    payload["wavelength_nm"] = treatment.wavelength_nm
    _add_monte_carlo(payload, treatment.monte_carlo)
    payload["fields"] = {
        f"{t:g}": {"surface_temperature_c": np.round(m, 3).tolist()}
        for t, m in scanned.surface_maps_c.items()
    }
    return HeatRun(payload, scanned)


def scanned_peak_rise_k(
    back: BackModel,
    beam: Beam,
    scan: ScanPath,
    emission: Emission,
    duration_s: float,
    *,
    photons: int,
    seed: int,
    boundaries: Boundaries = ROOM_AIR,
    dt_s: float = 0.1,
    dx_mm: float = 2.0,
) -> float:
    """Peak skin surface temperature rise above the resting skin of a scanned treatment [K].

    The beam is traced through the patient's back model by Monte Carlo (its absorbed power is the heat
    source) and the 3-D scanned bioheat solver runs on the same back model's layers, as a `heat` case
    with a monte-carlo kernel and a scan does.

    Args:
        back: the patient's optics back model at the beam's wavelength.
        beam: the beam at the skin.
        scan: the handpiece's path.
        emission: the laser output (power, pulsing).
        duration_s: treatment time [s].
        photons: photons traced for the kernel.
        seed: the transport run's seed.
        boundaries: surface and core boundaries (default: skin in room air, core held).
        dt_s: solver time step [s].
        dx_mm: solver lateral cell size [mm].
    """
    mc = trace_kernel(back, beam, photons, seed)
    case = ScannedCase(mc.medium, mc.kernel, emission, boundaries, scan, duration_s, dt_s=dt_s, dx_mm=dx_mm)
    result = solve_scanned(case)
    return float(np.max(result.peak_surface_c) - result.baseline_surface_c)


def _add_monte_carlo(payload: dict[str, Any], monte_carlo: dict[str, Any] | None) -> None:
    """For a monte-carlo kernel: its transport summary and the absorbed fraction the solver used."""
    if monte_carlo is not None:
        payload["monte_carlo"] = monte_carlo
        payload["absorbed_fraction"] = monte_carlo["kernel_absorbed"]


def _rz_fields(result: StationaryResult, times: tuple[float, ...]) -> dict[str, Any]:
    """Rise fields at the requested times, with the cell edges, rounded to 1 mK."""
    fields: dict[str, Any] = {
        "r_edges_mm": np.round(result.r_edges_mm, 5).tolist(),
        "z_edges_mm": np.round(result.z_edges_mm, 5).tolist(),
    }
    for t in times:
        fields[f"{t:g}"] = {"rise_k": np.round(result.fields[t], 3).tolist()}
    return fields


def _series(t_s: FloatArray, values: FloatArray) -> dict[str, list[float]]:
    stride = max(1, int(np.ceil((t_s.size - 1) / (MAX_SERIES_POINTS - 1))))
    picks = np.unique(np.append(np.arange(0, t_s.size, stride), t_s.size - 1))
    return {
        "t_s": [round(float(t), 6) for t in t_s[picks]],
        "center_surface_rise_k": [round(float(v), 6) for v in values[picks]],
    }


def _idealised_payload(case: StationaryCase, result: StationaryResult) -> dict[str, Any]:
    return {
        "duration_s": case.duration_s,
        "center_surface_rise_k": float(result.center_surface_rise_k[-1]),
        "peak_surface_rise_k": float(np.max(result.peak_surface_rise_k)),
        "series": _series(result.t_s, result.center_surface_rise_k),
        "grid": {
            "nr": case.r_edges_mm.size - 1,
            "nz": case.z_edges_mm.size - 1,
            "dt_s": float(result.t_s[1]),
        },
        "energy_j": vars(result.energy),
    }


def _dose_payload(
    surface: DoseAccumulator, basal: DoseAccumulator, baseline_surface_c: float
) -> dict[str, Any]:
    return {
        "baseline_surface_c": baseline_surface_c,
        "peak_skin_temperature_c": float(np.max(surface.peak_c)),
        "peak_basal_temperature_c": float(np.max(basal.peak_c)),
        "seconds_above_41c": float(max(np.max(surface.seconds_above_41c), np.max(basal.seconds_above_41c))),
        "seconds_above_43c": float(max(np.max(surface.seconds_above_43c), np.max(basal.seconds_above_43c))),
        "cem43_min": float(max(np.max(surface.cem43_min), np.max(basal.cem43_min))),
        "omega_max": float(max(np.max(surface.omega), np.max(basal.omega))),
    }


def _scanned_payload(result: ScannedResult) -> dict[str, Any]:
    rise = result.center_surface_c - result.baseline_surface_c
    payload: dict[str, Any] = {
        "duration_s": float(result.t_s[-1]),
        "center_surface_rise_k": float(rise[-1]),
        "peak_surface_rise_k": float(np.max(result.peak_surface_c) - result.baseline_surface_c),
        "series": _series(result.t_s, rise),
        "model": "3-D scanned beam (Douglas ADI)",
        "grid": {
            "nx": result.x_edges_mm.size - 1,
            "ny": result.y_edges_mm.size - 1,
            "nz": result.z_edges_mm.size - 1,
            "dx_mm": float(result.x_edges_mm[1] - result.x_edges_mm[0]),
            "dt_s": float(result.t_s[1]),
        },
        "wall_s": result.wall_s,
        "energy_j": vars(result.energy),
    }
    payload |= _dose_payload(result.surface_dose, result.basal_dose, result.baseline_surface_c)
    return payload
