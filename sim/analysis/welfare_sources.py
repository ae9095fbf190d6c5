"""Where a welfare difference comes from: by account, and by instrument.

Both welfare measures are sums of accounts the circle table records (``sim/rules/welfare.py``,
``WelfareParts``): the circle residents' welfare is labour rents + residents' profits + public
money (every public yuan at MCPF) − land forgone; the country's adds the profits of units owned
outside the circle and what projects produce outside it. A scenario's paired difference against
the baseline splits exactly into the differences of its accounts (:func:`account_differences`),
so a gain that is only a cut in public outlays, or a loss that is only production pushed out of
the circle, shows as such. Which *instrument* carries a difference is read from the one-at-a-time
ablations (:func:`instrument_effects`: the regime less the regime without the switch, paired by
replicate); what the ablations do not add up to is the instruments' interaction. Reads stored
tables only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import i18n
from sim.analysis.stats import ID_COLUMNS, last_step, paired_t, sweep_columns
from sim.rules.metrics import discounted_total

#: The accounts in the order shown: (circle column, sign in the measure, in the residents'
#: welfare as well as the country's).
ACCOUNTS: tuple[tuple[str, float, bool], ...] = (
    ("welfare_labour_rents", 1.0, True),
    ("welfare_profits_resident", 1.0, True),
    ("welfare_public", 1.0, True),
    ("welfare_land_forgone", -1.0, True),
    ("welfare_profits_nonresident", 1.0, False),
    ("welfare_outside", 1.0, False),
)
MEASURES = ("welfare", "welfare_national")
FILE = "welfare_sources.csv"
#: Headline metrics whose differences the instruments are asked to explain: circle GDP and the
#: welfare measures split above (together the registry's headline gains, registry.GAINS).
EXPLAINED = ("gdp_total", *MEASURES)
TEXT: dict[str, tuple[str, str]] = {
    "heading": ("Where the welfare difference comes from", "福利差异的来源"),
    "accounts_intro": (
        "Each welfare measure is a sum of accounts: the residents' welfare is labour rents (wages "
        "above a reservation wage fixed at the base year's) + residents' profits + public money "
        "(every public yuan at the marginal cost of public funds) − land forgone; the country's "
        "adds the profits of units owned outside the circle and production outside it. Paired "
        "differences against {baseline} in the last quarter (亿元 a year, mean and 95% "
        "interval); the accounts add up to the measure.",
        "每项福利指标由若干账户相加:居民福利 = 劳动租金(高于按基年工资固定的保留工资部分)"
        "+ 居民利润 + 公共资金(每一元公共资金按公共资金边际成本计)− 放弃的土地收益;"
        "全国福利另加圈外所有者的企业利润与圈外生产。以下为相对{baseline}的配对差异"
        "(最后一个季度,亿元/年,均值与95%区间);各账户之和等于该指标。"),
    "instruments_intro": (
        "Which instrument carries the difference: each switch's effect in the full regime "
        "(the regime less the regime without it, paired by replicate; last quarter, 亿元 a "
        "year). The effects need not add up to the regime's difference: the rest is the "
        "instruments' interaction.",
        "差异由哪项政策工具带来:各开关在完整政策组合中的作用(完整组合减去去掉该开关的组合,按重复配对;"
        "最后一个季度,亿元/年)。各项作用之和不必等于组合的总差异,其余为工具之间的交互作用。"),
    "account": ("Account", "账户"),
    "instrument": ("Instrument", "政策工具"),
    "total": ("measure (sum of the accounts)", "指标(各账户之和)"),
    "interaction": ("interaction (difference − sum of the effects)",
                    "交互作用(总差异 − 各项作用之和)"),
    "regime": ("regime against {baseline}", "组合相对{baseline}"),
}
LABELS: dict[str, tuple[str, str]] = {
    "welfare_labour_rents": ("labour rents", "劳动租金"),
    "welfare_profits_resident": ("residents' profits", "居民企业利润"),
    "welfare_public": ("public money at MCPF", "公共资金(按边际成本)"),
    "welfare_land_forgone": ("land forgone (−)", "放弃的土地收益(−)"),
    "welfare_profits_nonresident": ("outside owners' profits", "圈外所有者利润"),
    "welfare_outside": ("production outside the circle", "圈外生产"),
    "welfare": ("residents' welfare", "居民福利"),
    "welfare_national": ("national welfare", "全国福利"),
    "gdp_total": ("circle GDP", "城市圈GDP"),
}


def text(key: str, lang: str) -> str:
    return i18n.text_of(TEXT, key, lang)


def label(code: str, lang: str) -> str:
    return LABELS.get(code, (code, code))[1 if lang == "zh" else 0]


def has_accounts(circle: pd.DataFrame) -> bool:
    """Whether the stored circle table carries the welfare accounts (runs stored before issue
    27 do not)."""
    return all(column in circle.columns for column, *_ in ACCOUNTS)


def account_values(circle: pd.DataFrame, rate: float = 0.05) -> pd.DataFrame:
    """Per run, each account's signed contribution and both measures: ``last`` (the last step)
    and ``discounted`` (present value of the quarterly series at ``rate``), long form with
    ``scenario``, ``replicate``, ``measure``, ``account``, ``value``."""
    columns = [c for c, *_ in ACCOUNTS] + list(MEASURES)
    sign = {c: s for c, s, _ in ACCOUNTS}
    frames = []
    last = last_step(circle)
    for column in columns:
        frames.append(last[list(ID_COLUMNS)].assign(
            measure="last", account=column, value=sign.get(column, 1.0) * last[column]))
    ordered = circle.sort_values(["run", "step"])
    for column in columns:
        pv = ordered.groupby(list(ID_COLUMNS))[column].apply(
            lambda v: discounted_total(v.to_numpy(), rate)).rename("value").reset_index()
        frames.append(pv.assign(measure="discounted", account=column,
                                value=sign.get(column, 1.0) * pv["value"]))
    return pd.concat(frames, ignore_index=True)


def account_differences(circle: pd.DataFrame, baseline: str, rate: float = 0.05
                        ) -> pd.DataFrame:
    """Paired differences of every account and measure, each scenario against ``baseline``
    (columns ``scenario``, ``measure``, ``account`` and those of
    :func:`sim.analysis.stats.paired_t`). The accounts of a measure add up to it run by run,
    so their mean differences add up to the measure's."""
    values = account_values(circle, rate)
    base = values[values["scenario"] == baseline].rename(columns={"value": "base"})
    merged = values[values["scenario"] != baseline].merge(
        base[["replicate", "measure", "account", "base"]], on=["replicate", "measure",
                                                             "account"])
    merged["diff"] = merged["value"] - merged["base"]
    rows = [{"scenario": s, "measure": m, "account": a, "baseline": baseline,
             **paired_t(group["diff"].to_numpy(dtype=float))}
            for (s, m, a), group in merged.groupby(["scenario", "measure", "account"])]
    return pd.DataFrame(rows)


def instrument_effects(ablations: pd.DataFrame, parent: str = "coordinated") -> pd.DataFrame:
    """Each switch's effect in the full regime ``parent`` on the explained headline metrics:
    the ``removed`` ablations of :func:`sim.analysis.stats.ablation_effects` (parent − parent
    without the switch)."""
    if ablations.empty:
        return ablations
    keep = ((ablations["parent"] == parent) & (ablations["kind"] == "removed")
            & ablations["metric"].isin(EXPLAINED))
    return ablations[keep].reset_index(drop=True)


def fmt(row: pd.Series | dict) -> str:
    """``+12 [+3, +21]`` (whole 亿元; n/a without an interval)."""
    mean, low, high = row["mean"], row["ci_low"], row["ci_high"]
    if np.isnan(mean):
        return "n/a"
    if np.isnan(low):
        return f"{mean:+,.0f}"
    return f"{mean:+,.0f} [{low:+,.0f}, {high:+,.0f}]"


def accounts_table(diffs: pd.DataFrame, scenario: str, lang: str,
                   measure: str = "last") -> pd.DataFrame:
    """Rows: accounts, then each measure; columns: the two measures (an account outside the
    residents' welfare is blank in its column)."""
    rows = diffs[(diffs["scenario"] == scenario) & (diffs["measure"] == measure)]
    found = rows.set_index("account")
    out = {}
    for column, _, in_circle in ACCOUNTS:
        if column in found.index:
            cell = fmt(found.loc[column])
            out[label(column, lang)] = [cell if in_circle else "", cell]
    totals = [fmt(found.loc[m]) if m in found.index else "n/a" for m in MEASURES]
    out[text("total", lang)] = totals
    return pd.DataFrame(out, index=[label(m, lang) for m in MEASURES]).T


def instruments_table(effects: pd.DataFrame, regime: pd.DataFrame, lang: str,
                      measure: str = "last") -> pd.DataFrame:
    """Rows: each switch's effect, the regime's difference and the interaction; columns: the
    explained metrics. ``regime``: the paired differences of the regime against the baseline
    (rows of :func:`sim.analysis.stats.differences` for the regime)."""
    rows = effects[effects["measure"] == measure]
    table: dict[str, list[str]] = {}
    sums = dict.fromkeys(EXPLAINED, 0.0)
    for switch, group in rows.groupby("switch", sort=True):
        found = group.set_index("metric")
        table[i18n.switch_label(switch, lang)] = [
            fmt(found.loc[m]) if m in found.index else "n/a" for m in EXPLAINED]
        for m in EXPLAINED:
            sums[m] += float(found.loc[m, "mean"]) if m in found.index else np.nan
    reg = regime[regime["measure"] == measure].set_index("metric")
    baseline = str(reg["baseline"].iloc[0]) if len(reg) else ""
    table[text("regime", lang).format(baseline=i18n.scenario_label(baseline, lang))] = [
        fmt(reg.loc[m]) if m in reg.index else "n/a" for m in EXPLAINED]
    table[text("interaction", lang)] = [
        f"{float(reg.loc[m, 'mean']) - sums[m]:+,.0f}" if m in reg.index else "n/a"
        for m in EXPLAINED]
    return pd.DataFrame(table, index=[label(m, lang) for m in EXPLAINED]).T


def write_table(circle: pd.DataFrame, baseline: str, out_dir, rate: float = 0.05) -> None:
    """``welfare_sources.csv``: every account's paired difference, per scenario and measure
    (``last``, ``discounted``), at the batch's unswept runs; nothing without the accounts."""
    swept = sweep_columns(circle)
    circle = circle[circle[swept].isna().all(axis=1)] if swept else circle
    if has_accounts(circle) and not circle.empty:
        account_differences(circle, baseline, rate).to_csv(Path(out_dir) / FILE, index=False)


def report_blocks(circle: pd.DataFrame, differences: pd.DataFrame, ablations: pd.DataFrame,
                  baseline: str, compared: list[str], lang: str, rate: float = 0.05) -> list:
    """The report's section (none for a batch stored before the accounts were recorded), at
    the batch's unswept runs."""
    swept = sweep_columns(circle)
    circle = circle[circle[swept].isna().all(axis=1)] if swept else circle
    if not has_accounts(circle) or not compared or circle.empty:
        return []
    diffs = account_differences(circle, baseline, rate)
    blocks: list = [("h2", text("heading", lang)),
                    ("p", text("accounts_intro", lang).format(
                        baseline=i18n.scenario_label(baseline, lang)))]
    for scenario in compared:
        if scenario in set(diffs["scenario"]):
            blocks += [("p", f"**{i18n.scenario_label(scenario, lang)}**"),
                       ("table", accounts_table(diffs, scenario, lang))]
    for parent in compared:
        effects = instrument_effects(ablations, parent)
        regime = differences[(differences["scenario"] == parent)
                             & differences["metric"].isin(EXPLAINED)]
        if len(effects) and len(regime):
            blocks += [("p", text("instruments_intro", lang)),
                       ("p", f"**{i18n.scenario_label(parent, lang)}**"),
                       ("table", instruments_table(effects, regime, lang))]
    return blocks
