"""Optical properties (mua, mus, g, n) of the tissues of the lower back at a wavelength.

Absorption is a sum over chromophores (Jacques 2013, Phys Med Biol 58:R37, eq. for mua):
mua = B S mua_oxy + B (1 - S) mua_deoxy + W mua_water + F mua_lipid + M mua_mel + X mua_baseline,
with the spectra of laserdose.optics.spectra. Reduced scattering is a power law
mus' = a (lambda / lambda_ref)^-b, and mus = mus' / (1 - g).

Marks as in docs/references.md: [S] read in the source, [C] from code implementing the source, [U] unverified
starting value. Most chromophore fractions of fat, muscle, fascia and bone are [U]: no sourced values were
found, so they are the midpoints of the ranges in [Jacques2013] or, where even those are missing,
our own estimates (said so below).
"""

import math
from dataclasses import dataclass

from laserdose.domain.quantities import SKIN_TYPE
from laserdose.errors import InputError, require_choice, require_range
from laserdose.optics import spectra


@dataclass(frozen=True)
class OpticalProperties:
    """Optical properties of a homogeneous tissue at one wavelength.

    Attributes:
        mua_per_mm: absorption coefficient [1/mm].
        mus_per_mm: scattering coefficient [1/mm].
        g: scattering anisotropy, mean cosine of the scattering angle [-].
        n: refractive index [-].
    """

    mua_per_mm: float
    mus_per_mm: float
    g: float
    n: float

    @property
    def musp_per_mm(self) -> float:
        """Reduced scattering coefficient mus (1 - g) [1/mm]."""
        return self.mus_per_mm * (1.0 - self.g)


@dataclass(frozen=True)
class TissueRecipe:
    """Composition and scattering of one tissue (see the module docstring for the formulas).

    Attributes:
        blood: blood volume fraction B [-].
        saturation: haemoglobin oxygen saturation S [-].
        water: water volume fraction W [-].
        lipid: lipid volume fraction F [-].
        baseline: fraction X absorbing like bloodless skin [-].
        musp_ref_per_mm: reduced scattering a at the reference wavelength [1/mm].
        musp_ref_nm: reference wavelength of a [nm].
        scatter_power: scattering power b [-].
        g: anisotropy [-].
        n: refractive index [-]; None for the skin dispersion of Ding 2006.
    """

    blood: float
    saturation: float
    water: float
    lipid: float
    baseline: float
    musp_ref_per_mm: float
    scatter_power: float
    g: float
    n: float | None
    musp_ref_nm: float = 500.0


# g ~ 0.9 for soft tissues (Jacques 2013); used for all tissues [U for fat, fascia, bone].
G_TISSUE = 0.9
# Jacques 2013 Table 2, skin: a = 46.0 cm^-1, b = 1.421 [S]; used for epidermis and dermis.
SKIN_A_PER_MM, SKIN_B = 4.60, 1.421
# Muscle reduced scattering [1/mm] at 810 and 980 nm, [Cassano2019] Table 1 [S], and the power law through
# them: b = ln(0.704 / 0.58) / ln(980 / 810) = 1.017.
MUSCLE_MUSP_810_PER_MM, MUSCLE_MUSP_980_PER_MM = 0.704, 0.58
MUSCLE_B = math.log(MUSCLE_MUSP_810_PER_MM / MUSCLE_MUSP_980_PER_MM) / math.log(980.0 / 810.0)

RECIPES: dict[str, TissueRecipe] = {
    # Epidermis: mua = M mua_mel + (1 - M) mua_baseline (Jacques 2013); M is set by skin type (below).
    "epidermis": TissueRecipe(0.0, 0.0, 0.0, 0.0, 1.0, SKIN_A_PER_MM, SKIN_B, G_TISSUE, None),
    # Dermis: S 0.67, W 0.65 from Jacques' mcxyz tissue list [C]. B = 0.02 [U]: inside the 0.2-7 % we
    # recall (not re-read) from Jacques 1998 ("Skin optics", OMLC); mcxyz's B = 0.002 [C] would give mua
    # 2.5-5x below Cassano 2019's and Simpson 1998's ex vivo skin at 633-810 nm. The rest of the
    # tissue, 1 - B - W, absorbs like bloodless skin (our choice [U], so that the 970 nm water band shows).
    "dermis": TissueRecipe(0.02, 0.67, 0.65, 0.0, 0.33, SKIN_A_PER_MM, SKIN_B, G_TISSUE, None),
    # Fat: W 0.15, F 0.8, B 0.0075 (within the [U] ranges W 0.1-0.3, F 0.7-0.9, B 0.5-1 %); S 0.7 [U].
    # Scattering: mus' = 1.26 mm^-1 at 633 nm (Simpson 1998, PMB 43:2465, subdermal fat [S]) with power
    # b = 0.68 recalled from Bashkatov 2005 (J Phys D 38:2543, subcutaneous fat) but not re-read [U].
    # n = 1.45 (1.44-1.46 [U]).
    "fat": TissueRecipe(0.0075, 0.7, 0.15, 0.8, 0.0, 1.26, 0.68, G_TISSUE, 1.45, musp_ref_nm=633.0),
    # Muscle: W 0.75, S 0.7 [U]. B 0.05, the top of the [U] 2-5 % range, because myoglobin (absorbing
    # much like haemoglobin in the NIR) is not modelled separately. n = 1.385 (1.37-1.40 [U]).
    # Scattering: muscle's own mus' as compiled in [Cassano2019] Table 1 [S], mus' = 0.704 mm^-1 at
    # 810 nm with the power b of their 810 -> 980 nm pair (see MUSCLE_MUSP_*); their 850 nm value (0.667)
    # is not used and is met within 1 %; outside 810-980 nm the power law is extrapolated [U]. It replaces
    # [Jacques2013]'s "other soft tissue" average (a = 18.9 cm^-1, b = 1.286 [S]), an average over several
    # soft tissues rather than a muscle measurement, which lies 37-45 % above Cassano's muscle at 810-980 nm.
    "muscle": TissueRecipe(
        0.05, 0.7, 0.75, 0.0, 0.0, MUSCLE_MUSP_810_PER_MM, MUSCLE_B, G_TISSUE, 1.385, musp_ref_nm=810.0
    ),
    # Fascia (dense collagen, like dermis): W 0.65, B 0.005, S 0.7, rest as bloodless skin: our estimates [U].
    # Scattering: Jacques 2013 Table 2 "fibrous" a = 27.1 cm^-1, b = 1.627 [U]. n: skin dispersion [U].
    "fascia": TissueRecipe(0.005, 0.7, 0.65, 0.0, 0.345, 2.71, 1.627, G_TISSUE, None),
    # Cortical bone: W 0.15, B 0.005, S 0.7, rest as bloodless skin: our estimates [U]. Scattering:
    # Jacques 2013 Table 2 bone a = 22.9 cm^-1, b = 0.716 [U]. n = 1.55: our estimate [U].
    "bone": TissueRecipe(0.005, 0.7, 0.15, 0.0, 0.845, 2.29, 0.716, G_TISSUE, 1.55),
}
TISSUES: tuple[str, ...] = tuple(RECIPES)


# Melanosome volume fraction M of a 60 um epidermis per Fitzpatrick skin type I-VI [U]: points inside the
# ranges light 1.3-6.3 % (I, II), moderate 11-16 % (III, IV), dark 18-43 % (V, VI) [Jacques2013].
MELANIN_FRACTION_BY_SKIN_TYPE = {1: 0.02, 2: 0.05, 3: 0.11, 4: 0.16, 5: 0.25, 6: 0.40}
# Jacques' fractions M are defined for an epidermis 60 um thick: the data page of [Jacques2013] lists its
# in vivo M as "melanosome volume fraction in 60um epidermis" [S]. What light meets is the melanin optical
# depth M mua_mel t, so an epidermis of another thickness t carries M x 0.060 mm / t.
MELANIN_REFERENCE_EPIDERMIS_MM = 0.060
# The epidermis layer of the back model [mm]: our estimate for lumbar skin [U]. We keep this layer and
# scale M, rather than thin the layer to 60 um: the melanin optical depth is then the source's, while the
# target depths and the heat model's epidermis (20 um bins, basal layer at 0.1 mm) stay as they were.
# We take lumbar epidermis to be thicker than Jacques' 60 um [U], so a thinner layer would misplace it.
EPIDERMIS_MM = 0.1


def melanin_fraction(skin_type: int) -> float:
    """Melanosome volume fraction of our EPIDERMIS_MM-thick epidermis [-] for a skin type (1-6) [U].

    Jacques' fraction for a 60 um epidermis scaled by 0.060 mm / EPIDERMIS_MM, so that the melanin
    optical depth M mua_mel thickness equals the source's [Jacques2013].
    """
    source = MELANIN_FRACTION_BY_SKIN_TYPE[SKIN_TYPE.check_whole(skin_type)]
    return source * MELANIN_REFERENCE_EPIDERMIS_MM / EPIDERMIS_MM


def skin_refractive_index(wavelength_nm: float) -> float:
    """Refractive index of skin [-]: 1.3549 + 17.899/l - 3.5938e6/l^3.5, l in nm (Ding 2006).

    Args:
        wavelength_nm: wavelength [nm].
    """
    return float(1.3549 + 17.899 / wavelength_nm - 3.5938e6 / wavelength_nm**3.5)


# The absorbers whose sum is a tissue's mua (module docstring), in the order they are added.
CHROMOPHORES: tuple[str, ...] = ("blood", "water", "lipid", "melanin", "baseline")


def _mua_parts_per_mm(recipe: TissueRecipe, wavelength_nm: float, melanin: float) -> dict[str, float]:
    s = spectra
    blood = recipe.saturation * s.mua_oxy_blood_per_mm(wavelength_nm)
    blood += (1.0 - recipe.saturation) * s.mua_deoxy_blood_per_mm(wavelength_nm)
    return {
        "blood": recipe.blood * blood,
        "water": recipe.water * s.mua_water_per_mm(wavelength_nm),
        "lipid": recipe.lipid * s.mua_lipid_per_mm(wavelength_nm),
        "melanin": melanin * s.mua_melanosome_per_mm(wavelength_nm),
        "baseline": (recipe.baseline - melanin) * s.mua_skin_baseline_per_mm(wavelength_nm),
    }


def _mua_per_mm(recipe: TissueRecipe, wavelength_nm: float, melanin: float) -> float:
    return sum(_mua_parts_per_mm(recipe, wavelength_nm, melanin).values(), 0.0)


def absorption_parts_per_mm(tissue: str, wavelength_nm: float, skin_type: int = 2) -> dict[str, float]:
    """Each chromophore's part of a tissue's absorption coefficient [1/mm]; the parts add up to its mua.

    Args:
        tissue: one of TISSUES.
        wavelength_nm: wavelength [nm], 600-1100.
        skin_type: Fitzpatrick skin type 1-6 (sets the epidermal melanin).

    Returns:
        mua of blood, water, lipid, melanin and the bloodless-skin baseline, keyed by CHROMOPHORES.

    Raises:
        InputError: unknown tissue, wavelength outside the spectra, skin type outside 1-6.
    """
    recipe = RECIPES[require_choice("tissue", tissue, TISSUES)]
    spectra.require_wavelength(wavelength_nm)
    melanin = melanin_fraction(skin_type)  # validates the skin type for every tissue
    return _mua_parts_per_mm(recipe, wavelength_nm, melanin if tissue == "epidermis" else 0.0)


def reduced_scattering_per_mm(tissue: str, wavelength_nm: float) -> float:
    """Reduced scattering coefficient mus' of a tissue [1/mm].

    Args:
        tissue: one of TISSUES.
        wavelength_nm: wavelength [nm], 600-1100.
    """
    recipe = RECIPES[require_choice("tissue", tissue, TISSUES)]
    spectra.require_wavelength(wavelength_nm)
    return float(recipe.musp_ref_per_mm * (wavelength_nm / recipe.musp_ref_nm) ** -recipe.scatter_power)


def optical_properties(tissue: str, wavelength_nm: float, skin_type: int = 2) -> OpticalProperties:
    """Optical properties of a tissue at a wavelength.

    Args:
        tissue: one of TISSUES (epidermis, dermis, fat, muscle, fascia, bone).
        wavelength_nm: wavelength [nm], 600-1100.
        skin_type: Fitzpatrick skin type 1-6; sets the epidermal melanin (ignored by other tissues
            but still validated).

    Returns:
        mua [1/mm], mus [1/mm], g [-], n [-].

    Raises:
        InputError: unknown tissue, wavelength outside the spectra, skin type outside 1-6.
    """
    recipe = RECIPES[require_choice("tissue", tissue, TISSUES)]
    spectra.require_wavelength(wavelength_nm)
    melanin = melanin_fraction(skin_type)
    if tissue != "epidermis":
        melanin = 0.0
    musp = reduced_scattering_per_mm(tissue, wavelength_nm)
    n = recipe.n if recipe.n is not None else skin_refractive_index(wavelength_nm)
    return OpticalProperties(
        mua_per_mm=_mua_per_mm(recipe, wavelength_nm, melanin),
        mus_per_mm=musp / (1.0 - recipe.g),
        g=recipe.g,
        n=n,
    )


# At most this many wavelengths in one spectrum (keeps a typo like --step 0.0001 from hanging the CLI).
SPECTRUM_MAX_POINTS = 5001


def tissue_spectrum(
    tissue: str, start_nm: float, stop_nm: float, step_nm: float = 10.0, skin_type: int = 2
) -> list[tuple[float, OpticalProperties]]:
    """Optical properties of a tissue over a wavelength range, both ends included.

    Args:
        tissue: one of TISSUES.
        start_nm: first wavelength [nm], 600-1100.
        stop_nm: last wavelength [nm], start_nm-1100.
        step_nm: spacing [nm], > 0; the last step may be shorter so that stop_nm is included.
        skin_type: Fitzpatrick skin type 1-6 (sets epidermal melanin).

    Raises:
        InputError: unknown tissue, range outside 600-1100 nm or reversed, bad step or skin type.
    """
    require_choice("tissue", tissue, TISSUES)
    spectra.require_wavelength(start_nm)
    require_range("end wavelength", stop_nm, start_nm, spectra.WAVELENGTH_MAX_NM, "nm")
    points = (stop_nm - start_nm) / step_nm + 1 if step_nm > 0 else float("inf")
    if not points <= SPECTRUM_MAX_POINTS:
        allowed = f"> 0 nm and give at most {SPECTRUM_MAX_POINTS} points"
        raise InputError(f"step must be {allowed}, got {step_nm:g} nm")
    count = int(points + 1e-9)
    wavelengths = [start_nm + i * step_nm for i in range(count)]
    if stop_nm - wavelengths[-1] > 1e-9:
        wavelengths.append(stop_nm)
    return [(nm, optical_properties(tissue, nm, skin_type)) for nm in wavelengths]
