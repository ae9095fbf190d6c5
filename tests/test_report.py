"""The report from one small real batch: every scenario, numbers equal to summary.csv, HTML
self-contained; ``sim compare`` and ``sim.experiments.demo`` in a subprocess."""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import batch_here, shared_once
from test_evidence_summary import evidence_record

from sim.analysis import executive, i18n, plan_pairs, report
from sim.cli import main
from sim.experiments import demo
from sim.experiments.store import data_hash, load_results
from sim.version import __version__

ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    "headline",
    "ablations",
    "time_series",
    "coordinator_map",
    "specialisation",
    "arrivals_map",
    "flow_map",
    "city_gains",
    "who_pays",
    "plan_pairs",
)
NAMES = ("homogenised", "coordinated", "coordinated_without_subsidy_cap")


@pytest.fixture(scope="session")
def batch_dir(tmp_path_factory):
    """The small batch, built once per session (also under pytest-xdist)."""
    files = [ROOT / "scenarios" / f"{name}.yaml" for name in NAMES]

    def build(folder: Path) -> None:
        done = batch_here(files, folder / "store", replicates=3,
                          overrides=["steps=3", "world.n_units=2000"])
        assert done.n_failed == 0, done.failed
        # a `sim evidence` record for this code and data beside the batch, written with it (the
        # report states its fit near the top: test_compare_states_the_fit_near_the_top_...)
        record = evidence_record(data_hash=data_hash(None), version=__version__)
        (folder / "evidence").mkdir()
        (folder / "evidence" / "evidence.json").write_text(json.dumps(record))

    return shared_once(tmp_path_factory, "report", build) / "store"


def sim(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def built(batch_dir, tmp_path_factory):
    """The report written by ``sim compare`` in a subprocess (the CLI's happy path), written
    once per session also under pytest-xdist (it takes the longest of this file's set-up)."""

    def build(folder: Path) -> None:
        done = sim("compare", batch_dir, "--out", folder / "en")
        assert done.returncode == 0, done.stderr
        (folder / "stdout.txt").write_text(done.stdout)

    folder = shared_once(tmp_path_factory, "report-en", build)
    return folder / "en", Path((folder / "stdout.txt").read_text().strip())


def test_outputs_written(built):
    out, path = built
    assert path == out / "report.html"
    for name in ("report.md", "report.html", "summary.csv", "summary.xlsx",
                 "welfare_sources.csv"):
        assert (out / name).stat().st_size > 0
    # where the welfare difference comes from: accounts, and the cap's share of the regime's
    text = (out / "report.md").read_text()
    section = text[text.index("## Where the welfare difference comes from"):]
    assert "public money at MCPF" in section and "Subsidy cap" in section
    from matplotlib.image import imread

    for name in FIGURES:
        assert (out / "figures" / f"{name}.svg").is_file()
        height, width = imread(out / "figures" / f"{name}.png").shape[:2]
        assert width <= 1600 and height <= 900, name


def test_compare_states_the_fit_near_the_top_of_the_report(built):
    """The batch compared with an evidence record for this code and data beside it: the report
    gives the count before the executive summary (without a record the same place holds the
    warning of test_evidence_summary.py::test_no_evidence_says_that_none_was_run)."""
    text = (built[0] / "report.md").read_text()
    assert "**2 of 3 empirical targets with data are hit**" in text
    assert text.index("## Fit to history") < text.index("## Executive summary")


def test_every_scenario_and_switch_appears(built):
    out, _ = built
    text = (out / "report.md").read_text()
    for scenario in NAMES:
        label = i18n.scenario_label(scenario)
        assert f"**{label}** (3 replicates)" in text
        assert f"\n| {label} |" in text  # a row of the headline table
    for switch in i18n.SWITCHES:
        assert i18n.switch_description(switch) in text
    line = next(ln for ln in text.splitlines()
                if ln.startswith("- **Coordinated co-construction**"))
    assert "[Switches vs Homogenised competition: +" in line and "+Investment map" in line
    assert "_" not in line.split("**")[1]


def test_report_leads_with_the_answer(built):
    out, _ = built
    text = (out / "report.md").read_text()
    table = pd.read_csv(out / "summary.csv")
    lines = text.splitlines()
    assert lines[0].startswith("# ") and lines[2].startswith("> **This batch is smaller")
    assert lines[4].startswith("> **Warning: fewer than 10")
    order = [text.index(s) for s in ("## Settings", "## Executive summary",
                                     "figures/headline.png", "## The question", "## Scenarios")]
    assert order == sorted(order)
    assert "| Model size | 2,000 production units (default 20,000) |" in text
    assert "| Horizon | 3 quarters (0.75 years) from 2021Q1 (default 20) |" in text
    assert "| Discount rate of present values | 5.0% |" in text
    lead = text[order[1]:order[2]]
    welfare = table.query("section == 'difference' and scenario == 'coordinated' and "
                          "metric == 'welfare' and measure == 'discounted'").iloc[0]
    assert f"Welfare (present value) {executive.interval(welfare)}" in lead
    rule = table.query("section == 'ablation' and metric == 'welfare' and "
                       "measure == 'discounted'").iloc[0]
    assert rule["switch"] == "subsidy_cap" and rule["kind"] == "removed"
    assert f"Subsidy cap (contributes to the coordinated regime {executive.interval(rule)}" \
        in lead
    assert "by city under Coordinated co-construction" in lead
    assert "3 paired replicates per scenario" in lead and "No sensitivity study" in lead


def test_switch_changes_against_baseline():
    base = {"switches": {"enclave": True, "subsidy_cap": False}}
    assert report.switch_changes({"switches": {"enclave": False, "subsidy_cap": True}}, base) \
        == "+Subsidy cap, −Enclave parks"
    assert report.switch_changes(base, base) == ""


def test_summary_numbers_equal_summary_csv(built):
    out, _ = built
    text = (out / "report.md").read_text()
    table = pd.read_csv(out / "summary.csv")
    diffs = table[(table["section"] == "difference") & (table["measure"] == "last")
                  & (table["scenario"] == "coordinated")]
    assert len(diffs) >= 10
    for _, row in diffs.iterrows():
        label = i18n.metric_label(row["metric"])
        word = i18n.verdict_word(row["verdict"], row["metric"])
        sentence = (f"Coordinated co-construction changes {label} by {executive.interval(row)} "
                    f"against Homogenised competition: {word} (p {report.fmt_p(row['p_ttest'])}")
        assert sentence in text
        assert (row["verdict"] in ("higher", "lower")) == (row["p_ttest"] < 0.05)
    level = table[(table["section"] == "level") & (table["scenario"] == "homogenised")
                  & (table["metric"] == "welfare") & (table["measure"] == "last")].iloc[0]
    assert f"{report.fmt(level['mean'])} [{report.fmt(level['ci_low'])}, " \
           f"{report.fmt(level['ci_high'])}]" in text
    wuhan = table[(table["section"] == "city_gain") & (table["city"] == "Wuhan")
                  & (table["scenario"] == "coordinated")
                  & (table["metric"] == "gdp_credited")].iloc[0]
    assert f"Wuhan {executive.interval(wuhan)}" in text


def test_format_and_verdict_words():
    assert report.fmt(-0.012345) == "−0.0123"
    assert report.fmt(27290.4) == "27,290"
    assert executive.signed(2.5) == "+2.5" and executive.signed(-2.5) == "−2.5"
    assert report.fmt_p(0.0004) == "< 0.001" and report.fmt_p(0.0123) == "= 0.012"
    assert i18n.verdict_word("higher", "welfare") == "better (higher)"
    assert i18n.verdict_word("higher", "subsidy_total") == "worse (higher)"
    assert i18n.verdict_word("lower", "wuhan_share") == "lower"
    assert i18n.verdict_word("not_distinct", "welfare") == "not distinguishable from zero"
    assert i18n.verdict_word("identical", "welfare") == \
        "identical to the baseline in every replicate"
    assert i18n.verdict_word("lower", "similarity_ring_mean", "zh") == "更优(更低)"


def test_display_names_and_readable_fallback():
    assert i18n.scenario_label("coordinated_without_enclave") == \
        "Coordinated without enclave parks"
    assert i18n.scenario_label("coordinated_without_enclave", "zh") == "协同共建(无飞地园区)"
    assert i18n.scenario_label("my_new_case") == "My new case"
    assert i18n.scenario_label("coordinated_with_new_rule") == \
        "Coordinated co-construction with new rule"
    assert i18n.sector_label("automotive") == "Automobiles"
    assert i18n.sector_label("automotive", "zh") == "汽车"
    assert i18n.sector_label("ai") == "Artificial intelligence"  # sectors.csv name, no table row
    assert i18n.scenario_description("coordinated", "x", "zh").startswith("产业招商地图")
    assert i18n.scenario_description("unknown", " text ", "zh") == "text"
    assert i18n.term("lat", "zh") == "纬度(°N)"


def test_robustness_sentence_with_and_without_a_sensitivity_study(tmp_path):
    text = executive.robustness_sentence(12, None, "en")
    assert text.startswith("12 paired replicates") and "Warning" not in text
    assert "No sensitivity study was run" in text
    (tmp_path / "beats.csv").write_text(
        "metric,better,n,share_beats,mean_diff,where_not,tree\n"
        "welfare,higher,40,0.75,3.2,economy.mcpf > 1.3: beats in 10% of 8 points,x\n")
    beats = executive.read_sensitivity(tmp_path)
    text = executive.robustness_sentence(3, beats, "en")
    assert "Warning: fewer than 10" in text
    assert "the scenario beats the baseline in this share of the points: Welfare 75%" in text
    (tmp_path / "beats.csv").write_text("metric\nwelfare\n")
    with pytest.raises(ValueError, match="beats.csv: expected columns"):
        executive.read_sensitivity(tmp_path)


def test_html_is_self_contained(built):
    out, _ = built
    page = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(FIGURES)
    assert all(base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n" for data in images)
    assert not re.search(r'(src|href)="(https?:|//|figures/)', page)
    assert "<table" in page and "Coordinated co-construction" in page
    assert '<p class="warning">' in page
    assert page.index("Executive summary") < page.index('alt="headline"') \
        < page.index("The question")


def test_existing_report_is_not_overwritten(built, batch_dir):
    out, _ = built
    before = (out / "report.md").read_text()
    with pytest.raises(FileExistsError, match="already holds"):
        report.build_report(batch_dir, out)
    assert (out / "report.md").read_text() == before


def test_chinese_report_text(built, batch_dir):
    out, _ = built
    table = pd.read_csv(out / "summary.csv")
    manifest = load_results(batch_dir).manifest
    lead = executive.executive_items(table, "homogenised", ["coordinated"], 3, None, "zh")
    blocks = report.build_blocks(table, report.scenario_configs(batch_dir, manifest), manifest,
                                 "homogenised", [], "zh", lead, 3)
    text = report.to_markdown(blocks, out)
    assert "## 研究问题" in text and "武汉" in text and "协同共建相对同质化竞争" in text
    assert "**协同共建(无补贴上限)** (3 次重复): 关闭补贴上限的协同共建。" in text
    assert "## 要点摘要" in text and "警告" in text and "未对假设参数做敏感性分析" in text
    assert "homogenised" not in text and "coordinated" not in text
    section = report.to_markdown(report.who_pays_blocks(load_results(batch_dir), "homogenised",
                                                         out / "figures", "zh"), out)
    assert "## 谁受益，谁付钱" in section and "核算GDP" in section and "协同共建" in section


def test_plan_pairs_section(built, batch_dir, tmp_path):
    """The plan's four pairs: a section read back from plan_pairs.csv, one executive sentence
    whether coordination builds the pattern, and the same in Chinese with the plan's words."""
    out, _ = built
    text = (out / "report.md").read_text()
    pairs = pd.read_csv(out / "plan_pairs.csv")
    row = pairs.query("section == 'difference' and scenario == 'coordinated' and "
                      "metric == 'pair_rnd_vs_manufacturing'").iloc[0]
    lead = text[text.index("## Executive summary"):text.index("## The question")]
    assert "Does Coordinated co-construction build the plan's pattern" in lead
    section = text[text.index("## The plan's four pairs"):]
    assert f"{executive.interval(row)}: " in section and "figures/plan_pairs.png" in section
    assert "Why ring cities grow more or less alike" in section
    zh = plan_pairs.section(load_results(batch_dir), "homogenised", ["coordinated"], tmp_path,
                            "zh")
    body = report.to_markdown(zh.blocks, tmp_path)
    assert "研发在武汉、制造在城市圈" in body and "规划的四组分工格局" in body
    assert "R&D" not in body and "coordinated" not in body
    assert zh.executive.startswith("协同共建是否形成规划格局")


def test_cli_bad_input_is_one_line_exit_2(batch_dir, tmp_path, capsys):
    bad = sim("compare", batch_dir, "--out", tmp_path / "bad", "--baseline", "nope")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "sim compare: --baseline nope: unknown scenario name (expected one of the batch's "
        "scenarios: coordinated, coordinated_without_subsidy_cap, homogenised)"]
    assert not (tmp_path / "bad" / "report.html").exists()
    for args, message in (
            (["--boundaries", tmp_path / "none.geojson"], "none.geojson: --boundaries file"),
            (["--sensitivity", tmp_path], "--sensitivity folder has no beats.csv"),
            ([], "not a batch folder")):
        where = batch_dir if args else tmp_path / "no_batch"
        assert main(["compare", str(where), "--out", str(tmp_path / "x"), *map(str, args)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_demo_refuses_existing_folder(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("x")
    assert demo.main(["--out", str(tmp_path / "demo")]) == 2
    assert (tmp_path / "demo" / "keep.txt").read_text() == "x"


def test_demo_refuses_an_evidence_folder_without_evidence_before_touching_out(tmp_path, capsys):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    assert demo.main(["--out", str(tmp_path / "demo"), "--force",
                      "--evidence", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--evidence" in err[0] and "evidence.json" in err[0]
    assert (tmp_path / "demo" / "keep.txt").read_text() == "x"


def test_demo_force_replaces_folder_and_runs_every_bundled_scenario(tmp_path, monkeypatch,
                                                                    capsys):
    import sim.analysis.report as report_module
    import sim.experiments.runner

    calls = {}

    def fake_batch(files, out_dir, replicates, workers, overrides):
        calls.update(files=[Path(f).name for f in files], out_dir=out_dir, replicates=replicates)
        return type("Done", (), {"n_ok": 1, "n_failed": 0, "failed": [], "wall_s": 0.0})()

    monkeypatch.setattr(sim.experiments.runner, "run_batch", fake_batch)
    def fake_report(store, out, **kwargs):
        calls.update(report=kwargs)
        return out / "report.html"

    monkeypatch.setattr(report_module, "build_report", fake_report)
    monkeypatch.setattr(demo, "store_differences", lambda store: pd.DataFrame(
        columns=["scenario", "measure", "metric", "mean", "ci_low", "ci_high"]))
    out, scored = tmp_path / "demo", tmp_path / "scored"
    out.mkdir()
    (out / "old.txt").write_text("x")
    scored.mkdir()
    (scored / "evidence.json").write_text("{}")
    assert demo.main(["--out", str(out), "--force", "--evidence", str(scored)]) == 0
    assert not (out / "old.txt").exists()
    assert calls["report"]["evidence"] == scored   # the report states that folder's fit
    assert calls["out_dir"] == out / "store" and calls["replicates"] == demo.DEMO_REPLICATES
    names = calls["files"]
    assert names[:2] == ["homogenised.yaml", "coordinated.yaml"]
    assert {n for n in names[2:]} == {p.name for p in (ROOT / "scenarios").glob("*.yaml")
                                      if p.name.startswith(("coordinated_without_",
                                                            "homogenised_with_"))}
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(out / "report.html")
    assert f"x {demo.DEMO_REPLICATES} paired replicates" in printed[0]
    assert "make study" in printed[1]


def test_wins_and_rule_sentences_by_hand():
    def row(section, scenario, metric, measure, mean, low, high, verdict, **extra):
        return {"section": section, "scenario": scenario, "metric": metric, "measure": measure,
                "mean": mean, "ci_low": low, "ci_high": high, "verdict": verdict, **extra}

    table = pd.DataFrame([
        row("difference", "coordinated", "welfare", "discounted", 12.0, 2.0, 22.0, "higher"),
        row("difference", "coordinated", "welfare", "last", 99.0, 98.0, 100.0, "higher"),
        row("difference", "coordinated", "subsidy_total", "discounted", 3.0, 1.0, 5.0, "higher"),
        row("difference", "coordinated", "theil", "last", -0.5, -1.0, 0.25, "not_distinct"),
        row("ablation", "coordinated_without_enclave", "welfare", "discounted", 8.0, 1.0, 15.0,
            "higher", kind="removed", switch="enclave"),
        row("ablation", "coordinated_without_subsidy_cap", "welfare", "discounted", -2.0, -9.0,
            5.0, "not_distinct", kind="removed", switch="subsidy_cap"),
    ])
    text = executive.wins_sentence(table, "coordinated", "homogenised",
                                   ("welfare", "subsidy_total", "theil"), "en")
    assert text == ("Coordinated co-construction against Homogenised competition: Better on: "
                    "Welfare (present value) +12 [2, 22] 100m yuan. Worse on: Subsidies (present "
                    "value) +3 [1, 5] 100m yuan. Not distinguishable on: Theil index of GDP per "
                    "capita −0.5 [−1, 0.25].")
    assert executive.rule_sentence(table, "welfare", "en") == (
        "The rule that moves Welfare (present value) most: Enclave parks (contributes to the "
        "coordinated regime +8 [1, 15]: better (higher)). Next: Subsidy cap (contributes to the "
        "coordinated regime −2 [−9, 5]: not distinguishable from zero).")
    # one rule that moves it most both ways is named once, with both of its effects
    both = pd.concat([table, pd.DataFrame([
        row("ablation", "homogenised_with_enclave", "welfare", "discounted", -20.0, -30.0, -10.0,
            "lower", kind="added", switch="enclave")])])
    assert executive.rule_sentence(both, "welfare", "en") == (
        "The rule that moves Welfare (present value) most: Enclave parks (contributes to the "
        "coordinated regime +8 [1, 15]: better (higher); adds alone to competition −20 [−30, "
        "−10]: worse (lower)). Next: Subsidy cap (contributes to the coordinated regime −2 [−9, "
        "5]: not distinguishable from zero).")


def test_demo_headline_marks_intervals_that_exclude_zero():
    rows = [("coordinated", "last", "welfare", 12.5, 2.0, 20.0),
            ("coordinated", "last", "theil", -0.01, -0.03, 0.01),
            ("coordinated", "mean", "welfare", 99.0, 98.0, 100.0),
            ("coordinated", "last", "tax_total", 7.0, 6.0, 8.0)]
    differences = pd.DataFrame(rows, columns=["scenario", "measure", "metric", "mean", "ci_low",
                                              "ci_high"])
    text = demo.headline(differences, 16, 20).splitlines()
    assert "16 scenarios x 20 paired replicates" in text[0] and "make study" not in "".join(text)
    assert text[1].split() == ["welfare", "(higher", "better)", "theil", "(lower", "better)"]
    assert text[-1].split() == ["coordinated", "+12.5*", "-0.01"]


def test_demo_headline_from_a_real_store(batch_dir):
    """Regression: the demo's headline read the store through a module path that no longer
    existed, so `make demo` crashed after its runs (the other demo tests replace it)."""
    text = demo.headline(demo.store_differences(batch_dir), len(NAMES), 3)
    assert "welfare (higher better)" in text
    assert {"coordinated", "coordinated_without_subsidy_cap"} <= {
        line.split()[0] for line in text.splitlines()[3:]}
