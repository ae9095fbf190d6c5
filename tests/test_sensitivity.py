"""Sensitivity analysis: Ishigami indices through the study path, the tree rule by hand,
uncertain-block parsing, and a tiny Morris run of coordinated against homogenised."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config.loader import ConfigError
from sim.sensitivity.core import (
    Parameter,
    beats,
    design_points,
    ishigami,
    parse_uncertain,
    run_study,
    salib_problem,
    sample,
)
from sim.sensitivity.where_beats import beats_table, best_split, gini, shallow_tree

ROOT = Path(__file__).resolve().parent.parent
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


@pytest.mark.slow
def test_ishigami_sobol_indices_within_their_intervals(tmp_path: Path, no_fsync: None) -> None:
    # 5,120 points: without no_fsync, about 9 s of waiting on the disk
    params = [Parameter(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]
    with cf.ThreadPoolExecutor(1) as pool:
        study = run_study(params, ishigami, "sobol", 1024, tmp_path / "out", seed=3,
                          executor=pool, progress=False)
    rows = study.indices.set_index("parameter")
    assert len(study.points) == 1024 * 5
    for key, s1, st in zip(["x1", "x2", "x3"], ISHIGAMI_S1, ISHIGAMI_ST):
        assert abs(rows.loc[key, "S1"] - s1) <= rows.loc[key, "S1_conf"]
        assert abs(rows.loc[key, "ST"] - st) <= rows.loc[key, "ST_conf"]
        assert rows.loc[key, "ST_conf"] < 0.1


def test_study_resumes_only_missing_points_and_refuses_other_designs(tmp_path: Path) -> None:
    params = [Parameter(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]
    out = tmp_path / "out"
    with cf.ThreadPoolExecutor(1) as pool:
        first = run_study(params, ishigami, "morris", 4, out, executor=pool, progress=False)
        (out / "samples" / "000003.json").unlink()
        calls: list[dict] = []
        again = run_study(params, lambda p: calls.append(p) or ishigami(p), "morris", 4, out,
                          executor=pool, resume=True, progress=False)
        assert calls == [first.points.iloc[3].to_dict()]
        pd.testing.assert_frame_equal(first.indices, again.indices)
        with pytest.raises(ConfigError, match="not empty"):
            run_study(params, ishigami, "morris", 4, out, executor=pool, progress=False)
        with pytest.raises(ConfigError, match="different design"):
            run_study(params, ishigami, "morris", 6, out, executor=pool, resume=True,
                      progress=False)


def test_parse_uncertain_forms_and_errors() -> None:
    params = parse_uncertain({"a.b": [1, 3], "c": {"low": 0, "high": 2, "dist": "triangular",
                                                   "mode": 0.5},
                              "d": {"low": 0, "high": 4, "dist": "normal"}}, "s.yaml")
    assert params[0] == Parameter("a.b", 1.0, 3.0)
    problem = salib_problem(params)
    assert problem["bounds"] == [[1.0, 3.0], [0.0, 2.0, 0.25], [0.0, 4.0, 2.0, 1.0]]
    assert problem["dists"] == ["unif", "triang", "truncnorm"]
    X = sample(problem, "morris", 3, seed=1)
    assert X.shape == (12, 3) and X[:, 2].min() >= 0 and X[:, 2].max() <= 4
    with pytest.raises(ConfigError, match=r"s.yaml: uncertain.a: expected numbers low < high"):
        parse_uncertain({"a": [2, 1]}, "s.yaml")
    with pytest.raises(ConfigError, match=r"uncertain.a.dist: expected one of"):
        parse_uncertain({"a": {"low": 0, "high": 1, "dist": "beta"}}, "s.yaml")


def test_design_points_round_integer_keys() -> None:
    params = [Parameter("n", 2, 5), Parameter("x", 0, 1)]
    assert design_points(np.array([[3.4, 0.25]]), params, ["n"]) == [{"n": 3, "x": 0.25}]


def test_beats_follows_the_metric_direction() -> None:
    diff = np.array([-1.0, 0.0, 2.0])
    assert beats(diff, -1).tolist() == [True, False, False]
    assert beats(diff, +1).tolist() == [False, False, True]


def test_tree_finds_the_losing_box_worked_by_hand() -> None:
    # 8 points; the scenario loses exactly where a > 0.5 and b > 0.5 (points 6, 7).
    X = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9],
                      "b": [0.9, 0.1, 0.8, 0.2, 0.1, 0.2, 0.7, 0.9]})
    won = np.array([1, 1, 1, 1, 1, 1, 0, 0], bool)
    assert gini(won) == pytest.approx(2 * 0.75 * 0.25)
    key, threshold, gain = best_split(X, won, min_leaf=2)
    # split a <= 0.75: left 6 all win (gini 0), right 2 all lose (gini 0): gain 0.375
    assert (key, threshold, gain) == ("a", pytest.approx(0.75), pytest.approx(0.375))
    leaves = shallow_tree(X, won, depth=2, min_leaf=2)
    assert [(leaf.conditions, leaf.n, leaf.share_beats) for leaf in leaves] == [
        ([("a", "<=", pytest.approx(0.75))], 6, 1.0), ([("a", ">", pytest.approx(0.75))], 2, 0.0)]
    table = beats_table(X, pd.DataFrame({"welfare.diff": np.where(won, 1.0, -1.0)}),
                        min_leaf=2)
    assert table.loc[0, "share_beats"] == 0.75
    assert table.loc[0, "where_not"] == "a > 0.75: beats in 0% of 2 points"


def test_tiny_morris_coordinated_against_homogenised(tiny_morris: Path) -> None:
    """`sim sensitivity --against` in a subprocess (conftest.py::tiny_morris, notebook 05's tiny
    screen: 2 trajectories of tax rate, homogenisation and subsidy years, 300 units, 1 quarter,
    one worker process): every point paired, integer keys rounded, Morris, beats, figures."""
    out = tiny_morris / "robustness" / "morris"
    assert [p["key"] for p in json.loads((out / "design.json").read_text())["params"]] == [
        "economy.tax_rate", "competition.homogenisation", "competition.subsidy_years"]
    samples = pd.read_csv(out / "samples.csv")
    assert len(samples) == 2 * (3 + 1)
    diff = samples["welfare"] - samples["welfare.baseline"]
    assert np.allclose(diff, samples["welfare.diff"])
    assert set(samples["competition.subsidy_years"]) <= {2, 3, 4, 5}
    morris = pd.read_csv(out / "morris.csv")
    assert set(morris["output"]) >= {"welfare.diff", "similarity_ring_mean.diff"}
    assert (morris["mu_star"] >= 0).all()
    beats_csv = pd.read_csv(out / "beats.csv").set_index("metric")
    share = (samples["welfare.diff"] > 0).mean()
    assert beats_csv.loc["welfare", "share_beats"] == pytest.approx(share)
    assert (out / "figures" / "difference_welfare.png").is_file()
    assert "## Sensitivity: coordinated against homogenised" in (out / "report.md").read_text()


def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "sim", "sensitivity", str(ROOT / "scenarios/coordinated.yaml"),
            "--method", "morris", "--samples", "2", "--out", str(tmp_path / "o")]
    done = subprocess.run(base + ["--params", "economy.nope"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 2
    assert "--params: economy.nope is not an uncertain parameter of" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_sign_ranges_by_hand():
    from sim.sensitivity.where_beats import sign_ranges, sign_ranges_table
    # diff = x − 0.5 on x = 0.0, 0.1, ..., 0.9 (two bins of five): means −0.3 and +0.2, bin
    # centres 0.2 and 0.7, so the sign changes at 0.2 + 0.5 · 0.3 / 0.5 = 0.5; binned by y
    # (0 on even x, 1 on odd) the means are −0.1 and 0: no change of sign
    points = pd.DataFrame({"x": np.arange(10) / 10, "y": np.arange(10) % 2})
    table = sign_ranges(points, points["x"].to_numpy() - 0.5, bins=2).set_index("parameter")
    assert table.loc["x", "negative"] == "0–0.4" and table.loc["x", "positive"] == "0.5–0.9"
    assert table.loc["x", "changes_sign"]
    assert float(table.loc["x", "crossings"]) == pytest.approx(0.5)
    assert not table.loc["y", "changes_sign"]
    outputs = pd.DataFrame({"welfare.diff": points["x"] - 0.5, "gdp_total.diff": np.ones(10)})
    stacked = sign_ranges_table(points, outputs, bins=2)
    assert list(stacked["metric"].unique()) == ["welfare", "gdp_total"]
    assert not stacked[stacked["metric"] == "gdp_total"]["changes_sign"].any()


def test_sign_ranges_never_split_a_grid_value_between_bins():
    from sim.sensitivity.where_beats import sign_ranges, value_bins
    # a Morris-like design on 4 levels (three 0s, three 1s, two 2s, two 3s) in 5 bins: equal
    # counts would put a 0 and a 1 in one bin; kept together there are 4 bins of one value each.
    # diff = x − 0.5: bin means −0.5, 0.5, 1.5, 2.5, so negative at 0 alone, positive over 1–3,
    # and the sign changes half way between the centres 0 and 1
    x = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3], dtype=float)
    groups = value_bins(x, 5)
    assert [sorted(set(x[g])) for g in groups] == [[0.0], [1.0], [2.0], [3.0]]
    assert sorted(np.concatenate(groups)) == list(range(10))
    row = sign_ranges(pd.DataFrame({"x": x}), x - 0.5, bins=5).iloc[0]
    assert row["negative"] == "0" and row["positive"] == "1–3"
    assert float(row["crossings"]) == pytest.approx(0.5)


def test_a_study_counts_and_reports_points_on_a_base_year_not_at_rest(tmp_path: Path,
                                                                      capsys) -> None:
    from sim.model import diagnostics
    from sim.sensitivity.report import write_report

    def evaluator(point: dict) -> dict:
        diagnostics.note_base_year(point["x1"] < 0)     # "unsettled" where x1 >= 0
        return ishigami(point)

    params = [Parameter(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]
    with cf.ThreadPoolExecutor(1) as pool:
        study = run_study(params, evaluator, "morris", 4, tmp_path / "out", executor=pool,
                          progress=False)
    expected = int((study.points["x1"] >= 0).sum())
    assert 0 < expected < len(study.points) and study.unsettled == expected
    assert f"warning: {expected} of {len(study.points)} points ran on a base year" in \
        capsys.readouterr().err
    text = write_report(study, tmp_path / "out").read_text(encoding="utf-8")
    assert f"**Warning:** {expected} of {len(study.points)} points ran on a base year" in text
