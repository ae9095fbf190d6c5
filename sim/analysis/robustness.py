"""The report's section on a sensitivity study: what was sampled, where the regime beats its
baseline, and which assumptions move the difference most.

Reads the files ``sim sensitivity`` writes into its folder (``design.json``, ``beats.csv``,
``morris.csv`` or ``sobol.csv``) and runs nothing. The study compares the two scenarios it was
given at the last quarter of each sampled run, at the model size it was run at; the section says
so, and says when that pair or size is not the batch's, so a reader never takes a short, small
screen for a statement about the batch.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import i18n, registry
from sim.analysis.executive import read_sensitivity, signed
from sim.analysis.plots import save_figure

#: At most this many parameters in the index figure.
TOP = 10
#: A parameter whose index on a difference is below this share of the strongest has no effect.
INERT = 0.01
#: Fewer sampled points than this: the shares and rules are called coarse.
COARSE_POINTS = 50
_LEAF = re.compile(r"^(?P<where>.*): beats in (?P<share>\d+)% of (?P<n>\d+) points$")
_CONDITION = re.compile(r"^(?P<key>\S+) (?P<op><=|>) (?P<value>\S+)$")
NOWHERE = "nowhere"

TEXT: dict[str, tuple[str, str]] = {
    "heading": ("Robustness to the assumed parameters", "对假设参数的稳健性"),
    "design": ("{method} study of {params} uncertain parameters at {points} sampled points: "
               "{scenario} against {baseline}, each point a pair of runs with the same sampled "
               "values and random draws{size}, compared at the last quarter.",
               "{method}敏感性分析:{params}个不确定参数,{points}个抽样点;{scenario}对比{baseline},"
               "每个抽样点为取相同参数值与随机数的一对运行{size},比较末期数值。"),
    "size": ("{units} units over {steps} quarters", "{units}个生产单元、{steps}个季度"),
    "other_pair": ("The study compares {scenario} with {baseline}; this report's regimes are "
                   "{regimes} against {batch_baseline}: its shares are for the study's pair only.",
                   "该研究比较的是{scenario}与{baseline};本报告比较的是{regimes}与{batch_baseline}:"
                   "其比例仅适用于研究中的这一对情景。"),
    "other_size": ("The study's runs ({study}) are not the batch's ({batch}): its shares describe "
                   "the model at the study's size and horizon.",
                   "该研究的运行规模({study})与本批次({batch})不同:其比例描述的是研究所用规模与期限下的模型。"),
    "coarse": ("{points} points give a coarse estimate: the shares and the regions move with "
               "a larger design (more trajectories or samples).",
               "{points}个抽样点只能给出粗略估计:加大设计(更多轨迹或样本)后比例和区域会变化。"),
    "table": ("Share of the sampled points in which {scenario} beats {baseline}, and the region "
              "where it does not (from a depth-2 decision tree on the sampled parameters).",
              "{scenario}优于{baseline}的抽样点比例,以及不占优的参数区域(由抽样参数上深度为2的决策树得出)。"),
    "measure": ("Measure (last quarter)", "指标(末期)"),
    "better": ("Better", "更优方向"),
    "share": ("Share of points where it beats", "占优的抽样点比例"),
    "mean": ("Mean difference", "平均差值"),
    "where_not": ("Where it does not beat", "不占优的区域"),
    "inert": ("The region for {measure} splits on {params}, which the screen finds no effect of on "
              "that difference: the split follows where the few sampled points happen to lie, "
              "not the parameter.",
              "{measure}的区域按{params}划分,但筛选显示该参数对这一差值没有影响:划分只反映少量抽样点"
              "的位置,而非参数本身的作用。"),
    "higher": ("higher", "更高"),
    "lower": ("lower", "更低"),
    "nowhere": ("nowhere: it beats in at least half the points of every region",
                "无:在每个区域至少一半的抽样点占优"),
    "everywhere": ("anywhere", "任何区域"),
    "leaf": ("{where} (beats in {share}% of {n} points)", "{where}({n}个点中{share}%占优)"),
    "and": (" and ", "且"),
    "or": ("; or ", ";或"),
    "of_points": ("{share} of {n}", "{n}个中{share}"),
    "figure_title": ("Which assumptions move the difference most", "哪些假设对差值影响最大"),
    "morris_axis": ("Morris μ* of the difference, relative to the largest (1 = strongest)",
                    "差值的Morris μ*(相对最大值,1为最强)"),
    "sobol_axis": ("Sobol total index ST of the difference", "差值的Sobol总效应指数ST"),
    "caption": ("Which assumptions move the paired difference at the last quarter most: the "
                "sensitivity study's index for each headline measure, the {top} strongest "
                "parameters.",
                "哪些假设对末期配对差值影响最大:敏感性分析中各主要指标的指数,列出最强的{top}个参数。"),
}


def text(key: str, lang: str, **values) -> str:
    return i18n.text_of(TEXT, key, lang).format(**values)


@dataclasses.dataclass(frozen=True)
class Study:
    """What the report reads from a sensitivity study folder."""

    method: str
    scenario: str | None
    baseline: str | None
    n_params: int
    n_points: int
    size: tuple[int, int] | None     # (n_units, steps) of the study's runs, when recorded
    beats: pd.DataFrame
    indices: pd.DataFrame | None


def read_study(folder: str | Path) -> Study:
    """The study in ``folder``: ``beats.csv`` (required), ``design.json`` and the indices.

    Raises:
        ValueError: ``beats.csv`` or ``design.json`` is unreadable.
    """
    folder = Path(folder)
    beats = read_sensitivity(folder)
    design = beats.attrs
    method = str(design.get("method") or ("morris" if (folder / "morris.csv").is_file()
                                          else "sobol"))
    path = folder / f"{method}.csv"
    indices = pd.read_csv(path) if path.is_file() else None
    n_points = int(beats["n"].max()) if "n" in beats and len(beats) else 0
    return Study(method, design.get("scenario"), design.get("baseline"),
                 len(design.get("params") or []), n_points, design.get("size"), beats, indices)


def run_size(config: dict) -> tuple[int, int] | None:
    """``(world.n_units, steps)`` of a resolved config, None when it does not say."""
    try:
        return int(config["world"]["n_units"]), int(config["steps"])
    except (KeyError, TypeError, ValueError):
        return None


def parameter_label(key: str, lang: str = "en") -> str:
    """An uncertain parameter's display name (``display_names.csv``), else its dotted key."""
    found = i18n.display_name("parameter", key, lang)
    if found:
        return found
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "agreements" and parts[2] == "land_km2":
        return f"第{parts[1]}项协议园区面积" if lang == "zh" else f"Land of agreement {parts[1]}"
    return key


def parse_rule(where_not: str) -> list[tuple[list[tuple[str, str, str]], str, str]] | None:
    """The leaves of a ``where_not`` rule of ``sim.sensitivity.where_beats``: (conditions (key, op,
    value), share in %, points) each; ``[]`` for "nowhere", None for text of another form."""
    if str(where_not).startswith(NOWHERE):
        return []
    leaves = []
    for part in str(where_not).split("; OR "):
        leaf = _LEAF.match(part.strip())
        if leaf is None:
            return None
        conditions = []
        for condition in leaf["where"].split(" and "):
            found = _CONDITION.match(condition.strip())
            if found is None and condition.strip() != "everywhere":
                return None
            if found is not None:
                conditions.append((found["key"], found["op"], found["value"]))
        leaves.append((conditions, leaf["share"], leaf["n"]))
    return leaves


def rule_text(where_not: str, lang: str = "en") -> str:
    """The tree's region where the regime does not beat, in words with display names; text
    that does not have the form ``sim.sensitivity.where_beats`` writes is returned as it is."""
    leaves = parse_rule(where_not)
    if leaves is None:
        return str(where_not)
    if not leaves:
        return text("nowhere", lang)
    parts = []
    for conditions, share, n in leaves:
        shown = [f"{parameter_label(key, lang)} {'≤' if op == '<=' else '>'} {value}"
                 for key, op, value in conditions] or [text("everywhere", lang)]
        parts.append(text("leaf", lang, where=text("and", lang).join(shown), share=share, n=n))
    return text("or", lang).join(parts)


def inert_items(study: Study, lang: str) -> list[str]:
    """Rules that split on a parameter the screen finds no effect of on that measure's
    difference (index below ``INERT`` of the strongest): with few points a tree splits where
    the sampled points happen to lie, and the reader is told so."""
    if study.indices is None:
        return []
    score = "mu_star_norm" if "mu_star_norm" in study.indices else "ST"
    items = []
    for row in study.beats.itertuples():
        rows = study.indices[study.indices["output"] == f"{row.metric}.diff"]
        strength = dict(zip(rows["parameter"], rows[score]))
        keys = {key for conditions, _, _ in parse_rule(row.where_not) or []
                for key, _, _ in conditions}
        inert = sorted(k for k in keys if k in strength and strength[k] < INERT)
        if inert:
            items.append(text("inert", lang, measure=registry.get(row.metric).label(lang),
                              params=text("and", lang).join(parameter_label(k, lang)
                                                            for k in inert)))
    return items


def design_items(study: Study, regimes: list[str], baseline: str,
                 batch_size: tuple[int, int] | None, lang: str) -> list[str]:
    """What the study sampled, and where it differs from the batch it is reported with."""
    label = i18n.scenario_label
    size = ""
    if study.size:
        shown = text("size", lang, units=f"{study.size[0]:,}", steps=study.size[1])
        size = f"({shown})" if lang == "zh" else f" ({shown})"
    pair = {"scenario": label(study.scenario or "?", lang),
            "baseline": label(study.baseline or "?", lang)}
    items = [text("design", lang, method=study.method.capitalize(), params=study.n_params,
                  points=study.n_points, size=size, **pair)]
    if study.scenario not in regimes or study.baseline != baseline:
        items.append(text("other_pair", lang, regimes=", ".join(label(r, lang) for r in regimes),
                          batch_baseline=label(baseline, lang), **pair))
    if study.size and batch_size and study.size != batch_size:
        study_size, batch = (text("size", lang, units=f"{s[0]:,}", steps=s[1])
                             for s in (study.size, batch_size))
        items.append(text("other_size", lang, study=study_size, batch=batch))
    if study.n_points < COARSE_POINTS:
        items.append(text("coarse", lang, points=study.n_points))
    return items


def beats_frame(study: Study, lang: str) -> pd.DataFrame:
    """One row per ranked measure: direction, share of points where it beats, mean difference,
    the region where it does not beat."""
    rows = {}
    for row in study.beats.itertuples():
        n = int(getattr(row, "n", study.n_points))
        rows[registry.get(row.metric).label_with_unit(lang)] = {
            text("better", lang): text(str(getattr(row, "better", "higher")), lang),
            text("share", lang): text("of_points", lang, share=f"{row.share_beats:.0%}", n=n),
            text("mean", lang): signed(row.mean_diff) if hasattr(row, "mean_diff") else "",
            text("where_not", lang): rule_text(row.where_not, lang)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = text("measure", lang)
    return frame


def index_table(indices: pd.DataFrame, metrics) -> pd.DataFrame:
    """Parameter x measure table of the index of each measure's paired difference (Morris
    mu* relative to the strongest, or Sobol ST), the ``TOP`` strongest parameters first."""
    score = "mu_star_norm" if "mu_star_norm" in indices else "ST"
    rows = indices[indices["output"].isin([f"{m}.diff" for m in metrics])]
    wide = rows.pivot_table(index="parameter", columns="output", values=score, aggfunc="first")
    wide = wide.rename(columns=lambda c: c.removesuffix(".diff"))
    wide = wide[[m for m in metrics if m in wide.columns]]
    order = wide.max(axis=1).sort_values(ascending=False).index[:TOP]
    return wide.loc[order]


def plot_indices(table: pd.DataFrame, method: str, lang: str = "en") -> Figure:
    """Grouped horizontal bars: each parameter's index for each measure's difference."""
    with i18n.figure_style(lang):
        fig = Figure(figsize=(14, min(8.0, 2.0 + 0.55 * len(table))), layout="constrained")
        ax = fig.subplots()
        width = 0.8 / max(1, len(table.columns))
        y = np.arange(len(table))
        for i, metric in enumerate(table.columns):
            ax.barh(y + (i - (len(table.columns) - 1) / 2) * width, table[metric].fillna(0.0),
                    width, label=registry.get(metric).label(lang))
        ax.set_yticks(y, [parameter_label(p, lang) for p in table.index])
        ax.invert_yaxis()
        ax.set_xlabel(text("morris_axis" if method == "morris" else "sobol_axis", lang))
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="lower right", fontsize=9)
        fig.suptitle(text("figure_title", lang), fontsize=13)
    return fig


def report_blocks(folder: str | Path, regimes: list[str], baseline: str,
                  batch_size: tuple[int, int] | None, fig_dir: Path, lang: str) -> list:
    """The section: heading, the study's design, the beats table, the index figure."""
    study = read_study(folder)
    pair = {"scenario": i18n.scenario_label(study.scenario or "?", lang),
            "baseline": i18n.scenario_label(study.baseline or "?", lang)}
    blocks = [("h2", text("heading", lang)),
              ("ul", design_items(study, regimes, baseline, batch_size, lang)),
              ("p", text("table", lang, **pair)), ("table", beats_frame(study, lang))]
    notes = inert_items(study, lang)
    if notes:
        blocks.append(("ul", notes))
    if study.indices is not None:
        metrics = [m for m in registry.headline(study.beats["metric"]) if m != "wuhan_share"]
        table = index_table(study.indices, metrics)
        if len(table):
            path = save_figure(plot_indices(table, study.method, lang), fig_dir,
                               "sensitivity_indices", lang)
            blocks.append(("figure", "sensitivity_indices", path,
                           text("caption", lang, top=len(table))))
    return blocks
