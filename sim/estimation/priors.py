"""Priors of the assumed parameters: the ranges and distributions of the ``uncertain:`` block.

The same prior serves the reference table (draws with the model's seeded generator), the
regression adjustment (a map of each bounded range onto the real line) and pyabc (its ``RV``s).
A ``uniform`` range is uniform on [low, high]; ``normal`` is truncated to [low, high] with mean
the midpoint and sd a quarter of the range; ``triangular`` peaks at ``mode`` (as
:class:`sim.config.uncertain.Parameter` declares them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from sim.config.uncertain import Parameter
from sim.rules.constants import LOGIT_CLIP


def frozen(param: Parameter):
    """The scipy distribution of one parameter's prior."""
    low, width = param.low, param.high - param.low
    if param.dist == "normal":
        mean, sd = (param.low + param.high) / 2, width / 4
        return stats.truncnorm((low - mean) / sd, (param.high - mean) / sd, loc=mean, scale=sd)
    if param.dist == "triangular":
        mode = (param.low + param.high) / 2 if param.mode is None else param.mode
        return stats.triang((mode - low) / width, loc=low, scale=width)
    return stats.uniform(loc=low, scale=width)


def sample_prior(params: Sequence[Parameter], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent draws from the prior, one column per parameter (n x d)."""
    return np.column_stack([frozen(p).rvs(size=n, random_state=rng) for p in params]) \
        if params else np.empty((n, 0))


def to_unbounded(params: Sequence[Parameter], values: np.ndarray) -> np.ndarray:
    """Each column mapped from its prior's [low, high] onto the real line (logit of the share
    of the range), so a regression adjustment cannot leave the prior's support."""
    low = np.array([p.low for p in params])
    high = np.array([p.high for p in params])
    share = np.clip((np.asarray(values, float) - low) / (high - low), LOGIT_CLIP, 1 - LOGIT_CLIP)
    return np.log(share / (1 - share))


def from_unbounded(params: Sequence[Parameter], values: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_unbounded`."""
    low = np.array([p.low for p in params])
    high = np.array([p.high for p in params])
    return low + (high - low) / (1 + np.exp(-np.asarray(values, float)))


def pyabc_prior(params: Sequence[Parameter]):
    """The prior as a ``pyabc.Distribution`` keyed by the dotted scenario keys."""
    import pyabc

    rvs = {}
    for p in params:
        dist = frozen(p)
        rvs[p.key] = pyabc.RV(dist.dist.name, *dist.args, **dist.kwds)
    return pyabc.Distribution(**rvs)


def prior_interval(param: Parameter, level: float = 0.9) -> tuple[float, float]:
    """The central ``level`` interval of the prior (the yardstick of a posterior's width)."""
    tail = (1 - level) / 2
    dist = frozen(param)
    return float(dist.ppf(tail)), float(dist.ppf(1 - tail))
