"""The fit: ABC-SMC with pyabc (Toni et al. 2009; Klinger, Rickert & Hasenauer 2018).

The summary statistics are the ``calibration`` targets' model outputs, the observed values their
data; the distance is pyabc's adaptive weighted Euclidean norm (``AdaptivePNormDistance``, p = 2,
each statistic scaled by its median absolute deviation in the current generation: Prangle 2017),
so targets on different scales count alike. pyabc keeps every generation in its SQLite
database, so an interrupted fit resumes where it stopped. By default the simulations run on
pyabc's multicore sampler (one process per core); with a Dask scheduler address on its Dask
sampler, as ``sim batch --scheduler`` runs batches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config.loader import ConfigError
from sim.config.uncertain import Parameter
from sim.estimation.budget import SmcSettings
from sim.estimation.priors import pyabc_prior
from sim.experiments.cluster import scheduler_client
from sim.model import diagnostics

DATABASE = "history.db"
LOG = logging.getLogger("sim.estimation")


@dataclasses.dataclass(frozen=True)
class Watched:
    """A simulator that says on stderr (logging's warning, from whichever process runs it) when
    a model behind its outputs started from a base year stopped at a cap; pyabc keeps only the
    outputs, so this is where such a simulation can be told apart."""

    simulate: Callable[[dict], dict[str, float]]

    def __call__(self, point: dict) -> dict[str, float]:
        mark = diagnostics.unsettled_models()
        out = self.simulate(point)
        if diagnostics.unsettled_since(mark):
            shown = ", ".join(f"{k}={float(v):.4g}" for k, v in dict(point).items())
            LOG.warning("a simulation ran on %s: %s", diagnostics.NOT_AT_REST, shown)
        return out


def quiet_pyabc(level: int = logging.WARNING) -> None:
    """pyabc logs every generation at INFO; keep its loggers at ``level``."""
    for name in ["ABC", "pyabc", *logging.root.manager.loggerDict]:
        if name == "ABC" or name.startswith(("ABC.", "pyabc")):
            logging.getLogger(name).setLevel(level)


def single_core(workers: int | None, scheduler: str | None) -> bool:
    """Whether the fit runs on pyabc's single-core sampler (one worker, no cluster): the only
    sampler whose draws a seed repeats (:func:`run_smc`)."""
    return not scheduler and (workers or os.cpu_count() or 1) == 1


@contextlib.contextmanager
def sampler(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """pyabc's multicore sampler on ``workers`` processes (default all cores; one: its single
    core sampler), or its Dask sampler on the cluster at ``scheduler``."""
    import pyabc

    if scheduler:
        with scheduler_client(scheduler) as client:
            yield pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=4)
        return
    yield (pyabc.sampler.SingleCoreSampler() if single_core(workers, None)
           else pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers or os.cpu_count() or 1))


def run_smc(simulate: Callable[[dict], dict[str, float]], params: Sequence[Parameter],
            observed: dict[str, float], folder: str | os.PathLike, settings: SmcSettings,
            *, workers: int | None = None, scheduler: str | None = None,
            resume: bool = False, seed: int | None = None) -> Any:
    """Run (or, with ``resume``, continue) the fit; return pyabc's ``History``.

    pyabc draws its particles, perturbations and acceptances from numpy's global generator;
    with ``seed`` that generator is seeded from (seed, generations done) before the run, so a fit
    on one worker (pyabc's single-core sampler) is the same fit every time, a resumed one
    included. pyabc's multicore and Dask samplers seed each worker process from the operating
    system's entropy, so a fit on several workers is not repeatable draw for draw (each
    simulation's own random streams still are: they follow its parameter values).

    Args:
        simulate: ``{key: value} -> {target name: model output}`` (picklable for Dask).
        params: the priors of the estimated parameters; observed: the targets' data.
        folder: holds the pyabc database ``history.db``.
        seed: the root seed of the fit's own draws (None: numpy's generator as it stands).
    """
    import pyabc

    quiet_pyabc()
    db = Path(folder) / DATABASE
    url = f"sqlite:///{db.resolve()}"
    distance = pyabc.AdaptivePNormDistance(p=2, scale_function=pyabc.distance.mad)
    with sampler(workers, scheduler) as chosen:
        # the model keeps the simulator's own name in pyabc's history (as before the watch)
        name = getattr(simulate, "__name__", type(simulate).__name__)
        model = pyabc.FunctionModel(Watched(simulate), name=name)
        abc = pyabc.ABCSMC(model, pyabc_prior(params), distance,
                           population_size=settings.population, sampler=chosen)
        done = 0
        if resume and db.is_file():
            history = abc.load(url, 1)
            done = history.max_t + 1
            if history.get_all_populations()["t"].max() < 0:
                done = 0
        else:
            abc.new(url, observed)
        remaining = settings.generations - done
        if remaining <= 0:
            raise ConfigError(f"--resume: the fit already has {done} generation(s); pass "
                              f"--generations above {done} to continue it")
        if seed is not None:
            np.random.seed([seed, done])   # pyabc's draws come from the global generator
        return abc.run(max_nr_populations=remaining, minimum_epsilon=settings.min_epsilon,
                       max_total_nr_simulations=settings.max_simulations)


def final_particles(history: Any) -> pd.DataFrame:
    """The last generation's particles: a column per parameter and ``weight``."""
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return frame.assign(weight=pd.Series(weights).to_numpy())


def generations_table(history: Any) -> pd.DataFrame:
    """Per generation: tolerance, simulations, accepted particles, effective sample size."""
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0]
    ess = []
    for t in populations["t"]:
        _, w = history.get_distribution(m=0, t=int(t))
        ess.append(float(1 / (pd.Series(w) ** 2).sum()))
    return pd.DataFrame({"generation": populations["t"].astype(int).to_numpy(),
                         "epsilon": populations["epsilon"].to_numpy(float),
                         "simulations": populations["samples"].astype(int).to_numpy(),
                         "particles": populations["particles"].astype(int).to_numpy(),
                         "effective_sample_size": ess})
