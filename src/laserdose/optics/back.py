"""Layered optical model of a patient's lower back and the depths of the treatment targets.

Layers from the skin down: epidermis, dermis, subcutaneous fat, muscle (down to the posterior elements
of the spine: laminae and facet joints), bone (semi-infinite). Fat is either measured (ultrasound) or
estimated from BMI. Every target depth carries a standard deviation, because a plan must hold over it.

Anatomy, with marks as in docs/references.md ([S] read in source, [U] unverified starting value):
- Skin-to-epidural-space depth = 17.8 + 0.978 BMI [mm] [S]. We attribute all of its growth with BMI to
  subcutaneous fat [U], so fat = FAT_AT_REFERENCE_MM + 0.978 (BMI - 25).
- FAT_AT_REFERENCE_MM = 9 mm at BMI 25 [U]: between the subcutaneous-fat thicknesses at L1-2 of
  8.45 mm (women) and 9.4 mm (men) reported as cut-offs (subcutaneous fat index, Eur Radiol 2022) [S].
  No published regression of lumbar subcutaneous fat on BMI with slope and intercept was found.
- Lumbar facet joint depth 31.5 +/- 5 mm (cadavers, Galiano 2005) [S]: fixes the muscle thickness over
  the posterior elements (31.5 mm less skin and the reference fat) and its spread (5 mm, attributed to
  muscle [U]).
- Nerve root / epidural space: the epidural regression above; with the muscle thickness from Galiano it
  lies a constant EPIDURAL_BELOW_FACET_MM below the facet joint.
- Posterior elements: the laminae and pedicles form the bony arch behind the spinal canal, and the facet
  joints join the articular processes of neighbouring vertebrae [Lisle2012] [S]; the nerve roots run in the
  canal and leave it through the foramina below the pedicles [Witek2019] [S]. In adults the axial skeleton,
  spine and pelvis included, keeps its red (haematopoietic) marrow after the limbs' marrow has turned fatty
  [MarrowConversion] [S]: blood-forming and blood-rich tissue in the spaces of cancellous bone. At autopsy,
  upper lumbar vertebrae held no fatty marrow below 60 years of age (0 of 9), and more of it with age
  [VertebralFattyMarrow] [S]. The model's bone layer is cortical bone with 0.5 % blood (optics/tissues.py):
  it has no marrow, so it absorbs less than the arch it stands for. More absorption anywhere can only lower
  the fluence, so the doses at targets among or behind the posterior elements are upper bounds
  (`dose_upper_bound_reason`); a change of scattering is not bounded this way [U]. The same holds for the
  sacroiliac joint, between sacrum and ilium (the pelvis holds red marrow too [MarrowConversion]), which the
  model places inside its bone layer.
"""

import math
from dataclasses import dataclass, field
from typing import Any

from laserdose.domain.quantities import BMI, FAT_THICKNESS
from laserdose.errors import InputError
from laserdose.optics.tissues import EPIDERMIS_MM, melanin_fraction, optical_properties

# Skin thickness over the lumbar back: epidermis 0.1 mm (defined beside the melanin it carries, in
# tissues.py), dermis 2.0 mm; our estimates [U].
DERMIS_MM = 2.0
# Epidural depth regression, skin to epidural space [mm] = 17.8 + 0.978 BMI [EpiduralDepth] [S].
EPIDURAL_INTERCEPT_MM, EPIDURAL_SLOPE_MM_PER_BMI = 17.8, 0.978
REFERENCE_BMI = 25.0
FAT_AT_REFERENCE_MM = 9.0  # [U], see the module docstring
# Facet joint depth in cadavers, mean and SD [mm] (Galiano 2005) [S].
FACET_DEPTH_MM, FACET_DEPTH_SD_MM = 31.5, 5.0
MUSCLE_OVER_FACET_MM = FACET_DEPTH_MM - EPIDERMIS_MM - DERMIS_MM - FAT_AT_REFERENCE_MM  # 20.4 mm
MUSCLE_SD_MM = FACET_DEPTH_SD_MM  # [U]
# Epidural space below the facet joint at the reference BMI: (17.8 + 0.978 x 25) - 31.5 = 10.75 mm.
EPIDURAL_BELOW_FACET_MM = EPIDURAL_INTERCEPT_MM + EPIDURAL_SLOPE_MM_PER_BMI * REFERENCE_BMI - FACET_DEPTH_MM
LAMINA_TO_EPIDURAL_SD_MM = 3.0  # [U] spread of lamina and ligamentum flavum thickness
# Fat from BMI: residual SD [mm] [U]. Fat correlates with BMI with r ~0.7 [SubcutaneousFat2022]; with a slope
# of 0.978 mm per kg/m2 and an adult BMI SD of ~4.5 kg/m2 [U], SD_fat = 0.978 x 4.5 / 0.7 = 6.3 mm and
# the residual SD = SD_fat sqrt(1 - 0.7^2) = 4.5 mm.
FAT_FROM_BMI_SD_MM = 0.978 * 4.5 / 0.7 * math.sqrt(1 - 0.7**2)
FAT_MEASURED_SD_MM = 1.0  # ultrasound measurement of subcutaneous fat [U]
# Sacroiliac joint (posterior joint line) below the fat: soft tissue 25 +/- 8 mm, our estimate [U].
SI_BELOW_FAT_MM, SI_SD_MM = 25.0, 8.0


# Targets among or behind the posterior elements, and why the model's dose there is an upper bound.
_MARROW = (
    "cancellous bone filled with red marrow [Lisle2012] [MarrowConversion], which the model treats as "
    "bone with little blood; more absorption can only lower the fluence, so the dose shown is an upper bound."
)
UPPER_BOUND_REASONS = {
    "facet_joint": "The facet joint is formed by the articular processes, " + _MARROW,
    "nerve_root": "Light reaches the nerve root through the lamina, " + _MARROW,
    # The model puts the joint line 25 mm below the fat, 4.6 mm inside its bone layer (target_depths).
    "sacroiliac_joint": "The sacroiliac joint lies between the sacrum and the ilium, " + _MARROW,
}


def dose_upper_bound_reason(structure: str) -> str | None:
    """Why the model's dose at `structure` is an upper bound, in one sentence; None when it is not one."""
    return UPPER_BOUND_REASONS.get(structure)


@dataclass(frozen=True)
class TissueLayer:
    """One tissue layer, homogeneous and laterally infinite.

    Attributes:
        name: tissue name (one of laserdose.optics.tissues.TISSUES).
        thickness_mm: thickness [mm]; None for the semi-infinite last layer.
        mua_per_mm: absorption coefficient [1/mm].
        mus_per_mm: scattering coefficient [1/mm].
        g: anisotropy [-].
        n: refractive index [-].
    """

    name: str
    thickness_mm: float | None
    mua_per_mm: float
    mus_per_mm: float
    g: float
    n: float


@dataclass(frozen=True)
class TargetDepth:
    """Depth of a treatment target below the skin surface.

    Attributes:
        depth_mm: estimated depth [mm].
        sd_mm: standard deviation of that estimate over patients like this one [mm].
    """

    depth_mm: float
    sd_mm: float


@dataclass(frozen=True)
class BackModel:
    """A patient's lower back at one wavelength: layers from the skin down and target depths.

    Attributes:
        wavelength_nm: wavelength [nm].
        layers: epidermis, dermis, fat, muscle, bone (the last one semi-infinite).
        targets: facet_joint, multifidus, nerve_root, sacroiliac_joint -> depth and SD [mm].
        fat_mm: subcutaneous fat thickness used [mm].
        fat_sd_mm: its standard deviation [mm] (measurement error, or the BMI relation's residual).
        skin_type: Fitzpatrick skin type 1-6.
    """

    wavelength_nm: float
    layers: tuple[TissueLayer, ...]
    targets: dict[str, TargetDepth] = field(hash=False)
    fat_mm: float
    fat_sd_mm: float
    skin_type: int

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready data (the `laserdose optics back --json` schema)."""
        return {
            "wavelength_nm": self.wavelength_nm,
            "skin_type": self.skin_type,
            "fat_mm": self.fat_mm,
            "fat_sd_mm": self.fat_sd_mm,
            "layers": [vars(layer).copy() for layer in self.layers],
            "targets": {name: vars(target).copy() for name, target in self.targets.items()},
        }


def fat_from_bmi_mm(bmi: float) -> float:
    """Estimated lumbar subcutaneous fat thickness [mm] from BMI in kg/m2 (a relation [U]: see the module)."""
    BMI.check(bmi)
    return FAT_AT_REFERENCE_MM + EPIDURAL_SLOPE_MM_PER_BMI * (bmi - REFERENCE_BMI)


def _fat(fat_mm: float | None, bmi: float | None) -> tuple[float, float]:
    if (fat_mm is None) == (bmi is None):
        raise InputError("give exactly one of fat thickness (mm, measured) or BMI (kg/m2)")
    if fat_mm is not None:
        return FAT_THICKNESS.check(fat_mm), FAT_MEASURED_SD_MM
    assert bmi is not None
    return fat_from_bmi_mm(bmi), FAT_FROM_BMI_SD_MM


def target_depths(fat_mm: float, fat_sd_mm: float) -> dict[str, TargetDepth]:
    """Depths of the treatment targets [mm] for a fat thickness and its SD [mm]."""
    skin_mm = EPIDERMIS_MM + DERMIS_MM
    facet_mm = skin_mm + fat_mm + MUSCLE_OVER_FACET_MM
    multifidus_mm = skin_mm + fat_mm + MUSCLE_OVER_FACET_MM / 2  # centre of the muscle over the lamina
    return {
        "multifidus": TargetDepth(multifidus_mm, math.hypot(fat_sd_mm, MUSCLE_SD_MM / 2)),
        "facet_joint": TargetDepth(facet_mm, math.hypot(fat_sd_mm, MUSCLE_SD_MM)),
        "nerve_root": TargetDepth(
            facet_mm + EPIDURAL_BELOW_FACET_MM, math.hypot(fat_sd_mm, MUSCLE_SD_MM, LAMINA_TO_EPIDURAL_SD_MM)
        ),
        "sacroiliac_joint": TargetDepth(skin_mm + fat_mm + SI_BELOW_FAT_MM, math.hypot(fat_sd_mm, SI_SD_MM)),
    }


def back_model(
    skin_type: int, wavelength_nm: float, *, fat_mm: float | None = None, bmi: float | None = None
) -> BackModel:
    """Build the layered back of a patient at one wavelength.

    Args:
        skin_type: Fitzpatrick skin type 1-6.
        wavelength_nm: wavelength [nm], 600-1100.
        fat_mm: measured subcutaneous fat thickness [mm] (domain FAT_THICKNESS); give this or `bmi`.
        bmi: body mass index [kg/m2] (domain BMI); fat is then estimated from it.

    Raises:
        InputError: bad skin type, wavelength, fat or BMI, or both/neither of fat_mm and bmi.
    """
    melanin_fraction(skin_type)  # validates the skin type before any other work
    fat, fat_sd = _fat(fat_mm, bmi)
    thicknesses: tuple[tuple[str, float | None], ...] = (
        ("epidermis", EPIDERMIS_MM),
        ("dermis", DERMIS_MM),
        ("fat", fat),
        ("muscle", MUSCLE_OVER_FACET_MM),
        ("bone", None),
    )
    layers = []
    for name, thickness in thicknesses:
        props = optical_properties(name, wavelength_nm, skin_type)
        layers.append(TissueLayer(name, thickness, props.mua_per_mm, props.mus_per_mm, props.g, props.n))
    return BackModel(wavelength_nm, tuple(layers), target_depths(fat, fat_sd), fat, fat_sd, skin_type)
