"""The reference dose of a dose template: the fluence its participants received at the protocol's target.

Trials prescribe at the skin. The reference participant of a template (clinical/templates.py) is the one
the source reports (its skin type, its BMI), else skin type III and BMI 27 kg/m2 (REFERENCE_SKIN_TYPE,
REFERENCE_BMI, [U]). Under the template's delivery this participant's primary target received

    D_ref = sum over wavelengths  H_skin * share_w * F_w(z_target; R)

with H_skin the radiant exposure at the skin, share_w the energy share of each wavelength and F_w the
planner's broad-beam fluence factor (a PhysicsModel, planning/plan.py; by default planning/physics.py:
the shipped Monte Carlo table) at the target's nominal depth in the participant's back model
(optics/back.py), for a disk of the lit area. The same sum with the factors' least and most favourable
values gives the range over the participant's uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from laserdose.clinical.patient import Patient
from laserdose.clinical.protocols import Protocol
from laserdose.clinical.screening import ScreeningAnswers
from laserdose.clinical.templates import DoseTemplate
from laserdose.domain.quantities import TREATMENT_AREA

if TYPE_CHECKING:
    from laserdose.planning.plan import PhysicsModel

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
        fluence_factor: fluence at the target per unit exposure at the skin, nominal [-].
        target_dose_j_per_cm2: its fluence at the target [J/cm2].
        target_dose_range_j_per_cm2: the same over the participant's uncertainty (low, high) [J/cm2].
    """

    wavelength_nm: float
    surface_dose_j_per_cm2: float
    fluence_factor: float
    target_dose_j_per_cm2: float
    target_dose_range_j_per_cm2: tuple[float, float]


@dataclass(frozen=True)
class ReferenceDose:
    """The fluence the reference participant received at the target [J/cm2], by wavelength."""

    template: str
    structure: str
    depth_mm: float
    target_dose_j_per_cm2: float
    parts: tuple[WavelengthPart, ...]
    participant: ReferenceParticipant

    @property
    def target_dose_range_j_per_cm2(self) -> tuple[float, float]:
        """The reference dose over the participant's uncertainty (low, high) [J/cm2]."""
        low = sum(part.target_dose_range_j_per_cm2[0] for part in self.parts)
        return low, sum(part.target_dose_range_j_per_cm2[1] for part in self.parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "template": self.template,
            "structure": self.structure,
            "depth_mm": self.depth_mm,
            "target_dose_j_per_cm2": self.target_dose_j_per_cm2,
            "target_dose_range_j_per_cm2": list(self.target_dose_range_j_per_cm2),
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


def reference_dose(template: DoseTemplate, protocol: Protocol, physics: PhysicsModel) -> ReferenceDose:
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
    body = Patient(
        skin_type=participant.skin_type,
        area_cm2=max(template.lit_area_cm2, TREATMENT_AREA.low),
        screening=ScreeningAnswers(diagnosis=protocol.diagnosis),
        bmi=participant.bmi,
    )
    parts = []
    depth_mm = 0.0
    for wavelength_nm, share in zip(template.wavelengths_nm, template.energy_fractions, strict=True):
        depth_mm, light = physics.target_light(body, wavelength_nm, structure, template.lit_area_cm2)
        surface = template.dose_at_skin_j_per_cm2 * share
        parts.append(
            WavelengthPart(
                wavelength_nm, surface, light.nominal, surface * light.nominal,
                (surface * light.low, surface * light.high),
            )
        )  # fmt: skip
    return ReferenceDose(
        template=template.id,
        structure=structure,
        depth_mm=depth_mm,
        target_dose_j_per_cm2=sum(part.target_dose_j_per_cm2 for part in parts),
        parts=tuple(parts),
        participant=participant,
    )
