"""Tables about agreements and enclaves from a run's or a batch's stored tables.

Every function takes DataFrames (the ``cities``, ``parks``, ``circle`` and ``agreements`` tables,
with the batch's ``scenario``/``replicate`` and swept-key columns when there are some) and returns
a DataFrame; nothing is run here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from sim.analysis import i18n
from sim.analysis.plots import plot_enclave_share, series_label
from sim.analysis.stats import sweep_columns

ID = ["scenario", "replicate"]
#: circle columns of output leaving Wuhan: relocated units, Wuhan investors' new ring projects
MOVED = ("relocated_out_of_wuhan_cum", "wuhan_investment_in_ring_cum")


def _ids(frame: pd.DataFrame, extra=()) -> list[str]:
    return [c for c in [*ID, *extra] if c in frame.columns]


def core_origin_shares(cities: pd.DataFrame, keys=()) -> pd.DataFrame:
    """Share of each city's new investment (output of arrivals, over the whole run) that comes
    from Wuhan-origin investors; one row per (scenario, swept keys, city), pooled over
    replicates."""
    by = _ids(cities, keys)
    by = [c for c in by if c != "replicate"] + ["city"]
    sums = cities.groupby(by, dropna=False)[["new_investment", "new_investment_from_wuhan"]].sum()
    sums["core_origin_share"] = sums.new_investment_from_wuhan / sums.new_investment.where(
        sums.new_investment > 0)
    return sums.reset_index()


ORIGIN_TEXT = {
    "heading": ("Wuhan-origin share of new investment", "新增投资中武汉资本的比重"),
    "intro": ("For each city, the share of the value added of all new projects it received over "
              "the run (pooled over replicates) whose investors come from Wuhan "
              "(融资在武汉、投资在城市圈).",
              "各城市在整个模拟期内(合并各次重复实验)新增项目增加值中来自武汉投资者的比重"
              "(融资在武汉、投资在城市圈)。"),
}


def origin_table(cities: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Scenario (and sweep point) x city table of the Wuhan-origin share of new investment."""
    keys = [k for k in sweep_columns(cities, "cities") if cities[k].notna().any()]
    shares = core_origin_shares(cities, keys)
    shares["label"] = [series_label(row["scenario"], keys, [row[k] for k in keys], lang)
                       for _, row in shares.iterrows()]
    table = shares.pivot_table(index="label", columns="city", values="core_origin_share",
                               aggfunc="first", sort=False)
    table = table[i18n.city_order(table.columns)]
    table = (table.map(lambda x: "" if pd.isna(x) else f"{100 * x:.1f}%")
             .rename(columns=lambda c: i18n.city_label(c, lang)))
    table.index.name, table.columns.name = None, None
    return table


def origin_blocks(cities: pd.DataFrame, lang: str = "en") -> list:
    """The report's section on who invests where: heading, method, the table (none without
    new-investment columns)."""
    if cities.empty or "new_investment_from_wuhan" not in cities.columns:
        return []
    pick = 1 if lang == "zh" else 0
    return [("h2", ORIGIN_TEXT["heading"][pick]), ("p", ORIGIN_TEXT["intro"][pick]),
            ("table", origin_table(cities, lang))]


def enclave_share_table(circle: pd.DataFrame, cities: pd.DataFrame, parks: pd.DataFrame,
                        agreements: pd.DataFrame, share_key: str,
                        source: str = "Wuhan") -> pd.DataFrame:
    """Last-step outcomes against the source's enclave share (a swept key): enclave output,
    output relocated out of Wuhan and Wuhan investors' new output in the ring (cumulative), and
    the source's and the enclave hosts' credited GDP and fiscal balance, as mean and 95% interval
    over replicates.

    Hosts are the cities named as hosts of the source's enclave offers in ``agreements``.
    """
    hosts = sorted(set(agreements[(agreements.kind == "enclave")
                                  & (agreements.source == source)].host))
    def last(f: pd.DataFrame) -> pd.DataFrame:
        return f[f.step == f.groupby("run").step.transform("max")]
    c, ci, pk = last(circle), last(cities), last(parks)
    moved = [m for m in MOVED if m in c.columns]
    per_run = c.set_index("run")[[share_key, *moved]]
    per_run["enclave_output"] = pk[pk.kind == "enclave"].groupby("run").output.sum()
    for who, names in (("source", [source]), ("hosts", hosts)):
        rows = ci[ci.city.isin(names)].groupby("run")[["gdp_credited", "fiscal_balance"]].sum()
        per_run[f"{who}_gdp_credited"] = rows.gdp_credited
        per_run[f"{who}_fiscal_balance"] = rows.fiscal_balance
    long = per_run.reset_index().melt(id_vars=["run", share_key], var_name="metric")
    long["value"] = long["value"].fillna(0.0)
    return long.groupby([share_key, "metric"]).value.apply(_mean_ci).unstack().reset_index()


def _mean_ci(values: pd.Series) -> pd.Series:
    x = values.to_numpy(float)
    mean = x.mean()
    half = (st.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.nan
    return pd.Series({"n": len(x), "mean": mean, "ci_low": mean - half, "ci_high": mean + half})


#: The swept key of the enclave share sweep (scenarios/sweep_enclave_share.yaml).
SHARE_KEY = "policies.enclave.gdp_share_source"


def share_sweep_figures(batch, lang: str = "en") -> list:
    """``(name, Figure)`` of the enclave share figure for each scenario of a stored batch that
    sweeps the source's share; none when no scenario does or no agreements were recorded."""
    circle = batch.circle
    if SHARE_KEY not in circle.columns or batch.agreements.empty:
        return []
    figures = []
    for scenario in sorted(circle.loc[circle[SHARE_KEY].notna(), "scenario"].unique()):
        runs = set(circle.loc[circle["scenario"] == scenario, "run"])
        tables = [frame[frame["run"].isin(runs)]
                  for frame in (circle, batch.cities, batch.parks, batch.agreements)]
        table = enclave_share_table(*tables, share_key=SHARE_KEY)
        figures.append((f"sweep_enclave_share_{scenario}",
                        plot_enclave_share(table, SHARE_KEY, lang)))
    return figures
