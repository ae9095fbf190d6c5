"""Statistics on stored tables: levels with t-intervals, paired differences against a baseline.

Pure functions on DataFrames shaped like ``sim.experiments.store.load_results(DIR)`` tables: each has
``run``, ``scenario``, ``replicate``, one column per swept dotted key, and the columns declared in
:data:`sim.model.tables.TABLES`. Replicate r of every scenario shares its random draws (common random
numbers), so scenario differences are paired by replicate. A step is a quarter; money columns
are annual rates in 100 million yuan, so a discounted total is ``Σ v_t/4 · (1+r)^(−t/4)``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from sim.analysis import i18n
from sim.rules.metrics import discounted_total, location_quotients
from sim.model.tables import TABLES

HEADLINE_METRICS: tuple[str, ...] = (
    "similarity_ring_mean", "specialisation_mean", "wuhan_share", "theil", "subsidy_total",
    "tax_total", "distance_cost_total", "welfare", "welfare_national", "idle_land_share",
    "relocated_out_of_wuhan_cum", "wuhan_investment_in_ring_cum",
    "gdp_total",
)
#: Headline metrics that are annual money flows, so a discounted total over the horizon means
#: something (shares and indices are not summed over time).
FLOW_METRICS: tuple[str, ...] = (
    "subsidy_total", "tax_total", "distance_cost_total", "welfare", "welfare_national", "gdp_total")
#: City measures compared against the baseline: physical and credited GDP, tax minus subsidies.
CITY_MEASURES: tuple[str, ...] = ("gdp_physical", "gdp_credited", "fiscal_net")
ID_COLUMNS: tuple[str, ...] = ("run", "scenario", "replicate")
LEVEL = 0.95


def sweep_columns(frame: pd.DataFrame, table: str = "circle") -> list[str]:
    """Columns of a stored table that are swept dotted keys (neither ids nor the table's own)."""
    own = set(TABLES[table]) | set(ID_COLUMNS)
    return [column for column in frame.columns if column not in own]


def t_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval ``mean ± t_(n−1) · sd / √n`` (nan ends if n < 2)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, np.nan, np.nan
    half = sps.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return mean, float(mean - half), float(mean + half)


def bootstrap_interval(
    values: np.ndarray, rng: np.random.Generator, n_boot: int = 2000, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling the values with replacement)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return np.nan, np.nan
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def last_step(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows at each run's last recorded step."""
    last = frame.groupby("run")["step"].transform("max")
    return frame[frame["step"] == last]


def run_values(
    circle: pd.DataFrame, metrics: tuple[str, ...] = HEADLINE_METRICS, rate: float = 0.05
) -> pd.DataFrame:
    """One value per run, measure and metric, in long form.

    Measures: ``last`` (the metric at the run's last step) for every metric, and ``discounted``
    (present value at the annual rate ``rate`` of the quarterly series) for money flows.
    """
    keys = list(ID_COLUMNS) + sweep_columns(circle)
    last = last_step(circle).melt(id_vars=keys, value_vars=list(metrics), var_name="metric")
    last["measure"] = "last"
    flows = [m for m in metrics if m in FLOW_METRICS]
    ordered = circle.sort_values(["run", "step"])
    pieces = []
    for metric in flows:
        values = ordered.groupby(keys, dropna=False)[metric].apply(
            lambda v: discounted_total(v.to_numpy(), rate))
        pieces.append(values.rename("value").reset_index().assign(metric=metric))
    discounted = pd.concat(pieces) if pieces else last.iloc[:0]
    discounted["measure"] = "discounted"
    return pd.concat([last, discounted], ignore_index=True)


def describe_levels(values: pd.DataFrame, by: list[str], level: float = LEVEL) -> pd.DataFrame:
    """Mean, sd and t-interval ``mean ± t_(n−1) · sd / √n`` of ``value`` within each group."""
    table = values.groupby(by, dropna=False, sort=True)["value"].agg(
        n="count", mean="mean", sd="std").reset_index()
    n = table["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = sps.t.ppf(0.5 + level / 2, n - 1) * table["sd"].to_numpy() / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return table.assign(ci_low=table["mean"] - half, ci_high=table["mean"] + half)


def levels(per_run: pd.DataFrame) -> pd.DataFrame:
    """Levels per scenario, sweep point, measure and metric (from :func:`run_values`)."""
    sweep = [c for c in per_run.columns if c not in (*ID_COLUMNS, "metric", "measure", "value")]
    return describe_levels(per_run, ["scenario", *sweep, "measure", "metric"])


def over_time(circle: pd.DataFrame, metrics: tuple[str, ...] = HEADLINE_METRICS) -> pd.DataFrame:
    """Mean and 95% t-interval of each metric per scenario, sweep point and step."""
    keys = list(ID_COLUMNS) + sweep_columns(circle)
    long = circle.melt(id_vars=keys + ["step"], value_vars=list(metrics), var_name="metric")
    by = ["scenario", *sweep_columns(circle), "metric", "step"]
    return describe_levels(long, by)


def _pair_keys(base: pd.DataFrame, sweep: list[str], keys: list[str]) -> list[str]:
    """Pair on replicate, plus the sweep columns along which the baseline itself is swept."""
    return keys + ["replicate"] + [c for c in sweep if base[c].notna().any()]


def paired(values: pd.DataFrame, baseline: str, keys: list[str]) -> pd.DataFrame:
    """Rows of every non-baseline scenario with ``diff = value − baseline value``, by replicate.

    Raises:
        ValueError: the baseline scenario is not in the batch.
    """
    scenarios = sorted(values["scenario"].unique())
    if baseline not in scenarios:
        raise ValueError(f"baseline scenario {baseline!r} is not in the batch; it has {scenarios}")
    sweep = [c for c in values.columns if c not in (*ID_COLUMNS, *keys, "value")]
    base = values[values["scenario"] == baseline]
    on = _pair_keys(base, sweep, keys)
    base = base[on + ["value"]].rename(columns={"value": "baseline_value"})
    others = values[values["scenario"] != baseline]
    merged = others.merge(base, on=on, how="inner", validate="many_to_one")
    return merged.assign(diff=merged["value"] - merged["baseline_value"])


def _difference_stats(diff: np.ndarray, rng: np.random.Generator, n_boot: int) -> dict:
    """Mean difference, bootstrap interval, d_z, paired t-test and Wilcoxon p-values."""
    diff = diff[~np.isnan(diff)]
    sd = float(diff.std(ddof=1)) if diff.size > 1 else np.nan
    low, high = bootstrap_interval(diff, rng, n_boot)
    out = {"n": diff.size, "mean": float(diff.mean()) if diff.size else np.nan, "sd": sd,
           "ci_low": low, "ci_high": high, "effect_size_dz": np.nan, "p_ttest": np.nan,
           "p_wilcoxon": np.nan}
    if diff.size > 1 and sd > 0:
        out["effect_size_dz"] = out["mean"] / sd
        out["p_ttest"] = float(sps.ttest_1samp(diff, 0.0).pvalue)
    if np.count_nonzero(diff) >= 6:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["p_wilcoxon"] = float(sps.wilcoxon(diff).pvalue)
    return out


def differences(
    per_run: pd.DataFrame, baseline: str, n_boot: int = 2000, seed: int = 12345
) -> pd.DataFrame:
    """Paired differences of every scenario against ``baseline`` per sweep point and metric.

    ``mean`` is the mean paired difference (scenario − baseline), ``ci_low``/``ci_high`` its
    bootstrap percentile interval (seeded), ``effect_size_dz`` Cohen's d_z = mean / sd of the
    differences, ``p_ttest`` the paired t-test (equal to ``scipy.stats.ttest_rel``) and
    ``p_wilcoxon`` the signed-rank test when at least six differences are non-zero.
    """
    pairs = paired(per_run, baseline, ["measure", "metric"])
    sweep = [c for c in per_run.columns if c not in (*ID_COLUMNS, "metric", "measure", "value")]
    by = ["scenario", *sweep, "measure", "metric"]
    rng = np.random.default_rng(seed)
    rows = []
    for key, group in pairs.groupby(by, dropna=False, sort=True):
        row = dict(zip(by, key))
        row.update(_difference_stats(group["diff"].to_numpy(dtype=float), rng, n_boot))
        row["baseline"] = baseline
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "baseline", "n", "mean", "sd", "ci_low", "ci_high",
                                       "effect_size_dz", "p_ttest", "p_wilcoxon"])


def city_values(cities: pd.DataFrame) -> pd.DataFrame:
    """Each city's last-step physical GDP, credited GDP and tax minus subsidies, long form."""
    keys = list(ID_COLUMNS) + sweep_columns(cities, "cities") + ["city"]
    last = last_step(cities).assign(
        fiscal_net=lambda f: f["tax_revenue"] - f["subsidy_spent"])
    return last.melt(id_vars=keys, value_vars=list(CITY_MEASURES), var_name="metric")


def city_gains(cities: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each city's gain (+) or loss (−) against the baseline, paired by replicate.

    Returns per scenario, sweep point, city and measure the mean difference with its 95%
    t-interval and paired t-test p-value.
    """
    values = city_values(cities)
    pairs = paired(values, baseline, ["city", "metric"])
    sweep = sweep_columns(cities, "cities")
    by = ["scenario", *sweep, "city", "metric"]
    rows = []
    for key, group in pairs.groupby(by, dropna=False, sort=True):
        diff = group["diff"].to_numpy(dtype=float)
        mean, low, high = t_interval(diff)
        sd = float(diff.std(ddof=1)) if diff.size > 1 else np.nan
        p = float(sps.ttest_1samp(diff, 0.0).pvalue) if diff.size > 1 and sd > 0 else np.nan
        rows.append({**dict(zip(by, key)), "baseline": baseline, "n": diff.size, "mean": mean,
                     "sd": sd, "ci_low": low, "ci_high": high, "p_ttest": p})
    return pd.DataFrame(rows)


def investment_matrix(sectors: pd.DataFrame, scenario: str, measure: str = "lq") -> pd.DataFrame:
    """City x sector matrix at the last step, mean over the scenario's runs, segments summed.

    ``measure``: ``lq`` location quotients, or ``share`` each city's output share by sector.
    """
    rows = sectors[sectors["scenario"] == scenario]
    if rows.empty:
        raise ValueError(f"no sectors rows for scenario {scenario!r}")
    rows = rows[rows["step"] == rows.groupby("run")["step"].transform("max")]
    total = rows.pivot_table(index="city", columns="sector", values="output", aggfunc="sum",
                             fill_value=0.0) / rows["run"].nunique()
    total = total.reindex(index=i18n.city_order(total.index),
                          columns=i18n.sector_order(total.columns))
    if measure == "lq":
        values = location_quotients(total.to_numpy())
    elif measure == "share":
        values = total.div(total.sum(axis=1).replace(0, np.nan), axis=0).fillna(0).to_numpy()
    else:
        raise ValueError(f"measure must be 'lq' or 'share', got {measure!r}")
    return pd.DataFrame(values, index=total.index, columns=total.columns)


def arrivals_matrix(transfers: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """Location quotients of output placed over the horizon (every channel but ``exit``).

    Rows cities (where units went), columns sectors; shows where new and moved projects land,
    so duplicated targeting shows even while the base-year stock dominates output.
    """
    rows = transfers[(transfers["scenario"] == scenario) & (transfers["channel"] != "exit")]
    rows = rows[rows["to_city"].notna()]
    if rows.empty:
        raise ValueError(f"no placements in transfers for scenario {scenario!r}")
    total = rows.pivot_table(index="to_city", columns="sector", values="output", aggfunc="sum",
                             fill_value=0.0)
    total = total.reindex(index=i18n.city_order(total.index),
                          columns=i18n.sector_order(total.columns), fill_value=0.0)
    return pd.DataFrame(location_quotients(total.to_numpy()), index=total.index,
                        columns=total.columns)


def moved_out_of_wuhan(transfers: pd.DataFrame, scenario: str,
                       n_runs: int | None = None) -> pd.DataFrame:
    """Output moved from Wuhan to each ring city by channel, summed over steps, mean per run.

    ``n_runs``: the scenario's number of runs (default: runs with any transfer row).
    """
    rows = transfers[(transfers["scenario"] == scenario) & (transfers["from_city"] == "Wuhan")
                     & (transfers["to_city"] != "Wuhan") & (transfers["channel"] != "exit")]
    rows = rows[rows["to_city"].notna()]
    if n_runs is None:
        n_runs = transfers.loc[transfers["scenario"] == scenario, "run"].nunique()
    moved = rows.groupby(["to_city", "channel"], as_index=False)["output"].sum()
    return moved.assign(output=moved["output"] / max(1, n_runs))


@dataclasses.dataclass
class Summary:
    """Everything the figures and the report need, computed once from a batch."""

    baseline: str
    levels: pd.DataFrame
    differences: pd.DataFrame
    city_gains: pd.DataFrame
    city_levels: pd.DataFrame
    over_time: pd.DataFrame

    def table(self) -> pd.DataFrame:
        """One long table (``summary.csv``): a ``section`` column names the part."""
        parts = {"level": self.levels, "difference": self.differences,
                 "city_gain": self.city_gains, "city_level": self.city_levels}
        frames = [frame.assign(section=name) for name, frame in parts.items() if len(frame)]
        table = pd.concat(frames, ignore_index=True)
        first = ["section", "scenario", "measure", "metric", "city", "baseline"]
        first = [c for c in first if c in table.columns]
        return table[first + [c for c in table.columns if c not in first]]


def summarise(batch, baseline: str = "homogenised", rate: float = 0.05, n_boot: int = 2000,
              seed: int = 12345) -> Summary:
    """All statistics of a batch (an object with ``.circle`` and ``.cities`` DataFrames)."""
    per_run = run_values(batch.circle, HEADLINE_METRICS, rate)
    city = city_values(batch.cities)
    sweep = sweep_columns(batch.cities, "cities")
    return Summary(
        baseline=baseline,
        levels=levels(per_run),
        differences=differences(per_run, baseline, n_boot, seed),
        city_gains=city_gains(batch.cities, baseline),
        city_levels=describe_levels(city, ["scenario", *sweep, "city", "metric"]),
        over_time=over_time(batch.circle),
    )


def write_summary(summary: Summary, out_dir: str | os.PathLike) -> Path:
    """Write ``summary.csv`` (one long table) and ``summary.xlsx`` (one sheet per part)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "summary.csv"
    summary.table().to_csv(path, index=False)
    with pd.ExcelWriter(out / "summary.xlsx", engine="openpyxl") as writer:
        summary.levels.to_excel(writer, sheet_name="levels", index=False)
        summary.differences.to_excel(writer, sheet_name="differences", index=False)
        summary.city_gains.to_excel(writer, sheet_name="city_gains", index=False)
        summary.city_levels.to_excel(writer, sheet_name="city_levels", index=False)
        summary.over_time.to_excel(writer, sheet_name="over_time", index=False)
    return path
