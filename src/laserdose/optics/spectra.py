"""Absorption spectra of the tissue chromophores, in mm^-1 (natural log), 600-1100 nm.

Sources (data files in optics/data/, provenance in optics/data/PROVENANCE.md):

- Oxy/deoxy whole blood (150 g/L Hb), 600-1000 nm: Prahl's molar extinction (decadic), converted with
  mua = ln(10) eps 150 / 64500 [cm^-1] (Jacques 2013, Phys Med Biol 58:R37).
- Oxy/deoxy whole blood, 1000-1100 nm: Bosschaart et al. 2014 (Lasers Med Sci 29:453), whole blood Hct 45 %,
  natural-log mua in mm^-1 that includes the blood's own water; we subtract that water so that tissue
  water is counted once, through each tissue's water fraction. Not rescaled to meet Prahl at 1000 nm:
  oxy-blood steps up ~11 % and deoxy-blood ~70 % there (see PROVENANCE.md).
- Water: Segelstein 1981 below 667 nm, Kou, Labrie & Chylek 1993 from 667 nm.
- Lipid (pure): van Veen et al. 2004/2005 (pig lard), 600-1098 nm; the 1098 nm value is held to 1100 nm.
- Melanosome interior: 519 (lambda/500)^-3 cm^-1 (Jacques 2013).
- Bloodless skin baseline: 0.244 + 85.3 exp(-(lambda - 154)/66.2) cm^-1 (Jacques 1998, 2013).
"""

import csv
import math
from collections.abc import Callable
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from laserdose.domain.quantities import WAVELENGTH
from laserdose.errors import require_choice

# The spectra cover the domain's wavelength range (domain/quantities.py).
WAVELENGTH_MIN_NM = WAVELENGTH.low
WAVELENGTH_MAX_NM = WAVELENGTH.high

# Whole blood holds 150 g/L haemoglobin of molar mass 64500 g/mol (Jacques 2013, Phys Med Biol 58:R37).
BLOOD_HB_G_PER_L = 150.0
HB_MOLAR_MASS_G_PER_MOL = 64500.0
# Wavelength where Prahl's table ends and Bosschaart 2014 takes over [nm].
PRAHL_END_NM = 1000.0
# Water volume fraction of whole blood at Hct 45 % [U]: plasma ~0.93 x 0.55 + red cells ~0.65 x 0.45;
# used only to remove Bosschaart's water so that it is not counted twice.
BLOOD_WATER_FRACTION = 0.80
# Kou 1993 starts at 667 nm; Segelstein 1981 covers below.
KOU_START_NM = 667.0
# van Veen's lipid table ends at 1098 nm; its last value is held to WAVELENGTH_MAX_NM (2 nm).
VAN_VEEN_END_NM = 1098.0

Spectrum = tuple[NDArray[np.float64], NDArray[np.float64]]


def require_wavelength(wavelength_nm: float) -> float:
    """Return `wavelength_nm` if the spectra cover it, else raise InputError naming the range [nm]."""
    return WAVELENGTH.check(wavelength_nm)


_checked = require_wavelength


def _data_text(name: str, encoding: str = "utf-8") -> str:
    return resources.files("laserdose.optics").joinpath("data", name).read_text(encoding=encoding)


def _numeric_rows(text: str, delimiter: str | None = None) -> list[list[float]]:
    """Rows of a text table that parse as numbers; header and unit lines are skipped."""
    rows = []
    for line in text.splitlines():
        fields = line.split(delimiter)
        try:
            rows.append([float(field.replace(",", "")) for field in fields if field.strip()])
        except ValueError:
            continue
    return [row for row in rows if row]


def _sorted_unique(rows: list[list[float]], column: int) -> Spectrum:
    table = np.array([[row[0], row[column]] for row in rows], dtype=np.float64)
    wavelengths, index = np.unique(table[:, 0], return_index=True)  # sorts; drops Kou's repeated 667 nm
    return wavelengths, table[index, 1]


@cache
def _prahl_blood_per_mm() -> tuple[Spectrum, Spectrum]:
    rows = _numeric_rows(_data_text("prahl_hemoglobin_molar_extinction.csv"))
    to_mm = math.log(10) * BLOOD_HB_G_PER_L / HB_MOLAR_MASS_G_PER_MOL / 10.0  # eps [cm^-1/M] -> mua [mm^-1]
    (nm, oxy), (_, deoxy) = _sorted_unique(rows, 1), _sorted_unique(rows, 2)
    return (nm, oxy * to_mm), (nm, deoxy * to_mm)


@cache
def _bosschaart_blood_per_mm() -> tuple[Spectrum, Spectrum]:
    reader = csv.reader(_data_text("blood_bosschaart2014.csv", encoding="utf-8-sig").splitlines())
    rows = []
    for fields in reader:
        try:
            rows.append([float(field.replace(",", "")) for field in fields])
        except ValueError:
            continue  # the two header lines
    return _sorted_unique(rows, 1), _sorted_unique(rows, 2)


@cache
def _water_per_mm() -> tuple[Spectrum, Spectrum]:
    segelstein = _sorted_unique(_numeric_rows(_data_text("water_segelstein1981.csv")), 1)
    kou = _sorted_unique(_numeric_rows(_data_text("water_kou1993.txt", encoding="latin-1")), 1)
    return (segelstein[0], segelstein[1] / 10.0), (kou[0], kou[1] / 10.0)  # cm^-1 -> mm^-1


@cache
def _lipid_per_mm() -> Spectrum:
    nm, mua_per_m = _sorted_unique(_numeric_rows(_data_text("fat_vanveen2005.txt")), 1)
    return nm, mua_per_m / 1000.0  # m^-1 -> mm^-1


def _interp(spectrum: Spectrum, wavelength_nm: float) -> float:
    return float(np.interp(wavelength_nm, spectrum[0], spectrum[1]))


def mua_water_per_mm(wavelength_nm: float) -> float:
    """Absorption coefficient of pure water [1/mm] (Segelstein 1981 below 667 nm, Kou 1993 above).

    Args:
        wavelength_nm: wavelength [nm], 600-1100.
    """
    segelstein, kou = _water_per_mm()
    return _interp(kou if _checked(wavelength_nm) >= KOU_START_NM else segelstein, wavelength_nm)


def _blood_per_mm(wavelength_nm: float, column: int) -> float:
    if _checked(wavelength_nm) <= PRAHL_END_NM:
        return _interp(_prahl_blood_per_mm()[column], wavelength_nm)
    whole = _interp(_bosschaart_blood_per_mm()[column], wavelength_nm)
    return whole - BLOOD_WATER_FRACTION * mua_water_per_mm(wavelength_nm)


def mua_oxy_blood_per_mm(wavelength_nm: float) -> float:
    """Absorption coefficient of fully oxygenated whole blood, haemoglobin only [1/mm].

    Prahl (Gratzer, Kollias) to 1000 nm; Bosschaart 2014 less the blood's water above.

    Args:
        wavelength_nm: wavelength [nm], 600-1100.
    """
    return _blood_per_mm(wavelength_nm, 0)


def mua_deoxy_blood_per_mm(wavelength_nm: float) -> float:
    """Absorption coefficient of fully deoxygenated whole blood, haemoglobin only [1/mm].

    Prahl (Gratzer, Kollias) to 1000 nm; Bosschaart 2014 less the blood's water above.

    Args:
        wavelength_nm: wavelength [nm], 600-1100.
    """
    return _blood_per_mm(wavelength_nm, 1)


def mua_lipid_per_mm(wavelength_nm: float) -> float:
    """Absorption coefficient of pure lipid [1/mm] (van Veen 2004/2005; held at its 1098 nm value above).

    Args:
        wavelength_nm: wavelength [nm], 600-1100.
    """
    return _interp(_lipid_per_mm(), min(_checked(wavelength_nm), VAN_VEEN_END_NM))


def mua_melanosome_per_mm(wavelength_nm: float) -> float:
    """Absorption coefficient of the melanosome interior [1/mm]: 519 (lambda/500)^-3 cm^-1 (Jacques 2013).

    Args:
        wavelength_nm: wavelength [nm], 600-1100.
    """
    return float(51.9 * (_checked(wavelength_nm) / 500.0) ** -3.0)


def mua_skin_baseline_per_mm(wavelength_nm: float) -> float:
    """Absorption of bloodless skin [1/mm]: 0.244 + 85.3 exp(-(lambda - 154)/66.2) cm^-1 (Jacques 1998, 2013).

    Args:
        wavelength_nm: wavelength [nm], 600-1100.
    """
    return (0.244 + 85.3 * math.exp(-(_checked(wavelength_nm) - 154.0) / 66.2)) / 10.0


CHROMOPHORE_SPECTRA: dict[str, Callable[[float], float]] = {
    "oxy_blood": mua_oxy_blood_per_mm,
    "deoxy_blood": mua_deoxy_blood_per_mm,
    "water": mua_water_per_mm,
    "lipid": mua_lipid_per_mm,
    "melanosome": mua_melanosome_per_mm,
    "skin_baseline": mua_skin_baseline_per_mm,
}
CHROMOPHORES: tuple[str, ...] = tuple(CHROMOPHORE_SPECTRA)


def chromophore_mua_per_mm(chromophore: str, wavelength_nm: float) -> float:
    """Absorption coefficient of one chromophore [1/mm] at a wavelength.

    Args:
        chromophore: one of CHROMOPHORES.
        wavelength_nm: wavelength [nm], 600-1100.
    """
    require_choice("chromophore", chromophore, CHROMOPHORES)
    return CHROMOPHORE_SPECTRA[chromophore](wavelength_nm)
