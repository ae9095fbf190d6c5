"""A posterior folder: the weighted particles of a fit, what they were fitted to, and its draws.

``posterior.parquet`` holds one row per particle: a column per estimated parameter (dotted
scenario keys) and ``weight`` (summing to 1). ``posterior.json`` says how it was made: the
targets (names, data, roles; every one a ``calibration`` target), the model version, the
settings and the run time. Draw r of a posterior (:meth:`Posterior.draw`) is a weighted
resample fixed by the posterior's seed and r alone, so replicate r of every scenario of a batch
gets the same parameter values (paired), and a posterior predictive made with draws 0..K-1 saw
the parameter sets that replicates 0..K-1 of a batch see.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config.loader import ConfigError, show_path
from sim.estimation.rejection import weighted_quantiles

PARTICLES = "posterior.parquet"
RECORD = "posterior.json"
#: ``kind`` in the record of a folder of draws from the priors (``sim prior-sample``); a fit's
#: record has no kind.
PRIOR_KIND = "prior"
#: Spawn key of posterior draws (kept apart from every model stream and the reference table).
DRAW_STREAM = 2929


@dataclasses.dataclass(frozen=True)
class Posterior:
    """Weighted particles (``frame``: parameter columns and ``weight``) and their record."""

    frame: pd.DataFrame
    record: dict[str, Any]
    folder: Path

    @property
    def keys(self) -> list[str]:
        return [c for c in self.frame.columns if c != "weight"]

    @property
    def seed(self) -> int:
        return int(self.record.get("draw_seed", 0))

    def draw(self, r: int) -> dict[str, float]:
        """Draw r: the particle chosen by one uniform number from (seed, r), by weight."""
        if r < 0:
            raise ValueError("draw index must be >= 0")
        rng = np.random.default_rng(np.random.SeedSequence(entropy=self.seed,
                                                           spawn_key=(DRAW_STREAM, r)))
        cumulative = np.cumsum(self.frame["weight"].to_numpy(float))
        index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        row = self.frame.iloc[min(index, len(self.frame) - 1)]
        return {key: float(row[key]) for key in self.keys}

    def draws(self, n: int) -> pd.DataFrame:
        """Draws 0..n-1, one row each (index: the replicate that receives it)."""
        return pd.DataFrame([self.draw(r) for r in range(n)], index=pd.RangeIndex(n,
                                                                                 name="replicate"))


def override_sets(folder: str | os.PathLike, n: int) -> list[list[str]]:
    """Draws 0..n-1 of the posterior in ``folder`` as ``key=value`` overrides, one list per
    draw (what ``sim evidence --posterior`` runs its replicate r at)."""
    posterior = load_posterior(folder)
    return [[f"{k}={v!r}" for k, v in posterior.draw(r).items()] for r in range(n)]


def write_posterior(folder: str | os.PathLike, frame: pd.DataFrame, record: dict) -> Path:
    """Write ``posterior.parquet`` (weights normalised) and ``posterior.json`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.reset_index(drop=True).copy()
    frame["weight"] = frame["weight"] / frame["weight"].sum()
    frame.to_parquet(folder / PARTICLES, index=False)
    (folder / RECORD).write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    return folder


def load_posterior(folder: str | os.PathLike) -> Posterior:
    """Read a posterior folder; a one-line ConfigError when it is not one."""
    folder = Path(folder)
    shown = show_path(folder)
    if not (folder / PARTICLES).is_file() or not (folder / RECORD).is_file():
        raise ConfigError(f"{shown}: posterior: expected a folder written by sim calibrate "
                          f"({PARTICLES} and {RECORD})")
    try:
        frame = pd.read_parquet(folder / PARTICLES)
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{shown}: posterior: expected readable {PARTICLES} and {RECORD} "
                          f"({type(exc).__name__})") from None
    weights = frame.get("weight")
    if (weights is None or len(frame) == 0 or len(frame.columns) < 2
            or not np.all(np.isfinite(frame.to_numpy(float))) or (weights < 0).any()
            or weights.sum() <= 0):
        raise ConfigError(f"{shown}/{PARTICLES}: expected at least one particle, a column per "
                          f"parameter and a non-negative 'weight', all finite")
    if not isinstance(record, dict):
        raise ConfigError(f"{shown}/{RECORD}: expected a JSON object")
    return Posterior(frame, record, folder)


def weighted_summary(posterior: Posterior) -> pd.DataFrame:
    """Per parameter: weighted mean, sd, 5% and 95% quantiles."""
    w = posterior.frame["weight"].to_numpy(float)
    rows = []
    for key in posterior.keys:
        x = posterior.frame[key].to_numpy(float)
        mean = float(np.sum(w * x) / w.sum())
        sd = float(np.sqrt(np.sum(w * (x - mean) ** 2) / w.sum()))
        q05, q95 = weighted_quantiles(x, w, [0.05, 0.95])
        rows.append({"parameter": key, "mean": mean, "sd": sd, "q05": q05, "q95": q95})
    return pd.DataFrame(rows)
