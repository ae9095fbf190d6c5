"""Figures of a posterior: each parameter's weighted marginal over its prior range, and the
pairs (where the data trade one parameter off against another)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from sim.config.uncertain import Parameter
from sim.estimation.posterior import Posterior
from sim.estimation.priors import frozen

#: Bins of a marginal histogram.
BINS = 20


def _short(key: str) -> str:
    return ".".join(key.split(".")[-2:])


def plot_marginals(posterior: Posterior, params: Sequence[Parameter]) -> Figure:
    """A weighted histogram per parameter on its prior's range, the prior's density dashed."""
    n = len(params)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.6 * cols, 2.6 * rows), dpi=100)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    w = posterior.frame["weight"].to_numpy(float)
    for ax, p in zip(axes, params):
        ax.hist(posterior.frame[p.key].to_numpy(float), bins=BINS, range=(p.low, p.high),
                weights=w, density=True, color="C0", alpha=0.7, label="posterior")
        grid = np.linspace(p.low, p.high, 100)
        ax.plot(grid, frozen(p).pdf(grid), "k--", lw=1, label="prior")
        ax.set_title(_short(p.key), fontsize=9)
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_pairs(posterior: Posterior, params: Sequence[Parameter]) -> Figure:
    """Every pair of parameters: the particles, dot area by weight, on the prior ranges."""
    n = len(params)
    fig = Figure(figsize=(1.9 * n + 1, 1.9 * n + 1), dpi=100)
    axes = np.array(fig.subplots(n, n, squeeze=False))
    w = posterior.frame["weight"].to_numpy(float)
    size = 40 * w / w.max()
    for i, pi in enumerate(params):
        for j, pj in enumerate(params):
            ax = axes[i, j]
            if i == j:
                ax.hist(posterior.frame[pi.key], bins=BINS, range=(pi.low, pi.high), weights=w,
                        color="C0", alpha=0.7)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(posterior.frame[pj.key], posterior.frame[pi.key], s=size, alpha=0.5)
                ax.set_ylim(pi.low, pi.high)
            else:
                ax.set_visible(False)
            ax.set_xlim(pj.low, pj.high)
            ax.tick_params(labelsize=6)
            if i == n - 1:
                ax.set_xlabel(_short(pj.key), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(_short(pi.key), fontsize=7)
    fig.tight_layout()
    return fig
