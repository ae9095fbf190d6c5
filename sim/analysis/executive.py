"""The executive summary: four bullets computed from ``summary.csv``, never written in advance.

Who wins on which measure and by how much; which rule carries the result (the one-at-a-time
ablation that moves the headline measure most); which cities gain and which lose; how robust it
is (replicates, and the sensitivity study's region where the regime does not beat the baseline,
and the assumptions over whose range the headline difference changes sign, when a study is
given). Every number is read from the summary table or the study's files, so text and tables
agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.analysis import i18n, registry
from sim.analysis.forest import headline_label, headline_measure
from sim.analysis.summary_rows import unswept

MIN_REPLICATES = 10


def fmt(value: float) -> str:
    """A number as printed in the report (3 significant digits, thousands separators)."""
    if pd.isna(value):
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return text.replace("-", "−")


def signed(value: float) -> str:
    return ("+" if not pd.isna(value) and value > 0 else "") + fmt(value)


def interval(row: pd.Series) -> str:
    """``+12.3 [4.5, 20.1]``: mean and its 95% interval (``+12.3 (no interval)`` from a single
    replicate)."""
    if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
        return f"{signed(row['mean'])} (no interval)"
    return f"{signed(row['mean'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"


def _ranked(row: pd.Series) -> str:
    """``better`` / ``worse`` / ``higher`` / ``lower`` / ``not_distinct`` of a difference row."""
    verdict = row["verdict"]
    if verdict == "cannot_judge":
        return verdict
    if verdict not in ("higher", "lower"):
        return "not_distinct"
    direction = registry.get(row["metric"]).better
    if direction == 0:
        return verdict
    return "better" if (verdict == "higher") == (direction > 0) else "worse"


def wins_sentence(table: pd.DataFrame, scenario: str, baseline: str, metrics,
                  lang: str) -> str:
    """Where ``scenario`` is better, worse, merely different or indistinct from the baseline."""
    diffs = unswept(table[(table["section"] == "difference") & (table["scenario"] == scenario)])
    groups: dict[str, list[str]] = {}
    for metric in metrics:
        rows = diffs[(diffs["metric"] == metric) & (diffs["measure"] == headline_measure(metric))]
        if rows.empty:
            continue
        row = rows.iloc[0]
        entry = registry.get(metric)
        unit = entry.unit(lang).replace("/yr", "").replace("/年", "") if entry.flow else ""
        groups.setdefault(_ranked(row), []).append(
            f"{headline_label(metric, lang)} {interval(row)} {unit}".strip())
    zh = lang == "zh"
    names = {"better": "更优" if zh else "better on", "worse": "更差" if zh else "worse on",
             "higher": "更高" if zh else "higher on", "lower": "更低" if zh else "lower on",
             "not_distinct": "与基准无显著区别" if zh else "not distinguishable on",
             "cannot_judge": ("无法判断(仅一次重复)" if zh
                              else "cannot be judged (one replicate) on")}
    parts = [f"{names[k]}: {'; '.join(groups[k])}" for k in names if k in groups]
    parts = [p[:1].upper() + p[1:] for p in parts]
    head = (f"{i18n.scenario_label(scenario, lang)}相对{i18n.scenario_label(baseline, lang)}"
            if zh else f"{i18n.scenario_label(scenario, lang)} against "
            f"{i18n.scenario_label(baseline, lang)}")
    return f"{head}: " + (";" if zh else ". ").join(parts) + ("。" if zh else ".")


def rule_sentence(table: pd.DataFrame, metric: str, lang: str) -> str:
    """The rule whose ablations move ``metric`` most (its effect removed from the coordinated
    regime and added alone to competition, each named once), then the next rule, a different
    one."""
    zh = lang == "zh"
    rows = table[(table["section"] == "ablation") & (table["metric"] == metric)
                 & (table["measure"] == headline_measure(metric))]
    if rows.empty:
        return (
            "本批次没有逐一消融情景,无法判断哪条规则起主要作用(运行 make demo 可得)。"
            if zh
            else "Which rule carries the result cannot be told: the batch has no one-at-a-time "
            "ablations (make demo runs them)."
        )
    strength = rows.groupby("switch")["mean"].agg(lambda m: m.abs().max())
    ranked = [s for s in strength.sort_values(ascending=False, kind="stable").index
              if strength[s] > 0]
    label = headline_label(metric, lang)
    if not ranked:
        return (f"没有一条规则的消融改变{label}:每个消融情景都与其对照情景相同。" if zh else
                f"No rule's ablation moves {label}: every ablation equals the scenario it was "
                "made from.")
    named = [_rule_effects(rows[rows["switch"] == switch], lang) for switch in ranked[:2]]
    if zh:
        text = f"对{label}影响最大的规则:{named[0]}"
        return text + (f";其次:{named[1]}" if len(named) > 1 else "") + "。"
    text = f"The rule that moves {label} most: {named[0]}"
    return text + (f". Next: {named[1]}" if len(named) > 1 else "") + "."


def ablation_word(verdict: str, metric: str, lang: str) -> str:
    """A verdict on a rule's ablation effect in words. The effect is measured against the
    scenario the ablation was made from (full − without, with − without), not against the
    report's baseline, so an effect of 0 in every replicate reads "the same with and without
    the rule"."""
    if verdict == "identical":
        return ("每次重复中有无该规则结果均相同" if lang == "zh"
                else "the same with and without the rule in every replicate")
    return i18n.verdict_word(verdict, metric, lang)


def _rule_effects(rows: pd.DataFrame, lang: str) -> str:
    """``Subsidy cap (contributes to the coordinated regime +8 [1, 15]: better (higher); ...)``:
    one rule's ablation effects, removed then added."""
    zh = lang == "zh"
    parts = []
    for kind in ("removed", "added"):
        part = rows[rows["kind"] == kind]
        if part.empty:
            continue
        row = part.loc[part["mean"].abs().idxmax()]
        word = ablation_word(row["verdict"], row["metric"], lang)
        if zh:
            what = "在协同共建中该规则的贡献" if kind == "removed" else "在竞争情景中单独加入的效应"
            parts.append(f"{what}{interval(row)},{word}")
        else:
            what = ("contributes to the coordinated regime" if kind == "removed"
                    else "adds alone to competition")
            parts.append(f"{what} {interval(row)}: {word}")
    switch = i18n.switch_label(rows["switch"].iloc[0], lang)
    return f"{switch}({';'.join(parts)})" if zh else f"{switch} ({'; '.join(parts)})"


def cities_sentence(table: pd.DataFrame, scenario: str, lang: str,
                    measure: str = "gdp_credited") -> str:
    """Cities whose ``measure`` gains, loses, or does not move against the baseline."""
    rows = unswept(table[(table["section"] == "city_gain") & (table["scenario"] == scenario)
                          & (table["metric"] == measure)])
    rows = rows.set_index("city").reindex(i18n.city_order(rows["city"])).reset_index()
    zh = lang == "zh"
    groups = {"higher": [], "lower": [], "not_distinct": [], "cannot_judge": []}
    for _, row in rows.iterrows():
        key = row["verdict"] if row["verdict"] in groups else "not_distinct"
        groups[key].append(f"{i18n.city_label(row['city'], lang)} {interval(row)}")
    names = {"higher": "增加" if zh else "gain", "lower": "减少" if zh else "lose",
             "not_distinct": "无显著变化" if zh else "no distinguishable change",
             "cannot_judge": "无法判断" if zh else "cannot be judged"}
    label = registry.get(measure).label_with_unit(lang)
    parts = [f"{names[k]}: {', '.join(v)}" for k, v in groups.items() if v]
    head = f"{i18n.scenario_label(scenario, lang)}下各城市{label}" if zh else \
        f"{label} by city under {i18n.scenario_label(scenario, lang)}"
    return f"{head}: " + ("; " if not zh else ";").join(parts) + ("。" if zh else ".")


def robustness_sentence(replicates: int, sensitivity: pd.DataFrame | None, lang: str) -> str:
    """Replicates behind the verdicts and what the sensitivity study says, if one was given."""
    zh = lang == "zh"
    text = (f"每个情景{replicates}次配对重复实验(共同随机数)。" if zh else
            f"{replicates} paired replicate{'s' if replicates != 1 else ''} per scenario "
            "(common random numbers).")
    if replicates < 2:
        text += " " + i18n.sentence("one_replicate", lang)
    elif replicates < MIN_REPLICATES:
        text += " " + i18n.sentence("few_replicates", lang)
    if sensitivity is None or sensitivity.empty:
        return text + (" 未对假设参数做敏感性分析:结论仅在设定参数下成立(运行 sim sensitivity 后以 "
                       "sim compare --sensitivity DIR 纳入)。" if zh else
                       " No sensitivity study was run with this batch: the verdicts hold at the "
                       "assumed parameters only (run `sim sensitivity`, then `sim compare "
                       "--sensitivity DIR`).")
    return text + " " + study_sentence(sensitivity, lang)


def study_sentence(beats: pd.DataFrame, lang: str) -> str:
    """The study's pair and size, and the share of its sampled points in which the scenario
    beats the baseline on each ranked measure; the regions where it does not are left to the
    report's robustness section (a tree's rules do not fit a summary)."""
    zh, design = lang == "zh", beats.attrs
    pair = [i18n.scenario_label(design[k], lang) if design.get(k) else
            ("该情景" if k == "scenario" else "基准") if zh else f"the {k}"
            for k in ("scenario", "baseline")]
    points = int(beats["n"].max()) if "n" in beats and len(beats) else 0
    name = str(design.get("method") or "").capitalize()
    shares = "; ".join(f"{registry.get(row.metric).label(lang)} {row.share_beats:.0%}"
                       for row in beats.itertuples())
    if zh:
        return (f"敏感性分析({name + '\uff0c' if name else ''}{points}个抽样点\uff0c比较末期数值)中"
                f"{pair[0]}优于{pair[1]}的抽样点比例:{shares}(不占优的参数区域见“对假设参数的稳健性”"
                "一节)。")
    return (f"In the sensitivity study ({name + ', ' if name else ''}{points} sampled points, "
            f"compared at the last quarter) {pair[0]} beats {pair[1]} in this share of the "
            f"points: {shares} (where it does not: section \"Robustness to the assumed "
            "parameters\").")


def sign_sentence(sign_ranges: pd.DataFrame | None, lang: str) -> str:
    """Which assumptions flip the sign of the headline differences over their sampled range
    (``sign_ranges.csv`` of a sensitivity study); empty when there is none."""
    if sign_ranges is None or sign_ranges.empty:
        return ""
    zh = lang == "zh"
    parts = []
    for metric, rows in sign_ranges.groupby("metric", sort=False):
        label = registry.get(metric).label(lang)
        flips = rows[rows["changes_sign"].astype(str).str.lower() == "true"]
        if flips.empty:
            parts.append(f"{label}:没有单个参数在其取值范围内改变差值的符号" if zh else
                         f"{label}: no single assumption changes its sign over its range")
            continue
        items = []
        for row in flips.itertuples():
            pos, neg = _text(row.positive), _text(row.negative)
            near = _text(row.crossings)
            name = i18n.display_name("parameter", row.parameter, lang) or row.parameter
            items.append(f"{name}(正:{pos};负:{neg};约在 {near} 处变号)" if zh else
                         f"{name} (positive over {pos}, negative over {neg}, "
                         f"changes near {near})")
        parts.append(f"{label}:" + "、".join(items) if zh else f"{label}: " + "; ".join(items))
    head = ("敏感性分析中使情景与基准之差改变符号的假设——" if zh else
            "Assumptions over whose sampled range the difference from the baseline changes sign "
            "(other parameters averaged over) — ")
    return head + (";" if zh else "; ").join(parts) + ("。" if zh else ".")


def _text(value) -> str:
    return "—" if pd.isna(value) or str(value) == "" else str(value)


def read_sign_ranges(folder: str | Path | None) -> pd.DataFrame | None:
    """``sign_ranges.csv`` of a sensitivity study folder; None when no folder is given or the
    study has none (written before it existed).

    Raises:
        ValueError: the file is unreadable or lacks the expected columns.
    """
    if folder is None or not (Path(folder) / "sign_ranges.csv").exists():
        return None
    path = Path(folder) / "sign_ranges.csv"
    try:
        frame = pd.read_csv(path, dtype={"positive": str, "negative": str, "crossings": str})
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the sensitivity study's sign_ranges.csv "
                         f"({error})") from None
    expected = {"metric", "parameter", "positive", "negative", "changes_sign", "crossings"}
    missing = expected - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: expected columns {', '.join(sorted(expected))}; "
                         f"missing {', '.join(sorted(missing))}")
    return frame


def read_sensitivity(folder: str | Path | None) -> pd.DataFrame | None:
    """``beats.csv`` of a sensitivity study folder (None when no folder is given).

    Raises:
        ValueError: the folder has no readable ``beats.csv`` with the expected columns.
    """
    if folder is None:
        return None
    path = Path(folder) / "beats.csv"
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the sensitivity study's beats.csv ({error})") \
            from None
    missing = {"metric", "share_beats", "where_not"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: expected columns metric, share_beats, where_not; "
                         f"missing {', '.join(sorted(missing))}")
    frame.attrs.update(study_design(Path(folder)))
    return frame


def study_design(folder: Path) -> dict:
    """Method, scenario and baseline names, parameter keys and the runs' resolved size
    (``n_units``, ``steps``) from a study's ``design.json``; empty when there is none.

    Raises:
        ValueError: ``design.json`` exists but is not the JSON object the tool writes.
    """
    path = folder / "design.json"
    if not path.is_file():
        return {}
    try:
        design = json.loads(path.read_text(encoding="utf-8"))
        scenario, baseline = design.get("scenario") or {}, design.get("baseline") or {}
        size = (int(scenario["world"]["n_units"]), int(scenario["steps"])) \
            if "world" in scenario and "steps" in scenario else None
        return {"method": design.get("method"), "scenario": scenario.get("name"),
                "baseline": baseline.get("name"), "size": size,
                "params": [p["key"] for p in design.get("params") or []]}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"{path}: cannot read the sensitivity study's design "
                         f"({type(error).__name__}: {error}); expected the design.json "
                         "`sim sensitivity` writes") from None


def executive_items(table: pd.DataFrame, baseline: str, compared, replicates: int,
                    sensitivity: pd.DataFrame | None, lang: str,
                    sign_ranges: pd.DataFrame | None = None) -> list[str]:
    """The executive summary's bullets, in order: wins, rule, cities, robustness, and the
    assumptions that flip the sign of the headline (when the study has ``sign_ranges.csv``)."""
    metrics = registry.headline(table["metric"].unique())
    items = [wins_sentence(table, s, baseline, metrics, lang) for s in compared]
    if metrics:
        items.append(rule_sentence(table, metrics[0], lang))
    items += [cities_sentence(table, s, lang) for s in compared[:1]]
    items.append(robustness_sentence(replicates, sensitivity, lang))
    if sign := sign_sentence(sign_ranges, lang):
        items.append(sign)
    return items
