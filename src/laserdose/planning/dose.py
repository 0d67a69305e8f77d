"""Target dose of a scanned treatment area, from a pencil-beam fluence kernel.

A handpiece scanned evenly over an area delivers, averaged over the session, a uniform radiant exposure
H0 = E / A on the skin. Transport is linear, so the fluence at depth z under the centre of a disk of
radius R lit uniformly is H0 times the pencil-beam fluence kernel integrated over the disk:

    H(z) = H0 * F(z; R),   F(z; R) = 2 pi * integral_0^R phi(r, z) r dr,

with phi(r, z) the fluence rate per watt of a pencil beam [1/mm^2] (MCML convolution, Wang, Jacques &
Zheng 1995, section 6). The centre is where the dose is highest; at the edge of the area it is about half.
"""

import math

import numpy as np
from numpy.typing import NDArray

from laserdose.errors import InputError


def disk_radius_mm(area_cm2: float) -> float:
    """Radius of the disk with the same area as the treatment area [mm].

    Args:
        area_cm2: treatment area [cm^2].
    """
    if not area_cm2 > 0:
        raise InputError(f"treatment area must be > 0 cm^2, got {area_cm2:g}")
    return math.sqrt(area_cm2 * 100.0 / math.pi)


def area_fluence_factor(
    r_edges_mm: NDArray[np.float64],
    z_edges_mm: NDArray[np.float64],
    fluence_rate_per_mm2: NDArray[np.float64],
    depth_mm: float,
    radius_mm: float,
) -> float:
    """Fluence at `depth_mm` under the centre of a uniformly lit disk, per unit surface radiant exposure [-].

    Args:
        r_edges_mm: radial bin edges of the kernel [mm], starting at 0.
        z_edges_mm: depth bin edges of the kernel [mm], starting at 0.
        fluence_rate_per_mm2: pencil-beam fluence rate per watt, shape (nr, nz) [1/mm^2].
        depth_mm: depth of the target [mm], inside the kernel's depth range.
        radius_mm: radius of the lit disk [mm]; bins beyond the kernel's last edge contribute nothing.
    """
    if not z_edges_mm[0] <= depth_mm <= z_edges_mm[-1]:
        raise InputError(f"depth {depth_mm:g} mm is outside the kernel's 0-{z_edges_mm[-1]:g} mm")
    ring_area_mm2 = math.pi * np.diff(np.minimum(r_edges_mm, radius_mm) ** 2)
    per_depth = ring_area_mm2 @ fluence_rate_per_mm2
    z_centres_mm = 0.5 * (z_edges_mm[:-1] + z_edges_mm[1:])
    # Fluence falls about exponentially with depth: interpolate its logarithm.
    return float(np.exp(np.interp(depth_mm, z_centres_mm, np.log(np.maximum(per_depth, 1e-300)))))
