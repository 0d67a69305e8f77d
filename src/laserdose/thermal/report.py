"""Plots of a heat run (matplotlib, Agg backend): the temperature field and temperature against time."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from laserdose.thermal.bioheat import StationaryResult  # noqa: E402
from laserdose.thermal.scanned import ScannedResult  # noqa: E402


def plot_run(result: StationaryResult | ScannedResult, path: Path) -> None:
    """Write a two-panel figure: the field (left) and the temperature histories (right)."""
    figure, (field_axes, time_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    if isinstance(result, StationaryResult):
        _stationary(result, field_axes, time_axes)
    else:
        _scanned(result, field_axes, time_axes)
    time_axes.set_xlabel("time [s]")
    time_axes.legend(loc="best")
    time_axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _stationary(result: StationaryResult, field_axes: Axes, time_axes: Axes) -> None:
    final = max(result.fields) if result.fields else None
    rise = result.fields[final] if final is not None else None
    if rise is None:
        field_axes.text(0.5, 0.5, "no field saved (set time.save_times_s)", ha="center")
    else:
        r, z = result.r_edges_mm, result.z_edges_mm
        mirrored = np.concatenate((rise[::-1], rise))
        mesh = field_axes.pcolormesh(np.concatenate((-r[::-1], r[1:])), z, mirrored.T, shading="flat")
        field_axes.invert_yaxis()
        field_axes.set_title(f"temperature rise at t = {final:g} s [K]")
        field_axes.set_xlabel("r [mm]")
        field_axes.set_ylabel("depth [mm]")
        plt.colorbar(mesh, ax=field_axes)
    offset = 0.0 if result.baseline_c is None else result.baseline_surface_c
    unit = "rise [K]" if result.baseline_c is None else "temperature [C]"
    time_axes.plot(result.t_s, offset + result.center_surface_rise_k, label="surface, beam axis")
    time_axes.plot(result.t_s, offset + result.peak_surface_rise_k, "--", label="surface, hottest")
    basal = 0.0 if result.baseline_c is None else result.baseline_basal_c
    time_axes.plot(result.t_s, basal + result.peak_basal_rise_k, ":", label="basal layer (0.1 mm), hottest")
    time_axes.set_ylabel(unit)


def _scanned(result: ScannedResult, field_axes: Axes, time_axes: Axes) -> None:
    shape = (result.x_edges_mm.size - 1, result.y_edges_mm.size - 1)
    peak_map = result.surface_dose.peak_c.reshape(shape)
    mesh = field_axes.pcolormesh(result.x_edges_mm, result.y_edges_mm, peak_map.T, shading="flat")
    field_axes.set_aspect("equal")
    field_axes.set_title("peak skin-surface temperature [C]")
    field_axes.set_xlabel("x [mm]")
    field_axes.set_ylabel("y [mm]")
    plt.colorbar(mesh, ax=field_axes)
    time_axes.plot(result.t_s, result.peak_surface_c, label="surface, hottest")
    time_axes.plot(result.t_s, result.peak_basal_c, ":", label="basal layer (0.1 mm), hottest")
    time_axes.plot(result.t_s, result.center_surface_c, "--", label="surface, area centre")
    time_axes.axhline(43.0, color="grey", lw=0.8)
    time_axes.set_ylabel("temperature [C]")
