"""Target dose of a scanned treatment area.

A handpiece scanned evenly over an area delivers, averaged over the session, a uniform radiant exposure
H0 = E / A on the skin. Transport is linear, so the fluence at depth z under the centre of a disk of
radius R lit uniformly is H0 times the pencil-beam fluence kernel integrated over the disk (MCML
convolution, Wang, Jacques & Zheng 1995, section 6): H(z) = H0 * F(z; R), tabulated by
transport/tables.py. The centre is where the dose is highest; at the edge of the area it is about half.
The treatment area is taken as the disk of the same area.
"""

import math

from laserdose.errors import InputError


def disk_radius_mm(area_cm2: float) -> float:
    """Radius of the disk with the same area as the treatment area [mm].

    Args:
        area_cm2: treatment area [cm^2].
    """
    if not area_cm2 > 0:
        raise InputError(f"treatment area must be > 0 cm^2, got {area_cm2:g}")
    return math.sqrt(area_cm2 * 100.0 / math.pi)
