"""Figures of optical spectra (matplotlib, Agg backend: works without a display)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

from laserdose.optics.tissues import OpticalProperties  # noqa: E402


def save_spectrum_plot(tissue: str, points: list[tuple[float, OpticalProperties]], path: Path) -> None:
    """Draw mua and mus' of a tissue against wavelength into an image file (format from the suffix).

    Args:
        tissue: tissue name, for the title.
        points: (wavelength [nm], properties) pairs, as from `tissue_spectrum`.
        path: output file, e.g. fat.png.
    """
    wavelengths = [nm for nm, _ in points]
    fig, (ax_mua, ax_musp) = plt.subplots(2, 1, sharex=True, figsize=(6.0, 6.0))
    ax_mua.semilogy(wavelengths, [p.mua_per_mm for _, p in points], color="tab:red")
    ax_mua.set_ylabel("mua [1/mm]")
    ax_mua.set_title(f"{tissue}: absorption and reduced scattering")
    ax_musp.plot(wavelengths, [p.musp_per_mm for _, p in points], color="tab:blue")
    ax_musp.set_ylabel("mus' [1/mm]")
    ax_musp.set_xlabel("wavelength [nm]")
    for axis in (ax_mua, ax_musp):
        axis.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
