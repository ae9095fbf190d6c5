"""Is each parameter identified by the calibration targets? Coverage on synthetic data.

Each of ``n_truths`` rows held out of a reference table is a truth: its simulated targets are a
synthetic data set, and the rest of the table gives its posterior by ABC rejection with
regression adjustment (:mod:`sim.estimation.rejection`, the distance of the pyabc fit). Per
parameter the check reports how often the central 90% credible interval covers the truth, the
rank of the truth in its posterior (uniform on [0, 1] when the posterior is calibrated: a
simulation-based-calibration check, Talts et al. 2018), and how much narrower the interval is
than the prior's (contraction).

The rule (stated, not tuned): a parameter is **identified** when its interval covers the truth
at least as often as the 5% quantile of Binomial(n_truths, 0.9) allows (not significantly below
nominal) and its mean contraction is at least :data:`MIN_CONTRACTION`. A parameter that is not
identified keeps its prior: it is not estimated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.config.uncertain import Parameter
from sim.estimation.priors import prior_interval
from sim.estimation.reference import ReferenceTable
from sim.estimation.rejection import abc_rejection, credible_interval, mad_scales

#: The credible level checked.
LEVEL = 0.9
#: Least mean shrinkage of the credible interval against the prior's central interval.
MIN_CONTRACTION = 0.25
#: Synthetic data sets at least (the issue's floor).
MIN_TRUTHS = 10


def coverage_study(table: ReferenceTable, params: Sequence[Parameter], n_truths: int,
                   accept: int, seed: int = 1, level: float = LEVEL) -> pd.DataFrame:
    """One row per (truth, parameter): truth, interval, covered, rank, contraction.

    The truths are ``n_truths`` rows drawn (seeded) from the table and held out of it; the
    statistics' scales are computed once on the remaining rows, as pyabc does on its prior
    population.
    """
    keys = [p.key for p in params]
    theta = table.points[keys].to_numpy(float)
    sims = table.outputs.to_numpy(float)
    rng = np.random.default_rng(seed)
    truths = rng.choice(len(theta), size=n_truths, replace=False)
    rest = np.setdiff1d(np.arange(len(theta)), truths)
    scales = mad_scales(sims[rest])
    prior = np.array([prior_interval(p, level) for p in params])
    rows = []
    for i in truths:
        post = abc_rejection(theta[rest], sims[rest], sims[i], params, accept, scales=scales)
        bounds = credible_interval(post.samples, post.weights, level)
        for j, key in enumerate(keys):
            below = float(np.sum(post.weights[post.samples[:, j] < theta[i, j]]))
            width = bounds[j, 1] - bounds[j, 0]
            rows.append({"truth_row": int(i), "parameter": key, "truth": theta[i, j],
                         "low": bounds[j, 0], "high": bounds[j, 1],
                         "covered": bool(bounds[j, 0] <= theta[i, j] <= bounds[j, 1]),
                         "rank": below,
                         "contraction": 1 - width / (prior[j, 1] - prior[j, 0]),
                         "adjusted": post.adjusted})
    return pd.DataFrame(rows)


def summarise(per_truth: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Per parameter: coverage, the least acceptable coverage, contraction, rank uniformity
    (Kolmogorov-Smirnov p-value) and the verdict with its reason."""
    rows = []
    for key, group in per_truth.groupby("parameter", sort=False):
        n = len(group)
        hits = int(group["covered"].sum())
        least = int(stats.binom.ppf(0.05, n, level))
        contraction = float(group["contraction"].mean())
        ks = float(stats.kstest(group["rank"], "uniform").pvalue)
        covers, narrows = hits >= least, contraction >= MIN_CONTRACTION
        reason = ("covers and narrows" if covers and narrows else
                  "; ".join(why for why, bad in (
                      (f"covers {hits} of {n}, fewer than {least}", not covers),
                      (f"interval only {contraction:.0%} narrower than the prior's", not narrows),
                  ) if bad))
        rows.append({"parameter": key, "truths": n, "covered": hits, "coverage": hits / n,
                     "least_covered": least, "contraction": contraction, "rank_ks_p": ks,
                     "identified": covers and narrows, "reason": reason})
    return pd.DataFrame(rows)


def markdown(summary: pd.DataFrame, n_draws: int, accept: int, title: str,
             adjusted: bool = True) -> str:
    """The per-parameter table with the rule, for the folder and docs/VALIDATION.md."""
    n = int(summary["truths"].iloc[0]) if len(summary) else 0
    lines = [f"## {title}", "",
             f"{n} synthetic data sets (held-out prior draws), posterior of each from the other "
             f"{n_draws - n} draws by ABC rejection ({accept} accepted) "
             f"{'with' if adjusted else 'WITHOUT (too few accepted for the targets)'} "
             f"regression adjustment. Identified: covers the truth in at least the 5% "
             f"binomial quantile of {n} at {LEVEL:.0%}, and the {LEVEL:.0%} interval is at least "
             f"{MIN_CONTRACTION:.0%} narrower than the prior's on average.", "",
             "| parameter | covered | coverage | contraction | rank KS p | identified | why |",
             "|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        lines.append(f"| `{r.parameter}` | {r.covered} of {r.truths} | {r.coverage:.0%} | "
                     f"{r.contraction:.0%} | {r.rank_ks_p:.2f} | "
                     f"{'yes' if r.identified else 'no'} | {r.reason} |")
    return "\n".join(lines) + "\n"
