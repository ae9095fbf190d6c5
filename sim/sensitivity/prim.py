"""PRIM boxes (Friedman & Fisher 1999, through EMA Workbench): the region of sampled parameters
where the cases of interest concentrate. Used by ``sim discover`` and by the report's section
on a batch run under a posterior; imports neither the runner nor the model.

Each reported box is the one with the largest coverage (share of all cases inside it) among
those with density (share of its points that are cases) at least ``min_density``, else the
densest. Further boxes cover the cases left outside the earlier ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.rules.constants import TOLERANCE


@dataclasses.dataclass
class Box:
    """One PRIM box: coverage, density, mass (share of points inside), points inside and the
    limits of each restricted parameter (others span their whole sampled range)."""

    coverage: float
    density: float
    mass: float
    n: int
    limits: dict[str, tuple[float, float]]

    def text(self) -> str:
        where = " and ".join(f"{lo:.4g} <= {k} <= {hi:.4g}" for k, (lo, hi) in self.limits.items())
        return where or "anywhere"


def find_boxes(points: pd.DataFrame, cases: np.ndarray, min_density: float = 0.8,
               max_boxes: int = 2, mass_min: float = 0.05) -> list[Box]:
    """PRIM boxes around the cases (see the module docstring for the choice of each box)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # EMA's import-time notes on optional back ends
        from ema_workbench.analysis import prim

    x = points.reset_index(drop=True).astype(float)
    y = np.asarray(cases, bool)
    if not y.any():
        return []
    full = pd.DataFrame({"min": x.min(), "max": x.max()})
    finder = prim.Prim(x, y, peel_alpha=0.1, mass_min=mass_min)
    boxes = []
    for _ in range(max_boxes):
        box = finder.find_box()
        if box is None:
            break
        chosen = _choose(box, full, min_density, len(x))
        if chosen.density <= 0:   # every case is already inside an earlier box
            break
        boxes.append(chosen)
    return boxes


def _choose(box, full: pd.DataFrame, min_density: float, n_points: int) -> Box:
    trajectory = box.peeling_trajectory
    dense = trajectory[trajectory["density"] >= min_density]
    pick = (dense["coverage"].idxmax() if len(dense) else trajectory["density"].idxmax())
    box.select(int(pick))
    lims = box.box_lim
    restricted = {}
    for key in lims.columns:
        lo, hi = float(lims.loc[0, key]), float(lims.loc[1, key])
        if lo > full.loc[key, "min"] + TOLERANCE or hi < full.loc[key, "max"] - TOLERANCE:
            restricted[key] = (lo, hi)
    row = trajectory.loc[pick]
    return Box(float(row["coverage"]), float(row["density"]), float(row["mass"]),
               int(round(row["mass"] * n_points)), restricted)


def boxes_table(boxes: Sequence[Box]) -> pd.DataFrame:
    """One row per box and restricted parameter (one row with empty parameter if none)."""
    rows = []
    for i, box in enumerate(boxes, 1):
        head = {"box": i, "coverage": box.coverage, "density": box.density, "mass": box.mass,
                "n_points": box.n}
        limits = box.limits or {"": (np.nan, np.nan)}
        rows += [{**head, "parameter": k, "low": lo, "high": hi} for k, (lo, hi) in limits.items()]
    return pd.DataFrame(rows, columns=["box", "coverage", "density", "mass", "n_points",
                                       "parameter", "low", "high"])
