"""Statistics on fixed small tables whose means, intervals, differences and p-values are known."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from sim.analysis import stats, workbook
from sim.model.tables import TABLES

BASE = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
DIFF = np.array([0.5, 0.1, 0.9, 0.2, 0.8, 0.3])  # mean 0.4667, sd 0.3266, t = 3.5 exactly


def circle_rows(scenario, values, steps=1, sweep=None, metric="welfare"):
    """A circle table: one run per replicate, ``values[r]`` at every step for ``metric``."""
    rows = []
    for r, value in enumerate(values):
        for step in range(steps):
            row = {c: 0.0 for c in TABLES["circle"]}
            row.update(step=step, **{metric: value})
            ids = {"run": f"{scenario}/{sweep}/r{r}", "scenario": scenario, "replicate": r}
            if sweep is not None:
                ids["policies.enclave.gdp_share_source"] = sweep
            rows.append({**ids, **row})
    return pd.DataFrame(rows)


def per_run(frame, metric="welfare"):
    values = stats.run_values(frame, (metric,))
    return values[values["measure"] == "last"]


def test_t_interval_by_hand():
    mean, low, high = stats.t_interval(np.array([1, 2, 3, 4, 5.0]))
    # sd = sqrt(2.5), t(0.975, 4) = 2.776445, half width = 2.776445 * sqrt(2.5) / sqrt(5)
    assert mean == 3.0
    assert low == pytest.approx(3 - 1.9632432, abs=1e-6)
    assert high == pytest.approx(3 + 1.9632432, abs=1e-6)
    assert np.isnan(stats.t_interval(np.array([2.0]))[1])


def test_levels_mean_and_interval_per_scenario():
    frame = pd.concat([circle_rows("homogenised", [1, 2, 3, 4, 5.0]),
                       circle_rows("coordinated", [10, 10, 10, 10, 10.0])])
    table = stats.levels(per_run(frame)).set_index("scenario")
    assert table.loc["homogenised", "mean"] == 3.0
    assert table.loc["homogenised", "ci_low"] == pytest.approx(1.0367568, abs=1e-6)
    assert table.loc["coordinated", "ci_low"] == table.loc["coordinated", "ci_high"] == 10.0
    assert table.loc["homogenised", "n"] == 5


def test_last_step_and_discounted_total():
    rows = circle_rows("homogenised", [4.0], steps=4)
    rows.loc[rows["step"] == 3, "welfare"] = 8.0  # the last step differs from the others
    values = stats.run_values(rows, ("welfare", "wuhan_share"), rate=0.05).set_index(
        ["measure", "metric"])["value"]
    assert values[("last", "welfare")] == 8.0
    # Σ v_t / 4 · 1.05^(−t/4): quarters 0..3 of 4, 4, 4, 8 (annual rates)
    expected = 1 + 1.05 ** -0.25 + 1.05 ** -0.5 + 2 * 1.05 ** -0.75
    assert values[("discounted", "welfare")] == pytest.approx(expected, rel=1e-12)
    assert ("discounted", "wuhan_share") not in values.index  # shares are not summed over time


def test_paired_difference_t_interval_test_and_effect_size():
    frame = pd.concat([circle_rows("homogenised", BASE), circle_rows("coordinated", BASE + DIFF)])
    row = stats.differences(per_run(frame), "homogenised").iloc[0]
    assert row["scenario"] == "coordinated" and row["n"] == 6
    assert row["mean"] == pytest.approx(2.8 / 6)
    assert row["sd"] == pytest.approx(math.sqrt(0.5333333 / 5), rel=1e-6)
    assert row["effect_size_dz"] == pytest.approx((2.8 / 6) / math.sqrt(0.5333333 / 5), rel=1e-6)
    assert row["p_ttest"] == pytest.approx(2 * sps.t.sf(3.5, 5), rel=1e-9)  # t = 3.5 by hand
    assert row["p_ttest"] == pytest.approx(sps.ttest_rel(BASE + DIFF, BASE).pvalue)
    # se = sd/√6 = 0.13333; t_(5, 0.975) = 2.5705818: half-width 0.342744
    assert row["ci_low"] == pytest.approx(2.8 / 6 - 0.342744, abs=1e-6)
    assert row["ci_high"] == pytest.approx(2.8 / 6 + 0.342744, abs=1e-6)
    assert row["verdict"] == "higher"


def test_interval_and_test_agree_by_hand():
    # [1, 2, 3]: mean 2, sd 1, t = 2·√3 = 3.464 on 2 df, t_crit 4.3027: interval holds 0
    near = stats.paired_t(np.array([1.0, 2.0, 3.0]))
    assert near["ci_low"] == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-6)
    assert near["ci_low"] < 0 and near["p_ttest"] > 0.05
    assert near["p_ttest"] == pytest.approx(2 * sps.t.sf(2 * math.sqrt(3), 2))
    assert near["verdict"] == "not_distinct"
    # [2, 3, 4]: mean 3, t = 3·√3 = 5.196: interval above 0 and p < 0.05
    far = stats.paired_t(np.array([2.0, 3.0, 4.0]))
    assert far["ci_low"] == pytest.approx(3 - 4.302653 / math.sqrt(3), abs=1e-6)
    assert far["ci_low"] > 0 and far["p_ttest"] < 0.05
    assert far["p_ttest"] == pytest.approx(2 * sps.t.sf(3 * math.sqrt(3), 2))
    assert far["verdict"] == "higher"


def test_interval_excludes_zero_exactly_when_p_below_alpha():
    rng = np.random.default_rng(11)
    for n in (2, 3, 5, 10):
        for shift in np.linspace(-2, 2, 25):
            out = stats.paired_t(rng.normal(shift, 1.0, n))
            excludes = out["ci_low"] > 0 or out["ci_high"] < 0
            assert excludes == (out["p_ttest"] < stats.ALPHA)
            assert (out["verdict"] in ("higher", "lower")) == excludes


def test_pairing_is_by_replicate_not_row_order():
    scenario = circle_rows("coordinated", BASE + DIFF).sample(frac=1.0, random_state=3)
    frame = pd.concat([circle_rows("homogenised", BASE), scenario])
    row = stats.differences(per_run(frame), "homogenised").iloc[0]
    assert row["sd"] == pytest.approx(math.sqrt(0.5333333 / 5), rel=1e-6)


def test_constant_differences_have_a_zero_width_interval_and_agree():
    out = stats.paired_t(np.full(4, 0.25))
    assert out["ci_low"] == out["ci_high"] == 0.25
    assert out["p_ttest"] == 0.0 and out["verdict"] == "higher"


def test_identical_scenario_has_zero_difference_and_p_one():
    frame = pd.concat([circle_rows("homogenised", BASE), circle_rows("copy", BASE)])
    row = stats.differences(per_run(frame), "homogenised").iloc[0]
    assert row["mean"] == row["ci_low"] == row["ci_high"] == 0.0
    assert row["p_ttest"] == 1.0 and row["verdict"] == "identical"


def test_ablation_effects_by_hand():
    frame = pd.concat([circle_rows("homogenised", BASE), circle_rows("coordinated", BASE + DIFF),
                       circle_rows("coordinated_without_enclave", BASE + DIFF - 1.0),
                       circle_rows("homogenised_with_enclave", BASE + 2.0),
                       circle_rows("other_without_enclave", BASE)])  # parent absent: ignored
    table = stats.ablation_effects(per_run(frame)).set_index("kind")
    assert set(table["scenario"]) == {"coordinated_without_enclave", "homogenised_with_enclave"}
    assert table.loc["removed", "parent"] == "coordinated"
    assert table.loc["removed", "mean"] == pytest.approx(1.0)   # full − without
    assert table.loc["added", "mean"] == pytest.approx(2.0)     # with − competition
    assert (table["switch"] == "enclave").all() and (table["n"] == 6).all()


def test_metric_absent_from_tables_is_skipped():
    frame = circle_rows("homogenised", BASE).drop(columns=["tax_total", "theil"])
    values = stats.run_values(frame)
    assert "welfare" in set(values["metric"])
    assert not {"tax_total", "theil"} & set(values["metric"])


def test_sweep_points_pair_with_the_unswept_baseline():
    frame = pd.concat([circle_rows("homogenised", BASE),
                       circle_rows("coordinated", BASE + 1.0, sweep=0.2),
                       circle_rows("coordinated", BASE + 3.0, sweep=0.8)])
    frame.loc[frame["scenario"] == "homogenised", "policies.enclave.gdp_share_source"] = np.nan
    table = stats.differences(per_run(frame), "homogenised")
    by_point = table.set_index("policies.enclave.gdp_share_source")["mean"]
    assert by_point[0.2] == pytest.approx(1.0) and by_point[0.8] == pytest.approx(3.0)
    assert (table["n"] == 6).all()


def test_missing_baseline_is_a_clear_error():
    with pytest.raises(ValueError, match="'nope' is not in the batch"):
        stats.differences(per_run(circle_rows("homogenised", BASE)), "nope")


def cities_rows(scenario, tax, subsidy, credited):
    rows = []
    for r in range(3):
        row = {c: 0.0 for c in TABLES["cities"]}
        row.update(step=0, city="Ezhou", tax_revenue=tax[r], subsidy_spent=subsidy[r],
                   gdp_credited=credited[r], gdp_physical=100.0)
        rows.append({"run": f"{scenario}/r{r}", "scenario": scenario, "replicate": r, **row})
    return pd.DataFrame(rows)


def test_city_gains_tax_minus_subsidies_paired():
    frame = pd.concat([cities_rows("homogenised", [10, 12, 14], [5, 5, 5], [50, 60, 70]),
                       cities_rows("coordinated", [11, 12, 16], [2, 3, 4], [52, 61, 73])])
    gains = stats.city_gains(frame, "homogenised").set_index("metric")
    # fiscal_net differences: (11−2)−(10−5)=4, (12−3)−(12−5)=2, (16−4)−(14−5)=3
    assert gains.loc["fiscal_net", "mean"] == pytest.approx(3.0)
    assert gains.loc["fiscal_net", "ci_low"] == pytest.approx(3 - 4.3026527 / math.sqrt(3))
    assert gains.loc["gdp_credited", "mean"] == pytest.approx(2.0)
    assert gains.loc["gdp_physical", "mean"] == 0.0


def test_write_summary_csv_and_readable_xlsx(tmp_path):
    from openpyxl import load_workbook

    circle = pd.concat([circle_rows("homogenised", BASE), circle_rows("coordinated", BASE + DIFF)])
    cities = pd.concat([cities_rows("homogenised", [1, 2, 3], [0, 0, 0], [1, 2, 3]),
                        cities_rows("coordinated", [2, 2, 4], [0, 1, 0], [1, 3, 3])])
    batch = type("Batch", (), {"circle": circle, "cities": cities})()
    summary = stats.summarise(batch, "homogenised")
    meta = {"version": "9.9", "seed": "42", "date": "2026-01-02 03:04 UTC",
            "scenarios": {"coordinated": {"config_hash": "abc", "data_hash": "def"}}}
    path = workbook.write_summary(summary, tmp_path, "en", meta)
    table = pd.read_csv(path)
    assert set(table["section"]) == {"level", "difference", "city_gain", "city_level"}
    row = table[(table["section"] == "difference") & (table["metric"] == "welfare")
                & (table["measure"] == "last")].iloc[0]
    assert row["mean"] == pytest.approx(2.8 / 6) and row["verdict"] == "higher"
    book = load_workbook(tmp_path / "summary.xlsx")
    assert book.sheetnames == ["About", "Verdicts", "Levels", "City gains", "City levels",
                               "Over time", "Glossary"]
    about = {r[0]: r[1] for r in book["About"].iter_rows(min_row=2, values_only=True)}
    assert about["Package version"] == "9.9" and about["Root seed"] == "42"
    assert about["Batch written (manifest.csv)"] == "2026-01-02 03:04 UTC"
    assert about["Config hash: Coordinated co-construction"] == "abc"
    assert about["Replicates per scenario (smallest)"] == 6 and "Warning" in about
    sheet = book["Verdicts"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Scenario", "Measure", "Metric", "Unit"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    rows = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    welfare = next(r for r in rows if r["Metric"] == "Welfare" and r["Measure"] == "last quarter")
    assert welfare["Unit"] == "100m yuan/yr" and welfare["Verdict"] == "better (higher)"
    assert welfare["Scenario"] == "Coordinated co-construction"
    assert rows[0]["Metric"] == "Welfare" and rows[0]["Measure"] == "last quarter"  # registry order
    present = next(r for r in rows if r["Metric"] == "Welfare" and r["Measure"] == "present value")
    assert present["Unit"] == "100m yuan"  # a present value is a stock, not a rate
    mean_col = header.index("Mean") + 1
    formats = {sheet.cell(row=i + 2, column=mean_col).number_format: r["Metric"]
               for i, r in enumerate(rows)}
    assert "#,##0.0" in formats and "0.0000" in formats  # money vs index formats
    assert formats["0.000%"] in ("Wuhan share of circle GDP", "Idle park land share")
    terms = {r[0] for r in book["Glossary"].iter_rows(min_row=2, values_only=True)}
    assert {"Welfare (100m yuan/yr)", "Present value", "Cannot be judged", "Subsidy cap"} <= terms


def test_xlsx_opens_with_the_batch_settings(tmp_path):
    from openpyxl import load_workbook

    from sim.analysis.settings import BatchSettings

    circle = pd.concat([circle_rows("homogenised", BASE[:1]), circle_rows("coordinated",
                                                                          BASE[:1] + DIFF[:1])])
    cities = pd.concat([cities_rows("homogenised", [1, 2, 3], [0, 0, 0], [1, 2, 3]),
                        cities_rows("coordinated", [2, 2, 4], [0, 1, 0], [1, 3, 3])])
    summary = stats.summarise(type("B", (), {"circle": circle, "cities": cities})(), "homogenised")
    settings = BatchSettings(n_units=300, steps=2, replicates=summary.replicates, seed="7",
                             rate=0.05, version="9.9", data_hash="0123456789ab",
                             written="2026-01-02 03:04 UTC", default_units=20000,
                             default_steps=20)
    workbook.write_summary(summary, tmp_path, "en", {}, settings)
    rows = list(load_workbook(tmp_path / "summary.xlsx")["About"].iter_rows(min_row=2,
                                                                            values_only=True))
    assert [r[0] for r in rows[1:9]] == ["Model size", "Horizon", "Replicates", "Root seed",
                                         "Discount rate of present values", "Model version",
                                         "Data folder hash", "Batch written"]
    about = dict(rows)
    assert about["Model size"] == "300 production units (default 20,000)"
    assert about["Horizon"] == "2 quarters (0.5 years) from 2021Q1 (default 20)"
    assert about["Discount rate of present values"] == "5.0%"
    warnings = [r[1] for r in rows if r[0] == "Warning"]
    assert warnings[0].startswith("This batch is smaller or shorter than the model's default")
    assert warnings[1].startswith("Warning: one replicate per scenario. No difference can be")
    verdicts = {r[-1] for r in load_workbook(tmp_path / "summary.xlsx")["Verdicts"].iter_rows(
        min_row=2, values_only=True)}
    assert "cannot be judged (one replicate: no interval, no test)" in verdicts


def test_xlsx_in_chinese(tmp_path):
    from openpyxl import load_workbook

    circle = pd.concat([circle_rows("homogenised", BASE), circle_rows("coordinated", BASE + DIFF)])
    cities = pd.concat([cities_rows("homogenised", [1, 2, 3], [0, 0, 0], [1, 2, 3]),
                        cities_rows("coordinated", [2, 2, 4], [0, 1, 0], [1, 3, 3])])
    summary = stats.summarise(type("B", (), {"circle": circle, "cities": cities})(), "homogenised")
    workbook.write_summary(summary, tmp_path, "zh")
    book = load_workbook(tmp_path / "summary.xlsx")
    assert book.sheetnames[:2] == ["说明", "结论"]
    header = [c.value for c in book["结论"][1]]
    assert header[:4] == ["情景", "口径", "指标", "单位"]
    values = {r[2] for r in book["结论"].iter_rows(min_row=2, values_only=True)}
    assert "社会福利" in values and "welfare" not in values
