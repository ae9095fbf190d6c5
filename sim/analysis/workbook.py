"""``summary.xlsx``: the statistics as a workbook that reads on its own.

Labels and units instead of metric codes, display names instead of scenario codes, the verdict
per row, an "About" sheet that opens with the batch's settings (model size, horizon, replicates,
seed, discount rate, version, data hash: :mod:`sim.analysis.settings`) and its warnings, then
config hashes; a "Glossary" sheet (:mod:`sim.analysis.glossary`); frozen header rows, filters
and number formats declared per metric in :mod:`sim.analysis.registry` (shares as percentages).
Headers and sheet names follow ``lang``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from sim.analysis import i18n, registry
from sim.analysis.glossary import glossary
from sim.analysis.settings import rows as setting_rows
from sim.analysis.settings import warnings as setting_warnings
from sim.analysis.summary_rows import scenario_rank

HEADERS: dict[str, tuple[str, str]] = {
    "scenario": ("Scenario", "情景"),
    "parent": ("Compared with", "对照情景"),
    "switch": ("Rule", "规则"),
    "kind": ("Ablation", "消融方式"),
    "measure": ("Measure", "口径"),
    "metric": ("Metric", "指标"),
    "unit": ("Unit", "单位"),
    "better": ("Better is", "更优方向"),
    "city": ("City", "城市"),
    "baseline": ("Baseline", "基准情景"),
    "n": ("Replicates", "重复次数"),
    "mean": ("Mean", "均值"),
    "sd": ("Standard deviation", "标准差"),
    "ci_low": ("95% interval, low", "95%区间下限"),
    "ci_high": ("95% interval, high", "95%区间上限"),
    "effect_size_dz": ("Effect size d_z", "效应量d_z"),
    "p_ttest": ("p (paired t-test)", "p值(配对t检验)"),
    "verdict": ("Verdict", "结论"),
    "step": ("Quarter", "季度"),
    "key": ("Item", "项目"),
    "value": ("Value", "取值"),
}
SHEETS: dict[str, tuple[str, str]] = {
    "about": ("About", "说明"), "differences": ("Verdicts", "结论"),
    "ablations": ("Rules (ablations)", "规则消融"), "levels": ("Levels", "水平"),
    "city_gains": ("City gains", "城市得失"), "city_levels": ("City levels", "城市水平"),
    "over_time": ("Over time", "时间序列"), "glossary": ("Glossary", "术语"),
}
MEASURES = {"last": ("last quarter", "末期"), "discounted": ("present value", "贴现值")}
KINDS = {"removed": ("removed from the full regime", "从完整协同中移除"),
         "added": ("added alone to competition", "单独加入竞争情景")}
BETTER = {1: ("higher", "越高越好"), -1: ("lower", "越低越好"), 0: ("(not ranked)", "(不排序)")}
VALUE_COLUMNS = ("mean", "sd", "ci_low", "ci_high")
FIXED_FORMATS = {"n": "0", "p_ttest": "0.000", "effect_size_dz": "0.00", "step": "0"}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "zh" else pair[0]


def readable_frame(frame: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """A statistics table with display names, label, unit, direction and verdict in words.

    Returns the frame (columns renamed to the language) and each row's number format of the
    value columns (from the metric's registry entry).
    """
    out = pd.DataFrame(index=frame.index)
    metrics = frame["metric"] if "metric" in frame else pd.Series("", index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if column in ("scenario", "parent", "baseline"):
            values = values.map(lambda s: i18n.scenario_label(s, lang))
        elif column == "switch":
            values = values.map(lambda s: i18n.switch_label(s, lang))
        elif column == "kind":
            values = values.map(lambda k: _pick(KINDS.get(k, (k, k)), lang))
        elif column == "measure":
            values = values.map(lambda m: _pick(MEASURES.get(m, (m, m)), lang))
        elif column == "city":
            values = values.map(lambda c: i18n.city_label(c, lang))
        elif column == "metric":
            out[_pick(HEADERS["metric"], lang)] = values.map(lambda m: registry.get(m).label(lang))
            out[_pick(HEADERS["unit"], lang)] = [
                _unit(m, measure, lang) for m, measure in zip(values, frame.get(
                    "measure", pd.Series("last", index=frame.index)))]
            out[_pick(HEADERS["better"], lang)] = values.map(
                lambda m: _pick(BETTER[registry.get(m).better], lang))
            continue
        elif column == "verdict":
            values = [i18n.verdict_word(v, m, lang) for v, m in zip(values, metrics)]
        out[_pick(HEADERS[column], lang) if column in HEADERS else column] = values
    formats = [registry.get(m).number_format if m else "0.000" for m in metrics]
    return out.reset_index(drop=True), formats


def _unit(metric: str, measure: str, lang: str) -> str:
    """The metric's unit; a present value of an annual flow is a stock (no "/yr")."""
    unit = registry.get(metric).unit(lang)
    if measure == "discounted":
        unit = unit.replace("/yr", "").replace("/年", "")
    return unit


def ordered(frame: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Rows by scenario (baseline, main, ablations), measure, then the registry's metric order."""
    if "metric" not in frame or "scenario" not in frame:
        return frame
    rank = {code: i for i, code in enumerate(registry.BY_CODE)}
    keys = pd.DataFrame({
        "s": frame["scenario"].map(lambda s: scenario_rank(s, baseline)),
        "m": frame.get("measure", ""),
        "r": frame["metric"].map(lambda m: rank.get(m, len(rank)))}, index=frame.index)
    order = sorted(frame.index, key=lambda i: (keys.at[i, "s"], str(keys.at[i, "m"]) != "last",
                                               keys.at[i, "r"]))
    return frame.loc[order]


def metadata_rows(metadata: dict, summary, lang: str, batch=None) -> pd.DataFrame:
    """The About sheet: the settings and their warnings first (``batch``: a
    :class:`~sim.analysis.settings.BatchSettings`), then the rest; every value from the batch
    (never the clock)."""
    zh = lang == "zh"
    items: list[tuple[str, object]] = [("标题" if zh else "Title", i18n.sentence("title", lang))]
    if batch is not None:
        items += setting_rows(batch, lang)
        items += [("警告" if zh else "Warning", line) for line in setting_warnings(batch, lang)]
    else:
        items += [("软件包版本" if zh else "Package version", metadata.get("version", "")),
                  ("根随机种子" if zh else "Root seed", metadata.get("seed", "")),
                  ("每个情景的重复次数(最少)" if zh else "Replicates per scenario (smallest)",
                   summary.replicates),
                  ("批次写入时间(manifest.csv)" if zh else "Batch written (manifest.csv)",
                   metadata.get("date", ""))]
        if summary.replicates < 10:
            key = "one_replicate" if summary.replicates < 2 else "few_replicates"
            items.append(("警告" if zh else "Warning", i18n.sentence(key, lang)))
    items += [("基准情景" if zh else "Baseline", i18n.scenario_label(summary.baseline, lang)),
              ("区间与检验" if zh else "Interval and test", i18n.caption("methods", lang))]
    for name, record in sorted((metadata.get("scenarios") or {}).items()):
        label = i18n.scenario_label(name, lang)
        items.append((f"{'配置哈希' if zh else 'Config hash'}: {label}",
                       record.get("config_hash", "")))
        items.append((f"{'数据哈希' if zh else 'Data hash'}: {label}", record.get("data_hash", "")))
    columns = [_pick(HEADERS["key"], lang), _pick(HEADERS["value"], lang)]
    return pd.DataFrame(items, columns=columns)


def write_summary(summary, out_dir: str | os.PathLike, lang: str = "en",
                  metadata: dict | None = None, settings=None) -> Path:
    """Write ``summary.csv`` (one long table) and the readable ``summary.xlsx`` (``settings``:
    the batch's :class:`sim.analysis.settings.BatchSettings`, stated on its About sheet)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "summary.csv"
    summary.table().to_csv(path, index=False)
    write_workbook(summary, out / "summary.xlsx", lang, metadata or {}, settings)
    return path


def write_workbook(summary, path: str | os.PathLike, lang: str = "en",
                   metadata: dict | None = None, settings=None) -> Path:
    """Write ``summary.xlsx``: About (``settings`` first), Verdicts, Rules, Levels, City gains,
    City levels, Over time, Glossary."""
    path = Path(path)
    parts = {"differences": summary.differences, "ablations": summary.ablations,
             "levels": summary.levels, "city_gains": summary.city_gains,
             "city_levels": summary.city_levels, "over_time": summary.over_time}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        about = metadata_rows(metadata or {}, summary, lang, settings)
        about.to_excel(writer, sheet_name=_pick(SHEETS["about"], lang), index=False)
        _style(writer.sheets[_pick(SHEETS["about"], lang)], about, [], {}, widths=(34, 110))
        for key, frame in parts.items():
            if frame is None or not len(frame):
                continue
            table, formats = readable_frame(ordered(frame, summary.baseline), lang)
            name = _pick(SHEETS[key], lang)
            table.to_excel(writer, sheet_name=name, index=False)
            _style(writer.sheets[name], table, formats, _column_formats(frame, table))
        terms = glossary(lang)
        name = _pick(SHEETS["glossary"], lang)
        terms.to_excel(writer, sheet_name=name, index=False)
        _style(writer.sheets[name], terms, [], {}, widths=(40, 120))
    return path


def _column_formats(frame: pd.DataFrame, table: pd.DataFrame) -> dict[int, str]:
    """1-based column index of the readable table -> a fixed format or ``"metric"``."""
    names = {}
    lookup = {_pick(HEADERS[c], lang): c for c in HEADERS for lang in ("en", "zh")}
    for index, header in enumerate(table.columns, start=1):
        code = lookup.get(header, header)
        if code in VALUE_COLUMNS:
            names[index] = "metric"
        elif code in FIXED_FORMATS:
            names[index] = FIXED_FORMATS[code]
    return names


def _style(sheet, table: pd.DataFrame, formats: list[str], columns: dict[int, str],
           widths: tuple[int, ...] = ()) -> None:
    """Freeze the header row, add filters, set widths and the number format of every cell."""
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, header in enumerate(table.columns, start=1):
        width = (
            widths[index - 1]
            if index <= len(widths)
            else min(
                48,
                max(
                    10, len(str(header)) + 2, *(len(str(v)) + 2 for v in table.iloc[:50, index - 1])
                ),
            )
        )
        sheet.column_dimensions[get_column_letter(index)].width = width
    for index, kind in columns.items():
        for row in range(2, len(table) + 2):
            cell = sheet.cell(row=row, column=index)
            cell.number_format = formats[row - 2] if kind == "metric" else kind
