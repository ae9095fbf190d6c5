"""Out-of-sample back-test: the 2010 world run through 2019 against each city's share of GDP.

The 2010 world is built from each city's 2010 GDP in ``gdp_series_2010_2019.csv`` (structure,
population and every parameter as in the base year). It runs the pre-plan regime: homogenised
competition with only the co-construction agreements signed before 2019 (their start years from
``agreements.csv``). The one input taken from the series is the circle's total growth, the
The drivers of the decade come from the data folder (``sim.validation.history``): the circle's
real growth (Hubei's GDP at comparable prices; the money of the model has no price level), the
fall of land per unit of GDP, and the new land Wuhan released a year. Each city's share of
circle GDP is then predicted, never fitted, and compared with the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.config import load_scenario
from sim.config.loader import data_folder
from sim.config.schema import Agreement, ScenarioConfig
from sim.model import run_scenario
from sim.model.world import build_world, build_world_with_gdp
from sim.paths import SCENARIO_DIR
from sim.rules.constants import STEPS_PER_YEAR
from sim.validation.history import PeriodDrivers, base_core_stock, period_drivers

SCENARIO = SCENARIO_DIR / "homogenised.yaml"
SERIES = "gdp_series_2010_2019.csv"
AGREEMENT_DATES = "agreements.csv"
FIRST_YEAR, LAST_YEAR = 2010, 2019
QUANTILES = (0.05, 0.95)       # share_lo, share_hi across replicates
COLUMNS = ["city", "year", "share_data", "share_model", "share_lo", "share_hi"]


def read_series(folder: Path) -> pd.DataFrame:
    """Each city's GDP by year (亿元, current prices) as a city x year table."""
    path = folder / SERIES
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing data file (the back-test needs each city's GDP "
                                f"by year, columns city, year, gdp_100m_yuan)")
    series = pd.read_csv(path)
    missing = {"city", "year", "gdp_100m_yuan"} - set(series.columns)
    if missing:
        raise ValueError(f"{path}: expected the columns {sorted(missing)}")
    return series.pivot(index="city", columns="year", values="gdp_100m_yuan")


def data_shares(series: pd.DataFrame) -> pd.DataFrame:
    """Each city's share of the circle's GDP, city x year."""
    return series / series.sum(axis=0)


def start_year(agreement: Agreement, dates: pd.DataFrame) -> int | None:
    """The year a scenario agreement started: the dated row of ``agreements.csv`` of the same
    kind and host whose source names the agreement's source city (None if none is dated)."""
    rows = dates[(dates["kind"] == agreement.kind) & (dates["host"] == agreement.host)
                 & dates["source"].astype(str).str.startswith(agreement.source)]
    years = pd.to_numeric(rows["start"], errors="coerce").dropna()
    return int(years.min()) if len(years) else None


def pre_plan_config(base: ScenarioConfig, folder: Path, first: int = FIRST_YEAR,
                    last: int = LAST_YEAR) -> ScenarioConfig:
    """The scenario of the back-test: ``base`` with only the agreements signed before ``last``,
    each a new agreement (``documented``: none was in force in ``first``) offered from the
    quarter its year starts under the scenario's formation rule, their rules' switches on, for
    the years from ``first`` to ``last``."""
    dates = pd.read_csv(folder / AGREEMENT_DATES)
    kept = []
    for agreement in base.agreements:
        year = start_year(agreement, dates)
        if year is not None and year < last:
            kept.append(
                agreement.model_copy(update={"start_step": max(year - first, 0) * STEPS_PER_YEAR,
                                             "basis": "documented"})
            )
    switches = base.switches.model_copy(update={a.kind: True for a in kept})
    return base.model_copy(update={"agreements": kept, "switches": switches,
                                   "steps": (last - first) * STEPS_PER_YEAR})


def decade_drivers(scenario: Path, overrides: list[str]) -> PeriodDrivers:
    """The drivers of 2010-2019 from the scenario's data folder; Wuhan's 2010 land stock is
    back-cast from the base year's (2021) stock the scenario builds."""
    base = load_scenario(scenario, overrides)
    folder = data_folder(base, Path(scenario).parent)
    stock = base_core_stock(build_world(base, folder), base.world.utilisation_core)
    return period_drivers(folder, FIRST_YEAR, LAST_YEAR, stock)


def model_shares(config: ScenarioConfig, gdp_first: pd.Series, replicates: int, seed: int,
                 folder: Path | None = None, first: int = FIRST_YEAR) -> pd.DataFrame:
    """Statistical-GDP share of each city at the start of each year, one column per replicate
    (rows: city, year)."""
    world = build_world_with_gdp(config, gdp_first.to_dict(), folder)
    runs = {}
    for r in range(replicates):
        cities = run_scenario(config, seed=seed, replicate=r, world=world).cities
        yearly = cities[cities["step"] % STEPS_PER_YEAR == 0]
        gdp = yearly.pivot(index="step", columns="city", values="gdp_statistical")
        share = gdp.div(gdp.sum(axis=1), axis=0)
        share.index = first + share.index // STEPS_PER_YEAR
        runs[r] = share.stack()
    frame = pd.DataFrame(runs)
    frame.index.names = ["year", "city"]
    return frame.swaplevel().sort_index()


def backtest(replicates: int = 5, seed: int = 1, overrides: list[str] | None = None,
             scenario: Path = SCENARIO, last_year: int = LAST_YEAR) -> pd.DataFrame:
    """Run the back-test and return one row per city and year: the data's share, the model's
    mean share over replicates, and its 5% and 95% quantiles across replicates.

    Args:
        replicates: runs of the 2010 world (paired random streams r = 0 .. replicates-1).
        seed: root seed.
        overrides: ``key=value`` overrides of the scenario (e.g. ``world.n_units=2000``),
            applied after the decade's drivers, so they may replace them.
        scenario: the pre-plan regime's scenario file (homogenised competition).
        last_year: the year the run ends (2019; earlier for a short check). The drivers are
            those of 2010-2019 whatever the last year.
    """
    overrides = overrides or []
    drivers = decade_drivers(scenario, overrides)
    base = load_scenario(scenario, [*drivers.overrides(), *overrides])   # the user's win
    folder = data_folder(base, Path(scenario).parent)
    series = read_series(folder)
    if not FIRST_YEAR < last_year <= LAST_YEAR:
        raise ValueError(f"last year: expected {FIRST_YEAR + 1}..{LAST_YEAR} (got {last_year})")
    config = pre_plan_config(base, folder, last=last_year)
    runs = model_shares(config, series[FIRST_YEAR], replicates, seed, folder)
    observed = data_shares(series).loc[:, FIRST_YEAR:last_year].stack()
    observed.index.names = ["city", "year"]
    frame = pd.DataFrame({
        "share_data": observed,
        "share_model": runs.mean(axis=1),
        "share_lo": runs.quantile(QUANTILES[0], axis=1),
        "share_hi": runs.quantile(QUANTILES[1], axis=1),
    }).dropna().reset_index()
    order = {
        name: i for i, name in enumerate(series[FIRST_YEAR].sort_values(ascending=False).index)
    }
    frame = frame.sort_values(
        ["city", "year"], key=lambda col: col.map(order) if col.name == "city" else col
    )
    return frame[COLUMNS].reset_index(drop=True)


def share_errors(frame: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Per city: absolute error of the model's share and of persistence (the first year's data
    share held constant) in ``year`` (default the last year of the frame)."""
    year = int(frame["year"].max()) if year is None else year
    first = frame[frame["year"] == frame["year"].min()].set_index("city")["share_data"]
    at = frame[frame["year"] == year].set_index("city")
    return pd.DataFrame({"model": (at["share_model"] - at["share_data"]).abs(),
                         "persistence": (first[at.index] - at["share_data"]).abs()})


def mean_absolute_errors(frame: pd.DataFrame, year: int | None = None) -> tuple[float, float]:
    """Mean absolute error over cities of the model's and of the persistence forecast's shares."""
    errors = share_errors(frame, year)
    return float(errors["model"].mean()), float(errors["persistence"].mean())


def plot_backtest(frame: pd.DataFrame) -> Figure:
    """Data vs model share of circle GDP per city, with the band across replicates (1600x900)."""
    fig = Figure(figsize=(16, 9), dpi=100, layout="constrained")
    cities = list(dict.fromkeys(frame["city"]))
    axes = fig.subplots(3, int(np.ceil(len(cities) / 3)), squeeze=False).ravel()
    lo_q, hi_q = (int(q * 100) for q in QUANTILES)
    for ax, city in zip(axes, cities):
        part = frame[frame["city"] == city]
        ax.fill_between(part["year"], part["share_lo"], part["share_hi"], color="tab:blue",
                        alpha=0.25, label=f"model, {lo_q}-{hi_q}% of replicates")
        ax.plot(part["year"], part["share_model"], color="tab:blue", label="model, mean")
        ax.plot(part["year"], part["share_data"], color="black", marker="o", ms=3, label="data")
        ax.set_title(city)
        ax.set_ylabel("share of circle GDP")
    for ax in axes[len(cities):]:
        ax.set_visible(False)
    axes[0].legend(loc="best", fontsize=8)
    model, persistence = mean_absolute_errors(frame)
    fig.suptitle(f"Back-test {int(frame['year'].min())}-{int(frame['year'].max())}: mean absolute "
                 f"error of last-year shares, model {model:.4f}, persistence {persistence:.4f}")
    return fig
