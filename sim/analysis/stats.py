"""Statistics on stored tables: levels with t-intervals, paired differences against a baseline.

Pure functions on DataFrames shaped like ``sim.experiments.store.load_results(DIR)`` tables:
each has ``run``, ``scenario``, ``replicate``, one column per swept dotted key, and the columns
declared in :data:`sim.model.tables.TABLES`. Replicate r of every scenario shares its random
draws (common random numbers), so scenario differences are paired by replicate. A step is a
quarter; money columns are annual rates in 100 million yuan, so a discounted total is
``Σ v_t/4 · (1+r)^(−t/4)``.

One interval and one test, which agree: a paired difference gets the Student-t interval
``mean ± t_(n−1, 0.975) · sd/√n`` and the two-sided one-sample t-test of the differences
(``scipy.stats.ttest_1samp``, the same as the paired ``ttest_rel``) on the same n − 1 degrees of
freedom, so the 95% interval excludes 0 exactly when p < 0.05.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from sim.analysis import i18n, registry
from sim.model.tables import TABLES
from sim.rules.constants import SAME_RESULT_RTOL, SEGMENTS, TOLERANCE
from sim.rules.metrics import discounted_total, location_quotients

#: City measures compared against the baseline: physical and credited GDP, tax minus subsidies.
CITY_MEASURES: tuple[str, ...] = tuple(m.code for m in registry.CITY)
ID_COLUMNS: tuple[str, ...] = ("run", "scenario", "replicate")
LEVEL = 0.95
ALPHA = 1 - LEVEL
#: Fewer replicates than this and the report warns that intervals are wide and fragile.
MIN_REPLICATES = 10
VERDICTS = ("higher", "lower", "not_distinct", "identical", "cannot_judge")


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


def paired_t(diff: np.ndarray, level: float = LEVEL) -> dict:
    """The paired t interval and t-test of differences, and the verdict they share.

    Returns ``n``, ``mean``, ``sd``, ``ci_low``, ``ci_high``, ``effect_size_dz`` (mean / sd),
    ``p_ttest`` and ``verdict``: ``higher`` / ``lower`` when the interval lies above / below 0
    (equivalently p < 1 − level), ``not_distinct`` otherwise, ``identical`` when every difference
    is 0, ``cannot_judge`` with fewer than two differences (no interval, no test). Degenerate
    case: differences all equal and non-zero have a zero-width interval and p = 0.
    """
    x = np.asarray(diff, dtype=float)
    x = x[~np.isnan(x)]
    mean, low, high = t_interval(x, level)
    sd = float(x.std(ddof=1)) if x.size > 1 else np.nan
    p = np.nan
    if x.size > 1 and sd > 0:
        p = float(sps.ttest_1samp(x, 0.0).pvalue)
    elif x.size > 1:
        p = 1.0 if mean == 0 else 0.0
    if x.size and np.all(x == 0):
        verdict = "identical"
    elif x.size < 2:
        verdict = "cannot_judge"
    elif p < 1 - level:
        verdict = "higher" if mean > 0 else "lower"
    else:
        verdict = "not_distinct"
    return {"n": int(x.size), "mean": mean, "sd": sd, "ci_low": low, "ci_high": high,
            "effect_size_dz": mean / sd if x.size > 1 and sd > 0 else np.nan, "p_ttest": p,
            "verdict": verdict}


def last_step(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows at each run's last recorded step."""
    last = frame.groupby("run", observed=True)["step"].transform("max")
    return frame[frame["step"] == last]


def run_values(
    circle: pd.DataFrame, metrics: tuple[str, ...] | None = None, rate: float = 0.05
) -> pd.DataFrame:
    """One value per run, measure and metric, in long form.

    Measures: ``last`` (the metric at the run's last step) for every metric, and ``discounted``
    (present value at the annual rate ``rate`` of the quarterly series) for money flows.
    """
    metrics = registry.present(circle.columns) if metrics is None else metrics
    keys = list(ID_COLUMNS) + sweep_columns(circle)
    last = last_step(circle).melt(id_vars=keys, value_vars=list(metrics), var_name="metric")
    last["measure"] = "last"
    flows = [m for m in metrics if registry.get(m).flow]
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


def over_time(circle: pd.DataFrame, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Mean and 95% t-interval of each metric per scenario, sweep point and step."""
    metrics = registry.present(circle.columns) if metrics is None else metrics
    keys = list(ID_COLUMNS) + sweep_columns(circle)
    long = circle.melt(id_vars=keys + ["step"], value_vars=list(metrics), var_name="metric")
    by = ["scenario", *sweep_columns(circle), "metric", "step"]
    return describe_levels(long, by)


def _pair_keys(base: pd.DataFrame, sweep: list[str], keys: list[str]) -> list[str]:
    """Pair on replicate, plus the sweep columns along which the baseline itself is swept."""
    return keys + ["replicate"] + [c for c in sweep if base[c].notna().any()]


def paired(values: pd.DataFrame, baseline: str, keys: list[str]) -> pd.DataFrame:
    """Rows of every non-baseline scenario with ``diff = value − baseline value``, by replicate
    (0 where the two agree up to rounding, :func:`rounded_difference`).

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
    return merged.assign(diff=rounded_difference(merged["value"], merged["baseline_value"]))


#: Differences within this relative (and absolute) tolerance are rounding, not effects: two runs
#: that add the same numbers in another order (an agreement offered and declined) differ by
#: about 1e-13 of the values.
RTOL, ATOL = SAME_RESULT_RTOL, TOLERANCE


def rounded_difference(value: pd.Series, baseline: pd.Series) -> pd.Series:
    """``value − baseline``, set to 0 where the two agree within :data:`RTOL` / :data:`ATOL`."""
    a, b = value.to_numpy(dtype=float), baseline.to_numpy(dtype=float)
    same = np.isclose(a, b, rtol=RTOL, atol=ATOL)
    return pd.Series(np.where(same, 0.0, a - b), index=value.index)


def differences(per_run: pd.DataFrame, baseline: str, n_boot: int | None = None) -> pd.DataFrame:
    """Paired differences of every scenario against ``baseline`` per sweep point and metric.

    Columns of :func:`paired_t` (``mean`` is the mean of scenario − baseline by replicate).
    ``n_boot`` is accepted for old callers and ignored (intervals are t-intervals).
    """
    pairs = paired(per_run, baseline, ["measure", "metric"])
    sweep = [c for c in per_run.columns if c not in (*ID_COLUMNS, "metric", "measure", "value")]
    return _paired_rows(pairs, ["scenario", *sweep, "measure", "metric"], baseline)


def _paired_rows(pairs: pd.DataFrame, by: list[str], baseline: str) -> pd.DataFrame:
    """:func:`paired_t` of ``diff`` within each group of ``by``."""
    rows = [{**dict(zip(by, key if isinstance(key, tuple) else (key,))), "baseline": baseline,
             **paired_t(group["diff"].to_numpy(dtype=float))}
            for key, group in pairs.groupby(by, dropna=False, sort=True)]
    return pd.DataFrame(rows, columns=[*by, "baseline", "n", "mean", "sd", "ci_low", "ci_high",
                                       "effect_size_dz", "p_ttest", "verdict"])


def ablation_pairs(names) -> list[tuple[str, str, str, str]]:
    """One-at-a-time ablations in a batch: ``(scenario, parent, switch, kind)``.

    ``parent_without_switch`` is a ``removed`` ablation, ``parent_with_switch`` an ``added``
    one; either counts only when its parent scenario is in the batch too.
    """
    names = set(names)
    found = []
    for name in sorted(names):
        for joiner, kind in (("_without_", "removed"), ("_with_", "added")):
            parent, _, switch = name.partition(joiner)
            if switch and parent in names:
                found.append((name, parent, switch, kind))
                break
    return found


def ablation_effects(per_run: pd.DataFrame) -> pd.DataFrame:
    """What each switch does on its own, paired by replicate, at unswept points.

    For a ``removed`` ablation the effect of the switch is parent − ablation (what the switch
    adds to the full regime); for an ``added`` one it is ablation − parent (what the switch adds
    alone). Columns: ``scenario``, ``parent``, ``switch``, ``kind``, ``measure``, ``metric`` and
    those of :func:`paired_t`.
    """
    sweep = [c for c in per_run.columns if c not in (*ID_COLUMNS, "metric", "measure", "value")]
    values = per_run[per_run[sweep].isna().all(axis=1)] if sweep else per_run
    values = values.drop(columns=sweep)
    frames = []
    for scenario, parent, switch, kind in ablation_pairs(values["scenario"].unique()):
        pair = values[values["scenario"].isin([scenario, parent])]
        rows = paired(pair, parent, ["measure", "metric"])
        sign = -1.0 if kind == "removed" else 1.0
        rows = rows.assign(diff=sign * rows["diff"])
        table = _paired_rows(rows, ["scenario", "measure", "metric"], parent)
        frames.append(table.rename(columns={"baseline": "parent"}).assign(switch=switch, kind=kind))
    if not frames:
        return pd.DataFrame(columns=["scenario", "parent", "switch", "kind", "measure", "metric",
                                     "n", "mean", "sd", "ci_low", "ci_high", "effect_size_dz",
                                     "p_ttest", "verdict"])
    table = pd.concat(frames, ignore_index=True)
    first = ["scenario", "parent", "switch", "kind", "measure", "metric"]
    return table[first + [c for c in table.columns if c not in first]]


def city_values(cities: pd.DataFrame) -> pd.DataFrame:
    """Each city's last-step physical GDP, credited GDP and tax minus subsidies, long form."""
    keys = list(ID_COLUMNS) + sweep_columns(cities, "cities") + ["city"]
    last = last_step(cities)
    if {"tax_revenue", "subsidy_spent"} <= set(last.columns):
        last = last.assign(fiscal_net=last["tax_revenue"] - last["subsidy_spent"])
    measures = registry.present(last.columns, registry.CITY)
    return last.melt(id_vars=keys, value_vars=list(measures), var_name="metric")


def city_gains(cities: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each city's gain (+) or loss (−) against the baseline, paired by replicate.

    Per scenario, sweep point, city and measure: the columns of :func:`paired_t`.
    """
    values = city_values(cities)
    pairs = paired(values, baseline, ["city", "metric"])
    sweep = sweep_columns(cities, "cities")
    return _paired_rows(pairs, ["scenario", *sweep, "city", "metric"], baseline)


def investment_matrix(sectors: pd.DataFrame, scenario: str, measure: str = "lq") -> pd.DataFrame:
    """City x sector matrix at the last step, mean over the scenario's runs, segments summed.

    ``measure``: ``lq`` location quotients, or ``share`` each city's output share by sector.
    """
    rows = sectors.loc[sectors["scenario"] == scenario, ["run", "step", "city", "sector", "output"]]
    if rows.empty:
        raise ValueError(f"no sectors rows for scenario {scenario!r}")
    rows = last_step(rows)
    total = rows.pivot_table(index="city", columns="sector", values="output", aggfunc="sum",
                             fill_value=0.0, observed=True) / rows["run"].nunique()
    total = total.reindex(index=i18n.city_order(total.index),
                          columns=i18n.sector_order(total.columns))
    if measure == "lq":
        values = location_quotients(total.to_numpy())
    elif measure == "share":
        values = total.div(total.sum(axis=1).replace(0, np.nan), axis=0).fillna(0).to_numpy()
    else:
        raise ValueError(f"measure must be 'lq' or 'share', got {measure!r}")
    return pd.DataFrame(values, index=total.index, columns=total.columns)


def map_matrix(investment_map: pd.DataFrame, scenario: str, n_runs: int) -> pd.DataFrame:
    """The coordinator's map at each run's last step: city x (sector, segment) share of the
    scenario's ``n_runs`` runs in which the city is assigned that sector-segment.

    Only sector-segments assigned somewhere are columns (sectors, then segments, in data order).
    """
    rows = investment_map[investment_map["scenario"] == scenario]
    if rows.empty:
        raise ValueError(f"no investment_map rows for scenario {scenario!r}")
    rows = last_step(rows)
    counts = rows.groupby(["city", "sector", "segment"], observed=True).size().rename("n")
    counts = counts.reset_index()
    share = counts.pivot_table(index="city", columns=["sector", "segment"], values="n",
                               fill_value=0.0, observed=True) / max(1, n_runs)
    segments = list(pd.unique(investment_map["segment"]))
    order = {s: i for i, s in enumerate(SEGMENTS)}
    sectors = i18n.sector_order(share.columns.get_level_values(0))
    columns = sorted(
        share.columns,
        key=lambda c: (sectors.index(c[0]), order.get(c[1], len(order) + segments.index(c[1]))),
    )
    return share.reindex(index=i18n.city_order(share.index), columns=columns).fillna(0.0)


def arrivals_matrix(transfers: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """Location quotients of output placed over the horizon (every channel but ``exit``).

    Rows cities (where units went), columns sectors; shows where new and moved projects land,
    so duplicated targeting shows even while the base-year stock dominates output.
    """
    placed = ((transfers["scenario"] == scenario) & (transfers["channel"] != "exit")
              & transfers["to_city"].notna())
    rows = transfers.loc[placed, ["to_city", "sector", "output"]]   # not a copy of every column
    if rows.empty:
        raise ValueError(f"no placements in transfers for scenario {scenario!r}")
    total = rows.pivot_table(index="to_city", columns="sector", values="output", aggfunc="sum",
                             fill_value=0.0, observed=True)
    total = total.reindex(index=i18n.city_order(total.index),
                          columns=i18n.sector_order(total.columns), fill_value=0.0)
    return pd.DataFrame(location_quotients(total.to_numpy()), index=total.index,
                        columns=total.columns)


def moved_out_of_wuhan(transfers: pd.DataFrame, scenario: str,
                       n_runs: int | None = None) -> pd.DataFrame:
    """Output moved from Wuhan to each ring city by channel, summed over steps, mean per run.

    ``n_runs``: the scenario's number of runs (default: runs with any transfer row).
    """
    moved = ((transfers["scenario"] == scenario) & (transfers["from_city"] == "Wuhan")
             & (transfers["to_city"] != "Wuhan") & (transfers["channel"] != "exit")
             & transfers["to_city"].notna())
    rows = transfers.loc[moved, ["to_city", "channel", "output"]]
    if n_runs is None:
        n_runs = transfers.loc[transfers["scenario"] == scenario, "run"].nunique()
    moved = rows.groupby(["to_city", "channel"], as_index=False, observed=True)["output"].sum()
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
    ablations: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    @property
    def replicates(self) -> int:
        """The smallest number of paired replicates behind any difference (0 if none)."""
        counts = self.differences["n"] if len(self.differences) else self.levels["n"]
        return int(counts.min()) if len(counts) else 0

    def table(self) -> pd.DataFrame:
        """One long table (``summary.csv``): a ``section`` column names the part."""
        parts = {"level": self.levels, "difference": self.differences,
                 "city_gain": self.city_gains, "city_level": self.city_levels,
                 "ablation": self.ablations}
        frames = [frame.assign(section=name) for name, frame in parts.items() if len(frame)]
        table = pd.concat(frames, ignore_index=True)
        first = ["section", "scenario", "measure", "metric", "city", "baseline"]
        first = [c for c in first if c in table.columns]
        return table[first + [c for c in table.columns if c not in first]]


def summarise(batch, baseline: str = "homogenised", rate: float = 0.05,
              n_boot: int | None = None, seed: int | None = None) -> Summary:
    """All statistics of a batch (an object with ``.circle`` and ``.cities`` DataFrames).

    ``n_boot`` and ``seed`` are accepted for old callers and ignored: every interval is a
    t-interval, which needs no resampling.
    """
    if n_boot is not None or seed is not None:
        warnings.warn("summarise(): n_boot and seed are ignored; intervals are paired "
                      "t-intervals", DeprecationWarning, stacklevel=2)
    per_run = run_values(batch.circle, None, rate)
    city = city_values(batch.cities)
    sweep = sweep_columns(batch.cities, "cities")
    return Summary(
        baseline=baseline,
        levels=levels(per_run),
        differences=differences(per_run, baseline),
        city_gains=city_gains(batch.cities, baseline),
        city_levels=describe_levels(city, ["scenario", *sweep, "city", "metric"]),
        over_time=over_time(batch.circle),
        ablations=ablation_effects(per_run),
    )
