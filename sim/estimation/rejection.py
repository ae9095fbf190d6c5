"""ABC rejection with local-linear regression adjustment on a table of prior simulations.

The cheap counterpart of the ABC-SMC fit, used to check identifiability on many synthetic data
sets from one reference table (Beaumont, Zhang & Balding 2002, Genetics 162: 2025-2035). It
uses the summary statistics and the distance of the pyabc run: each target's model output,
scaled by its median absolute deviation over the prior simulations (what pyabc's
``AdaptivePNormDistance`` with ``scale_function=mad`` computes from its first generation), and
the Euclidean (p = 2) norm of the scaled differences.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from sim.config.uncertain import Parameter
from sim.estimation.priors import from_unbounded, to_unbounded
from sim.rules.constants import TOLERANCE

#: Fewest accepted simulations per regression coefficient for the adjustment to be made.
MIN_PER_COEFFICIENT = 5


def mad_scales(stats: np.ndarray) -> np.ndarray:
    """Median absolute deviation of each column (0 for a column that never varies)."""
    stats = np.asarray(stats, float)
    return np.median(np.abs(stats - np.median(stats, axis=0)), axis=0)


def scaled_distances(stats: np.ndarray, observed: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row of ``stats`` to ``observed``, each statistic divided by its
    scale; a statistic with scale 0 carries no information and is left out (weight 0)."""
    use = scales > 0
    diff = (np.asarray(stats, float)[:, use] - np.asarray(observed, float)[use]) / scales[use]
    return np.sqrt(np.sum(diff ** 2, axis=1))


@dataclasses.dataclass
class RejectionPosterior:
    """Accepted draws (adjusted if ``adjusted``), their Epanechnikov weights, and the tolerance."""

    samples: np.ndarray
    weights: np.ndarray
    tolerance: float
    adjusted: bool


def abc_rejection(theta: np.ndarray, stats: np.ndarray, observed: np.ndarray,
                  params: Sequence[Parameter], accept: int, adjust: bool = True,
                  scales: np.ndarray | None = None) -> RejectionPosterior:
    """The ``accept`` simulations nearest ``observed``, weighted by the Epanechnikov kernel and,
    when there are enough of them, moved along a weighted linear regression of the parameters
    (on the logit scale of their prior ranges) on the scaled statistics.

    Args:
        theta: parameter draws (n x d); stats: their simulated statistics (n x s).
        observed: the data (s); params: the priors of theta's columns.
        accept: how many simulations to accept (the tolerance is the largest of their
            distances); scales: statistic scales (default :func:`mad_scales` of ``stats``).
    """
    stats = np.asarray(stats, float)
    scales = mad_scales(stats) if scales is None else scales
    dist = scaled_distances(stats, observed, scales)
    chosen = np.argsort(dist, kind="stable")[:accept]
    tolerance = float(dist[chosen].max())
    kernel = 1 - (dist[chosen] / tolerance) ** 2 if tolerance > 0 else np.ones(len(chosen))
    weights = np.clip(kernel, 0, None) + TOLERANCE
    samples = np.asarray(theta, float)[chosen]
    use = scales > 0
    regressors = (stats[chosen][:, use] - np.asarray(observed, float)[use]) / scales[use]
    enough = len(chosen) >= MIN_PER_COEFFICIENT * (regressors.shape[1] + 1)
    if adjust and enough:
        samples = regression_adjust(params, samples, regressors, weights)
    return RejectionPosterior(samples, weights / weights.sum(), tolerance, adjust and enough)


def regression_adjust(params: Sequence[Parameter], samples: np.ndarray, regressors: np.ndarray,
                      weights: np.ndarray) -> np.ndarray:
    """Beaumont et al.'s adjustment: θ* = θ − β (s − s_obs), fitted by weighted least squares on
    the logit scale of each prior range and mapped back (so θ* stays inside the range)."""
    z = to_unbounded(params, samples)
    design = np.column_stack([np.ones(len(z)), regressors])
    root = np.sqrt(weights)[:, None]
    beta, *_ = np.linalg.lstsq(design * root, z * root, rcond=None)
    return from_unbounded(params, z - regressors @ beta[1:])


def weighted_quantiles(values: np.ndarray, weights: np.ndarray,
                       quantiles: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample (midpoint rule on the sorted cumulative weights; values
    of weight zero are not part of the sample)."""
    keep = np.asarray(weights, float) > 0
    order = np.argsort(np.asarray(values, float)[keep], kind="stable")
    x = np.asarray(values, float)[keep][order]
    w = np.asarray(weights, float)[keep][order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(quantiles, cdf, x)


def credible_interval(samples: np.ndarray, weights: np.ndarray,
                      level: float = 0.9) -> np.ndarray:
    """Central ``level`` interval of each column of a weighted sample, shape (d, 2)."""
    tail = (1 - level) / 2
    return np.array([weighted_quantiles(samples[:, j], weights, [tail, 1 - tail])
                     for j in range(samples.shape[1])])
