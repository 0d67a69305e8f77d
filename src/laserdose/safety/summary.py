"""A laser safety summary of a device profile: class, hazard distances, eyewear, room-sign warnings.

Worst cases are assumed throughout: CW emission at the largest settable power (the average-power rules
bind for these long pulses), the whole beam accessible for classification (a handpiece can be removed),
eyewear facing the beam at the aperture of the handpiece with the highest irradiance. A Gaussian
handpiece's diameter is read as the 1/e^2 diameter and converted to the d63 (1/e) diameter the NOHD and
irradiance formulas of IEC 60825-1 use, d63 = d/sqrt(2), which doubles the peak irradiance over the flat
reading (the profile does not say which diameter it gives; the conservative reading is taken).
"""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from laserdose.domain.wavelengths import wavelength_key
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile, Handpiece
from laserdose.safety.classify import Emission, classify
from laserdose.safety.hazard import DEFAULT_EXPOSURE_S, combined_nohd, eye_nohd, eyewear
from laserdose.safety.iec60825 import eye_mpe


@dataclass(frozen=True)
class HandpieceHazard:
    """NOHD of one handpiece.

    Attributes:
        handpiece: the handpiece's name.
        nohd_by_wavelength_m: NOHD at the full power of each wavelength alone [m], keyed by wavelength [nm].
        nohd_all_m: NOHD with all wavelengths together at the worst split of the machine's total power [m].
    """

    handpiece: str
    nohd_by_wavelength_m: dict[int, float]
    nohd_all_m: float


@dataclass(frozen=True)
class EyewearNeed:
    """Eyewear for one wavelength of the machine.

    Attributes:
        wavelength_nm: wavelength [nm].
        od: optical density needed [-] (IEC 60825-1 / ANSI Z136.1, over the limiting aperture).
        lb: EN 207 marking, e.g. "D LB5" (the beam's own power density).
        handpiece: the handpiece that sets the need (highest irradiance at its aperture).
        od_basis: the OD's basis in words.
        lb_basis: the EN 207 rating's basis in words.
    """

    wavelength_nm: float
    od: float
    lb: str
    handpiece: str
    od_basis: str = ""
    lb_basis: str = ""


@dataclass(frozen=True)
class SafetySummary:
    """Laser safety summary of a machine.

    Attributes:
        device: profile name.
        manufacturer: the maker.
        declared_class: the class the maker declares.
        computed_class: the class computed from the sources at full power (IEC 60825-1:2014).
        class_rule: why.
        exposure_s: exposure duration assumed for NOHD and eyewear [s].
        handpieces: NOHD per handpiece.
        eyewear: eyewear per wavelength.
        warnings: lines for the room sign and the operator.
    """

    device: str
    manufacturer: str
    declared_class: str
    computed_class: str
    class_rule: str
    exposure_s: float
    handpieces: tuple[HandpieceHazard, ...]
    eyewear: tuple[EyewearNeed, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready data (wavelength keys as strings)."""
        data = asdict(self)
        for hazard in data["handpieces"]:
            hazard["nohd_by_wavelength_m"] = {
                wavelength_key(k): v for k, v in hazard["nohd_by_wavelength_m"].items()
            }
        data["handpieces"] = list(data["handpieces"])
        data["eyewear"] = list(data["eyewear"])
        data["warnings"] = list(data["warnings"])
        return data


def worst_power_split(profile: DeviceProfile, exposure_s: float) -> list[tuple[float, float]]:
    """(wavelength [nm], power [W]) that maximises sum P/MPE under the total-power cap.

    The cap goes first to the wavelength with the smallest MPE (greedy is optimal for this linear objective).
    """
    by_hazard = sorted(profile.sources, key=lambda s: eye_mpe(s.wavelength_nm, exposure_s).e_w_per_m2)
    left_w = profile.max_total_power_w
    split: list[tuple[float, float]] = []
    for source in by_hazard:
        power = min(source.max_power_w, left_w)
        left_w -= power
        split.append((source.wavelength_nm, power))
    return split


def d63_mm(handpiece: Handpiece) -> float:
    """Beam diameter [mm] for the IEC formulas: as given for a flat beam, 1/e^2 -> 1/e for a Gaussian one."""
    if handpiece.beam_profile == "gaussian":
        return handpiece.beam_diameter_mm / math.sqrt(2.0)
    return handpiece.beam_diameter_mm


def _handpiece_hazard(profile: DeviceProfile, handpiece: Handpiece, exposure_s: float) -> HandpieceHazard:
    diameter, divergence = d63_mm(handpiece), handpiece.divergence_mrad
    alone = {
        s.wavelength_nm: eye_nohd(s.wavelength_nm, s.max_power_w, diameter, divergence, exposure_s).nohd_m
        for s in profile.sources
    }
    together = combined_nohd(worst_power_split(profile, exposure_s), diameter, divergence, exposure_s)
    return HandpieceHazard(handpiece.name, alone, together.nohd_m)


def _eyewear_need(
    profile: DeviceProfile, wavelength_nm: float, power_w: float, exposure_s: float
) -> EyewearNeed:
    smallest = min(profile.handpieces, key=d63_mm)
    need = eyewear(wavelength_nm, power_w, d63_mm(smallest), exposure_s, beam_profile=smallest.beam_profile)
    return EyewearNeed(wavelength_nm, need.od, need.lb, smallest.name, need.od_basis, need.lb_basis)


def plan_eyewear(
    profile: DeviceProfile,
    handpiece_name: str,
    power_w_by_wavelength: Mapping[int, float],
    exposure_s: float,
) -> list[EyewearNeed]:
    """Eyewear for the powers a plan sets on one handpiece, each rating with its basis (0 W: none).

    Args:
        profile: the machine.
        handpiece_name: the plan's handpiece.
        power_w_by_wavelength: the plan's average power per wavelength [W].
        exposure_s: exposure duration assumed [s].
    """
    handpiece = next((h for h in profile.handpieces if h.name == handpiece_name), None)
    if handpiece is None:
        raise InputError(f"the machine {profile.name} has no handpiece {handpiece_name!r}")
    needs = []
    for wavelength_nm, power_w in sorted(power_w_by_wavelength.items()):
        if power_w <= 0.0:
            continue
        need = eyewear(
            wavelength_nm, power_w, d63_mm(handpiece), exposure_s, beam_profile=handpiece.beam_profile
        )
        needs.append(
            EyewearNeed(wavelength_nm, need.od, need.lb, handpiece.name, need.od_basis, need.lb_basis)
        )
    return needs


def safety_summary(profile: DeviceProfile, exposure_s: float = DEFAULT_EXPOSURE_S) -> SafetySummary:
    """Laser safety summary of `profile` for an accidental exposure of `exposure_s` [s]."""
    split = dict(worst_power_split(profile, exposure_s))
    emissions = [Emission(wavelength, power) for wavelength, power in split.items() if power > 0.0]
    classification = classify(emissions)
    hazards = tuple(_handpiece_hazard(profile, h, exposure_s) for h in profile.handpieces)
    needs = tuple(_eyewear_need(profile, s.wavelength_nm, s.max_power_w, exposure_s) for s in profile.sources)
    summary = SafetySummary(
        device=profile.name,
        manufacturer=profile.manufacturer,
        declared_class=profile.laser_class,
        computed_class=classification.laser_class,
        class_rule=classification.rule,
        exposure_s=exposure_s,
        handpieces=hazards,
        eyewear=needs,
        warnings=(),
    )
    return replace(summary, warnings=tuple(_warnings(profile, summary)))


def _warnings(profile: DeviceProfile, summary: SafetySummary) -> list[str]:
    """Room-sign and operator warnings; label wording after IEC 60825-1:2014 clause 7 [U: paraphrased]."""
    lines = []
    invisible = any(not 400.0 <= s.wavelength_nm <= 700.0 for s in profile.sources)
    kind = "INVISIBLE LASER RADIATION" if invisible else "LASER RADIATION"
    if summary.computed_class == "4":
        lines.append(
            f"{kind}: AVOID EYE OR SKIN EXPOSURE TO DIRECT OR SCATTERED RADIATION. CLASS 4 LASER PRODUCT"
        )
    elif summary.computed_class == "3B":
        lines.append(f"{kind}: AVOID EXPOSURE TO THE BEAM. CLASS 3B LASER PRODUCT")
    powers = ", ".join(f"{s.wavelength_nm:g} nm {s.max_power_w:g} W" for s in profile.sources)
    lines.append(f"Wavelengths and maximum output: {powers} (total {profile.max_total_power_w:g} W)")
    if summary.computed_class in ("3B", "4"):
        worst = max(max(h.nohd_all_m, *h.nohd_by_wavelength_m.values()) for h in summary.handpieces)
        lines.append(f"Laser controlled area: eye hazard up to {worst:.1f} m from the aperture (NOHD)")
        marks = "; ".join(f"{e.wavelength_nm:g} nm {e.lb} (OD >= {e.od:.1f})" for e in summary.eyewear)
        lines.append(f"Everyone in the room wears laser eyewear (EN 207): {marks}")
        lines.append("Patient's eyes protected by laser goggles or opaque eye shields")
    if summary.computed_class != summary.declared_class:
        lines.append(
            f"Declared class {summary.declared_class} differs from the computed class "
            f"{summary.computed_class}: check the profile"
        )
    if invisible and "aiming-beam" not in profile.safety_features:
        lines.append("Invisible beam without an aiming beam")
    return lines


def summary_rows(summary: SafetySummary) -> list[tuple[str, str, str]]:
    """The summary as (section, item, value) rows for a report page."""
    rows = [
        ("Device", "Name", summary.device),
        ("Device", "Manufacturer", summary.manufacturer),
        ("Classification", "Declared class", summary.declared_class),
        (
            "Classification",
            "Computed class (IEC 60825-1:2014)",
            f"{summary.computed_class}: {summary.class_rule}",
        ),
        ("Assumptions", "Exposure duration", f"{summary.exposure_s:g} s"),
    ]
    for hazard in summary.handpieces:
        for wavelength, distance in hazard.nohd_by_wavelength_m.items():
            rows.append(("NOHD", f"{hazard.handpiece}, {wavelength:g} nm at full power", f"{distance:.2f} m"))
        rows.append(("NOHD", f"{hazard.handpiece}, all wavelengths together", f"{hazard.nohd_all_m:.2f} m"))
    for need in summary.eyewear:
        item = f"{need.wavelength_nm:g} nm ({need.handpiece})"
        rows.append(("Eyewear", f"{item}: OD", f"OD {need.od:.2f} ({need.od_basis})"))
        rows.append(("Eyewear", f"{item}: EN 207", f"{need.lb} ({need.lb_basis})"))
    rows.extend(("Warnings", f"{i + 1}", line) for i, line in enumerate(summary.warnings))
    return rows


__all__ = ["SafetySummary", "d63_mm", "plan_eyewear", "safety_summary", "summary_rows", "worst_power_split"]
