"""The report's sensitivity section and the enclave share figure, on tiny synthetic inputs: a
study folder written by hand (design.json, beats.csv, morris.csv) and a four-run share sweep."""

import json
import types

import pandas as pd
import pytest
from matplotlib.image import imread

from sim.analysis import executive, robustness
from sim.analysis.enclaves import SHARE_KEY, share_sweep_figures

BEATS = (
    "metric,better,n,share_beats,mean_diff,where_not,tree\n"
    "welfare,higher,22,0.25,-3.5,economy.mcpf > 1.25 and competition.damping <= 0.5: beats in "
    "10% of 8 points; OR economy.mcpf <= 1.25: beats in 40% of 6 points,x\n"
    "subsidy_total,lower,22,1.0,-8.0,nowhere (every leaf beats in at least half),x\n"
)
MORRIS = (
    "output,parameter,mu,mu_star,mu_star_conf,sigma,mu_star_norm\n"
    "welfare.diff,economy.mcpf,2.0,2.0,0.5,0.1,1.0\n"
    "welfare.diff,competition.damping,0.0,0.0,0.0,0.0,0.0\n"
    "subsidy_total.diff,economy.mcpf,0.0,0.0,0.0,0.0,0.0\n"
    "subsidy_total.diff,competition.damping,1.0,1.0,0.1,0.1,1.0\n"
)


@pytest.fixture
def study(tmp_path):
    """A Morris study of coordinated against homogenised, 1,000 units over 2 quarters."""
    (tmp_path / "beats.csv").write_text(BEATS)
    (tmp_path / "morris.csv").write_text(MORRIS)
    design = {"method": "morris", "samples": 2, "seed": 1,
              "params": [{"key": "economy.mcpf"}, {"key": "competition.damping"}],
              "scenario": {"name": "coordinated", "steps": 2, "world": {"n_units": 1000}},
              "baseline": {"name": "homogenised", "steps": 2, "world": {"n_units": 1000}}}
    (tmp_path / "design.json").write_text(json.dumps(design))
    return tmp_path


def test_rules_in_words_with_display_names():
    assert robustness.rule_text("economy.mcpf > 1.3: beats in 10% of 8 points") == \
        "Marginal cost of public funds > 1.3 (beats in 10% of 8 points)"
    assert robustness.rule_text("economy.mcpf <= 1.3: beats in 10% of 8 points", "zh") == \
        "公共资金边际成本 ≤ 1.3(8个点中10%占优)"
    assert robustness.rule_text("nowhere (every leaf beats in at least half)").startswith(
        "nowhere: it beats in at least half")
    assert robustness.rule_text("everywhere: beats in 0% of 22 points") == \
        "anywhere (beats in 0% of 22 points)"
    assert robustness.rule_text("something else") == "something else"  # never garbled
    assert robustness.parameter_label("agreements.3.land_km2") == \
        "Land of the Wuhan-Xiaogan enclave (km²)"
    assert robustness.parameter_label("agreements.9.land_km2") == "Land of agreement 9"
    assert robustness.parameter_label("economy.unknown_key") == "economy.unknown_key"


def test_design_names_the_pair_and_size_and_flags_what_is_not_the_batch(study):
    read = robustness.read_study(study)
    assert (read.method, read.scenario, read.baseline) == ("morris", "coordinated", "homogenised")
    assert (read.n_params, read.n_points, read.size) == (2, 22, (1000, 2))
    same = robustness.design_items(read, ["coordinated"], "homogenised", (1000, 2), "en")
    assert same[0].startswith("Morris study of 2 uncertain parameters at 22 sampled points: "
                              "Coordinated co-construction against Homogenised competition")
    assert "(1,000 units over 2 quarters)" in same[0]
    assert len(same) == 2 and same[1].startswith("22 points give a coarse estimate")
    other = robustness.design_items(read, ["coordinated_without_enclave"], "homogenised",
                                    (20000, 20), "en")
    assert any(i.startswith("The study compares Coordinated co-construction with Homogenised "
                            "competition; this report's regimes are Coordinated without")
               for i in other)
    assert any("(1,000 units over 2 quarters) are not the batch's (20,000 units over 20 "
               "quarters)" in i for i in other)


def test_a_split_on_a_parameter_the_screen_finds_inert_is_flagged(study):
    read = robustness.read_study(study)
    notes = robustness.inert_items(read, "en")  # welfare's rule splits on damping, mu* = 0
    assert notes == ["The region for Welfare splits on Damping of cities' strategy changes, "
                     "which the screen finds no effect of on that difference: the split follows "
                     "where the few sampled points happen to lie, not the parameter."]


def test_section_blocks_table_and_a_slide_sized_figure(study, tmp_path):
    blocks = robustness.report_blocks(study, ["coordinated"], "homogenised", (1000, 2),
                                      tmp_path / "figures", "en")
    assert blocks[0] == ("h2", "Robustness to the assumed parameters")
    table = next(b[1] for b in blocks if b[0] == "table")
    assert list(table.index) == ["Welfare (100m yuan/yr)", "Subsidies (100m yuan/yr)"]
    assert table.iloc[0]["Share of points where it beats"] == "25% of 22"
    assert table.iloc[0]["Mean difference"] == "−3.5"
    assert table.iloc[1]["Where it does not beat"].startswith("nowhere")
    figure = next(b for b in blocks if b[0] == "figure")
    height, width = imread(figure[2]).shape[:2]
    assert width <= 1600 and height <= 900


def test_executive_sentence_reads_the_study(study):
    beats = executive.read_sensitivity(study)
    text = executive.robustness_sentence(12, beats, "en")
    assert ("In the sensitivity study (Morris, 22 sampled points, compared at the last quarter) "
            "Coordinated co-construction beats Homogenised competition in this share of the "
            "points: Welfare 25%; Subsidies 100%") in text
    assert "does not beat where nowhere" not in text
    (study / "design.json").write_text("[1, 2")
    with pytest.raises(ValueError, match="design.json: cannot read the sensitivity study"):
        executive.read_sensitivity(study)


def test_share_sweep_figure_for_each_sweeping_scenario():
    runs = [("sweep", s, r) for s in (0.0, 0.5) for r in (0, 1)] + [("homogenised", None, 0)]

    def frame(**extra):
        return pd.DataFrame([dict(run=f"{n}/{s}/{r}", scenario=n, replicate=r, step=1,
                                  **{SHARE_KEY: s}, **extra) for n, s, r in runs])

    batch = types.SimpleNamespace(
        circle=frame(relocated_out_of_wuhan_cum=1.0), cities=frame(city="Wuhan",
                                                                  gdp_credited=9.0,
                                                                  fiscal_balance=1.0),
        parks=frame(kind="enclave", output=2.0),
        agreements=frame(source="Wuhan", host="Ezhou", kind="enclave"))
    figures = share_sweep_figures(batch, "en")
    assert [name for name, _ in figures] == ["sweep_enclave_share_sweep"]
    titles = [ax.get_title() for ax in figures[0][1].axes]
    assert titles == ["Output, 100m yuan/yr", "Credited GDP, 100m yuan/yr",
                      "Fiscal balance, 100m yuan/yr"]
    batch.agreements = batch.agreements.iloc[:0]
    assert share_sweep_figures(batch, "en") == []
