"""Importance for variance reduction at depth: where the kernel splits, roulettes and stretches packets.

The best importance is the adjoint of the tally: the expected contribution of a packet at that depth to
the fluence below [Booth1985]. For a tally deep in diffusive tissue it is, in the diffusion approximation,
the solution I(z) of (D I')' = mua I (D = 1 / (3 (mua + mus')), continuous I and D I' at layer
boundaries) that vanishes at the extrapolated boundary zb = 2 A D above the surface
[FarrellPattersonWilson1992]: in a homogeneous medium I ~ sinh(mu_eff (z + zb)), which grows as
exp(mu_eff z) deep down and faster near the surface, where light is lost through it.

The kernel uses it three ways (kernel_cpu.py): planes where I has grown by 2^SPACING, across which the
importance of weight windows doubles [Booth1985]; within each region between planes, the exponential
transform at the rate p that doubles the importance over the region, so a packet's weight falls as the
importance rises instead of halving at the next plane [MCNP2003]; and an angular bias 1 + b uz with
b = p / (mua + mus'), the P1 importance of a direction [LuxKoblinger1991]. The expected tallies do not
change (unbiased); only their variance and cost do.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from laserdose.transport.diffusion import internal_reflection_parameter
from laserdose.transport.geometry import Layer, Stack

FloatArray = npt.NDArray[np.float64]

# The importance doubles from one plane to the next while the adjoint grows by 2^SPACING: the packet
# population thins slowly with depth, which cost less than it lost at 45 mm and gained at 10 and 30 mm
# in the back model at 810 and 980 nm (benchmarks/deep_fluence.py; docs/deep-fluence.md).
SPACING = 1.15
HALVING = SPACING * math.log(2.0)
# Enough for 100 mm of tissue at mu_eff = 0.4 /mm; deeper planes would only add cost.
MAX_PLANES = 60
# The transform's rate stays below this share of each layer's mua + mus' and mua + mus (the two differ
# when g < 0): the transformed collision rate mut - p uz stays positive, and the angular bias
# b = p / (mua + mus') at most 0.35. A stronger bias spreads weights more than its drift saves: with 0.9,
# b reached 0.71 in the dermis above the first plane at 810 nm; 0.35 raised the FOM at 10 / 30 / 45 mm
# from 0.89x / 6.1x / 42x to 1.14x / 6.85x / 45x at 810 nm and from 1.21x / 17x / 150x to 1.73x / 16x /
# 176x at 980 nm (benchmarks/deep_fluence.py; docs/deep-fluence.md).
MAX_RATE_SHARE = 0.35
# Resolution of the importance profile [mm].
PROFILE_STEP_MM = 0.01


def attenuation_per_mm(mua_per_mm: float, mus_per_mm: float, g: float) -> float:
    """Expected decay rate of the broad-beam fluence in one layer [1/mm].

    mu_eff of diffusion theory [FarrellPattersonWilson1992], capped by mua + mus', the rate without
    scattering (a clear or purely absorbing layer attenuates at mua, not sqrt(3) mua).
    """
    musp = mus_per_mm * (1.0 - g)
    mu_eff = math.sqrt(3.0 * mua_per_mm * (mua_per_mm + musp))
    return min(mu_eff, mua_per_mm + musp)


def _transport(layer: Layer) -> float:
    return layer.mua_per_mm + layer.mus_per_mm * (1.0 - layer.g)


def _log_growth(q0: float, m: float, t: FloatArray) -> tuple[FloatArray, float]:
    """Ln I(top + t) - ln I(top) for q = I' / I obeying q' = m^2 - q^2 from q0 >= 0; and q at the end.

    The Riccati form of I'' = m^2 I in one layer, solved in closed form: I ~ sinh(a + m t) when q0 > m,
    cosh(a + m t) when q0 < m (a = artanh of m / q0 or q0 / m), written so as not to overflow.
    """
    if m == 0.0:
        return np.log1p(q0 * t), q0 / (1.0 + q0 * t[-1])
    if q0 == m:
        return m * t, m
    a = 0.5 * math.log(abs((q0 + m) / (q0 - m)))
    y = a + m * t
    if q0 > m:  # ln sinh y = y - ln 2 + ln(1 - e^-2y)
        growth = m * t + np.log1p(-np.exp(-2.0 * y)) - math.log1p(-math.exp(-2.0 * a))
        return growth, m / math.tanh(y[-1])
    growth = m * t + np.log1p(np.exp(-2.0 * y)) - math.log1p(math.exp(-2.0 * a))
    return growth, m * math.tanh(y[-1])


def importance_profile(stack: Stack, depth_mm: float) -> tuple[FloatArray, FloatArray]:
    """Depths [mm] down to `depth_mm` and ln I there, I the diffusion adjoint (module docstring).

    ln I is 0 at the surface. A layer where diffusion does not hold (mus' <= mua: clear or mostly
    absorbing) grows it at its attenuation_per_mm instead, and the next diffusive layer starts afresh
    as if under a surface of matched index (zb = 2 D).
    """
    zs: list[FloatArray] = [np.zeros(1)]
    logs: list[FloatArray] = [np.zeros(1)]
    q = -1.0  # I' / I at the current depth; < 0 until a diffusive layer sets it
    previous_d = 0.0
    for top, bottom, layer in zip(
        stack.boundaries_mm[:-1], stack.boundaries_mm[1:], stack.layers, strict=True
    ):
        end = min(bottom, depth_mm)
        steps = max(1, math.ceil((end - top) / PROFILE_STEP_MM))
        t: FloatArray = np.arange(1, steps + 1, dtype=np.float64) * PROFILE_STEP_MM
        t[-1] = end - top
        transport = _transport(layer)
        if layer.mus_per_mm * (1.0 - layer.g) <= layer.mua_per_mm:
            rate = attenuation_per_mm(layer.mua_per_mm, layer.mus_per_mm, layer.g)
            growth, q, previous_d = rate * t, -1.0, 0.0
        else:
            d = 1.0 / (3.0 * transport)
            m = math.sqrt(layer.mua_per_mm / d)
            if previous_d > 0.0:
                q *= previous_d / d  # D I' is continuous across the boundary
            else:  # I(top - zb) = 0: at the surface, or below a layer where diffusion does not hold
                a = 1.0
                if top == 0.0:
                    a = internal_reflection_parameter(min(max(layer.n / stack.n_above, 1.0), 2.0))
                zb = 2.0 * a * d
                q = m / math.tanh(m * zb) if m > 0.0 else 1.0 / zb
            growth, q = _log_growth(q, m, t)
            previous_d = d
        zs.append(top + t)
        logs.append(logs[-1][-1] + growth)
        if bottom >= depth_mm:
            break
    return np.concatenate(zs), np.concatenate(logs)


def importance_planes(stack: Stack, depth_mm: float) -> tuple[FloatArray, FloatArray]:
    """Plane depths [mm] and the exponential transform's rate in each region above the last [1/mm].

    A plane wherever the importance has grown by 2^SPACING since the last, and a last one at
    `depth_mm`, below which the game is analog; ([inf], [0]) when the importance does not grow (a
    clear stack). Region k lies above plane k; its rate p is ln 2 over its height, or the importance's
    own growth rate / SPACING in the last, shorter region, capped at MAX_RATE_SHARE of the
    mua + mus' and of the mua + mus of every layer the region crosses. The last region is not always
    shorter: past MAX_PLANES it reaches down to `depth_mm`, and its rate is then ln 2 over its height
    too, so that no region changes a packet's weight by more than the importance's step at its plane
    (at the importance's own growth rate, one such region of a strongly absorbing stack swung weights
    e^56-fold between the plane above and `depth_mm`).

    Args:
        stack: the layers.
        depth_mm: deepest depth of interest [mm] (the scoring grid's).
    """
    zs, logs = importance_profile(stack, depth_mm)
    if logs[-1] <= 0.0:
        return np.array([np.inf]), np.zeros(1)
    growth = np.arange(1, MAX_PLANES + 1) * HALVING
    planes = np.append(np.interp(growth[growth < logs[-1]], logs, zs), depth_mm)
    edges = np.concatenate([[0.0], planes])
    region_growth = np.diff(np.interp(edges, zs, logs))
    region_growth[-1] = min(region_growth[-1], HALVING)
    rates = region_growth / SPACING / np.diff(edges)
    for k in range(rates.size):
        for top, bottom, layer in zip(
            stack.boundaries_mm[:-1], stack.boundaries_mm[1:], stack.layers, strict=True
        ):
            if bottom > edges[k] and top < edges[k + 1]:
                collisions = layer.mua_per_mm + layer.mus_per_mm
                rates[k] = min(rates[k], MAX_RATE_SHARE * min(_transport(layer), collisions))
    return planes, rates
