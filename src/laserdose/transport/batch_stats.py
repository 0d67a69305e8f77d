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
# Control variates (controlled_mean_se): coefficients fitted in this many folds, each without its own
# batches; and at least this many batches per control. In the back model at 810 nm (36 controls) the
# corrected variance at 10 / 30 / 45 mm was 0.54 / 0.42 / 0.28 of the plain batch mean's with 1,000
# batches and 0.61 / 0.44 / 0.31 with 360; with 100 (fitted on halves) it was larger than without
# controls, the fit's own noise outweighing what it removed (docs/deep-fluence.md).
CONTROL_FOLDS = 10
MIN_BATCHES_PER_CONTROL = 10
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


def controlled_mean_se(
    values: FloatArray, controls: FloatArray, folds: int = CONTROL_FOLDS
) -> tuple[float, float]:
    """Mean of a tally over batches corrected by zero-mean control variates, and its standard error.

    Each batch's value y_b becomes y_b - c_b . beta, c_b the batch's controls (statistics whose
    expectation is exactly zero) and beta their least-squares coefficients on y [LavenbergWelch1981].
    beta is fitted without the batch's own fold (cross-fitting [Chernozhukov2018]): it is then
    independent of c_b, so E[c_b . beta] = E[c_b] . E[beta] = 0 and the estimate stays exactly unbiased,
    where a beta fitted on all batches would bias it by O(1 / B). The SE is that of the corrected batch
    values, which carry beta's own estimation noise.

    Args:
        values: one tally value per batch, shape (B,).
        controls: the batches' controls, shape (B, C), each column of expectation zero; needs
            B >= MIN_BATCHES_PER_CONTROL x C (the fit would otherwise add more noise than it removes).
        folds: how many contiguous folds of batches are fitted apart.

    Returns:
        The corrected mean and its standard error (the tally's unit).
    """
    y = np.asarray(values, dtype=np.float64)
    c = np.asarray(controls, dtype=np.float64)
    if y.ndim != 1 or c.shape[0] != y.size or c.ndim != 2:
        raise InputError(f"values must be (B,) and controls (B, C), got {y.shape} and {c.shape}")
    if not 2 <= folds <= y.size or y.size < MIN_BATCHES_PER_CONTROL * c.shape[1]:
        raise InputError(
            f"{y.size} batches are too few for {c.shape[1]} controls in {folds} folds "
            f"(at least {MIN_BATCHES_PER_CONTROL} batches per control)"
        )
    corrected = y.copy()
    for fold in np.array_split(np.arange(y.size), folds):
        train = np.ones(y.size, dtype=bool)
        train[fold] = False
        # Scale the columns to unit spread so that lstsq's cutoff treats them alike; a column
        # without spread (a region no packet reached) gets coefficient 0.
        x = c[train] - c[train].mean(axis=0)
        spread = x.std(axis=0)
        used = spread > 0.0
        beta = np.zeros(c.shape[1])
        if used.any():
            fit, *_ = np.linalg.lstsq(x[:, used] / spread[used], y[train] - y[train].mean(), rcond=None)
            beta[used] = fit / spread[used]
        corrected[fold] -= c[fold] @ beta
    return float(corrected.mean()), float(corrected.std(ddof=1) / math.sqrt(y.size))


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
