"""Analytic diffusion theory for a semi-infinite medium: an independent cross-check of the Monte Carlo.

Farrell, Patterson & Wilson (1992, Med Phys 19:879): the collimated beam is replaced by an isotropic
point source one transport mean free path deep, z0 = 1 / (mua + mus'), of strength a' = mus' / (mua + mus')
per unit power entering; the boundary condition is met by a negative image source at -(z0 + 2 zb), with
the extrapolated boundary zb = 2 A D and D = 1 / (3 (mua + mus')). Valid for mua << mus', several
transport mean free paths from the source and the surface.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from laserdose.errors import InputError

FloatArray = npt.NDArray[np.float64]


def internal_reflection_parameter(n_relative: float) -> float:
    """A = (1 + Reff) / (1 - Reff) for a tissue/outside index ratio [-].

    Reff from the empirical fit of Groenhuis et al. (1983), as used by Farrell et al. (1992):
    Reff = -1.440 n^-2 + 0.710 n^-1 + 0.668 + 0.0636 n.
    """
    if not 1.0 <= n_relative <= 2.0:
        raise InputError(f"relative index must be between 1 and 2, got {n_relative:g}")
    if n_relative == 1.0:
        return 1.0  # matched boundary: no internal reflection
    r_eff = -1.440 / n_relative**2 + 0.710 / n_relative + 0.668 + 0.0636 * n_relative
    return (1.0 + r_eff) / (1.0 - r_eff)


def effective_attenuation_per_mm(mua_per_mm: float, musp_per_mm: float) -> float:
    """Effective attenuation coefficient mu_eff = sqrt(3 mua (mua + mus')) [1/mm].

    Far from sources and boundaries the diffuse fluence falls as exp(-mu_eff z).

    Args:
        mua_per_mm: absorption coefficient [1/mm], > 0.
        musp_per_mm: reduced scattering coefficient [1/mm], > 0.
    """
    return _parameters(mua_per_mm, musp_per_mm, 1.0)[1]


def _parameters(
    mua_per_mm: float, musp_per_mm: float, n_relative: float
) -> tuple[float, float, float, float]:
    if not mua_per_mm > 0 or not musp_per_mm > 0:
        raise InputError("diffusion theory needs mua_per_mm > 0 and musp_per_mm > 0")
    mutp = mua_per_mm + musp_per_mm
    diffusion_mm = 1.0 / (3.0 * mutp)
    mueff = math.sqrt(mua_per_mm / diffusion_mm)
    z0 = 1.0 / mutp
    zb = 2.0 * internal_reflection_parameter(n_relative) * diffusion_mm
    return diffusion_mm, mueff, z0, zb


def fluence_rate_pencil(
    r_mm: FloatArray | float,
    z_mm: FloatArray | float,
    mua_per_mm: float,
    musp_per_mm: float,
    n_relative: float,
) -> FloatArray:
    """Fluence rate phi(r, z) per unit power entering the medium [1/mm^2] for a pencil beam.

    Args:
        r_mm: distance from the beam axis [mm].
        z_mm: depth [mm].
        mua_per_mm: absorption coefficient [1/mm].
        musp_per_mm: reduced scattering coefficient mus (1 - g) [1/mm].
        n_relative: tissue index / outside index [-].
    """
    diffusion_mm, mueff, z0, zb = _parameters(mua_per_mm, musp_per_mm, n_relative)
    albedo = musp_per_mm / (mua_per_mm + musp_per_mm)
    r1 = np.hypot(np.asarray(r_mm, dtype=float), np.asarray(z_mm, dtype=float) - z0)
    r2 = np.hypot(np.asarray(r_mm, dtype=float), np.asarray(z_mm, dtype=float) + z0 + 2.0 * zb)
    return np.asarray(
        albedo / (4.0 * math.pi * diffusion_mm) * (np.exp(-mueff * r1) / r1 - np.exp(-mueff * r2) / r2)
    )


def planar_fluence_rate(
    z_mm: FloatArray | float, mua_per_mm: float, musp_per_mm: float, n_relative: float
) -> FloatArray:
    """Fluence rate integrated over the plane at depth z, per unit power entering [1/mm].

    The lateral integral of `fluence_rate_pencil`, which is also phi(z) under a uniform, infinitely wide
    beam of unit irradiance: (a' / (2 D mueff)) [exp(-mueff |z - z0|) - exp(-mueff (z + z0 + 2 zb))].

    Args:
        z_mm: depth [mm].
        mua_per_mm: absorption coefficient [1/mm].
        musp_per_mm: reduced scattering coefficient [1/mm].
        n_relative: tissue index / outside index [-].
    """
    diffusion_mm, mueff, z0, zb = _parameters(mua_per_mm, musp_per_mm, n_relative)
    albedo = musp_per_mm / (mua_per_mm + musp_per_mm)
    z = np.asarray(z_mm, dtype=float)
    source = np.exp(-mueff * np.abs(z - z0)) - np.exp(-mueff * (z + z0 + 2.0 * zb))
    return np.asarray(albedo / (2.0 * diffusion_mm * mueff) * source)
