"""Where does the scenario beat its baseline? Shares and a readable rule from a shallow tree.

The rule comes from a classification tree of depth at most 2 written here (no scikit-learn):
each split is the threshold on one sampled parameter that most lowers the Gini impurity of
"beats / does not beat", with at least ``min_leaf`` points per side. Leaves where the scenario
mostly fails are the region where it does not beat the baseline.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim.analysis import registry
from sim.rules.constants import TOLERANCE
from sim.sensitivity.core import DIRECTIONS, beats


@dataclasses.dataclass
class Leaf:
    """A box of parameter space: conditions (key, "<=" or ">", threshold), points, share beating."""

    conditions: list[tuple[str, str, float]]
    n: int
    share_beats: float

    def text(self) -> str:
        where = " and ".join(f"{k} {op} {t:.4g}" for k, op, t in self.conditions) or "everywhere"
        return f"{where}: beats in {self.share_beats:.0%} of {self.n} points"


def gini(y: np.ndarray) -> float:
    """Gini impurity 2 p (1 - p) of a boolean array (0 when empty)."""
    if len(y) == 0:
        return 0.0
    p = float(np.mean(y))
    return 2.0 * p * (1.0 - p)


def best_split(X: pd.DataFrame, y: np.ndarray, min_leaf: int) -> tuple[str, float, float] | None:
    """(key, threshold, impurity decrease) of the best single split, or None if none helps."""
    n, parent = len(y), gini(y)
    best: tuple[str, float, float] | None = None
    for key in X.columns:
        x = X[key].to_numpy(float)
        order = np.argsort(x, kind="stable")
        xs, ys = x[order], y[order].astype(float)
        left_pos = np.cumsum(ys)[:-1]
        n_left = np.arange(1, n)
        p_left = left_pos / n_left
        p_right = (ys.sum() - left_pos) / (n - n_left)
        child = (n_left * 2 * p_left * (1 - p_left)
                 + (n - n_left) * 2 * p_right * (1 - p_right)) / n
        valid = (xs[:-1] < xs[1:]) & (n_left >= min_leaf) & (n - n_left >= min_leaf)
        if not valid.any():
            continue
        i = int(np.argmin(np.where(valid, child, np.inf)))
        gain = parent - child[i]
        if gain > TOLERANCE and (best is None or gain > best[2]):
            best = (str(key), float((xs[i] + xs[i + 1]) / 2), float(gain))
    return best


def shallow_tree(X: pd.DataFrame, y: np.ndarray, depth: int = 2,
                 min_leaf: int | None = None) -> list[Leaf]:
    """The leaves of a greedy Gini tree of at most ``depth`` splits on the way down."""
    y = np.asarray(y, bool)
    min_leaf = max(5, len(y) // 20) if min_leaf is None else min_leaf
    return _grow(X.reset_index(drop=True), y, depth, min_leaf, [])


def _grow(X: pd.DataFrame, y: np.ndarray, depth: int, min_leaf: int,
          conditions: list[tuple[str, str, float]]) -> list[Leaf]:
    split = best_split(X, y, min_leaf) if depth > 0 and 0 < y.sum() < len(y) else None
    if split is None:
        return [Leaf(conditions, len(y), float(np.mean(y)) if len(y) else float("nan"))]
    key, threshold, _ = split
    left = X[key].to_numpy(float) <= threshold
    return (_grow(X[left].reset_index(drop=True), y[left], depth - 1, min_leaf,
                  conditions + [(key, "<=", threshold)])
            + _grow(X[~left].reset_index(drop=True), y[~left], depth - 1, min_leaf,
                    conditions + [(key, ">", threshold)]))


def losing_rule(leaves: list[Leaf]) -> str:
    """The leaves where the scenario beats the baseline in under half the points, or 'nowhere'."""
    losing = [leaf.text() for leaf in leaves if leaf.share_beats < 0.5]
    return "; OR ".join(losing) if losing else "nowhere (every leaf beats in at least half)"


def beats_table(points: pd.DataFrame, outputs: pd.DataFrame,
                directions: dict[str, int] = DIRECTIONS,
                min_leaf: int | None = None) -> pd.DataFrame:
    """Per ranked metric: direction, share of sampled points where the scenario beats the
    baseline, the tree's rule for where it does not, and all leaves (``min_leaf`` points per
    leaf at least; default 5% of the points, at least 5)."""
    rows = []
    for metric, direction in directions.items():
        column = f"{metric}.diff"
        if column not in outputs or direction == 0:
            continue
        won = beats(outputs[column].to_numpy(float), direction)
        leaves = shallow_tree(points, won, min_leaf=min_leaf)
        rows.append({"metric": metric, "better": "higher" if direction > 0 else "lower",
                     "n": len(won), "share_beats": float(np.mean(won)),
                     "mean_diff": float(outputs[column].mean()),
                     "where_not": losing_rule(leaves),
                     "tree": " | ".join(leaf.text() for leaf in leaves)})
    return pd.DataFrame(rows)


def sign_ranges(points: pd.DataFrame, diff: np.ndarray, bins: int = 5) -> pd.DataFrame:
    """Per parameter, the ranges over which the mean difference (scenario − baseline) is positive
    and negative, from bins of about equal count of the sampled values that keep equal values
    together (other parameters averaged over).

    Returns one row per parameter: ``positive`` and ``negative`` (``"lo–hi"`` ranges joined by
    ``"; "``), ``changes_sign`` and ``crossings`` (parameter values where the bin means change
    sign, interpolated linearly between bin centres).
    """
    rows = []
    y = np.asarray(diff, dtype=float)
    for name in points.columns:
        x = points[name].to_numpy(float)
        groups = value_bins(x, bins)
        lo = np.array([x[g].min() for g in groups])
        hi = np.array([x[g].max() for g in groups])
        centre = np.array([x[g].mean() for g in groups])
        mean = np.array([y[g].mean() for g in groups])
        sign = np.sign(mean)
        crossings = [centre[i] + (centre[i + 1] - centre[i]) * mean[i] / (mean[i] - mean[i + 1])
                     for i in range(len(groups) - 1) if sign[i] * sign[i + 1] < 0]
        rows.append({"parameter": name, "positive": _runs(lo, hi, sign > 0),
                     "negative": _runs(lo, hi, sign < 0), "changes_sign": bool(crossings),
                     "crossings": "; ".join(f"{c:.4g}" for c in crossings)})
    return pd.DataFrame(rows, columns=["parameter", "positive", "negative", "changes_sign",
                                       "crossings"])


def value_bins(x: np.ndarray, bins: int) -> list[np.ndarray]:
    """Indices of ``x`` in at most ``bins`` groups of about equal count, in increasing order of
    ``x``, never splitting equal values: a design on a grid (Morris samples a few levels) would
    otherwise put one value in two bins and report it both positive and negative."""
    order = np.argsort(x, kind="stable")
    groups, start = [], 0
    for k in range(1, min(bins, len(x)) + 1):
        end = round(k * len(x) / min(bins, len(x)))
        while 0 < end < len(x) and x[order[end]] == x[order[end - 1]]:
            end += 1
        if end > start:
            groups.append(order[start:end])
            start = end
    return groups


def _runs(lo: np.ndarray, hi: np.ndarray, mask: np.ndarray) -> str:
    """Consecutive bins where ``mask`` holds, as ``"lo–hi"`` ranges."""
    out, start = [], None
    for i, on in enumerate(list(mask) + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            low, high = f"{lo[start]:.4g}", f"{hi[i - 1]:.4g}"
            out.append(low if low == high else f"{low}–{high}")
            start = None
    return "; ".join(out)


def sign_ranges_table(points: pd.DataFrame, outputs: pd.DataFrame,
                      metrics: tuple[str, ...] = registry.GAINS,
                      bins: int = 5) -> pd.DataFrame:
    """:func:`sign_ranges` of ``<metric>.diff`` for each metric present, stacked with a
    ``metric`` column (what the report's summary cites: where coordinated minus homogenised
    changes sign)."""
    frames = [sign_ranges(points, outputs[f"{m}.diff"].to_numpy(float), bins).assign(metric=m)
              for m in metrics if f"{m}.diff" in outputs]
    if not frames:
        return pd.DataFrame(columns=["metric", "parameter", "positive", "negative",
                                     "changes_sign", "crossings"])
    table = pd.concat(frames, ignore_index=True)
    return table[["metric"] + [c for c in table.columns if c != "metric"]]
