"""The report from one small real batch: every scenario, numbers equal to summary.csv, HTML
self-contained; ``sim compare`` and ``sim.experiments.demo`` in a subprocess."""

import base64
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments import demo
from sim.analysis import i18n, report
from sim.cli import main
from sim.experiments.runner import run_batch
from sim.experiments.store import load_results

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("time_series", "last_step", "differences", "investment_map", "arrivals_map",
           "flow_map", "city_gains", "who_pays")


@pytest.fixture(scope="session")
def batch_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "store"
    files = [ROOT / "scenarios" / f"{name}.yaml" for name in ("homogenised", "coordinated")]
    done = run_batch(files, out_dir=out, replicates=4, workers=1, progress=False,
                     overrides=["steps=3", "world.n_units=2000"])
    assert done.n_failed == 0, done.failed
    return out


def sim(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def built(batch_dir, tmp_path_factory):
    """The report written by ``sim compare`` in a subprocess (the CLI's happy path)."""
    out = tmp_path_factory.mktemp("report") / "en"
    done = sim("compare", batch_dir, "--out", out, "--bootstrap", "300")
    assert done.returncode == 0, done.stderr
    return out, Path(done.stdout.strip())


def test_outputs_written(built):
    out, path = built
    assert path == out / "report.html"
    for name in ("report.md", "report.html", "summary.csv", "summary.xlsx"):
        assert (out / name).stat().st_size > 0
    for name in FIGURES:
        assert (out / "figures" / f"{name}.png").is_file()
        assert (out / "figures" / f"{name}.svg").is_file()


def test_every_scenario_and_switch_appears(built):
    out, _ = built
    text = (out / "report.md").read_text()
    for scenario in ("homogenised", "coordinated"):
        assert f"**{scenario}** (4 replicates)" in text
        assert f"\n| {scenario} |" in text  # a row of the headline table
    for switch in i18n.SWITCHES:
        assert i18n.switch_description(switch) in text
    line = next(l for l in text.splitlines() if l.startswith("- **coordinated**"))
    assert "[Switches vs homogenised: +" in line and "+investment_map" in line


def test_switch_changes_against_baseline():
    base = {"switches": {"enclave": True, "subsidy_cap": False}}
    assert report.switch_changes({"switches": {"enclave": False, "subsidy_cap": True}}, base) \
        == "+subsidy_cap, −enclave"
    assert report.switch_changes(base, base) == ""


def test_summary_numbers_equal_summary_csv(built):
    out, _ = built
    text = (out / "report.md").read_text()
    table = pd.read_csv(out / "summary.csv")
    diffs = table[(table["section"] == "difference") & (table["measure"] == "last")
                  & table["metric"].isin(report.KEY_METRICS)]
    assert len(diffs) == len(report.KEY_METRICS)
    for _, row in diffs.iterrows():
        label = i18n.metric_label(row["metric"])
        numbers = f"{report.fmt(row['mean'])} [{report.fmt(row['ci_low'])}, " \
                  f"{report.fmt(row['ci_high'])}]"
        word = ("higher" if row["ci_low"] > 0 else "lower" if row["ci_high"] < 0
                else "not distinguishable from zero")
        sentence = (f"coordinated changes {label} by {numbers} against homogenised: {word} "
                    f"(p {report.fmt_p(row['p_ttest'])}")
        assert sentence in text
    level = table[(table["section"] == "level") & (table["scenario"] == "homogenised")
                  & (table["metric"] == "welfare") & (table["measure"] == "last")].iloc[0]
    assert f"{report.fmt(level['mean'])} [{report.fmt(level['ci_low'])}, " \
           f"{report.fmt(level['ci_high'])}]" in text
    wuhan = table[(table["section"] == "city_gain") & (table["city"] == "Wuhan")
                  & (table["metric"] == "gdp_credited")].iloc[0]
    assert f"Wuhan {report.fmt(wuhan['mean'])} [{report.fmt(wuhan['ci_low'])}," in text


def test_format_and_verdict():
    assert report.fmt(-0.012345) == "−0.0123"
    assert report.fmt(27290.4) == "27,290"
    assert report.fmt_p(0.0004) == "< 0.001" and report.fmt_p(0.0123) == "= 0.012"
    assert report.verdict(0.1, 0.3) == "higher"
    assert report.verdict(-0.3, -0.1) == "lower"
    assert report.verdict(-0.1, 0.3) == "not distinguishable from zero"
    assert report.verdict(0.0, 0.0) == "identical to the baseline in every replicate"


def test_html_is_self_contained(built):
    out, _ = built
    page = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(FIGURES)
    assert all(base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n" for data in images)
    assert not re.search(r'(src|href)="(https?:|//|figures/)', page)
    assert "<table" in page and "coordinated" in page


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
    blocks = report.build_blocks(table, report.scenario_configs(batch_dir, manifest), manifest,
                                 "homogenised", [], "zh")
    text = report.to_markdown(blocks, out)
    assert "## 研究问题" in text and "武汉" in text and "coordinated相对homogenised" in text
    assert "(4 次重复)" in text
    section = report.to_markdown(report.who_pays_blocks(load_results(batch_dir), "homogenised",
                                                         out / "figures", "zh"), out)
    assert "## 谁受益，谁付钱" in section and "核算GDP" in section


def test_cli_bad_input_is_one_line_exit_2(batch_dir, tmp_path, capsys):
    bad = sim("compare", batch_dir, "--out", tmp_path / "bad", "--baseline", "nope")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "sim compare: baseline scenario 'nope' is not in the batch; it has "
        "['coordinated', 'homogenised']"]
    assert not (tmp_path / "bad" / "report.html").exists()
    for args, message in (
            (["--boundaries", tmp_path / "none.geojson"], "none.geojson: --boundaries file"),
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


def test_demo_force_replaces_folder_and_runs_every_bundled_scenario(tmp_path, monkeypatch,
                                                                    capsys):
    import sim.analysis.report as report_module
    import sim.experiments.runner

    calls = {}

    def fake_batch(files, out_dir, replicates, workers, overrides):
        calls.update(files=[Path(f).name for f in files], out_dir=out_dir, replicates=replicates)
        return type("Done", (), {"n_ok": 1, "n_failed": 0, "failed": [], "wall_s": 0.0})()

    monkeypatch.setattr(sim.experiments.runner, "run_batch", fake_batch)
    monkeypatch.setattr(report_module, "build_report", lambda store, out, **k: out / "report.html")
    out = tmp_path / "demo"
    out.mkdir()
    (out / "old.txt").write_text("x")
    assert demo.main(["--out", str(out), "--force"]) == 0
    assert not (out / "old.txt").exists()
    assert calls["out_dir"] == out / "store" and calls["replicates"] == 20
    names = calls["files"]
    assert names[:2] == ["homogenised.yaml", "coordinated.yaml"]
    assert {n for n in names[2:]} == {p.name for p in (ROOT / "scenarios").glob("*.yaml")
                                      if p.name.startswith(("coordinated_without_",
                                                            "homogenised_with_"))}
    assert capsys.readouterr().out.strip() == str(out / "report.html")
