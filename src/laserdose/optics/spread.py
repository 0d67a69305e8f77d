"""How much each tissue's optical properties vary from one person to the next.

Every tissue has a spread of its absorption (mua) and reduced scattering (mus'): one standard deviation
over people, as a fraction of the mean. The planner carries them to the target
(laserdose.planning.optical_spread). Marks as in docs/references.md: [S] read in the source, [U] not.

**Absorption from its chromophores.** Where a source gives the between-person spread of what absorbs
(blood, water, lipid) rather than of mua itself, the spread of mua follows from the tissue's recipe
(laserdose.optics.tissues): each chromophore i carries the share p_i(lambda) of mua at a wavelength,
and with the chromophores varying independently [U]

    SD(mua) / mua = sqrt(sum_i (p_i(lambda) SD_i)^2),

so the spread changes with the wavelength: at 650-850 nm blood carries most of muscle's absorption and
its spread is the blood's, at 980 nm water carries more and the spread is smaller. Chromophores with
no sourced spread are held fixed [U]: water in dermis and muscle, and the bloodless-skin baseline.

**Sources of the numbers** (no study we could read gives a per-tissue SD of mua or mus' in vivo,
except skin scattering):

- Skin mus': 1.13 +/- 0.27 mm^-1 at 850 nm and 3.16 +/- 0.72 at 475 nm (mean +/- SD), 1734 people in
  vivo [Jonasson2018] [S]: SD/mean 0.239 and 0.228, one fraction for 650-1064 nm [U beyond 850 nm].
- Dermal blood: skin haemoglobin at the abdomen 0.56 +/- 0.12 (arbitrary units, mean +/- SD) in 11
  healthy people, in vivo reflection spectrophotometry [DermalHaemoglobin] [S]; a trunk site like
  the lower back. A ratio of SD to mean needs no calibration of the units, only their proportionality
  to haemoglobin [U].
- Muscle blood: capillaries per mm2 of vastus lateralis 585 +/- 40 (mean +/- SE) in 12 untrained
  young men [MuscleCapillaries] [S]; SD = SE sqrt(12) = 139, 24 % of the mean. Muscle blood, mostly in
  capillaries, is taken to vary like capillary density [U]; myoglobin, which the recipe counts as
  blood, is taken to vary with it [U].
- Fat water and lipid: proton-density fat fraction of gluteal subcutaneous fat 89.7 +/- 2.9 % (mean
  +/- SD) in 61 adults, MRI [Franz2018] [S]; water, the rest of the signal, is then 10.3 +/- 2.9 %, a
  28 % spread, and lipid 3.2 %. Over six male cadavers the adipose lipid fraction ranged 0.54-0.85,
  rising with adiposity [Martin1994] [S]: a wide spread of adipose water is corroborated.
- Fat blood: no source; the larger of the two measured microvascular spreads, muscle's 24 % [U].
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from laserdose.errors import InputError, require_choice
from laserdose.optics.tissues import CHROMOPHORES, TISSUES, absorption_parts_per_mm

# Skin mus' [Jonasson2018] [S].
SKIN_MUSP_SD_FRACTION = 0.27 / 1.13
# Dermal haemoglobin at the abdomen, mean and SD [arbitrary units] [DermalHaemoglobin] [S].
DERMAL_HB_MEAN, DERMAL_HB_SD = 0.56, 0.12
DERMAL_BLOOD_SD_FRACTION = DERMAL_HB_SD / DERMAL_HB_MEAN
# Capillary density of vastus lateralis in untrained men: mean and SE [1/mm2], and the number of men
# [MuscleCapillaries] [S].
MUSCLE_CAPILLARIES_PER_MM2, MUSCLE_CAPILLARIES_SE_PER_MM2, MUSCLE_CAPILLARIES_N = 585.0, 40.0, 12
MUSCLE_BLOOD_SD_FRACTION = (
    MUSCLE_CAPILLARIES_SE_PER_MM2 * math.sqrt(MUSCLE_CAPILLARIES_N) / MUSCLE_CAPILLARIES_PER_MM2
)
# Gluteal adipose proton-density fat fraction, mean and SD [-] [Franz2018] [S].
ADIPOSE_FAT_FRACTION, ADIPOSE_FAT_FRACTION_SD = 0.897, 0.029
ADIPOSE_LIPID_SD_FRACTION = ADIPOSE_FAT_FRACTION_SD / ADIPOSE_FAT_FRACTION
ADIPOSE_WATER_SD_FRACTION = ADIPOSE_FAT_FRACTION_SD / (1.0 - ADIPOSE_FAT_FRACTION)
# No source: the larger measured microvascular spread [U].
ADIPOSE_BLOOD_SD_FRACTION = max(DERMAL_BLOOD_SD_FRACTION, MUSCLE_BLOOD_SD_FRACTION)

# A tissue's mus' spread where no tissue-specific SD was found [U]: skin's, the only measured one.
# Scattering is set by the size and packing of cells and fibres, assumed to vary between people as much
# as in skin.
BORROWED_MUSP_SD_FRACTION = SKIN_MUSP_SD_FRACTION
# Starting value for mua where neither mua's nor its chromophores' spread was found [U] (see OPTICAL_SPREADS).
UNSOURCED_MUA_SD_FRACTION = 0.30
# The wavelengths the plans use lie in this band [nm]; a derived mua spread is reported as its largest here.
SPREAD_BAND_NM = (650.0, 1064.0)


@dataclass(frozen=True)
class OpticalSpread:
    """How much a tissue's optical properties vary from one person to the next.

    Attributes:
        mua_sd_fraction: one standard deviation of mua over people, as a fraction of the mean [-]; where the
            spread follows from the chromophores, its largest value over SPREAD_BAND_NM.
        musp_sd_fraction: one standard deviation of mus' over people, as a fraction of the mean [-].
        source: the reference keys and marks ([S] read in the source, [U] unverified) of the numbers.
        chromophore_sd_fractions: one SD over people of each varying chromophore, as a fraction of its
            mean [-], keyed by laserdose.optics.tissues.CHROMOPHORES; empty where mua's spread is given
            directly.
    """

    mua_sd_fraction: float
    musp_sd_fraction: float
    source: str
    chromophore_sd_fractions: Mapping[str, float] = field(default_factory=dict, hash=False)

    def mua_sd_fraction_at(self, tissue: str, wavelength_nm: float) -> float:
        """One SD of mua over people as a fraction of the mean, at a wavelength [-].

        Args:
            tissue: the tissue this spread belongs to (its recipe weighs the chromophores).
            wavelength_nm: wavelength [nm], 600-1100.
        """
        if not self.chromophore_sd_fractions:
            return self.mua_sd_fraction
        return chromophore_mua_sd_fraction(tissue, wavelength_nm, self.chromophore_sd_fractions)


def chromophore_mua_sd_fraction(
    tissue: str, wavelength_nm: float, sd_fractions: Mapping[str, float]
) -> float:
    """SD(mua)/mua = sqrt(sum_i (p_i SD_i)^2) from each chromophore's share p_i and spread SD_i [-].

    Args:
        tissue: one of laserdose.optics.tissues.TISSUES.
        wavelength_nm: wavelength [nm], 600-1100.
        sd_fractions: one SD over people of each varying chromophore, as a fraction of its mean [-].

    Raises:
        InputError: unknown tissue or chromophore, negative spread, wavelength outside the spectra.
    """
    parts = absorption_parts_per_mm(tissue, wavelength_nm)
    total = sum(parts.values(), 0.0)
    variance = 0.0
    for chromophore, sd in sd_fractions.items():
        require_choice("chromophore", chromophore, CHROMOPHORES)
        if not sd >= 0:
            raise InputError(f"spread of {chromophore} must be >= 0, got {sd}")
        variance += (parts[chromophore] / total * sd) ** 2
    return math.sqrt(variance)


def _derived(tissue: str, sd_fractions: Mapping[str, float], musp_sd: float, source: str) -> OpticalSpread:
    first, last = (int(nm) for nm in SPREAD_BAND_NM)
    band_nm = [*range(first, last, 2), last]  # every 2 nm: the spectra vary more slowly than that
    largest = max(chromophore_mua_sd_fraction(tissue, nm, sd_fractions) for nm in band_nm)
    return OpticalSpread(largest, musp_sd, source, dict(sd_fractions))


_BORROWED_MUSP = "mus' as skin [Jonasson2018], by analogy [U]"
OPTICAL_SPREADS: dict[str, OpticalSpread] = {
    # Epidermis mua is melanin, set by the skin type; within one type, [Jacques2013]'s melanosome ranges per
    # skin group (1.3-6.3, 11-16, 18-43 %) are SDs of 38, 11 and 24 % of their midpoints if uniform [U].
    "epidermis": OpticalSpread(
        UNSOURCED_MUA_SD_FRACTION,
        SKIN_MUSP_SD_FRACTION,
        "mus' [Jonasson2018] [S]; mua [U], melanin within a type",
    ),
    "dermis": _derived(
        "dermis",
        {"blood": DERMAL_BLOOD_SD_FRACTION},
        SKIN_MUSP_SD_FRACTION,
        "mus' [Jonasson2018] [S]; mua from dermal blood [DermalHaemoglobin] [S], water held [U]",
    ),
    "fat": _derived(
        "fat",
        {
            "blood": ADIPOSE_BLOOD_SD_FRACTION,
            "water": ADIPOSE_WATER_SD_FRACTION,
            "lipid": ADIPOSE_LIPID_SD_FRACTION,
        },
        BORROWED_MUSP_SD_FRACTION,
        f"{_BORROWED_MUSP}; mua from water and lipid [Franz2018] [S], blood as muscle's [U]",
    ),
    "muscle": _derived(
        "muscle",
        {"blood": MUSCLE_BLOOD_SD_FRACTION},
        BORROWED_MUSP_SD_FRACTION,
        f"{_BORROWED_MUSP}; mua from blood as capillary density [MuscleCapillaries] [S], water held [U]",
    ),
    # Fascia is not a layer of the back model (optics/back.py): its starting values are kept [U].
    "fascia": OpticalSpread(
        UNSOURCED_MUA_SD_FRACTION, BORROWED_MUSP_SD_FRACTION, f"{_BORROWED_MUSP}; mua [U]"
    ),
    # Bone: its absorption is set mostly by what the model leaves out, the marrow of the posterior elements
    # (optics/back.py), whose red share falls with age [VertebralFattyMarrow] [S]; no between-person SD was
    # found, so the starting value is kept [U].
    "bone": OpticalSpread(
        UNSOURCED_MUA_SD_FRACTION,
        BORROWED_MUSP_SD_FRACTION,
        f"{_BORROWED_MUSP}; mua [U], marrow not modelled",
    ),
}


def optical_spread(tissue: str) -> OpticalSpread:
    """The inter-subject spread of a tissue's mua and mus' (one SD, as fractions of the mean).

    Args:
        tissue: one of laserdose.optics.tissues.TISSUES.

    Raises:
        InputError: unknown tissue.
    """
    return OPTICAL_SPREADS[require_choice("tissue", tissue, TISSUES)]
