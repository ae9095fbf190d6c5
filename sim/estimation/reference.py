"""A reference table: model simulations at parameter sets drawn from the prior.

One table serves every synthetic data set of the identifiability check (each held-out row is a
"truth" whose simulated targets are the data) and could seed a rejection fit. Points are drawn
from the prior with a generator seeded by ``seed`` alone, then evaluated by any picklable
simulator on the batch runner's executors; each point's outputs are written as they arrive
(``OUT/samples``), so an interrupted table resumes by running only the missing points (the
machinery of ``sim sensitivity``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config.loader import ConfigError
from sim.config.uncertain import Parameter
from sim.estimation.priors import sample_prior
from sim.experiments.runner import check_workers
from sim.experiments.store_guard import check_fresh_output
from sim.sensitivity.core import (
    design_points,
    design_record,
    run_point_records,
    unsettled_points,
)

#: Spawn key of the reference table's prior draws (kept apart from any model stream).
REFERENCE_STREAM = 29


@dataclasses.dataclass
class ReferenceTable:
    """Prior draws (one column per parameter key) and each draw's simulated target outputs."""

    points: pd.DataFrame
    outputs: pd.DataFrame
    unsettled: int = 0      # draws with a model on a base year stopped at a cap

    def frame(self) -> pd.DataFrame:
        return pd.concat([self.points, self.outputs], axis=1)


def prior_points(params: Sequence[Parameter], n: int, seed: int,
                 integer_keys: Iterable[str] = (),
                 stream: int = REFERENCE_STREAM) -> list[dict[str, float]]:
    """``n`` prior draws as ``{key: value}`` (integer keys rounded), from ``seed`` and the
    spawn key ``stream`` alone."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(stream,)))
    return design_points(sample_prior(params, n, rng), params, integer_keys)


def run_reference(params: Sequence[Parameter], simulator: Callable[[dict], dict], n: int,
                  out: str | os.PathLike, *, seed: int = 1, integer_keys: Iterable[str] = (),
                  label: dict | None = None, workers: int | None = None,
                  scheduler: str | None = None, executor=None, resume: bool = False,
                  progress: bool = True) -> ReferenceTable:
    """Simulate ``n`` prior draws into ``out`` (resumable) and return the table.

    Raises:
        ConfigError: an unusable folder, a resumed folder holding another design, or failed
            points (listed; rerun with ``resume``).
    """
    if n < 2:
        raise ConfigError(f"--draws: expected an integer >= 2 (got {n})")
    check_workers(workers)
    out = Path(out)
    if not resume:
        check_fresh_output(out, "pass --resume to continue it or choose another --out")
    points = prior_points(params, n, seed, integer_keys)
    records = run_point_records(points, simulator, out,
                                design_record("reference", n, seed, params, label or {}),
                                workers=workers, scheduler=scheduler, executor=executor,
                                resume=resume, progress=progress, what="prior draws")
    table = ReferenceTable(pd.DataFrame(points), pd.DataFrame([r["outputs"] for r in records]),
                           unsettled_points(records))
    table.frame().to_csv(out / "reference.csv", index=False)
    return table
