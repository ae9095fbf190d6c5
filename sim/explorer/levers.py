"""Small helpers the notebooks and the explorer call: load a bundled scenario at a chosen size,
run it over a few replicates into tidy tables, find the enclave-sharing band in which both the
source and the host gain, and read the coordinator's investment map.

The tidy tables have the shape of :func:`sim.experiments.store.load_results` (``run``, ``scenario``,
``replicate`` ahead of each table's own columns), so :mod:`sim.analysis` works on them unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model.world import SEGMENTS, build_world
from sim.config import ScenarioConfig, load_scenario
from sim.model import CircleModel, run_scenario
from sim.model.tables import TABLES
from sim.experiments.store import BatchResults

#: The bundled scenario files (repository checkout; the package is installed editable).
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
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


def with_values(config: ScenarioConfig, values: Mapping[str, object],
                name: str | None = None) -> ScenarioConfig:
    """A copy of ``config`` with dotted keys set (validated again), optionally renamed."""
    data = config.model_dump()
    for dotted, value in values.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        if last not in node:
            raise KeyError(f"{dotted}: no such key in the scenario")
        node[last] = value
    if name is not None:
        data["name"] = name
    return ScenarioConfig.model_validate(data)


def run_replicates(configs: Sequence[ScenarioConfig] | Mapping[str, ScenarioConfig],
                   replicates: int, seed: int = 1, steps: int | None = None) -> BatchResults:
    """Run each scenario for replicates 0..R-1 (common random numbers) into tidy tables.

    Args:
        configs: scenarios, named by their ``name`` (a list) or by the mapping's keys.
        replicates: number of replicates R per scenario.
        seed: root seed shared by every scenario.
        steps: quarters per run; each scenario's ``steps`` if None.
    """
    named = dict(configs) if isinstance(configs, Mapping) else {c.name: c for c in configs}
    parts: dict[str, list[pd.DataFrame]] = {table: [] for table in TABLES}
    rows = []
    for label, config in named.items():
        world = build_world(config)
        for r in range(replicates):
            run = f"{label}/r{r}"
            results = run_scenario(config, seed=seed, replicate=r, steps=steps, world=world)
            ids = {"run": run, "scenario": label, "replicate": r}
            for table, frame in results.tables().items():
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
                        seed: int = 1, steps: int | None = None) -> pd.DataFrame:
    """Each city's gain from the enclave agreements at each source share, against no agreement.

    The source's GDP-credit and tax shares are set together to each value in ``shares``; the
    baseline is the same scenario with ``switches.enclave`` off, same seed and replicate (same
    draws), so the difference is paired.

    Returns:
        Columns share, replicate, city, objective, gdp_credited, fiscal_balance: each the
        mean over steps of the agreement run minus that of the no-agreement run.
    """
    off = with_values(config, {"switches.enclave": False}, name="no_enclave")
    base = mean_objective(run_replicates([off], replicates, seed, steps).cities)
    base = base.set_index(["replicate", "city"])
    out = []
    for share in shares:
        on = with_values(config, {"policies.enclave.gdp_share_source": float(share),
                                  "policies.enclave.tax_share_source": float(share),
                                  "switches.enclave": True}, name=f"share_{share:g}")
        runs = mean_objective(run_replicates([on], replicates, seed, steps).cities)
        gain = runs.set_index(["replicate", "city"]) - base
        out.append(gain.reset_index().assign(share=float(share)))
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


def map_noise(config: ScenarioConfig, noise_levels: Sequence[float], replicates: int,
              seed: int = 1) -> pd.DataFrame:
    """Agreement of the coordinator's first map with the map from noise-free inputs.

    For each replicate the noise-free map (``noise_sd`` = 0) and the noisy maps share the
    world's draws, so a difference is due to the noise in the coordinator's inputs alone.

    Returns:
        Columns noise_sd, replicate, agreement (Jaccard, 1 = the same map).
    """
    rows = []
    for r in range(replicates):
        exact = first_map(with_values(config, {"policies.investment_map.noise_sd": 0.0}),
                          seed, r).settings.mapped
        for sd in noise_levels:
            noisy = first_map(with_values(config, {"policies.investment_map.noise_sd": float(sd)}),
                              seed, r).settings.mapped
            rows.append({"noise_sd": float(sd), "replicate": r,
                         "agreement": map_agreement(exact, noisy)})
    return pd.DataFrame(rows)
