"""The posterior predictive against every target, calibration and validation marked.

Draws 0..K-1 of the posterior (:meth:`sim.estimation.posterior.Posterior.draw`, the same sets
that replicates 0..K-1 of a batch receive) are simulated for every target, each draw with its
own replicate. Per target: the data and its band, the predictive mean and 5-95% range, and two
checks: the data inside the predictive range, and the predictive mean inside the data's band.
The validation rows are the held-out test of the fit (``sim evidence --posterior``); the
calibration rows only say how well the fit fits.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.estimation.posterior import Posterior
from sim.estimation.targets import TargetLike, TargetSimulator
from sim.sensitivity.core import design_record, run_points


@dataclasses.dataclass(frozen=True)
class DrawSimulator:
    """Simulates posterior draw r (its parameter values) with replicate r; picklable."""

    simulator: TargetSimulator

    def __call__(self, point: dict) -> dict[str, float]:
        values = {k: v for k, v in point.items() if k != "draw"}
        return dataclasses.replace(self.simulator, replicate=int(point["draw"]))(values)


def simulate_predictive(posterior: Posterior, simulator: TargetSimulator, n_draws: int,
                        out: str | os.PathLike, *, workers: int | None = None,
                        scheduler: str | None = None, executor=None, resume: bool = False,
                        progress: bool = True) -> pd.DataFrame:
    """Simulate draws 0..n_draws-1 into ``out`` (resumable); one row per draw and target."""
    points = [{"draw": r, **posterior.draw(r)} for r in range(n_draws)]
    record = design_record("predictive", n_draws, posterior.seed, [],
                           {"posterior": posterior.record.get("fingerprint", ""),
                            "targets": [t.name for t in simulator.targets]})
    outputs = run_points(points, DrawSimulator(simulator), Path(out), record, workers=workers,
                         scheduler=scheduler, executor=executor, resume=resume,
                         progress=progress, what="predictive draws")
    rows = [{"draw": r, "target": name, "model": value}
            for r, values in enumerate(outputs) for name, value in values.items()]
    return pd.DataFrame(rows)


def predictive_table(draws: pd.DataFrame, targets: Sequence[TargetLike]) -> pd.DataFrame:
    """Per target (in the targets' order): role, data, band, predictive mean and 5-95%, and
    whether the data fall inside the predictive range and the mean inside the band."""
    rows = []
    for t in targets:
        values = draws.loc[draws["target"] == t.name, "model"].to_numpy(float)
        if len(values) == 0:
            continue
        low, high = np.quantile(values, [0.05, 0.95])
        mean = float(values.mean())
        rows.append({"target": t.name, "role": t.role, "data": float(t.data),
                     "band_lo": float(t.band_lo), "band_hi": float(t.band_hi),
                     "model_mean": mean, "model_q05": float(low), "model_q95": float(high),
                     "draws": len(values),
                     "data_in_predictive": bool(low <= t.data <= high),
                     "mean_in_band": bool(t.band_lo <= mean <= t.band_hi)})
    return pd.DataFrame(rows)


def plot_predictive(table: pd.DataFrame) -> Figure:
    """One row per target: the data's band and value, the predictive 5-95% and mean, each
    target scaled by its band so that targets of different units share an axis."""
    n = len(table)
    fig = Figure(figsize=(10, max(2.5, 0.35 * n + 1)), dpi=100)
    ax = fig.subplots()
    centre = (table["band_lo"] + table["band_hi"]) / 2
    half = ((table["band_hi"] - table["band_lo"]) / 2).replace(0, np.nan).fillna(1.0)
    y = np.arange(n)[::-1]

    def scaled(column: str) -> np.ndarray:
        return ((table[column] - centre) / half).to_numpy(float)

    ax.axvspan(-1, 1, color="0.9", label="data band")
    colours = np.where(table["role"] == "calibration", "C0", "C3")
    ax.hlines(y, scaled("model_q05"), scaled("model_q95"), colors=colours, lw=3,
              label="posterior predictive 5-95%")
    ax.scatter(scaled("model_mean"), y, c=colours, zorder=3, label="predictive mean")
    ax.scatter(scaled("data"), y, marker="|", c="k", s=120, zorder=4, label="data")
    labels = [f"{name} ({'cal' if role == 'calibration' else 'VAL'})"
              for name, role in zip(table["target"], table["role"])]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("distance from the band's centre, in half-bands (blue: calibration, "
                  "red: validation)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def markdown(table: pd.DataFrame, title: str) -> str:
    """The predictive table as markdown, validation targets marked."""
    lines = [f"## {title}", "",
             "| target | role | data | band | predictive mean | 5-95% | data inside | "
             "mean in band |", "|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.target} | {r.role} | {r.data:.4g} | {r.band_lo:.4g}-{r.band_hi:.4g} "
                     f"| {r.model_mean:.4g} | {r.model_q05:.4g}-{r.model_q95:.4g} | "
                     f"{'yes' if r.data_in_predictive else 'no'} | "
                     f"{'yes' if r.mean_in_band else 'no'} |")
    for role in ("calibration", "validation"):
        part = table[table["role"] == role]
        if len(part):
            lines.append(f"\n{role}: data inside the predictive range for "
                         f"{int(part['data_in_predictive'].sum())} of {len(part)} targets.")
    return "\n".join(lines) + "\n"
