"""How the tissues' inter-subject optical spread widens the dose at a target.

Each tissue's mua and mus' vary between people by a published (or, where none was found, a starting
[U]) fraction: laserdose.optics.spread.OPTICAL_SPREADS; where mua's spread follows from its chromophores,
it is taken at the back model's wavelength. Light reaching a depth z fades, in diffusion
theory far from the source, as exp(-sum_i mu_eff,i t_i), where t_i is the path through layer i above z
and mu_eff = sqrt(3 mua (mua + mus')) (transport/diffusion.py). A relative change of a layer's mua by
da and of its mus' by ds changes ln F by -mu_eff,i t_i (k_a da + k_s ds), with the logarithmic
sensitivities of mu_eff

    k_a = d ln mu_eff / d ln mua  = (2 mua + mus') / (2 (mua + mus')),
    k_s = d ln mu_eff / d ln mus' = mus' / (2 (mua + mus')),

both near 1/2 when mua << mus'.

**A quadrature sum, not a worst corner.** The shifts from different tissues, and from absorption and
scattering within one tissue, are taken as independent (blood volume, water and collagen structure do
not vary in step from one person to the next [U]), so their standard deviations add in quadrature:

    SD(ln F) = sqrt(sum_i (mu_eff,i t_i)^2 ((k_a SD_a,i)^2 + (k_s SD_s,i)^2)).

The plan's interval is a ~95 % (2 SD) interval, and the anatomy's spread joins this one in quadrature
(planning/physics.py); putting every tissue at its 2-SD worst corner at once would describe a far rarer
patient than 1 in 20 and mix two different meanings into one interval. Every term grows with its
spread, so more spread never narrows the interval. The sensitivities are those of diffusion theory,
an approximation [U] that ignores the boundary terms near the skin.
"""

import math
from collections.abc import Mapping

from laserdose.optics.back import BackModel
from laserdose.optics.spread import OPTICAL_SPREADS, OpticalSpread
from laserdose.transport.diffusion import effective_attenuation_per_mm


def log_fluence_sd(
    back: BackModel, depth_mm: float, spreads: Mapping[str, OpticalSpread] = OPTICAL_SPREADS
) -> float:
    """One standard deviation of ln(fluence) at `depth_mm` from the tissues' optical spread [-].

    Args:
        back: the patient's layered back at one wavelength.
        depth_mm: depth below the skin [mm], >= 0.
        spreads: each tissue's spread (default: the table of laserdose.optics.spread).
    """
    variance = 0.0
    top_mm = 0.0
    for layer in back.layers:
        bottom_mm = math.inf if layer.thickness_mm is None else top_mm + layer.thickness_mm
        path_mm = min(depth_mm, bottom_mm) - top_mm
        if path_mm <= 0:
            break
        musp = layer.mus_per_mm * (1.0 - layer.g)
        spread = spreads[layer.name]
        relative_sd = math.hypot(
            absorption_sensitivity(layer.mua_per_mm, musp)
            * spread.mua_sd_fraction_at(layer.name, back.wavelength_nm),
            scattering_sensitivity(layer.mua_per_mm, musp) * spread.musp_sd_fraction,
        )
        variance += (effective_attenuation_per_mm(layer.mua_per_mm, musp) * path_mm * relative_sd) ** 2
        top_mm = bottom_mm
    return math.sqrt(variance)


def absorption_sensitivity(mua_per_mm: float, musp_per_mm: float) -> float:
    """The sensitivity k_a = d ln mu_eff / d ln mua = (2 mua + mus') / (2 (mua + mus')) [-]."""
    return (2.0 * mua_per_mm + musp_per_mm) / (2.0 * (mua_per_mm + musp_per_mm))


def scattering_sensitivity(mua_per_mm: float, musp_per_mm: float) -> float:
    """The sensitivity k_s = d ln mu_eff / d ln mus' = mus' / (2 (mua + mus')) [-]."""
    return musp_per_mm / (2.0 * (mua_per_mm + musp_per_mm))
