"""The comparison report: ``summary.csv``/``.xlsx``, figures, ``report.md`` and ``report.html``.

The report opens with its settings (size, horizon, replicates, seed, discount rate, version, data
hash; :mod:`sim.analysis.settings`) and what they forbid reading into it (a small batch, few
replicates), then leads with the answer: an executive summary computed from the results
(:mod:`sim.analysis.executive`), one slide-sized headline figure, then the detail, the
agreements that came about (:mod:`sim.analysis.uptake`) and who gains and who pays. Every number
in the text is read back from ``summary.csv`` after it is written, so the report and the table
cannot disagree. Wording follows the sign of the interval, never an assumption. The report is
written beside its target and moved into place when whole (:mod:`sim.analysis.output`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

from sim.analysis import (
    enclaves,
    executive,
    fiscal,
    forest,
    i18n,
    plots,
    registry,
    robustness,
    settings,
    stats,
    uptake,
    welfare_sources,
    workbook,
)
from sim.analysis.evidence_summary import report_blocks as evidence_blocks
from sim.analysis.executive import fmt, interval
from sim.analysis.output import check_target, report_folder
from sim.analysis.plan_pairs import section as plan_pairs_section
from sim.analysis.posterior_headline import posterior_blocks
from sim.analysis.render import to_html, to_markdown  # noqa: F401  (part of this module's API)
from sim.analysis.summary_rows import distinct_sweeps, scenario_rank, unswept
from sim.config.loader import ConfigError
from sim.experiments.store import load_results, run_folder_name

#: At most this many regimes are compared in the headline figure and the executive summary.
MAX_COMPARED = 3


def fmt_p(value: float) -> str:
    if pd.isna(value):
        return "n/a"
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def check_comparable(batch, baseline: str) -> None:
    """Refuse a batch that cannot be compared, in one line: no run, or nothing beside the
    baseline.

    Raises:
        ConfigError: naming what the batch holds and what a comparison needs.
    """
    names = sorted(batch.circle["scenario"].unique()) if len(batch.circle) else []
    if not names:
        raise ConfigError("the batch holds no finished run; nothing to compare")
    if baseline not in names:
        raise ConfigError(f"--baseline {baseline}: not in the batch (it holds "
                          f"{', '.join(names)})")
    if names == [baseline]:
        raise ConfigError(f"the batch holds only the baseline {baseline}; a comparison needs "
                          "at least one other scenario (add one to `sim batch`)")


def scenario_configs(batch_dir: Path, manifest: pd.DataFrame) -> dict[str, dict]:
    """Each scenario's resolved config, read from the first finished run's ``config.yaml``."""
    configs: dict[str, dict] = {}
    for row in manifest[manifest["status"] == "ok"].itertuples():
        if row.scenario not in configs:
            path = batch_dir / "runs" / run_folder_name(row.run) / "config.yaml"
            configs[row.scenario] = yaml.safe_load(path.read_text()) if path.exists() else {}
    return configs


def batch_metadata(batch_dir: Path, manifest: pd.DataFrame) -> dict:
    """Version, root seed(s), config and data hashes, and when ``manifest.csv`` was written
    (its modification time: a fact of the batch, not of the clock when the report is made)."""
    record_file = batch_dir / "batch.json"
    record = json.loads(record_file.read_text()) if record_file.is_file() else {}
    ok = manifest[manifest["status"] == "ok"]
    seeds = sorted({int(s) for s in ok["seed"].dropna()}) if "seed" in ok else []
    manifest_file = batch_dir / "manifest.csv"
    date = ""
    if manifest_file.is_file():
        stamp = datetime.fromtimestamp(manifest_file.stat().st_mtime, tz=UTC)
        date = stamp.strftime("%Y-%m-%d %H:%M UTC")
    versions = sorted({str(v) for v in ok.get("version", pd.Series(dtype=str)).dropna()})
    settled = ok.get("base_year_settled", pd.Series(dtype=str)).astype(str).str.strip()
    return {"version": record.get("version") or ", ".join(versions),
            "seed": ", ".join(map(str, seeds)), "date": date,
            "scenarios": record.get("scenarios", {}), "runs": len(ok),
            "unsettled": int((settled.str.lower() == "false").sum())}


def main_scenarios(names, baseline: str) -> list[str]:
    """The baseline first, then scenarios that are not ablations (``_with_``/``_without_``)."""
    others = sorted(n for n in names if n != baseline and "_with_" not in n
                    and "_without_" not in n)
    if not others:
        others = sorted(n for n in names if n != baseline)[:1]
    return [baseline, *others]


def compared_scenarios(table: pd.DataFrame, baseline: str) -> list[str]:
    """The regimes the summary leads with: main scenarios with unswept differences."""
    diffs = unswept(table[table["section"] == "difference"])
    names = main_scenarios(sorted(table["scenario"].dropna().unique()), baseline)[1:]
    return [n for n in names if n in set(diffs["scenario"])][:MAX_COMPARED]


def difference_sentence(row: pd.Series, lang: str) -> str:
    """One sentence on a paired difference; every number comes from the summary row."""
    metric = forest.headline_label(row["metric"], lang, unit=True) \
        if row["measure"] == "discounted" else i18n.metric_label(row["metric"], lang)
    tail = f"p {fmt_p(row['p_ttest'])}, d_z = {fmt(row['effect_size_dz'])}"
    word = i18n.verdict_word(row["verdict"], row["metric"], lang)
    scenario, base = (i18n.scenario_label(row[k], lang) for k in ("scenario", "baseline"))
    if lang == "zh":
        return f"{scenario}相对{base}使{metric}变化 {interval(row)}:{word}({tail})。"
    return f"{scenario} changes {metric} by {interval(row)} against {base}: {word} ({tail})."


def detail_items(table: pd.DataFrame, baseline: str, lang: str) -> list[str]:
    """Every unswept difference of the main scenarios, and the welfare verdicts of ablations."""
    diffs = unswept(table[table["section"] == "difference"])
    items = []
    main = main_scenarios(diffs["scenario"].unique(), baseline)
    for scenario in sorted(
        diffs["scenario"].unique(), key=lambda s: scenario_rank(s, baseline)
    ):
        rows = diffs[diffs["scenario"] == scenario]
        if scenario not in main:
            rows = rows[rows["metric"] == "welfare"]
        for metric in registry.present(rows["metric"]):
            part = rows[rows["metric"] == metric].sort_values("measure", ascending=False)
            items += [difference_sentence(row, lang) for _, row in part.iterrows()]
    return items


def metric_table(table: pd.DataFrame, section: str, scenarios, lang: str,
                 measure: str = "last") -> pd.DataFrame:
    """Scenario (and sweep point) x metric table of ``mean [ci_low, ci_high]`` strings."""
    rows = table[(table["section"] == section) & (table["measure"] == measure)]
    rows = rows[rows["scenario"].isin(scenarios)]
    keys = [k for k in distinct_sweeps(rows) if rows[k].notna().any()]
    rank = {s: i for i, s in enumerate(scenarios)}
    rows = rows.assign(rank=rows["scenario"].map(rank)).sort_values(["rank", *keys])
    out: dict[str, dict[str, str]] = {}
    for _, row in rows.iterrows():
        label = plots.series_label(row["scenario"], keys, [row[k] for k in keys], lang)
        out.setdefault(label, {})[row["metric"]] = (
            f"{fmt(row['mean'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"
            if pd.notna(row["ci_low"]) else fmt(row["mean"]))
    frame = pd.DataFrame.from_dict(out, orient="index")
    columns = list(registry.present(frame.columns))
    return frame[columns].rename(columns=lambda m: i18n.metric_label(m, lang))


def make_figures(batch, summary: stats.Summary, compared: list[str], out_dir: Path, lang: str,
                 boundaries: list | None) -> list[tuple[str, Path]]:
    """Draw and save every figure; returns (name, PNG path), the headline first."""
    baseline = summary.baseline
    names = sorted(batch.circle["scenario"].unique())
    colours = plots.scenario_colours(names)
    main = [s for s in main_scenarios(names, baseline) if s in names]
    shown = names if len(names) <= 6 else main
    headline = registry.headline(batch.circle.columns)
    over_time = unswept(summary.over_time[summary.over_time["scenario"].isin(shown)])
    figures = []
    if compared:
        figures.append(("headline", forest.plot_headline(summary.differences, summary.levels,
                                                         compared, headline, lang)))
    if len(summary.ablations):
        figures.append(("ablations", forest.plot_ablations(
            summary.ablations, forest.ablation_metrics(headline), lang)))
    series = [m for m in plots.TIME_SERIES_METRICS if m in batch.circle.columns]
    if len(over_time):  # a batch of sweeps alone has no unswept series
        figures.append(("time_series", plots.plot_time_series(over_time, series, colours,
                                                              lang)))
    figures += map_figures(batch, main[:3], lang, boundaries)
    if len(main) > 1:
        figures.append(("city_gains", plots.plot_city_gains(summary.city_gains, main[1:3], lang)))
    figures += sweep_figures(summary, colours, lang)
    figures += enclaves.share_sweep_figures(batch, lang)
    return [(name, plots.save_figure(fig, out_dir, name, lang)) for name, fig in figures]


def map_figures(batch, main: list[str], lang: str, boundaries: list | None) -> list:
    """The coordinator's map (when the batch recorded one), specialisation (location
    quotients: the outcome), arrivals and the flow map."""
    figures = []
    table = getattr(batch, "investment_map", None)
    mapped = [] if table is None else [s for s in main if s in set(table["scenario"])]
    if mapped:
        runs = int(batch.circle.loc[batch.circle["scenario"] == mapped[0], "run"].nunique())
        figures.append(("coordinator_map", plots.plot_coordinator_map(table, mapped[0], runs,
                                                                      lang)))
    figures.append(("specialisation", plots.plot_specialisation(batch.sectors, main, lang=lang)))
    transfers = batch.transfers
    placed = transfers["scenario"][(transfers["channel"] != "exit")
                                   & transfers["to_city"].notna()]   # no copy of the table
    if set(main) <= set(placed.unique()):     # a batch of 0 quarters placed nothing
        figures.append(("arrivals_map", plots.plot_specialisation(batch.transfers, main,
                                                                  "arrivals", lang)))
    figures.append(("flow_map", plots.plot_flow_map(batch.cities, batch.transfers, main[:2],
                                                    boundaries=boundaries, lang=lang)))
    return figures


def sweep_figures(summary: stats.Summary, colours: dict, lang: str) -> list:
    """Response curves of every swept key, and each city's credited-GDP gain along it."""
    figures = []
    metrics = [m for m in plots.TIME_SERIES_METRICS if m in set(summary.levels["metric"])]
    for key in distinct_sweeps(summary.levels):
        name = f"sweep_{key.replace('.', '_')}"
        figures.append((name, plots.plot_sweep(summary.levels, key, metrics, colours, lang,
                                               baseline=summary.baseline)))
        gains = summary.city_gains[summary.city_gains["metric"] == "gdp_credited"]
        for scenario in sorted(gains.dropna(subset=[key])["scenario"].unique()):
            title = (f"{i18n.scenario_label(scenario, lang)}: "
                     f"{i18n.metric_label('gdp_credited', lang)} − "
                     f"{i18n.scenario_label(summary.baseline, lang)}")
            figures.append((f"{name}_{scenario}_cities", plots.plot_sweep(
                gains[gains["scenario"] == scenario], key, ["gdp_credited"], lang=lang,
                series="city", title=title)))
    return figures


def switch_changes(config: dict, base: dict, lang: str = "en") -> str:
    """Switches a scenario turns on (+) or off (−) relative to the baseline's."""
    on, before = config.get("switches") or {}, base.get("switches") or {}
    return ", ".join([f"+{i18n.switch_label(k, lang)}" for k, v in on.items()
                      if v and not before.get(k)]
                     + [f"−{i18n.switch_label(k, lang)}" for k, v in on.items()
                        if not v and before.get(k)])


def scenario_blocks(configs: dict[str, dict], manifest: pd.DataFrame, baseline: str,
                    lang: str) -> list:
    """Bullets: each scenario, its replicates, description and its switches against the
    baseline (from the stored configs), then what each switch does."""
    counts = manifest[manifest["status"] == "ok"].groupby("scenario")["replicate"].nunique()
    items = []
    base_label = i18n.scenario_label(baseline, lang)
    for scenario in sorted(configs, key=lambda s: scenario_rank(s, baseline)):
        config = configs[scenario]
        description = i18n.scenario_description(scenario, str(config.get("description") or ""),
                                                 lang)
        count = int(counts.get(scenario, 0))
        word = i18n.heading("replicates", lang)
        text = (f"**{i18n.scenario_label(scenario, lang)}** ({count} "
                f"{word[:-1] if count == 1 and lang == 'en' else word}): {description}")
        changes = switch_changes(config, configs.get(baseline, {}), lang)
        if changes:
            versus = "相对" if lang == "zh" else "vs"
            text += f" [{i18n.heading('switches', lang)} {versus} {base_label}: {changes}]"
        items.append(text)
    switch_items = [f"**{i18n.switch_label(k, lang)}**: {i18n.switch_description(k, lang)}"
                    for k in i18n.SWITCHES]
    return [("ul", items), ("h3", i18n.heading("switches", lang)), ("ul", switch_items)]


def build_blocks(table: pd.DataFrame, configs: dict, manifest: pd.DataFrame, baseline: str,
                 figures: list[tuple[str, Path]], lang: str, lead: list[str],
                 replicates: int, opening: list | None = None) -> list:
    """The report as blocks rendered to Markdown and HTML: the settings (``opening``, else a
    replicate warning), the answer, then the detail."""
    scenarios = sorted(configs, key=lambda s: scenario_rank(s, baseline))
    first = [f for f in figures if f[0] == "headline"]
    rest = [f for f in figures if f[0] != "headline"]
    if opening is None:
        key = "one_replicate" if replicates < 2 else "few_replicates"
        opening = ([("warning", i18n.sentence(key, lang))]
                   if replicates < stats.MIN_REPLICATES else [])
    return [
        ("h1", i18n.sentence("title", lang)), *opening,
        ("h2", i18n.heading("executive", lang)), ("ul", lead),
        *[("figure", name, path, i18n.caption(name, lang)) for name, path in first],
        ("h2", i18n.heading("question", lang)), ("p", i18n.sentence("question", lang)),
        ("h2", i18n.heading("scenarios", lang)),
        *scenario_blocks(configs, manifest, baseline, lang),
        ("h2", i18n.heading("summary", lang)), ("p", i18n.caption("methods", lang)),
        ("ul", detail_items(table, baseline, lang)),
        ("h2", i18n.heading("headline", lang)),
        ("table", metric_table(table, "level", scenarios, lang)),
        ("h2", i18n.heading("differences", lang)),
        ("table", metric_table(table, "difference", scenarios, lang)),
        ("h2", i18n.heading("figures", lang)),
        *[("figure", name, path, i18n.caption(name, lang)) for name, path in rest],
    ]


def who_pays_blocks(batch, baseline: str, fig_dir: Path, lang: str) -> list:
    """The "who gains, who pays" section (sim.analysis.fiscal); none without fiscal rows or
    without an unswept baseline run (a batch of a sweep alone: the sweep figures show it)."""
    circle = batch.circle[batch.circle["scenario"] == baseline]
    swept = [k for k in getattr(batch, "swept_keys", []) if k in circle.columns]
    if batch.fiscal.empty or not circle[swept].isna().all(axis=1).any():
        return []
    table = fiscal.who_pays(batch, baseline)
    if table.empty:
        return []
    scenarios = [s for s in main_scenarios(table["scenario"].unique(), baseline)
                 if s in set(table["scenario"])] or sorted(table["scenario"].unique())
    path = plots.save_figure(fiscal.plot_who_pays(table, scenarios, lang), fig_dir, "who_pays",
                             lang)
    return fiscal.report_blocks(table, scenarios, path, lang)


def sensitivity_blocks(folder: str | os.PathLike | None, batch_dir: Path,
                       manifest: pd.DataFrame, compared: list[str], baseline: str,
                       fig_dir: Path, lang: str) -> list:
    """The section on the sensitivity study given with ``--sensitivity`` (none without one)."""
    if folder is None:
        return []
    size = robustness.run_size(scenario_configs(batch_dir, manifest).get(baseline, {}))
    return robustness.report_blocks(folder, compared, baseline, size, fig_dir, lang)


def build_report(batch_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 baseline: str = "homogenised", lang: str = "en",
                 boundaries: str | os.PathLike | None = None, rate: float = 0.05,
                 n_boot: int | None = None,
                 sensitivity: str | os.PathLike | None = None,
                 notes: list[str] = (), evidence: str | os.PathLike | None = None,
                 force: bool = False) -> Path:
    """Compare a stored batch and write the summary, figures and report; returns report.html.

    ``sensitivity``: a ``sim sensitivity`` output folder (its ``beats.csv`` and, when present,
    ``sign_ranges.csv``) whose result the executive summary reports; ``evidence``: a
    ``sim evidence`` output folder (else one inside or beside the batch folder), whose fit to
    history is stated near the top (:mod:`sim.analysis.evidence_summary`); ``notes`` (failed and
    missing runs) are stated at the top of the report; ``force`` replaces an earlier report
    that ``sim compare`` wrote in ``out_dir`` (its own files only); ``n_boot`` is ignored (kept
    for old callers). Nothing reaches ``out_dir`` unless the whole report was written.

    Raises:
        FileExistsError: ``out_dir`` already holds a report (and ``force`` is not given).
        ValueError: the boundaries or sensitivity files are unusable.
        sim.config.ConfigError: ``batch_dir`` is not a batch folder, cannot be compared (no
            run, only the baseline) or ``out_dir`` cannot be written safely.
    """
    batch_dir, out = Path(batch_dir), Path(out_dir)
    check_target(out, force)
    rings = plots.read_boundaries(boundaries) if boundaries else None
    beats = executive.read_sensitivity(sensitivity)
    turning = executive.read_sign_ranges(sensitivity)
    if lang == "zh":
        i18n.cjk_font()
    batch = load_results(batch_dir)
    check_comparable(batch, baseline)
    with report_folder(out, force) as tmp:
        write_report(batch, batch_dir, tmp, baseline, lang, rings, rate, beats, turning,
                     sensitivity, notes, evidence)
    return out / "report.html"


def write_report(batch, batch_dir: Path, out: Path, baseline: str, lang: str,
                 rings: list | None, rate: float, beats, turning, sensitivity,
                 notes, evidence: str | os.PathLike | None = None) -> None:
    """Every file of the report, written into ``out`` (a fresh folder)."""
    summary = stats.summarise(batch, baseline, rate)
    meta = batch_metadata(batch_dir, batch.manifest)
    configs = scenario_configs(batch_dir, batch.manifest)
    setup = settings.batch_settings({k: configs[k] for k in sorted(
        configs, key=lambda s: s != baseline)}, meta, summary.replicates, rate)
    table = pd.read_csv(workbook.write_summary(summary, out, lang, meta, setup))
    compared = compared_scenarios(table, baseline)
    lead = executive.executive_items(table, baseline, compared, summary.replicates, beats, lang,
                                     turning)
    pairs = plan_pairs_section(batch, baseline, compared, out, lang)
    lead[len(compared):len(compared)] = [pairs.executive] if pairs.executive else []
    figures = make_figures(batch, summary, compared, out / "figures", lang, rings)
    blocks = build_blocks(table, configs, batch.manifest, baseline, figures, lang, lead,
                          summary.replicates, settings.report_blocks(setup, lang))
    blocks += sensitivity_blocks(sensitivity, batch_dir, batch.manifest, compared, baseline,
                                 out / "figures", lang)
    at = next(i for i, block in enumerate(blocks) if i and block[0] != "warning")
    blocks[at:at] = evidence_blocks(batch_dir, evidence, meta, lang)   # the fit to history
    if notes:
        blocks[1:1] = [("ul", [f"**{note}**" for note in notes])]
    order = sorted(configs, key=lambda s: scenario_rank(s, baseline))
    flags = uptake.identical_items(batch, configs, baseline, lang)
    if flags:      # also beside the scenarios they concern
        at = blocks.index(("h2", i18n.heading("summary", lang)))
        blocks[at:at] = [("ul", flags)]
    blocks += uptake.report_blocks(batch, configs, baseline, order, lang, flags)
    blocks += who_pays_blocks(batch, baseline, out / "figures", lang)
    welfare_sources.write_table(batch.circle, baseline, out, rate)
    blocks += welfare_sources.report_blocks(batch.circle, summary.differences, summary.ablations,
                                            baseline, compared, lang, rate)
    blocks += pairs.blocks
    blocks += enclaves.origin_blocks(batch.cities, lang)
    blocks += posterior_blocks(  # only for a batch run under a posterior
        batch.circle, scenario_configs(batch_dir, batch.manifest), baseline, compared, lang)
    (out / "report.md").write_text(to_markdown(blocks, out), encoding="utf-8")
    (out / "report.html").write_text(to_html(blocks, lang), encoding="utf-8")
