"""Small helpers the notebooks and the explorer call: load a bundled scenario at a chosen size,
run it over a few replicates into tidy tables, find the enclave-sharing band in which both the
source and the host gain, and read the coordinator's investment map.

The tidy tables have the shape of :func:`sim.experiments.store.load_results` (``run``, ``scenario``,
``replicate`` ahead of each table's own columns), so :mod:`sim.analysis` works on them unchanged.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import ScenarioConfig, load_scenario
from sim.config.loader import with_values  # noqa: F401  (notebooks call explore.with_values)
from sim.config.sweeps import RunSpec
from sim.experiments.runner import execute_run, open_executor
from sim.experiments.store import BatchResults
from sim.model import CircleModel, run_scenario
from sim.model.tables import TABLES
from sim.model.world import SEGMENTS, build_world
from sim.paths import SCENARIO_DIR

#: The bundled scenario files (repository checkout; the package is installed editable).
#: The Xi'an study's acceptable compensation, share of the benefit passed on (Kou & Wang 2019).
XIAN_COMPENSATION = (0.10, 0.25)
#: The sharing rule of the real agreements in ``sim/data/agreements.csv``: 50:50.
REAL_AGREEMENT_SHARE = 0.5


def scenario(name: str, n_units: int | None = None, steps: int | None = None,
             overrides: Iterable[str] = (), scenario_dir: str | os.PathLike = SCENARIO_DIR,
             ) -> ScenarioConfig:
    """Load ``<scenario_dir>/<name>.yaml`` with a model size, a horizon and dotted overrides.

    Args:
        name: scenario file stem, e.g. ``"coordinated"``.
        n_units: production units in the base year (model resolution); the file's if None.
        steps: quarters to run; the file's if None.
        overrides: further ``"dotted.key=value"`` strings.
    """
    extra = [f"world.n_units={n_units}"] if n_units is not None else []
    extra += [f"steps={steps}"] if steps is not None else []
    return load_scenario(Path(scenario_dir) / f"{name}.yaml", overrides=[*extra, *overrides])


def run_replicates(configs: Sequence[ScenarioConfig] | Mapping[str, ScenarioConfig],
                   replicates: int, seed: int = 1, steps: int | None = None,
                   workers: int | None = 1, executor: cf.Executor | None = None) -> BatchResults:
    """Run each scenario for replicates 0..R-1 (common random numbers) into tidy tables.

    Args:
        configs: scenarios, named by their ``name`` (a list) or by the mapping's keys.
        replicates: number of replicates R per scenario.
        seed: root seed shared by every scenario.
        steps: quarters per run; each scenario's ``steps`` if None.
        workers: processes of the batch runner's pool
            (:func:`sim.experiments.runner.open_executor`); 1 runs in this process, None uses
            every core.
        executor: an open ``concurrent.futures`` executor to run on (overrides ``workers``),
            e.g. one pool kept for several calls.

    Raises:
        RuntimeError: when a run fails (naming the run and the error).
    """
    named = dict(configs) if isinstance(configs, Mapping) else {c.name: c for c in configs}
    if steps is not None:
        named = {label: with_values(c, {"steps": steps}) for label, c in named.items()}
    specs = [RunSpec(name=f"{label}/r{r}", scenario=label, sweep={}, replicate=r, seed=seed,
                     config=config.model_dump(), file="")
             for label, config in named.items() for r in range(replicates)]
    if executor is None and workers == 1:
        worlds = {label: build_world(config) for label, config in named.items()}
        tables = [run_scenario(named[s.scenario], seed=seed, replicate=s.replicate,
                               world=worlds[s.scenario]).tables() for s in specs]
    else:
        with open_executor(workers, None, executor) as pool:
            tables = [_tables(spec, outcome)
                      for spec, outcome in zip(specs, pool.executor.map(execute_run, specs))]
    return _tidy(specs, tables)


def _tables(spec: RunSpec, outcome: dict) -> dict[str, pd.DataFrame]:
    if outcome["status"] != "ok":
        raise RuntimeError(f"run {spec.name} failed: {outcome['message']}")
    return outcome["tables"]


def _tidy(specs: Sequence[RunSpec], tables: Sequence[dict[str, pd.DataFrame]]) -> BatchResults:
    """Each run's tables with ``run``, ``scenario`` and ``replicate`` ahead, one frame per table."""
    parts: dict[str, list[pd.DataFrame]] = {table: [] for table in TABLES}
    rows = []
    for spec, run_tables in zip(specs, tables):
        ids = {"run": spec.name, "scenario": spec.scenario, "replicate": spec.replicate}
        for table, frame in run_tables.items():
            parts[table].append(frame.assign(**ids)[[*ids, *frame.columns]])
        rows.append({**ids, "status": "ok", "sweep": ""})
    frames = {t: pd.concat(p, ignore_index=True) for t, p in parts.items()}
    return BatchResults(**frames, manifest=pd.DataFrame(rows))


# ------------------------------------------------------------------ enclave sharing band
def enclave_hosts(config: ScenarioConfig, source: str = "Wuhan") -> list[str]:
    """Host cities of the source's enclave agreements."""
    return sorted({a.host for a in config.agreements if a.kind == "enclave" and a.source == source})


def mean_objective(cities: pd.DataFrame) -> pd.DataFrame:
    """Each run's and city's own objective (promotion-tournament score) averaged over steps >= 1.

    Also averages credited GDP and the fiscal balance (亿元 per year) over the same steps.
    """
    rows = cities[cities["step"] >= 1]
    return (rows.groupby(["replicate", "city"], as_index=False)
            [["objective", "gdp_credited", "fiscal_balance"]].mean())


def enclave_share_gains(config: ScenarioConfig, shares: Sequence[float], replicates: int,
                        seed: int = 1, steps: int | None = None, workers: int | None = 1,
                        executor: cf.Executor | None = None) -> pd.DataFrame:
    """Each city's gain from the enclave agreements at each source share, against no agreement.

    The source's GDP-credit and tax shares are set together to each value in ``shares``; the
    baseline is the same scenario with ``switches.enclave`` off, same seed and replicate (same
    draws), so the difference is paired. All runs go to :func:`run_replicates` at once (one pool).

    Returns:
        Columns share, replicate, city, objective, gdp_credited, fiscal_balance: each the
        mean over steps of the agreement run minus that of the no-agreement run.
    """
    runs = {"no_enclave": with_values(config, {"switches.enclave": False}, name="no_enclave")}
    labels = {}
    for share in shares:
        labels[float(share)] = label = f"share_{share:g}"
        runs[label] = with_values(config, {"policies.enclave.gdp_share_source": float(share),
                                           "policies.enclave.tax_share_source": float(share),
                                           "policies.enclave.bargain": False,  # imposed
                                           "policies.agreements_voluntary": False,
                                           "switches.enclave": True}, name=label)
    cities = run_replicates(runs, replicates, seed, steps, workers, executor).cities
    means = {label: mean_objective(cities[cities["scenario"] == label]).set_index(
        ["replicate", "city"]) for label in runs}
    out = [(means[label] - means["no_enclave"]).reset_index().assign(share=share)
           for share, label in labels.items()]
    frame = pd.concat(out, ignore_index=True)
    return frame[["share", "replicate", "city", "objective", "gdp_credited", "fiscal_balance"]]


def agreement_band(gains: pd.DataFrame, source: str, hosts: Sequence[str],
                   measure: str = "objective") -> tuple[float, float] | None:
    """The range of source shares at which the source and every host gain on average.

    Args:
        gains: rows share, city and ``measure`` (a gain against no agreement), any replicates.
        source: the source city (usually Wuhan).
        hosts: the host cities; each must gain.
        measure: the column compared with zero.

    Returns:
        (lowest, highest) share where the mean gain of the source and of every host is > 0,
        or None when there is no such share. Shares in between that fail are not excluded;
        :func:`band_table` shows each share.
    """
    table = band_table(gains, source, hosts, measure)
    good = table.index[table["all_gain"]]
    return (float(good.min()), float(good.max())) if len(good) else None


def band_table(gains: pd.DataFrame, source: str, hosts: Sequence[str],
               measure: str = "objective") -> pd.DataFrame:
    """Mean gain of the source and each host by share, and whether all of them gain."""
    cities = [source, *hosts]
    wide = (gains[gains["city"].isin(cities)]
            .pivot_table(index="share", columns="city", values=measure, aggfunc="mean")
            .reindex(columns=cities))
    wide["all_gain"] = (wide[cities] > 0).all(axis=1)
    return wide


# ------------------------------------------------------------------ investment map
def map_frame(mapped: np.ndarray, cities: Sequence[str], sectors: Sequence[str]) -> pd.DataFrame:
    """A city x (sector, segment) bool map as tidy rows city, sector, segment, mapped.

    The column index kg of ``mapped`` is sector * 4 + segment (segments rnd, hq, core, supply).
    """
    grid = np.asarray(mapped, dtype=bool).reshape(len(cities), len(sectors), len(SEGMENTS))
    c, k, g = np.meshgrid(np.arange(len(cities)), np.arange(len(sectors)),
                          np.arange(len(SEGMENTS)), indexing="ij")
    return pd.DataFrame({"city": np.asarray(cities)[c.ravel()],
                         "sector": np.asarray(sectors)[k.ravel()],
                         "segment": np.asarray(SEGMENTS)[g.ravel()],
                         "mapped": grid.ravel()})


def map_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard agreement of two bool maps: shared assignments over assignments in either (1 if
    both are empty)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    either = np.logical_or(a, b).sum()
    return 1.0 if either == 0 else float(np.logical_and(a, b).sum() / either)


def targeting_counts(targets: np.ndarray, sectors: Sequence[str]) -> pd.Series:
    """Number of cities targeting each sector (any segment): duplicated targeting when > 1."""
    grid = np.asarray(targets, dtype=bool).reshape(targets.shape[0], len(sectors), len(SEGMENTS))
    return pd.Series(grid.any(axis=2).sum(axis=0), index=list(sectors), name="cities_targeting")


def first_map(config: ScenarioConfig, seed: int = 1, replicate: int = 0) -> CircleModel:
    """A model stepped once: the coordinator has drawn its map and cities their targets."""
    model = CircleModel(config, seed=seed, replicate=replicate)
    model.step()
    return model


def first_mapped(config: dict, seed: int, replicate: int) -> np.ndarray:
    """The coordinator's first map (city x sector-segment bools) of a config given as plain data
    (a module-level function, so a process pool can run it)."""
    model = first_map(ScenarioConfig.model_validate(config), seed, replicate)
    return np.asarray(model.settings.mapped, dtype=bool)


def map_noise(config: ScenarioConfig, noise_levels: Sequence[float], replicates: int,
              seed: int = 1, workers: int | None = 1,
              executor: cf.Executor | None = None) -> pd.DataFrame:
    """Agreement of the coordinator's first map with the map from noise-free inputs.

    For each replicate the noise-free map (``noise_sd`` = 0) and the noisy maps share the
    world's draws, so a difference is due to the noise in the coordinator's inputs alone.
    ``workers`` and ``executor`` as in :func:`run_replicates`.

    Returns:
        Columns noise_sd, replicate, agreement (Jaccard, 1 = the same map).
    """
    levels = [0.0, *(float(sd) for sd in noise_levels)]
    data = [with_values(config, {"policies.investment_map.noise_sd": sd}).model_dump()
            for sd in levels]
    jobs = [(data[i], seed, r) for r in range(replicates) for i in range(len(levels))]
    if (executor is None and workers == 1) or not jobs:
        maps = [first_mapped(*job) for job in jobs]
    else:
        with open_executor(workers, None, executor) as pool:
            maps = list(pool.executor.map(first_mapped, *zip(*jobs)))
    rows = []
    for r in range(replicates):
        exact, *noisy = maps[r * len(levels):(r + 1) * len(levels)]
        rows += [{"noise_sd": sd, "replicate": r, "agreement": map_agreement(exact, m)}
                 for sd, m in zip(levels[1:], noisy)]
    return pd.DataFrame(rows)
