"""The scoreboard: every target's model output in one realisation, then over replicates.

Three runs serve every target of ``sim/data/targets.csv``, each made once per realisation:

- ``backtest``: the 2010 world through 2019 under the pre-plan regime, with the decade's drivers
  from the data (:func:`sim.validation.backtest.decade_drivers`);
- ``forecast``: ``scenarios/as_happened.yaml`` from the 2021 base (the rules in force and the real
  agreements at their real dates);
- ``rest``: the homogenised base year with nothing growing (no trend, no new land, no fall of land
  intensity) for 20 quarters.

``simulate_targets`` is one realisation (the function a calibration calls for each draw of the
assumed parameters); ``evidence`` runs replicates on the batch runner's executors and
``score`` turns them into hit or miss against each target's band.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import load_scenario
from sim.config.loader import data_folder
from sim.config.schema import ScenarioConfig
from sim.experiments.base_years import use_environment
from sim.experiments.runner import open_executor
from sim.model import diagnostics, run_scenario
from sim.model.world import build_world_with_gdp
from sim.paths import SCENARIO_DIR
from sim.rules.constants import STEPS_PER_YEAR
from sim.validation.backtest import (
    FIRST_YEAR,
    SCENARIO,
    data_shares,
    decade_drivers,
    pre_plan_config,
    read_series,
)
from sim.validation.targets import Target

FORECAST_SCENARIO = SCENARIO_DIR / "as_happened.yaml"
REST_SCENARIO = SCENARIO_DIR / "homogenised.yaml"
FORECAST_FIRST_YEAR = 2021
REST_STEPS = 20
#: Nothing grows: no trend, no new core land, no fall of land intensity (the base year at rest).
AT_REST = ("economy.growth_rate_annual=0", "economy.land_intensity_decline=0",
           "world.core_land_supply_km2=0", f"steps={REST_STEPS}")
QUANTILES = (0.05, 0.95)
COLUMNS = ["target", "role", "run", "data", "band_lo", "band_hi", "model_mean", "model_lo",
           "model_hi", "replicates", "benchmark", "benchmark_status", "status", "output",
           "years", "band_reason", "source"]


@dataclasses.dataclass(frozen=True)
class Realisation:
    """The tables of one run that targets read, and the calendar year of its step 0."""

    cities: pd.DataFrame
    parks: pd.DataFrame
    first_year: int
    data_shares: pd.DataFrame | None = None     # city x year (the back-test's data)
    agreements: pd.DataFrame | None = None      # the run's agreements table


def _sized(overrides: Sequence[str], n_units: int | None) -> list[str]:
    return [*overrides, f"world.n_units={n_units}"] if n_units else list(overrides)


def backtest_base(overrides: Sequence[str]) -> ScenarioConfig:
    """The back-test's scenario with ``overrides`` and then the decade's drivers: the drivers are
    data of 2010-2019 (:func:`sim.validation.history.period_drivers`), so a point of a screen or
    a fit that sets the 2021 plan's growth, land supply or fall of land intensity does not
    replace them (it would make the targets seem to inform a value the back-test takes from the
    data); the 2010 land stock is back-cast from the 2021 stock built with ``overrides``.
    ``sim backtest --set`` is the command for a what-if of the drivers themselves."""
    drivers = decade_drivers(SCENARIO, list(overrides))
    return load_scenario(SCENARIO, [*overrides, *drivers.overrides()])


def run_backtest(overrides: Sequence[str], seed: int, replicate: int) -> Realisation:
    """One realisation of the back-test (2010-2019) under :func:`backtest_base`."""
    base = backtest_base(overrides)
    folder = data_folder(base, SCENARIO.parent)
    series = read_series(folder)
    config = pre_plan_config(base, folder)
    world = build_world_with_gdp(config, series[FIRST_YEAR].to_dict(), folder)
    res = run_scenario(config, seed=seed, replicate=replicate, world=world)
    return Realisation(res.cities, res.parks, FIRST_YEAR, data_shares(series), res.agreements)


def run_forecast(overrides: Sequence[str], seed: int, replicate: int) -> Realisation:
    """One realisation of ``as_happened`` from the 2021 base."""
    res = run_scenario(load_scenario(FORECAST_SCENARIO, overrides), seed=seed, replicate=replicate)
    return Realisation(res.cities, res.parks, FORECAST_FIRST_YEAR, agreements=res.agreements)


def run_rest(overrides: Sequence[str], seed: int, replicate: int) -> Realisation:
    """One realisation of the homogenised base year with nothing growing."""
    config = load_scenario(REST_SCENARIO, [*overrides, *AT_REST])
    res = run_scenario(config, seed=seed, replicate=replicate)
    return Realisation(res.cities, res.parks, FORECAST_FIRST_YEAR)


RUNNERS = {"backtest": run_backtest, "forecast": run_forecast, "rest": run_rest}


# --------------------------------------------------------------------------- measures

def _gdp(run: Realisation, step: int, column: str = "gdp_statistical") -> pd.Series | None:
    rows = run.cities[run.cities.step == step]
    return None if rows.empty else rows.set_index("city")[column]


def _step(run: Realisation, year: int) -> int:
    return (year - run.first_year) * STEPS_PER_YEAR


def share(run: Realisation, city: str, year: int) -> float:
    """A city's share of circle statistical GDP at the start of ``year``."""
    gdp = _gdp(run, _step(run, year))
    return math.nan if gdp is None else float(gdp[city] / gdp.sum())


def share_error(run: Realisation, year: int) -> float:
    """Mean absolute error over cities of the run's shares against the data's in ``year``."""
    gdp = _gdp(run, _step(run, year))
    if gdp is None or run.data_shares is None:
        return math.nan
    data = run.data_shares[year]
    return float(((gdp / gdp.sum())[data.index] - data).abs().mean())


def growth_vs_circle(run: Realisation, city: str, year: int) -> float:
    """A city's GDP growth from step 0 to the start of ``year`` over the circle's."""
    start, end = _gdp(run, 0), _gdp(run, _step(run, year))
    if start is None or end is None:
        return math.nan
    return float((end[city] / start[city]) / (end.sum() / start.sum()))


def nonlocal_wuhan_share(run: Realisation, city: str, year: int) -> float:
    """Wuhan-origin share of a city's new investment by non-local investors, from step 0 to the
    end of ``year`` (``cities.wuhan_origin_share_nonlocal_cum``)."""
    share_cum = _gdp(run, _step(run, year + 1), "wuhan_origin_share_nonlocal_cum")
    return math.nan if share_cum is None else float(share_cum[city])


def occupied(run: Realisation, park: str, step: int) -> float:
    """1 when the park is in the run and holds units at ``step``, else 0 (NaN: no such step)."""
    rows = run.parks[run.parks.step == step]
    if rows.empty:
        return math.nan
    units = rows.loc[rows.park == park, "n_units"]
    return float(len(units) > 0 and units.iloc[0] > 0)


def signed_between(run: Realisation, name: str, first: int, last: int) -> float:
    """1 when the agreement ``name`` is signed at a step from ``first`` to ``last`` (ends
    included), else 0 (NaN: the run has no agreements table)."""
    table = run.agreements
    if table is None or "name" not in table:
        return math.nan
    rows = table[(table["name"] == name) & (table["status"] == "signed")]
    return float(bool(rows["step"].between(first, last).any()))


def rest_change(run: Realisation, which: str) -> float:
    """Relative change of physical GDP over the run: the circle's, or a city's."""
    start, end = _gdp(run, 0, "gdp_physical"), _gdp(run, int(run.cities.step.max()),
                                                     "gdp_physical")
    if which == "circle":
        return float(end.sum() / start.sum() - 1)
    return float(end[which] / start[which] - 1)


def measure(target: Target, run: Realisation) -> float:
    """The model's value of a target in one realisation."""
    kind, args = target.measure_parts()
    if kind == "share":
        return share(run, args[0], int(args[1]))
    if kind == "mae":
        return share_error(run, int(args[0]))
    if kind == "growth_vs_circle":
        return growth_vs_circle(run, args[0], int(args[1]))
    if kind == "nonlocal_wuhan_share":
        return nonlocal_wuhan_share(run, args[0], int(args[1]))
    if kind == "occupied":
        return occupied(run, args[0], int(args[1]))
    if kind == "signed_between":
        return signed_between(run, args[0], int(args[1]), int(args[2]))
    return rest_change(run, args[0])


def simulate_targets(targets: Sequence[Target], overrides: list[str], seed: int, replicate: int,
                     n_units: int | None = None) -> dict[str, float]:
    """One realisation of every target's model output (one number per target name).

    Each run the targets need (``backtest``, ``forecast``, ``rest``) is made once, with the
    dotted-key ``overrides`` (values of assumed parameters) and the same random streams (seed,
    replicate) in every run. The overrides come after the scenario's settings, but before what
    a run takes as given: the back-test's measured drivers of 2010-2019
    (:func:`backtest_base`) and the run at rest's zero growth, land supply and fall of land
    intensity (``AT_REST``), so a point cannot change those.
    """
    use_environment()       # base years kept in SIM_BASE_YEARS, if it names a folder
    sized = _sized(overrides, n_units)
    runs = {name: RUNNERS[name](sized, seed, replicate)
            for name in dict.fromkeys(t.run for t in targets)}
    return {t.name: measure(t, runs[t.run]) for t in targets}


# --------------------------------------------------------------------------- benchmarks, scores

def benchmarks(targets: Sequence[Target], folder: Path) -> dict[str, float]:
    """The no-change forecast of each target whose ``benchmark`` is ``persistence``: the first
    year's data share (2010 in the back-test, the 2021 base in the forecast), the error of
    holding 2010's shares, a city growing with the circle (1)."""
    series = data_shares(read_series(folder))
    base = pd.read_csv(folder / "cities.csv").set_index("city")["gdp_2021"]
    base = base / base.sum()
    out = {}
    for t in targets:
        kind, args = t.measure_parts()
        if t.benchmark != "persistence":
            continue
        if kind == "share":
            out[t.name] = float(series.at[args[0], FIRST_YEAR] if t.run == "backtest"
                                else base[args[0]])
        elif kind == "mae":
            out[t.name] = float((series[int(args[0])] - series[FIRST_YEAR]).abs().mean())
        elif kind == "growth_vs_circle":
            out[t.name] = 1.0
    return out


def _status(target: Target, value: float) -> str:
    if not target.has_data:
        return "no data"
    if math.isnan(value):
        return "no model value"
    return "hit" if target.hit(value) else "miss"


def score(targets: Sequence[Target], realisations: Sequence[dict[str, float]],
          bench: dict[str, float]) -> pd.DataFrame:
    """One row per target: data and band, the model's mean and 5-95% band over realisations,
    the benchmark, and hit / miss / no data (the model's mean inside the band, ends included)."""
    rows = []
    for t in targets:
        values = np.array([r[t.name] for r in realisations], float)
        values = values[~np.isnan(values)]
        mean = float(values.mean()) if len(values) else math.nan
        lo, hi = (np.quantile(values, QUANTILES) if len(values) else (math.nan, math.nan))
        b = bench.get(t.name, math.nan)
        rows.append({
            "target": t.name, "role": t.role, "run": t.run, "data": t.data,
            "band_lo": t.band_lo, "band_hi": t.band_hi, "model_mean": mean,
            "model_lo": float(lo), "model_hi": float(hi), "replicates": len(values),
            "benchmark": b, "benchmark_status": "" if math.isnan(b) else _status(t, b),
            "status": _status(t, mean), "output": t.output, "years": t.years,
            "band_reason": t.band_reason, "source": t.source})
    return pd.DataFrame(rows, columns=COLUMNS)


def counted_targets(targets: Sequence[Target], overrides: list[str], seed: int, replicate: int,
                    n_units: int | None = None) -> tuple[dict[str, float], int]:
    """:func:`simulate_targets` and how many of its runs started from a base year whose fixed
    point stopped at its cap (counted where the runs are made, in whichever process)."""
    mark = diagnostics.unsettled_models()
    values = simulate_targets(targets, overrides, seed, replicate, n_units)
    return values, diagnostics.unsettled_since(mark)


def realise(targets: Sequence[Target], replicates: int, seed: int, overrides: list[str],
            n_units: int | None, workers: int | None = 1, scheduler: str | None = None,
            executor: cf.Executor | None = None, draws: Sequence[list[str]] | None = None
            ) -> list[tuple[dict[str, float], int]]:
    """``replicates`` realisations (replicates 0 .. n-1), in order, each with its count of runs
    on a base year not at rest (:func:`counted_targets`): here with one worker, else on the batch
    runner's executors (a local process pool, a given executor or a Dask cluster, each replicate
    a keyed task). ``draws``: per replicate r, overrides applied after ``overrides`` (a
    posterior's draw r: ``sim evidence --posterior``)."""
    def settings(r: int) -> list[str]:
        return [*overrides, *(draws[r] if draws else [])]

    if workers == 1 and scheduler is None and executor is None:
        return [counted_targets(targets, settings(r), seed, r, n_units)
                for r in range(replicates)]

    with open_executor(workers, scheduler, executor) as pool:
        futures = []
        for r in range(replicates):
            key = {"key": f"evidence-s{seed}-u{n_units}-r{r}{'-draw' if draws else ''}"} \
                if pool.dask else {}
            futures.append(pool.executor.submit(counted_targets, list(targets), settings(r),
                                                seed, r, n_units, **key))
        return [f.result() for f in futures]


def evidence(targets: Sequence[Target], replicates: int, seed: int, overrides: list[str],
             n_units: int | None, folder: Path | None = None, **executors) -> pd.DataFrame:
    """The scoreboard of ``targets`` (see :func:`score`) from ``replicates`` realisations; its
    ``attrs["unsettled_replicates"]`` counts realisations with a run whose base year stopped at a
    cap of its fixed points (not exactly at rest)."""
    counted = realise(targets, replicates, seed, overrides, n_units, **executors)
    folder = folder or data_folder(load_scenario(SCENARIO, overrides), SCENARIO.parent)
    frame = score(targets, [values for values, _ in counted], benchmarks(targets, folder))
    frame.attrs["unsettled_replicates"] = sum(1 for _, k in counted if k)
    return frame
