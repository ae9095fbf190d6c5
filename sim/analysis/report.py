"""The comparison report: ``summary.csv``/``.xlsx``, figures, ``report.md`` and ``report.html``.

Every number in the text is read back from ``summary.csv`` after it is written, so the report
and the table cannot disagree. Wording follows the sign of the interval, never an assumption.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import pandas as pd
import yaml

from sim.analysis import fiscal, i18n, plots, stats
from sim.experiments.store import load_results, run_folder_name

OUTPUTS = ("report.md", "report.html", "summary.csv", "summary.xlsx", "figures")
KEY_METRICS = ("similarity_ring_mean", "wuhan_share", "theil", "subsidy_total", "welfare",
               "moved_out_of_wuhan_cum", "gdp_total")


def fmt(value: float) -> str:
    """A number as printed in the report (3 significant digits, thousands separators)."""
    if pd.isna(value):
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return text.replace("-", "−")


def fmt_p(value: float) -> str:
    if pd.isna(value):
        return "n/a"
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def verdict(low: float, high: float, lang: str = "en") -> str:
    """'higher' / 'lower' when the interval excludes zero, else 'not distinguishable from zero'
    ('identical to the baseline' when every paired difference is zero)."""
    if low == high == 0:
        return i18n.sentence("identical", lang)
    if low > 0:
        return i18n.sentence("higher", lang)
    if high < 0:
        return i18n.sentence("lower", lang)
    return i18n.sentence("not_distinct", lang)


def check_fresh(out_dir: Path) -> None:
    """Refuse to overwrite an earlier report in ``out_dir`` (outputs are never overwritten)."""
    existing = [name for name in OUTPUTS if (out_dir / name).exists()]
    if existing:
        raise FileExistsError(f"{out_dir}: already holds {', '.join(existing)}; choose another "
                              "--out or remove them")


def scenario_configs(batch_dir: Path, manifest: pd.DataFrame) -> dict[str, dict]:
    """Each scenario's resolved config, read from the first finished run's ``config.yaml``."""
    configs: dict[str, dict] = {}
    for row in manifest[manifest["status"] == "ok"].itertuples():
        if row.scenario not in configs:
            path = batch_dir / "runs" / run_folder_name(row.run) / "config.yaml"
            configs[row.scenario] = yaml.safe_load(path.read_text()) if path.exists() else {}
    return configs


def main_scenarios(names, baseline: str) -> list[str]:
    """The baseline first, then scenarios that are not ablations (``_with_``/``_without_``)."""
    others = sorted(n for n in names if n != baseline and "_with_" not in n
                    and "_without_" not in n)
    if not others:
        others = sorted(n for n in names if n != baseline)[:1]
    return [baseline, *others]


def unswept(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of a summary table that belong to no sweep point."""
    keys = plots.sweep_keys(frame)
    return frame[frame[keys].isna().all(axis=1)] if keys else frame


def difference_sentence(row: pd.Series, lang: str) -> str:
    """One sentence on a paired difference; every number comes from the summary row."""
    metric = i18n.metric_label(row["metric"], lang)
    if row["measure"] == "discounted":
        metric = (metric.replace("(100m yuan/yr)", "(present value, 100m yuan)")
                  .replace("(亿元/年)", "(贴现值,亿元)"))
    numbers = f"{fmt(row['mean'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"
    tail = f"p {fmt_p(row['p_ttest'])}, d_z = {fmt(row['effect_size_dz'])}"
    word = verdict(row["ci_low"], row["ci_high"], lang)
    if lang == "zh":
        return f"{row['scenario']}相对{row['baseline']}使{metric}变化 {numbers}:{word}({tail})。"
    return (f"{row['scenario']} changes {metric} by {numbers} against {row['baseline']}: "
            f"{word} ({tail}).")


def summary_items(table: pd.DataFrame, baseline: str, lang: str) -> list[str]:
    """Generated summary: key metrics and cities' credited GDP for main scenarios, welfare for
    ablations (every number from the summary table)."""
    diffs = unswept(table[table["section"] == "difference"])
    diffs = diffs.assign(key_measure=diffs["measure"], key_metric=diffs["metric"])
    items = []
    order = sorted(diffs["scenario"].unique(), key=lambda s: plots.scenario_rank(s, baseline))
    main = main_scenarios(order, baseline)
    for scenario in order:
        rows = diffs[diffs["scenario"] == scenario].set_index(["key_measure", "key_metric"])
        keys = [("last", m) for m in KEY_METRICS] + [("discounted", "welfare")]
        if scenario not in main:  # ablations: the welfare verdicts; the rest is in the tables
            keys = [("last", "welfare"), ("discounted", "welfare")]
        items += [difference_sentence(rows.loc[k].copy(), lang) for k in keys if k in rows.index]
        if scenario in main:
            items.append(city_sentence(table, scenario, lang))
    return items


def city_sentence(table: pd.DataFrame, scenario: str, lang: str) -> str:
    """Which cities' credited GDP is higher, lower, or not distinguishable from the baseline."""
    rows = unswept(table[(table["section"] == "city_gain") & (table["scenario"] == scenario)
                         & (table["metric"] == "gdp_credited")])
    parts = []
    rows = rows.set_index("city").reindex(i18n.city_order(rows["city"])).reset_index()
    for _, row in rows.iterrows():
        word = verdict(row["ci_low"], row["ci_high"], lang)
        parts.append(f"{i18n.city_label(row['city'], lang)} {fmt(row['mean'])} "
                     f"[{fmt(row['ci_low'])}, {fmt(row['ci_high'])}] ({word})")
    label = i18n.metric_label("gdp_credited", lang)
    joiner = ";" if lang == "zh" else "; "
    return f"{scenario} — {label}: " + joiner.join(parts)


def metric_table(table: pd.DataFrame, section: str, scenarios, lang: str,
                 measure: str = "last") -> pd.DataFrame:
    """Scenario (and sweep point) x metric table of ``mean [ci_low, ci_high]`` strings."""
    rows = table[(table["section"] == section) & (table["measure"] == measure)]
    rows = rows[rows["scenario"].isin(scenarios)]
    keys = [k for k in plots.distinct_sweeps(rows) if rows[k].notna().any()]
    rank = {s: i for i, s in enumerate(scenarios)}
    rows = rows.assign(rank=rows["scenario"].map(rank)).sort_values(["rank", *keys])
    out: dict[str, dict[str, str]] = {}
    for _, row in rows.iterrows():
        if row["metric"] not in stats.HEADLINE_METRICS:
            continue
        label = plots.series_label(row["scenario"], keys, [row[k] for k in keys])
        out.setdefault(label, {})[row["metric"]] = (
            f"{fmt(row['mean'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]")
    frame = pd.DataFrame.from_dict(out, orient="index")
    columns = [m for m in stats.HEADLINE_METRICS if m in frame.columns]
    return frame[columns].rename(columns=lambda m: i18n.metric_label(m, lang))


def make_figures(batch, summary: stats.Summary, out_dir: Path, lang: str,
                 boundaries: list | None) -> list[tuple[str, Path]]:
    """Draw and save every figure; returns (caption, PNG path) in report order."""
    baseline = summary.baseline
    names = sorted(batch.circle["scenario"].unique())
    colours = plots.scenario_colours(names)
    main = [s for s in main_scenarios(names, baseline) if s in names]
    shown = names if len(names) <= 6 else main
    over_time = unswept(summary.over_time[summary.over_time["scenario"].isin(shown)])
    figures = [
        ("time_series", plots.plot_time_series(over_time, colours=colours, lang=lang)),
        ("last_step", plots.plot_last_step(summary.levels, baseline, stats.HEADLINE_METRICS,
                                           colours=colours, lang=lang)),
        ("differences", plots.plot_differences(summary.differences, stats.HEADLINE_METRICS,
                                               colours=colours, lang=lang)),
        ("investment_map", plots.plot_investment_map(batch.sectors, main, lang=lang)),
        ("arrivals_map", plots.plot_investment_map(batch.transfers, main, "arrivals", lang)),
        ("flow_map", plots.plot_flow_map(batch.cities, batch.transfers, main,
                                         boundaries=boundaries, lang=lang)),
    ]
    if len(main) > 1:
        figures.append(("city_gains", plots.plot_city_gains(summary.city_gains, main[1:], lang)))
    for key in plots.distinct_sweeps(summary.levels):
        name = f"sweep_{key.replace('.', '_')}"
        figures.append((name, plots.plot_sweep(summary.levels, key, KEY_METRICS[:6], colours,
                                               lang, baseline=baseline)))
        gains = summary.city_gains[summary.city_gains["metric"] == "gdp_credited"]
        for scenario in sorted(gains.dropna(subset=[key])["scenario"].unique()):
            title = f"{scenario}: {i18n.metric_label('gdp_credited', lang)} − {baseline}"
            figures.append((f"{name}_{scenario}_cities", plots.plot_sweep(
                gains[gains["scenario"] == scenario], key, ["gdp_credited"], lang=lang,
                series="city", title=title)))
    saved = []
    for name, fig in figures:
        saved.append((name, plots.save_figure(fig, out_dir, name, lang)))
    return saved


def switch_changes(config: dict, base: dict) -> str:
    """Switches a scenario turns on (+) or off (−) relative to the baseline's."""
    on, before = config.get("switches") or {}, base.get("switches") or {}
    return ", ".join([f"+{k}" for k, v in on.items() if v and not before.get(k)]
                     + [f"−{k}" for k, v in on.items() if not v and before.get(k)])


def scenario_blocks(configs: dict[str, dict], manifest: pd.DataFrame, baseline: str,
                    lang: str) -> list:
    """Bullets: each scenario, its replicates, description and its switches against the
    baseline (from the stored configs), then what each switch does."""
    counts = manifest[manifest["status"] == "ok"].groupby("scenario")["replicate"].nunique()
    items = []
    for scenario in sorted(configs, key=lambda s: plots.scenario_rank(s, baseline)):
        config = configs[scenario]
        text = (f"**{scenario}** ({counts.get(scenario, 0)} {i18n.heading('replicates', lang)}): "
                f"{str(config.get('description') or '').strip()}")
        changes = switch_changes(config, configs.get(baseline, {}))
        if changes:
            text += f" [{i18n.heading('switches', lang)} vs {baseline}: {changes}]"
        items.append(text)
    switch_items = [f"**{k}**: {i18n.switch_description(k, lang)}" for k in i18n.SWITCHES]
    return [("ul", items), ("h3", i18n.heading("switches", lang)), ("ul", switch_items)]


def build_blocks(table: pd.DataFrame, configs: dict, manifest: pd.DataFrame, baseline: str,
                 figures: list[tuple[str, Path]], lang: str) -> list:
    """The report as a list of blocks rendered to both Markdown and HTML."""
    scenarios = sorted(configs, key=lambda s: plots.scenario_rank(s, baseline))
    return [
        ("h1", i18n.sentence("title", lang)),
        ("h2", i18n.heading("question", lang)), ("p", i18n.sentence("question", lang)),
        ("h2", i18n.heading("scenarios", lang)),
        *scenario_blocks(configs, manifest, baseline, lang),
        ("h2", i18n.heading("summary", lang)), ("p", i18n.caption("methods", lang)),
        ("ul", summary_items(table, baseline, lang)),
        ("h2", i18n.heading("headline", lang)),
        ("table", metric_table(table, "level", scenarios, lang)),
        ("h2", i18n.heading("differences", lang)),
        ("table", metric_table(table, "difference", scenarios, lang)),
        ("h2", i18n.heading("figures", lang)),
        *[("figure", name, path, i18n.caption(name, lang)) for name, path in figures],
    ]


def who_pays_blocks(batch, baseline: str, fig_dir: Path, lang: str) -> list:
    """The "who gains, who pays" section (sim.analysis.fiscal); none without fiscal rows."""
    if batch.fiscal.empty:
        return []
    table = fiscal.who_pays(batch, baseline)
    scenarios = [s for s in main_scenarios(table["scenario"].unique(), baseline)
                 if s in set(table["scenario"])] or sorted(table["scenario"].unique())
    path = plots.save_figure(fiscal.plot_who_pays(table, scenarios, lang), fig_dir, "who_pays", lang)
    return fiscal.report_blocks(table, scenarios, path, lang)


def to_markdown(blocks: list, out_dir: Path) -> str:
    lines = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            lines.append("#" * int(kind[1]) + " " + block[1])
        elif kind == "p":
            lines.append(block[1])
        elif kind == "ul":
            lines.extend(f"- {item}" for item in block[1])
        elif kind == "table":
            frame = block[1]
            lines.append("| | " + " | ".join(frame.columns) + " |")
            lines.append("|---" * (len(frame.columns) + 1) + "|")
            lines.extend(f"| {i} | " + " | ".join(map(str, r)) + " |"
                         for i, r in zip(frame.index, frame.to_numpy()))
        elif kind == "figure":
            lines.append(f"![{block[1]}]({block[2].relative_to(out_dir).as_posix()})")
            lines.append(f"*{block[3]}*")
        lines.append("")
    return "\n".join(lines)


CSS = ("body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;max-width:1200px;"
       "margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;font-size:12px;"
       "display:block;overflow-x:auto}td,th{border:1px solid #ccc;padding:3px 6px}"
       "th{background:#f4f4f4}img{max-width:100%;border:1px solid #eee}li{margin:.3em 0}"
       "figcaption{font-size:13px;color:#555;margin:.3em 0 1.5em}")


def _inline(text: str) -> str:
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def to_html(blocks: list, lang: str) -> str:
    body = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3", "p"):
            body.append(f"<{kind}>{_inline(block[1])}</{kind}>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            body.append(block[1].to_html(escape=True, na_rep=""))
        elif kind == "figure":
            data = base64.b64encode(block[2].read_bytes()).decode("ascii")
            body.append(f'<figure><img alt="{html.escape(block[1])}" '
                        f'src="data:image/png;base64,{data}">'
                        f"<figcaption>{html.escape(block[3])}</figcaption></figure>")
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
            f'<meta charset="utf-8"><title>{html.escape(i18n.sentence("title", lang))}</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")


def build_report(batch_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 baseline: str = "homogenised", lang: str = "en",
                 boundaries: str | os.PathLike | None = None, rate: float = 0.05,
                 n_boot: int = 2000) -> Path:
    """Compare a stored batch and write the summary, figures and report; returns report.html.

    Raises:
        FileExistsError: ``out_dir`` already holds a report.
        ValueError: the baseline is not in the batch, or the boundaries file is unusable.
        sim.config.ConfigError: ``batch_dir`` is not a batch folder.
    """
    batch_dir, out = Path(batch_dir), Path(out_dir)
    check_fresh(out)
    rings = plots.read_boundaries(boundaries) if boundaries else None
    if lang == "zh":
        i18n.cjk_font()
    batch = load_results(batch_dir)
    summary = stats.summarise(batch, baseline, rate, n_boot)
    table = pd.read_csv(stats.write_summary(summary, out))
    figures = make_figures(batch, summary, out / "figures", lang, rings)
    blocks = build_blocks(table, scenario_configs(batch_dir, batch.manifest), batch.manifest,
                          baseline, figures, lang)
    blocks += who_pays_blocks(batch, baseline, out / "figures", lang)
    (out / "report.md").write_text(to_markdown(blocks, out), encoding="utf-8")
    (out / "report.html").write_text(to_html(blocks, lang), encoding="utf-8")
    return out / "report.html"
