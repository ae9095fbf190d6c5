"""The report's section "The plan's four pairs": does a regime build the pattern the plan names?

The plan's pattern is four pairs (研发在武汉、制造在城市圈; 头部在武汉、链条在城市圈;
融资在武汉、投资在城市圈; 主链在武汉、配套在城市圈), read off the ``circle`` table's columns
(docs/ODD.md, Observation), plus the ring's chain completeness; 错位发展 (differentiated
development) is read on structure similarity, by sector and by sector-segment. For each measure
the section gives the level at the start and at the end, and each regime's paired difference from
the baseline at the last step in words: it moves the circle toward or away from the plan's
pattern, or the difference is not distinguishable from zero. Statistics are written to
``plan_pairs.csv`` and the text is read back from it, so text and table agree. A regime that
moves the circle away from the pattern is reported as such.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.analysis import i18n, registry, similarity_sources, stats
from sim.analysis.executive import ablation_word, fmt, interval, signed
from sim.analysis.plots import save_figure, scenario_colours
from sim.rules.constants import SEGMENTS

#: (column, the plan's pair in display_names.csv, +1 if higher is toward the plan's pattern)
MEASURES: tuple[tuple[str, str, int], ...] = (
    ("pair_rnd_vs_manufacturing", "rnd_manufacturing", +1),
    ("pair_hq_vs_chain", "hq_chain", +1),
    ("pair_wuhan_capital_to_ring_cum", "financing_investment", +1),
    ("pair_ring_capital_from_wuhan_cum", "financing_investment", +1),
    ("pair_core_vs_supply", "core_supply", +1),
    ("chain_completeness_ring", "chain_completeness", +1),
)
#: The values each drawn measure can take (a difference of two shares, a share, segments of 4
#: within reach): the figure clips a mean's t-band to them, since with few replicates the band
#: (t(1) = 12.7 standard errors either side with two) runs far past what the measure can be.
POSSIBLE: dict[str, tuple[float, float]] = {
    "pair_rnd_vs_manufacturing": (-1.0, 1.0), "pair_hq_vs_chain": (-1.0, 1.0),
    "pair_wuhan_capital_to_ring_cum": (0.0, 1.0), "pair_ring_capital_from_wuhan_cum": (0.0, 1.0),
    "pair_core_vs_supply": (-1.0, 1.0), "chain_completeness_ring": (0.0, float(len(SEGMENTS))),
}
#: 错位发展 read on similarity: lower is toward differentiated development.
SIMILARITY: tuple[tuple[str, str, int], ...] = (
    ("similarity_ring_mean_segment", "staggered", -1),
    ("similarity_ring_mean", "staggered", -1),
)
TOWARD = {code: sign for code, _, sign in MEASURES + SIMILARITY}
#: The similarity the section's rule ranking and channel decomposition explain: by
#: sector-segment, the reading the claim of 错位发展 needs (docs/PAIRS.md, section 3). The
#: headline's similarity (executive summary, ablation figure) stays the sector coefficient.
EXPLAINED = "similarity_ring_mean_segment"
FILE = "plan_pairs.csv"
READINGS = ("toward", "away", "not_distinct", "identical", "cannot_judge")

TEXT: dict[str, tuple[str, str]] = {
    "heading": ("The plan's four pairs", "规划的四组分工格局"),
    "intro": ("The plan names its pattern in four pairs. Each measure's level at the start "
              "(quarter 0; the cumulative investment shares: quarter 1, the first new "
              "investment) and at the last quarter (mean and 95% t-interval over replicates), and "
              "each regime's paired difference from the baseline at the last quarter. A "
              "difference whose interval excludes zero moves the circle toward or away from the "
              "plan's pattern; no rule of the model aims at these measures.",
              "规划以四组分工(研发在武汉、制造在城市圈等)描述目标格局。下表给出各指标期初(第0季度;"
              "累计投资比重为第1季度,即首批新投资)与末期的水平(各重复实验均值及95% t区间),"
              "以及各情景末期相对基准的配对差值。"
              "区间不含零的差值表示情景使城市圈向规划格局靠近或偏离;模型中没有任何规则以这些指标为目标。"),
    "toward": ("toward the plan's pattern", "向规划格局靠近"),
    "away": ("away from the plan's pattern", "偏离规划格局"),
    "not_distinct": ("not distinguishable from zero", "与零无显著区别"),
    "cannot_judge": ("cannot be judged (one replicate)", "无法判断(仅一次重复)"),
    "identical": ("identical to the baseline", "与基准完全相同"),
    "question": ("Does {name} build the plan's pattern (against {base}, last quarter)? It moves "
                 "the circle ", "{name}是否形成规划格局(相对{base},末期)?"),
    "toward_n": ("toward the pattern on {n} of {count} measures ({names})",
                 "靠近规划格局{n}/{count}项({names})"),
    "away_n": ("away from it on {n} ({names})", "偏离{n}项({names})"),
    "not_distinct_n": ("not distinguishably on {n} ({names})", "无显著变化{n}项({names})"),
    "identical_n": ("not at all on {n} ({names})", "与基准相同{n}项({names})"),
    "cannot_judge_n": ("in a way that cannot be judged on {n} (one replicate: {names})",
                       "无法判断{n}项(仅一次重复:{names})"),
    "measure": ("Measure", "指标"), "start": ("Start", "期初"), "end": ("End", "末期"),
    "difference": ("Difference", "差值"), "reading": ("Reading", "判断"),
    "staggered": ("Differentiated development (错位发展)", "错位发展"),
    "others": ("Every other scenario's difference from the baseline at the last quarter: mean "
               "and reading (toward or away from the plan's pattern, or not distinguishable, "
               "n.d.; intervals in plan_pairs.csv).",
               "其余各情景末期相对基准的差值:均值及判断(靠近或偏离规划格局,或无显著差异;区间见 "
               "plan_pairs.csv)。"),
    "mark_toward": ("toward", "靠近"), "mark_away": ("away", "偏离"),
    "mark_not_distinct": ("n.d.", "不显著"), "mark_identical": ("same", "相同"),
    "mark_cannot_judge": ("one replicate", "仅一次重复"),
    "short_pair_rnd_vs_manufacturing": ("R&D / manufacturing", "研发/制造"),
    "short_pair_hq_vs_chain": ("Head offices / chain", "头部/链条"),
    "short_pair_wuhan_capital_to_ring_cum": ("Wuhan capital to ring", "武汉资本投向圈内"),
    "short_pair_ring_capital_from_wuhan_cum": ("Ring investment from Wuhan", "圈内投资来自武汉"),
    "short_pair_core_vs_supply": ("Main chain / suppliers", "主链/配套"),
    "short_chain_completeness_ring": ("Chain completeness", "产业链完整度"),
    "short_similarity_ring_mean_segment": ("Similarity by segment", "环节相似系数"),
    "short_similarity_ring_mean": ("Similarity by sector", "产业相似系数"),
    "missing": ("This batch was stored before the model measured the plan's pairs: rerun it to "
                "see them.", "该批次结果早于四个配对指标的记录,请重新运行以查看。"),
    "swept": ("The batch has no unswept run of the baseline, so no pair can be compared with it "
              "here (the pairs' columns are in the stored circle table of every run).",
              "该批次没有基准情景的非扫描运行,无法在此与基准比较。"),
    "caption": ("The plan's four pairs over the plan period: mean across replicates with 95% "
                "t-band, cut at the values the measure can take (shares 0 to 1, differences of "
                "shares -1 to 1, segments 0 to 4); each panel states the regime's paired "
                "difference from the baseline at the last quarter and its reading.",
                "规划四个配对指标在规划期内的变化:各重复实验均值及95% t置信带"
                "(截于指标可取的范围:比重0至1,比重之差-1至1,环节0至4);"
                "各图注明情景末期相对基准的配对差值及其判断。"),
    "similarity": ("Why ring cities grow more or less alike", "圈内城市产业结构为何趋同或分化"),
    "segment_reading": (
        "The plan divides labour by segment as well as by sector (each city its lead sectors, "
        "and within a chain R&D and head offices in Wuhan, production in the ring), so the "
        "claim of 错位发展 is read on similarity by sector-segment: two ring cities making one "
        "sector's main chain and its suppliers are alike by sector and unlike by segment; the "
        "rule and the channels below explain that reading. The sector coefficient, the usual "
        "产业结构相似系数, is kept beside it: it is the report's headline measure "
        "\"Ring-city structure similarity\" elsewhere in this report.",
        "规划既按产业也按环节分工(各城市发展各自主导产业,链内研发与头部在武汉、生产在圈内),因此"
        "“错位发展”应以产业环节层面的相似系数衡量:两个城市分别承担同一产业的主链与配套,按产业看相同,"
        "按环节看不同;下文的规则与渠道分解均针对环节层面。通常的产业结构相似系数(按产业)并列给出,"
        "即本报告其他部分的“圈内城市产业结构相似系数”。"),
    "channels": ("Where the difference in similarity by sector-segment comes from, by the "
                 "channel that brought the output now standing in ring cities (exact "
                 "decomposition, paired by replicate; docs/PAIRS.md):",
                 "产业环节结构相似系数差值的来源,按现有产出进入圈内城市的渠道分解(精确分解,按重复实验"
                 "配对;见 docs/PAIRS.md):"),
    "rule": ("The rule that moves similarity by sector-segment most, each rule's effect "
             "measured against the scenario its ablation was made from",
             "对产业环节结构相似系数影响最大的规则(各规则的效应相对其消融所依据的情景计算)"),
    "no_rule": ("no rule moves it distinguishably from zero (largest: {rule}, {value}: {word})",
                "没有一条规则使其显著变化(最大:{rule},{value},{word})"),
    "no_rule_at_all": ("no rule moves it at all: with and without each rule it is the same in "
                       "every replicate", "没有一条规则改变它:每次重复中有无各规则结果均相同"),
    "in_place": ("units in place since the base year and output change in place",
                 "基年以来未迁移的单位及在位产出变化"),
}


def text(key: str, lang: str) -> str:
    return i18n.text_of(TEXT, key, lang)


def measure_label(code: str, lang: str) -> str:
    """``pair slogan: measure`` (the pair from display_names.csv, the measure from the
    registry)."""
    pair = next(p for c, p, _ in MEASURES + SIMILARITY if c == code)
    slogan = text("staggered", lang) if pair == "staggered" else \
        i18n.display_name("pair", pair, lang) or pair
    return f"{slogan}: {registry.get(code).label(lang)}"


def reading(verdict: str, toward: int) -> str:
    """A difference's verdict in the plan's terms: toward, away, not_distinct, identical or
    cannot_judge (one replicate: no interval, no test)."""
    if verdict in ("higher", "lower"):
        return "toward" if (verdict == "higher") == (toward > 0) else "away"
    return verdict if verdict in ("identical", "cannot_judge") else "not_distinct"


def _unswept_circle(circle: pd.DataFrame) -> pd.DataFrame:
    sweep = stats.sweep_columns(circle)
    return circle[circle[sweep].isna().all(axis=1)] if sweep else circle


def pair_statistics(circle: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Levels at the start and the end and paired differences from the baseline, long form.

    Columns: ``section`` (start, end, difference), ``scenario``, ``metric``, ``n``, ``mean``,
    ``ci_low``, ``ci_high``, ``verdict`` and ``reading`` (differences only).
    """
    circle = _unswept_circle(circle)
    codes = [c for c in TOWARD if c in circle.columns]
    keys = list(stats.ID_COLUMNS)
    long = circle.melt(id_vars=keys + ["step"], value_vars=codes, var_name="metric").dropna(
        subset=["value"]).sort_values("step")
    first = long.groupby(keys + ["metric"], as_index=False).first()
    start = stats.describe_levels(first[first["scenario"] == baseline], ["scenario", "metric"])
    per_run = stats.run_values(circle, tuple(codes))
    end = stats.describe_levels(per_run, ["scenario", "metric"])
    diff = stats.differences(per_run, baseline)
    diff = diff.assign(reading=[reading(v, TOWARD[m])
                                for v, m in zip(diff["verdict"], diff["metric"])])
    columns = ["section", "scenario", "metric", "n", "mean", "ci_low", "ci_high", "verdict",
               "reading"]
    parts = [start.assign(section="start"), end.assign(section="end"),
             diff.drop(columns=["measure"]).assign(section="difference")]
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


def _row(table: pd.DataFrame, section: str, metric: str, scenario: str | None = None):
    rows = table[(table["section"] == section) & (table["metric"] == metric)]
    if scenario is not None:
        rows = rows[rows["scenario"] == scenario]
    return rows.iloc[0] if len(rows) else None


def level(row) -> str:
    """``0.3 [0.29, 0.31]``: a level and its 95% interval (the mean alone from one replicate)."""
    if row is None:
        return "n/a"
    if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
        return fmt(row["mean"])
    return f"{fmt(row['mean'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"


def display_table(table: pd.DataFrame, baseline: str, scenarios, lang: str) -> pd.DataFrame:
    """Measure x (start, baseline's end, each regime's end and its difference in words)."""
    out = {}
    for code in [c for c in TOWARD if c in set(table["metric"])]:
        row = {text("start", lang): level(_row(table, "start", code)),
               f"{text('end', lang)}: {i18n.scenario_label(baseline, lang)}":
                   level(_row(table, "end", code, baseline))}
        for scenario in scenarios:
            diff = _row(table, "difference", code, scenario)
            name = i18n.scenario_label(scenario, lang)
            row[f"{text('end', lang)}: {name}"] = level(_row(table, "end", code, scenario))
            row[f"{text('difference', lang)}: {name}"] = "n/a" if diff is None else \
                f"{interval(diff)}: {text(diff['reading'], lang)}"
        out[measure_label(code, lang)] = row
    return pd.DataFrame.from_dict(out, orient="index")


def others_table(table: pd.DataFrame, scenarios, lang: str) -> pd.DataFrame:
    """Scenario x measure: each further scenario's difference from the baseline, mean and
    reading (the intervals are in ``plan_pairs.csv``)."""
    diffs = table[table["section"] == "difference"]
    out = {}
    for scenario in scenarios:
        rows = diffs[diffs["scenario"] == scenario].set_index("metric")
        out[i18n.scenario_label(scenario, lang)] = {
            text(f"short_{code}", lang): f"{signed(rows.loc[code, 'mean'])} "
            f"({text('mark_' + rows.loc[code, 'reading'], lang)})"
            for code in TOWARD if code in rows.index}
    return pd.DataFrame.from_dict(out, orient="index")


def pattern_sentence(table: pd.DataFrame, scenario: str, baseline: str, lang: str) -> str:
    """One sentence: does the regime build the plan's pattern (the pair measures only)?"""
    groups: dict[str, list[str]] = {}
    for code, _, _ in MEASURES:
        row = _row(table, "difference", code, scenario)
        if row is not None:
            groups.setdefault(row["reading"], []).append(registry.get(code).label(lang))
    zh = lang == "zh"
    count = sum(map(len, groups.values()))
    parts = [text(f"{key}_n", lang).format(n=len(groups[key]), count=count,
                                           names=("、" if zh else "; ").join(groups[key]))
             for key in READINGS if key in groups]
    if not zh and len(parts) > 1:
        parts[-1] = "and " + parts[-1]
    head = text("question", lang).format(name=i18n.scenario_label(scenario, lang),
                                         base=i18n.scenario_label(baseline, lang))
    return head + (";" if zh else ", ").join(parts) + ("。" if zh else ".")


def plot_pairs(circle: pd.DataFrame, table: pd.DataFrame, baseline: str, scenarios,
               lang: str = "en") -> Figure:
    """Six panels (the pair measures) over time, baseline and regimes, 16 x 9 inches."""
    shown = [baseline, *scenarios]
    colours = scenario_colours(shown)
    codes = [c for c, _, _ in MEASURES if c in circle.columns]
    over = stats.over_time(_unswept_circle(circle[circle["scenario"].isin(shown)]), tuple(codes))
    with i18n.figure_style(lang):
        fig = Figure(figsize=(16, 9), layout="constrained")
        axes = fig.subplots(2, 3).ravel()
        for ax, code in zip(axes, codes):
            for scenario in shown:
                rows = over[(over["metric"] == code) & (over["scenario"] == scenario)]
                ax.plot(rows["step"], rows["mean"], color=colours[scenario],
                        label=i18n.scenario_label(scenario, lang))
                low, high = POSSIBLE[code]
                ax.fill_between(rows["step"], rows["ci_low"].clip(low, high),
                                rows["ci_high"].clip(low, high), color=colours[scenario],
                                alpha=0.2, linewidth=0)
            notes = [f"{i18n.scenario_label(s, lang)} − {i18n.scenario_label(baseline, lang)}:\n"
                     f"{interval(r)}, {text(r['reading'], lang)}"
                     for s in scenarios if (r := _row(table, "difference", code, s)) is not None]
            ax.text(0.02, 0.02, "\n".join(notes), transform=ax.transAxes, fontsize=8,
                    va="bottom", bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0})
            ax.set_title(measure_label(code, lang).replace(": ", "\n", 1), fontsize=10)
            ax.set_xlabel(i18n.term("step", lang))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(registry.get(code).unit(lang))
        for ax in axes[len(codes):]:
            ax.set_visible(False)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9)
    return fig


def rule_items(ablations: pd.DataFrame, lang: str) -> list[str]:
    """For rules removed from the coordinated regime and rules added alone to competition, the
    one whose ablation moves the explained similarity most, among effects distinguishable from
    zero; where none is, a line saying so (``ablations``: rows of
    :func:`stats.ablation_effects`)."""
    rows = ablations[(ablations["metric"] == EXPLAINED) & (ablations["measure"] == "last")]
    items = []
    for kind in ("removed", "added"):
        part = rows[rows["kind"] == kind]
        if part.empty:
            continue
        moved = part[part["verdict"].isin(["higher", "lower"])]
        top = (moved if len(moved) else part).loc[lambda f: f["mean"].abs().idxmax()]
        rule = i18n.switch_label(top["switch"], lang)
        word = ablation_word(top["verdict"], top["metric"], lang)
        if len(moved):
            said = f"{rule}: {interval(top)}, {word}"
        elif (part["verdict"] == "identical").all():
            said = text("no_rule_at_all", lang)
        else:
            said = text("no_rule", lang).format(rule=rule, value=interval(top), word=word)
        items.append(f"{i18n.term('ablation_' + kind, lang)}: {said}")
    return items


def similarity_blocks(batch, table: pd.DataFrame, baseline: str, scenario: str,
                      lang: str) -> list:
    """The similarity paragraph: which reading the claim needs, both differences, the rule that
    moves the segment reading most (when the batch has ablations) and its channels."""
    items = []
    for code, _, _ in SIMILARITY:
        row = _row(table, "difference", code, scenario)
        if row is not None:
            items.append(f"{registry.get(code).label(lang)}: {i18n.scenario_label(scenario, lang)}"
                         f" − {i18n.scenario_label(baseline, lang)} {interval(row)}, "
                         f"{text(row['reading'], lang)}")
    blocks: list = [("h3", text("similarity", lang)), ("p", text("segment_reading", lang)),
                    ("ul", items)]
    if EXPLAINED not in batch.circle.columns:
        return blocks
    ablations = stats.ablation_effects(stats.run_values(batch.circle, (EXPLAINED,)))
    if len(ablations):
        blocks += [("p", text("rule", lang) + ":"), ("ul", rule_items(ablations, lang))]
    manufacturing = similarity_sources.manufacturing_sectors()
    if len(batch.transfers):
        parts = similarity_sources.decompose(batch, scenario, baseline, manufacturing,
                                             level="segment")
        summary = similarity_sources.summarise(parts, "channel")
        items = [f"{channel_label(r['channel'], lang)}: {interval(r)}"
                 for _, r in summary.iterrows()]
        blocks += [("p", text("channels", lang)), ("ul", items)]
    return blocks


def channel_label(channel: str, lang: str) -> str:
    return text("in_place", lang) if channel == similarity_sources.IN_PLACE else \
        i18n.channel_label(channel, lang)


@dataclasses.dataclass
class Section:
    """The section's executive sentence (None without pair columns) and its report blocks."""

    executive: str | None
    blocks: list


def section(batch, baseline: str, compared, out_dir: Path, lang: str = "en") -> Section:
    """Write ``plan_pairs.csv`` and the figure into ``out_dir`` and return the section."""
    circle = batch.circle
    if not any(code in circle.columns for code, _, _ in MEASURES):
        return Section(None, [("h2", text("heading", lang)), ("p", text("missing", lang))])
    if baseline not in set(_unswept_circle(circle)["scenario"]):
        return Section(None, [("h2", text("heading", lang)), ("p", text("swept", lang))])
    path = Path(out_dir) / FILE
    pair_statistics(circle, baseline).to_csv(path, index=False)
    table = pd.read_csv(path)
    scenarios = [s for s in compared if s in set(table["scenario"])]
    others = sorted(set(table.loc[table["section"] == "difference", "scenario"]) - set(scenarios))
    figure = save_figure(plot_pairs(circle, table, baseline, scenarios, lang),
                         Path(out_dir) / "figures", "plan_pairs", lang)
    blocks = [("h2", text("heading", lang)), ("p", text("intro", lang)),
              ("table", display_table(table, baseline, scenarios, lang)),
              ("figure", "plan_pairs", figure, text("caption", lang))]
    if others:
        blocks += [("p", text("others", lang)), ("table", others_table(table, others, lang))]
    if scenarios:
        blocks += similarity_blocks(batch, table, baseline, scenarios[0], lang)
    executive = pattern_sentence(table, scenarios[0], baseline, lang) if scenarios else None
    return Section(executive, blocks)
