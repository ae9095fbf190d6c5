"""Who gains, who pays: each city's credited GDP and fiscal balance against the baseline.

A city whose credited GDP (what its officials are reviewed on) and fiscal balance (its budget,
from the ``fiscal`` table) both fall under a scenario has no reason of its own to keep to it: the
report flags it as a likely defector, but only where the 95% intervals of both changes lie
wholly below zero (a mean below zero whose interval crosses it is noise, not a reason).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import i18n, stats
from sim.analysis.plots import _grid

MEASURES: tuple[str, ...] = ("gdp_credited", "balance")
COLOURS = {"gdp_credited": "#dd8452", "balance": "#55a868"}
TEXT: dict[str, tuple[str, str]] = {
    "heading": ("Who gains, who pays", "谁受益，谁付钱"),
    "intro": ("Each city's credited GDP and fiscal balance at the last step against the baseline "
              "(paired by replicate, mean and 95% t-interval, 100m yuan a year), with the "
              "compensation it pays or receives as a share of its tax revenue. A city is flagged "
              "as a likely defector only where the 95% intervals of both its credited GDP and "
              "its fiscal balance lie wholly below zero.",
              "各城市末期核算GDP与财政收支相对基准情景的变化"
              "（按重复配对，均值及95% t区间，亿元/年），"
              "以及所付或所得补偿占其税收的比重。仅当核算GDP与财政收支变化的95%区间都完全低于零时,"
              "该城市才被标为可能退出者。"),
    "defector": ("likely defector", "可能退出"),
    "none": ("No city loses both credited GDP and fiscal balance with intervals below zero.",
             "没有城市的核算GDP与财政收支同时显著下降(区间均低于零)。"),
    "city": ("City", "城市"), "scenario": ("Scenario", "情景"),
    "gdp_credited": ("Credited GDP", "核算GDP"), "balance": ("Fiscal balance", "财政收支"),
    "compensation": ("Compensation net, % of tax", "净补偿占税收%"),
    "flag": ("Flag", "标记"),
    "caption": ("Who gains, who pays: each city's credited GDP and fiscal balance against the "
                "baseline at the last step (mean and 95% t-interval over paired replicates).",
                "谁受益，谁付钱：各城市末期核算GDP与财政收支相对基准情景的变化"
                "（配对重复的均值及95% t区间）。"),
}


def text(key: str, lang: str = "en") -> str:
    return i18n.text_of(TEXT, key, lang)


def _last_values(batch) -> pd.DataFrame:
    """Last-step credited GDP, fiscal balance and net compensation per run and city, long form."""
    cities, fiscal = stats.last_step(batch.cities), stats.last_step(batch.fiscal)
    keys = [*stats.ID_COLUMNS, "city"]
    merged = cities[keys + ["gdp_credited", "tax_revenue"]].merge(
        fiscal[keys + ["balance", "compensation_received", "compensation_paid"]], on=keys)
    merged["compensation_share"] = ((merged["compensation_received"] - merged["compensation_paid"])
                                    / merged["tax_revenue"].where(merged["tax_revenue"] > 0))
    return merged


def who_pays(batch, baseline: str) -> pd.DataFrame:
    """Per scenario and city: the paired change of credited GDP and fiscal balance against the
    baseline (mean, 95% interval), the net compensation as a share of tax revenue and the
    defector flag (both 95% intervals wholly below zero; never from one replicate). Sweep points
    are left out (their own report part)."""
    values = _last_values(batch)
    swept = [c for c in getattr(batch, "swept_keys", []) if c in batch.cities.columns]
    if swept:
        unswept = batch.cities.groupby("run")[swept].first().isna().all(axis=1)
        values = values[values["run"].map(unswept).fillna(True).astype(bool)]
    long = values.melt(id_vars=[*stats.ID_COLUMNS, "city"], value_vars=list(MEASURES),
                       var_name="metric")
    pairs = stats.paired(long, baseline, ["city", "metric"])
    rows = []
    for (scenario, city, metric), group in pairs.groupby(["scenario", "city", "metric"]):
        mean, low, high = stats.t_interval(group["diff"].to_numpy())
        rows.append(dict(scenario=scenario, city=city, metric=metric, mean=mean, ci_low=low,
                         ci_high=high, n=len(group)))
    table = pd.DataFrame(rows, columns=["scenario", "city", "metric", "mean", "ci_low", "ci_high",
                                        "n"])
    share = (values.groupby(["scenario", "city"])["compensation_share"].mean()
             .rename("compensation_share"))
    wide = table.pivot_table(index=["scenario", "city"], columns="metric", values="ci_high",
                             dropna=False)
    flags = (wide.reindex(columns=list(MEASURES)) < 0).all(axis=1).rename("defector")
    return (table.merge(share.reset_index(), on=["scenario", "city"], how="left")
                 .merge(flags.reset_index(), on=["scenario", "city"], how="left"))


def display_table(table: pd.DataFrame, scenario: str, lang: str = "en") -> pd.DataFrame:
    """One scenario's rows as a readable table (cities in the data's order)."""
    rows = table[table["scenario"] == scenario]
    out = {}
    for metric in MEASURES:
        part = rows[rows["metric"] == metric].set_index("city")
        out[text(metric, lang)] = [f"{m:+,.1f} [{lo:+,.1f}, {hi:+,.1f}]" if np.isfinite(lo)
                                   else f"{m:+,.1f}" for m, lo, hi in
                                   zip(part["mean"], part["ci_low"], part["ci_high"])]
        index = part.index
    first = rows.drop_duplicates("city").set_index("city").reindex(index)
    out[text("compensation", lang)] = [f"{100 * s:+.1f}" if np.isfinite(s) else "" for s in
                                       first["compensation_share"]]
    out[text("flag", lang)] = [text("defector", lang) if d else "" for d in first["defector"]]
    frame = pd.DataFrame(out, index=[i18n.city_label(c, lang) for c in index])
    order = [i18n.city_label(c, lang) for c in i18n.city_order(index)]
    return frame.reindex(order)


def plot_who_pays(table: pd.DataFrame, scenarios, lang: str = "en") -> Figure:
    """Bars with intervals: each city's credited GDP and fiscal balance against the baseline."""
    with i18n.figure_style(lang):
        fig, axes = _grid(len(scenarios), 2, width=6.0, height=4.2)
        width = 0.8 / len(MEASURES)
        for ax, scenario in zip(axes, scenarios):
            rows = table[table["scenario"] == scenario]
            order = i18n.city_order(rows["city"].unique())
            for i, metric in enumerate(MEASURES):
                part = rows[rows["metric"] == metric].set_index("city").reindex(order)
                err = np.nan_to_num([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
                ax.barh(np.arange(len(order)) + (i - 0.5) * width, part["mean"].fillna(0), width,
                        xerr=err, color=COLOURS[metric], label=text(metric, lang),
                        error_kw={"elinewidth": 0.7, "capsize": 2})
            ax.set_yticks(range(len(order)))
            ax.set_yticklabels([i18n.city_label(c, lang) for c in order])
            ax.invert_yaxis()
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_title(i18n.scenario_label(scenario, lang))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
        fig.suptitle(text("heading", lang))
    return fig


def report_blocks(table: pd.DataFrame, scenarios, figure_path, lang: str = "en") -> list:
    """The report's section: heading, method, one table per scenario, flagged cities, figure."""
    blocks: list = [("h2", text("heading", lang)), ("p", text("intro", lang))]
    for scenario in scenarios:
        blocks += [("h3", i18n.scenario_label(scenario, lang)),
                   ("table", display_table(table, scenario, lang))]
    flagged = (table[table["defector"].fillna(False).astype(bool)]
               .drop_duplicates(["scenario", "city"]))
    items = [f"**{i18n.city_label(r.city, lang)}** ({i18n.scenario_label(r.scenario, lang)}): "
             f"{text('defector', lang)}"
             for r in flagged.itertuples()]
    blocks.append(("ul", items) if items else ("p", text("none", lang)))
    if figure_path is not None:
        blocks.append(("figure", "who_pays", figure_path, text("caption", lang)))
    return blocks
