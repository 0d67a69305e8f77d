"""Figures of transport results (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend

from laserdose.transport.result import TransportResult  # noqa: E402


def plot_centre_line_fluence(
    results: Sequence[tuple[str, TransportResult]],
    path: str | Path,
    title: str = "Fluence rate on the beam axis",
) -> None:
    """Write a log plot of phi on the beam axis against depth, one line per (label, result).

    Args:
        results: (label, result) pairs.
        path: PNG file to write.
        title: figure title.
    """
    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    for label, result in results:
        axes.semilogy(result.z_centres_mm, result.centre_line_fluence_rate(), label=label)
    axes.set_xlabel("depth [mm]")
    axes.set_ylabel("fluence rate per incident power [W/mm$^2$ per W]")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(Path(path), dpi=110)
    plt.close(figure)
