"""Importance planes for variance reduction at depth: where the kernel splits and roulettes packets.

Geometry splitting with Russian roulette [Booth1985] gives each depth region an importance; a packet
going deeper is split into copies of lower weight, one coming back up plays roulette, and weight windows
(kernel_cpu.WINDOW_LOW and WINDOW_HIGH) keep a packet that hovers about one plane from paying both
every time. The expected tallies do not change (unbiased); only their variance and cost do.

The best importance is the inverse of the expected fluence [Booth1985]: here the broad-beam fluence,
which falls as exp(-mu_eff z) in diffusive tissue, mu_eff = sqrt(3 mua (mua + mus'))
[FarrellPattersonWilson1992], and as exp(-mua z) without scattering. A plane each time the expected
fluence halves (importance doubling) keeps the number of packets about constant with depth (SPACING
stretches it a little).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from laserdose.transport.geometry import Stack

FloatArray = npt.NDArray[np.float64]

# Importance doubles from one plane to the next. Planes ln 2 / mu_eff apart would keep the population
# constant with depth; 15 % further apart lets it thin slowly, which cost less than it lost at 45 mm and
# gained at 10 and 30 mm in the back model at 810 and 980 nm (benchmarks/deep_fluence.py; 1.0, 1.25, 1.3
# and 1.5 were the other settings tried: 1.3 gains at 10 mm what it loses at 45 mm, docs/deep-fluence.md).
SPACING = 1.15
HALVING = SPACING * math.log(2.0)
# Enough for 100 mm of tissue at mu_eff = 0.4 /mm; deeper planes would only add cost.
MAX_PLANES = 60


def attenuation_per_mm(mua_per_mm: float, mus_per_mm: float, g: float) -> float:
    """Expected decay rate of the broad-beam fluence in one layer [1/mm].

    mu_eff of diffusion theory [FarrellPattersonWilson1992], capped by mua + mus', the rate without
    scattering (a clear or purely absorbing layer attenuates at mua, not sqrt(3) mua).
    """
    musp = mus_per_mm * (1.0 - g)
    mu_eff = math.sqrt(3.0 * mua_per_mm * (mua_per_mm + musp))
    return min(mu_eff, mua_per_mm + musp)


def importance_planes(stack: Stack, depth_mm: float) -> FloatArray:
    """Depths of the importance planes down to `depth_mm` [mm]; [inf] when there are none.

    A plane is placed each time the expected broad-beam fluence (attenuation_per_mm layer by layer)
    has halved since the last one.

    Args:
        stack: the layers.
        depth_mm: deepest depth of interest [mm] (the scoring grid's).
    """
    planes: list[float] = []
    optical_depth = 0.0  # integral of the attenuation since the last plane
    for top, bottom, layer in zip(
        stack.boundaries_mm[:-1], stack.boundaries_mm[1:], stack.layers, strict=True
    ):
        rate = attenuation_per_mm(layer.mua_per_mm, layer.mus_per_mm, layer.g)
        z = top
        end = min(bottom, depth_mm)
        while rate > 0.0 and z < end and len(planes) < MAX_PLANES:
            to_plane = (HALVING - optical_depth) / rate
            if z + to_plane >= end:
                optical_depth += (end - z) * rate
                break
            z += to_plane
            planes.append(z)
            optical_depth = 0.0
        if bottom >= depth_mm:
            break
    return np.array(planes) if planes else np.array([np.inf])
