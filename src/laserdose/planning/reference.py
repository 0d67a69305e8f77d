"""The reference dose of a dose template: the fluence its participants received at the protocol's target.

Trials prescribe at the skin. The reference participant of a template (clinical/templates.py) is the one
the source reports (its skin type, its BMI), else skin type III and BMI 27 kg/m2 (REFERENCE_SKIN_TYPE,
REFERENCE_BMI, [U]). Under the template's delivery this participant's primary target received

    D_ref = sum over wavelengths  H_skin * share_w * F_w(z_target; R)

with H_skin the radiant exposure at the skin, share_w the energy share of each wavelength and F_w the
planner's broad-beam fluence factor (planning/physics.py: the shipped Monte Carlo table) at the target's
nominal depth in the participant's back model (optics/back.py), for a disk of the lit area.
"""

from dataclasses import dataclass
from typing import Any

from laserdose.clinical.protocols import Protocol
from laserdose.clinical.templates import DoseTemplate
from laserdose.optics.back import back_model
from laserdose.planning.dose import disk_radius_mm
from laserdose.planning.physics import TablePhysics

# Population defaults where a source does not report its participants [U]: skin type III, the middle of
# the types in the low-back trials read; BMI 27 kg/m2, about the mean of adults with chronic low back pain
# in trials (our judgement).
REFERENCE_SKIN_TYPE = 3
REFERENCE_BMI = 27.0


@dataclass(frozen=True)
class ReferenceParticipant:
    """Skin type and BMI of the reference participant, and whether each was reported by the source."""

    skin_type: int
    bmi: float
    skin_type_reported: bool
    bmi_reported: bool


@dataclass(frozen=True)
class WavelengthPart:
    """One wavelength's part of the reference dose.

    Attributes:
        wavelength_nm: the wavelength [nm].
        surface_dose_j_per_cm2: its radiant exposure at the skin [J/cm2].
        fluence_factor: fluence at the target per unit exposure at the skin [-].
        target_dose_j_per_cm2: its fluence at the target [J/cm2].
    """

    wavelength_nm: float
    surface_dose_j_per_cm2: float
    fluence_factor: float
    target_dose_j_per_cm2: float


@dataclass(frozen=True)
class ReferenceDose:
    """The fluence the reference participant received at the target [J/cm2], by wavelength."""

    template: str
    structure: str
    depth_mm: float
    target_dose_j_per_cm2: float
    parts: tuple[WavelengthPart, ...]
    participant: ReferenceParticipant

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "template": self.template,
            "structure": self.structure,
            "depth_mm": self.depth_mm,
            "target_dose_j_per_cm2": self.target_dose_j_per_cm2,
            "parts": [vars(part).copy() for part in self.parts],
            "participant": vars(self.participant).copy(),
        }


def reference_participant(template: DoseTemplate) -> ReferenceParticipant:
    """The template's reported participants (the middle skin type reported), else the defaults [U]."""
    types = sorted(template.participants.skin_types)
    bmi = template.participants.bmi
    return ReferenceParticipant(
        skin_type=types[len(types) // 2] if types else REFERENCE_SKIN_TYPE,
        bmi=bmi if bmi is not None else REFERENCE_BMI,
        skin_type_reported=bool(types),
        bmi_reported=bmi is not None,
    )


def reference_dose(template: DoseTemplate, protocol: Protocol, physics: TablePhysics) -> ReferenceDose:
    """The fluence at the protocol's primary target of the template's reference participant.

    Args:
        template: the published delivery.
        protocol: the protocol whose primary target is the structure.
        physics: the planner's physics (planning/physics.py default_physics()).

    Raises:
        InputError: a wavelength or participant outside the physics table.
    """
    participant = reference_participant(template)
    structure = protocol.primary_target.structure
    table = physics.table
    radius_mm = min(disk_radius_mm(template.lit_area_cm2), float(table.radii_mm[-1]))
    parts = []
    depth_mm = 0.0
    for wavelength_nm, share in zip(template.wavelengths_nm, template.energy_fractions, strict=True):
        back = back_model(participant.skin_type, wavelength_nm, bmi=participant.bmi)
        depth_mm = back.targets[structure].depth_mm
        factor = table.factor(wavelength_nm, participant.skin_type, back.fat_mm, depth_mm, radius_mm)
        surface = template.dose_at_skin_j_per_cm2 * share
        parts.append(WavelengthPart(wavelength_nm, surface, factor, surface * factor))
    return ReferenceDose(
        template=template.id,
        structure=structure,
        depth_mm=depth_mm,
        target_dose_j_per_cm2=sum(part.target_dose_j_per_cm2 for part in parts),
        parts=tuple(parts),
        participant=participant,
    )
