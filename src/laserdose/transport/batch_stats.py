"""Standard errors from independent batches, and the photon budget that reaches a precision target.

A Monte Carlo tally is estimated by B independent batches of equal photon count: the estimate is the
mean of the batch values and its standard error (SE) is their sample standard deviation over sqrt(B)
(batch means). It needs no model of the tally's distribution, so it stays honest for weight-window and
roulette runs, whose per-photon scores are far from Gaussian; with B batches the SE estimate itself
scatters by about 1 / sqrt(2 (B - 1)).

An adaptive build asks, after each round, how many photons the worst tally of interest needs: the SE of
a mean falls as 1 / sqrt(photons), so N photons with relative SE s give about N (s / target)^2 for the
target; `next_budget` aims a little above that and never leaps further than MAX_GROWTH in one round, so
a chance low SE estimate from a small pilot cannot overshoot by orders of magnitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from laserdose.errors import InputError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Aim this far above the 1 / sqrt(N) prediction: the worst SE over hundreds of bins is itself estimated
# from a few tens of batches and scatters by ~1 / sqrt(2 (B - 1)) (~16 % at B = 20) [U].
AIM_MARGIN = 1.2
# One round may grow the photon count at most this much, and at least by MIN_GROWTH.
MAX_GROWTH = 16.0
MIN_GROWTH = 1.25


def batch_mean_se(per_batch: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean over batches (axis 0) and its standard error, for batches of equal photon count.

    Args:
        per_batch: one tally array per batch, shape (B, ...), B >= 2.

    Returns:
        The mean and its standard error, each of the tally's shape (same unit as the tally).
    """
    values = np.asarray(per_batch, dtype=np.float64)
    if values.ndim < 1 or values.shape[0] < 2:
        raise InputError(f"a standard error needs at least 2 batches, got shape {values.shape}")
    mean: FloatArray = values.mean(axis=0)
    se: FloatArray = values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])
    return mean, se


def relative_se(mean: FloatArray, se: FloatArray) -> FloatArray:
    """SE / mean, elementwise; infinite where the mean is 0 (an empty bin is not resolved) [-]."""
    out = np.full(np.shape(mean), np.inf)
    positive = mean > 0
    out[positive] = se[positive] / mean[positive]
    return out


@dataclass(frozen=True)
class Worst:
    """The least precise tally of a region.

    Attributes:
        relative_se: its relative standard error [-] (inf for an empty bin).
        index: its position in the tally array.
    """

    relative_se: float
    index: tuple[int, ...]


def worst_in(mean: FloatArray, se: FloatArray, region: BoolArray) -> Worst:
    """The largest relative SE over the tallies where `region` is True.

    Args:
        mean: tally means.
        se: their standard errors.
        region: which tallies count, the tally's shape; at least one True.
    """
    if not region.any():
        raise InputError("the region of interest holds no tally")
    rel = np.where(region, relative_se(mean, se), -1.0)
    flat = int(np.argmax(rel))
    index = tuple(int(i) for i in np.unravel_index(flat, rel.shape))
    return Worst(float(rel[index]), index)


def next_budget(photons: int, worst_relative_se: float, target: float, cap: int) -> int:
    """Total photons for the next round: enough to bring `worst_relative_se` to `target`, within bounds.

    Args:
        photons: photons traced so far.
        worst_relative_se: the worst relative SE they gave [-].
        target: the relative SE wanted [-].
        cap: the most photons an entry may have.

    Returns:
        photons when the target is met or the cap reached (stop); otherwise the new total, between
        MIN_GROWTH and MAX_GROWTH times `photons` and at most `cap`.
    """
    if worst_relative_se <= target or photons >= cap:
        return photons
    if math.isfinite(worst_relative_se):
        wanted = photons * (worst_relative_se / target) ** 2 * AIM_MARGIN
    else:
        wanted = photons * MAX_GROWTH
    grown = min(max(wanted, photons * MIN_GROWTH), photons * MAX_GROWTH)
    return int(min(math.ceil(grown), cap))
