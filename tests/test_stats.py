"""Statistics on fixed small tables whose means, intervals, differences and p-values are known."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from sim.analysis import stats
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


def test_paired_difference_t_test_wilcoxon_and_effect_size():
    frame = pd.concat([circle_rows("homogenised", BASE), circle_rows("coordinated", BASE + DIFF)])
    row = stats.differences(per_run(frame), "homogenised", n_boot=2000, seed=1).iloc[0]
    assert row["scenario"] == "coordinated" and row["n"] == 6
    assert row["mean"] == pytest.approx(2.8 / 6)
    assert row["sd"] == pytest.approx(math.sqrt(0.5333333 / 5), rel=1e-6)
    assert row["effect_size_dz"] == pytest.approx((2.8 / 6) / math.sqrt(0.5333333 / 5), rel=1e-6)
    assert row["p_ttest"] == pytest.approx(2 * sps.t.sf(3.5, 5), rel=1e-9)  # t = 3.5 by hand
    assert row["p_ttest"] == pytest.approx(sps.ttest_rel(BASE + DIFF, BASE).pvalue)
    assert row["p_wilcoxon"] == pytest.approx(2 / 64)  # all six signs positive: exact 2/2^6
    assert 0.1 <= row["ci_low"] < row["mean"] < row["ci_high"] <= 0.9


def test_pairing_is_by_replicate_not_row_order():
    scenario = circle_rows("coordinated", BASE + DIFF).sample(frac=1.0, random_state=3)
    frame = pd.concat([circle_rows("homogenised", BASE), scenario])
    row = stats.differences(per_run(frame), "homogenised", n_boot=200).iloc[0]
    assert row["sd"] == pytest.approx(math.sqrt(0.5333333 / 5), rel=1e-6)


def test_bootstrap_is_seeded_and_collapses_for_constant_differences():
    rng = np.random.default_rng(7)
    first = stats.bootstrap_interval(DIFF, rng, 500)
    again = stats.bootstrap_interval(DIFF, np.random.default_rng(7), 500)
    assert first == again
    assert stats.bootstrap_interval(np.full(5, 0.25), rng) == (0.25, 0.25)


def test_identical_scenario_has_zero_difference_and_no_p_value():
    frame = pd.concat([circle_rows("homogenised", BASE), circle_rows("copy", BASE)])
    row = stats.differences(per_run(frame), "homogenised", n_boot=200).iloc[0]
    assert row["mean"] == row["ci_low"] == row["ci_high"] == 0.0
    assert np.isnan(row["p_ttest"]) and np.isnan(row["p_wilcoxon"])


def test_sweep_points_pair_with_the_unswept_baseline():
    frame = pd.concat([circle_rows("homogenised", BASE),
                       circle_rows("coordinated", BASE + 1.0, sweep=0.2),
                       circle_rows("coordinated", BASE + 3.0, sweep=0.8)])
    frame.loc[frame["scenario"] == "homogenised", "policies.enclave.gdp_share_source"] = np.nan
    table = stats.differences(per_run(frame), "homogenised", n_boot=200)
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


def test_write_summary_csv_and_xlsx(tmp_path):
    circle = pd.concat([circle_rows("homogenised", BASE), circle_rows("coordinated", BASE + DIFF)])
    cities = pd.concat([cities_rows("homogenised", [1, 2, 3], [0, 0, 0], [1, 2, 3]),
                        cities_rows("coordinated", [2, 2, 4], [0, 1, 0], [1, 3, 3])])
    batch = type("Batch", (), {"circle": circle, "cities": cities})()
    summary = stats.summarise(batch, "homogenised", n_boot=200)
    path = stats.write_summary(summary, tmp_path)
    table = pd.read_csv(path)
    assert set(table["section"]) == {"level", "difference", "city_gain", "city_level"}
    row = table[(table["section"] == "difference") & (table["metric"] == "welfare")
                & (table["measure"] == "last")].iloc[0]
    assert row["mean"] == pytest.approx(2.8 / 6)
    sheets = pd.read_excel(tmp_path / "summary.xlsx", sheet_name=None)
    assert {"levels", "differences", "city_gains", "over_time"} <= set(sheets)
