"""The similarity decomposition and the report's section on the plan's four pairs: hand-worked
values on made-up tables, exactness of the decomposition, and the section on a tiny real batch."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from sim.analysis import plan_pairs, similarity_sources
from sim.rules import metrics

# --- the decomposition ------------------------------------------------------------------------


def test_ring_similarity_by_hand_and_gradient_by_finite_differences():
    # rows (1, 0), (0, 1), (1, 1): cosines 0, 1/√2, 1/√2; mean over 3 pairs = √2/3
    x = np.array([[1.0, 0], [0, 1], [1, 1]])
    assert_allclose(similarity_sources.ring_similarity(x), math.sqrt(2) / 3, rtol=1e-12)
    rng = np.random.default_rng(5)
    x = rng.lognormal(size=(5, 4))
    gradient = similarity_sources.ring_similarity_gradient(x)
    step = 1e-6
    for i, k in [(0, 0), (2, 3), (4, 1)]:
        bumped = x.copy()
        bumped[i, k] += step
        slope = (similarity_sources.ring_similarity(bumped)
                 - similarity_sources.ring_similarity(x)) / step
        assert_allclose(gradient[i, k], slope, rtol=1e-4)


def test_integrated_gradient_splits_a_difference_exactly():
    rng = np.random.default_rng(11)
    before, after = rng.lognormal(size=(8, 11)), rng.lognormal(size=(8, 11))
    weight = similarity_sources.integrated_gradient(before, after)
    exact = (similarity_sources.ring_similarity(after)
             - similarity_sources.ring_similarity(before))
    assert_allclose((weight * (after - before)).sum(), exact, atol=1e-9)


def run_tables(scenario: str, replicate: int, stock: dict, events: list) -> tuple:
    """One run's last-step ``sectors`` rows (``stock``: (city, sector) -> output) and its
    ``transfers`` rows (``events``: (step, unit, to_city, sector, channel, output))."""
    sectors = pd.DataFrame([(scenario, replicate, 5, c, k, "core", v)
                            for (c, k), v in stock.items()],
                           columns=["scenario", "replicate", "step", "city", "sector", "segment",
                                    "output"]).assign(run=f"{scenario}/r{replicate}")
    transfers = pd.DataFrame([(scenario, replicate, *e) for e in events],
                             columns=["scenario", "replicate", "step", "unit_id", "to_city",
                                      "sector", "channel", "output"]).assign(
        segment="core", run=f"{scenario}/r{replicate}")
    return sectors, transfers


def test_stock_by_channel_by_hand():
    stock = {("W", "s1"): 50, ("A", "s1"): 10, ("A", "s2"): 6, ("B", "s1"): 5, ("B", "s2"): 2}
    events = [(1, 1, "A", "s1", "new_investment", 2.0),   # later closes: gone
              (2, 1, "outside", "s1", "exit", 2.0),
              (1, 2, "B", "s2", "enclave", 3.0),          # later moves to A: counts there
              (3, 2, "A", "s2", "relocation", 4.0),
              (2, 3, "B", "s1", "park_within_park", 1.0)]
    sectors, transfers = run_tables("x", 0, stock, events)
    parts = similarity_sources.stock_by_channel(sectors, transfers, ["A", "B"], ["s1", "s2"])
    assert_allclose(parts["relocation"], [[0, 4], [0, 0]])
    assert_allclose(parts["park_within_park"], [[0, 0], [1, 0]])
    assert_allclose(parts["new_investment"] + parts["enclave"], 0.0)
    assert_allclose(parts["in_place"], [[10, 2], [4, 2]])


def fake_batch() -> types.SimpleNamespace:
    """Two scenarios x two replicates on a core city W and ring cities A, B, C; the circle
    table's similarity is computed by the model's own metric."""
    rng = np.random.default_rng(3)
    cities, sectors_ = ["W", "A", "B", "C"], ["s1", "s2", "s3"]
    frames, transfers, circle = [], [], []
    for scenario in ("base", "reg"):
        for replicate in (0, 1):
            stock = {(c, k): float(rng.uniform(1, 10)) for c in cities for k in sectors_}
            events = [(1, 10 * i, c, k, ch, float(rng.uniform(0, 1)))
                      for i, (c, k, ch) in enumerate([("A", "s1", "new_investment"),
                                                      ("B", "s2", "enclave"),
                                                      ("C", "s3", "relocation")])]
            s, t = run_tables(scenario, replicate, stock, events)
            frames.append(s)
            transfers.append(t)
            matrix = np.array([[stock[(c, k)] for k in sectors_] for c in cities])
            circle.append((scenario, replicate, 5, metrics.similarity_ring_mean(matrix, 0)))
    return types.SimpleNamespace(
        sectors=pd.concat(frames, ignore_index=True),
        transfers=pd.concat(transfers, ignore_index=True),
        circle=pd.DataFrame(circle, columns=["scenario", "replicate", "step",
                                             "similarity_ring_mean"]).assign(
            run=lambda f: f["scenario"] + "/r" + f["replicate"].astype(str)))


def with_a_sweep_point(batch: types.SimpleNamespace) -> types.SimpleNamespace:
    """The batch plus a swept run of "reg" (replicate 0) that the decomposition must leave out."""
    key = "competition.homogenisation"
    sectors, transfers = run_tables("reg", 0, {(c, k): 1.0 for c in "WABC" for k in ("s1", "s2")},
                                    [(1, 99, "A", "s1", "new_investment", 5.0)])
    swept = "reg/r0/sweep"
    circle = pd.concat([batch.circle.assign(**{key: np.nan}),
                        pd.DataFrame([("reg", 0, 5, 0.123, swept, 0.9)],
                                     columns=[*batch.circle.columns, key])])
    return types.SimpleNamespace(
        sectors=pd.concat([batch.sectors, sectors.assign(run=swept)], ignore_index=True),
        transfers=pd.concat([batch.transfers, transfers.assign(run=swept)], ignore_index=True),
        circle=circle)


@pytest.mark.parametrize("swept", [False, True])
def test_decomposition_adds_up_to_the_circle_tables_difference(swept):
    batch = with_a_sweep_point(fake_batch()) if swept else fake_batch()
    parts = similarity_sources.decompose(batch, "reg", "base", ["s1", "s2", "s3"])
    assert set(parts["channel"]) == set(similarity_sources.CHANNELS)
    assert similarity_sources.check_total(parts, batch.circle, "reg", "base") < 1e-10
    by_channel = similarity_sources.summarise(parts, "channel")
    assert set(by_channel["channel"]) == set(similarity_sources.CHANNELS)
    table = similarity_sources.explain(batch, ["s1", "s2", "s3"], [("reg", "base")])
    total = table[table["by"] == "total"].iloc[0]
    last = fake_batch().circle.set_index(["scenario", "replicate"])["similarity_ring_mean"]
    assert_allclose(total["mean"], (last.loc["reg"] - last.loc["base"]).mean(), atol=1e-12)


# --- the report section -----------------------------------------------------------------------

def test_reading_in_the_plans_terms():
    assert plan_pairs.reading("higher", +1) == "toward"
    assert plan_pairs.reading("lower", +1) == "away"
    assert plan_pairs.reading("lower", -1) == "toward"      # similarity falls: 错位发展
    assert plan_pairs.reading("not_distinct", +1) == "not_distinct"
    assert plan_pairs.reading("identical", -1) == "identical"


def fake_circle() -> pd.DataFrame:
    """Baseline and regime, three replicates, steps 0-2. The regime's R&D gap ends higher by
    0.01, 0.02, 0.03 (toward); its main-chain gap lower by 0.1 in every replicate (away, an
    interval of zero width); the rest equal."""
    rows = []
    for scenario in ("base", "reg"):
        for r in range(3):
            for step in range(3):
                row = {code: 0.5 for code, _, _ in plan_pairs.MEASURES + plan_pairs.SIMILARITY}
                row["pair_wuhan_capital_to_ring_cum"] = np.nan if step == 0 else 0.2 + 0.1 * step
                if scenario == "reg" and step == 2:
                    row["pair_rnd_vs_manufacturing"] = 0.5 + 0.01 * (r + 1)
                    row["pair_core_vs_supply"] = 0.4
                rows.append({"run": f"{scenario}/r{r}", "scenario": scenario, "replicate": r,
                             "step": step, **row})
    return pd.DataFrame(rows)


def test_pair_statistics_by_hand():
    table = plan_pairs.pair_statistics(fake_circle(), "base")
    diff = table[table["section"] == "difference"].set_index("metric")
    # differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01, t(2) 4.303: interval 0.02 ± 0.02484
    assert_allclose(diff.loc["pair_rnd_vs_manufacturing", "mean"], 0.02, rtol=1e-12)
    assert_allclose(diff.loc["pair_rnd_vs_manufacturing", "ci_low"],
                    0.02 - 4.302652729911275 * 0.01 / math.sqrt(3), rtol=1e-9)
    assert diff.loc["pair_rnd_vs_manufacturing", "reading"] == "not_distinct"
    assert diff.loc["pair_core_vs_supply", "reading"] == "away"
    assert diff.loc["pair_hq_vs_chain", "reading"] == "identical"
    start = table[table["section"] == "start"].set_index("metric")
    # the cumulative capital share starts at quarter 1, its first defined value
    assert_allclose(start.loc["pair_wuhan_capital_to_ring_cum", "mean"], 0.3)
    end = table[(table["section"] == "end") & (table["scenario"] == "base")].set_index("metric")
    assert_allclose(end.loc["pair_wuhan_capital_to_ring_cum", "mean"], 0.4)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pattern_sentence_counts_the_readings(lang):
    table = plan_pairs.pair_statistics(fake_circle(), "base")
    sentence = plan_pairs.pattern_sentence(table, "reg", "base", lang)
    if lang == "en":
        assert "away from it on 1 (Wuhan's share of the main chain" in sentence
        assert "not at all on 4" in sentence and "not distinguishably on 1" in sentence
    else:
        assert "偏离1项(武汉主链占比减配套占比)" in sentence


def test_section_on_a_batch_stored_before_the_pairs(tmp_path):
    old = fake_circle().drop(columns=[c for c, _, _ in plan_pairs.MEASURES])
    batch = types.SimpleNamespace(circle=old)
    found = plan_pairs.section(batch, "base", ["reg"], tmp_path)
    assert found.executive is None
    assert "stored before" in found.blocks[-1][1]
    assert not (tmp_path / plan_pairs.FILE).exists()


def test_section_on_a_batch_of_sweep_points_alone(tmp_path):
    swept = fake_circle().assign(**{"competition.homogenisation": 0.9})
    found = plan_pairs.section(types.SimpleNamespace(circle=swept), "base", ["reg"], tmp_path)
    assert found.executive is None and "no unswept run" in found.blocks[-1][1]


def ablation_batch(effects: dict[str, list[float]]) -> types.SimpleNamespace:
    """Coordination, competition and one-rule ablations, three replicates, one step, similarity
    by sector-segment only; ``effects``: an ablation's similarity minus its parent's, by
    replicate (no transfers: the decomposition is not run)."""
    rows = []
    for scenario in ("coordinated", "homogenised", *effects):
        for r in range(3):
            shift = effects.get(scenario, [0.0] * 3)[r]
            rows.append({"scenario": scenario, "replicate": r, "step": 4,
                         "run": f"{scenario}/r{r}", plan_pairs.EXPLAINED: 0.7 + shift})
    return types.SimpleNamespace(circle=pd.DataFrame(rows), transfers=pd.DataFrame())


def rule_lines(effects: dict[str, list[float]]) -> list[str]:
    blocks = plan_pairs.similarity_blocks(ablation_batch(effects), pd.DataFrame(
        columns=["section", "metric", "scenario"]), "homogenised", "coordinated", "en")
    at = next(i for i, b in enumerate(blocks) if b[0] == "p" and b[1].startswith("The rule"))
    return blocks[at + 1][1]


def test_rule_line_when_no_rule_moves_similarity():
    """Ablations equal to their parents in every replicate: the line says no rule moves it, not
    that a rule is "identical to the baseline" (an ablation is compared with its parent)."""
    lines = rule_lines({"coordinated_without_enclave": [0.0] * 3,
                        "homogenised_with_enclave": [0.0] * 3})
    assert len(lines) == 2
    assert all("no rule moves it at all" in line for line in lines)
    assert not any("baseline" in line or "Enclave" in line for line in lines)
    assert lines[0].startswith("switch removed from the coordinated regime (full − without)")


def test_rule_line_names_a_distinguishable_effect_before_a_larger_noisy_one():
    # removed: the enclave's effect (parent − ablation) 0.01, 0.01, 0.01 (distinguishable, zero
    # width) against the cap's −0.1, +0.1, −0.3 (mean −0.1, not distinguishable); added: only
    # noise and an identical rule
    lines = rule_lines({"coordinated_without_enclave": [-0.01] * 3,
                        "coordinated_without_subsidy_cap": [0.1, -0.1, 0.3],
                        "homogenised_with_enclave": [0.0] * 3,
                        "homogenised_with_subsidy_cap": [0.02, -0.02, 0.03]})
    removed, added = lines
    assert "Enclave" in removed and "+0.01 [0.01, 0.01], higher" in removed
    # 0.02, −0.02, 0.03: mean 0.01, sd √0.0007 = 0.02646, half-width 4.3027 × 0.02646 / √3
    assert added.endswith("no rule moves it distinguishably from zero (largest: Subsidy cap, "
                          "+0.01 [−0.0557, 0.0757]: not distinguishable from zero)")


def test_an_ablation_equal_to_its_parent_is_not_called_identical_to_the_baseline():
    from sim.analysis import executive
    assert executive.ablation_word("identical", "similarity_ring_mean", "en") == \
        "the same with and without the rule in every replicate"
    assert executive.ablation_word("lower", "similarity_ring_mean", "en") == "better (lower)"


def test_the_figures_bands_stay_inside_what_each_measure_can_take():
    """Two replicates far apart: the 95% t-band of the mean (t(1) = 12.7) runs to about +-11
    on a difference of shares; drawn, it is cut at -1 and 1 (shares at 0 and 1, completeness
    at 0 and 4), while the line (the mean) is drawn as it is."""
    from matplotlib.collections import PolyCollection

    rows = []
    for scenario in ("base", "reg"):
        for r, sign in enumerate((1, -1)):
            for step in range(3):
                row = {code: 0.5 + sign * 0.45 * (high - low) / 2 if low == 0 else sign * 0.9
                       for code, (low, high) in plan_pairs.POSSIBLE.items()}
                rows.append({"run": f"{scenario}/r{r}", "scenario": scenario, "replicate": r,
                             "step": step, **row, "similarity_ring_mean_segment": 0.5})
    circle = pd.DataFrame(rows)
    figure = plan_pairs.plot_pairs(circle, plan_pairs.pair_statistics(circle, "base"), "base",
                                   ["reg"])
    codes = [code for code, _, _ in plan_pairs.MEASURES]
    assert set(codes) == set(plan_pairs.POSSIBLE)
    for ax, code in zip(figure.axes, codes):
        low, high = plan_pairs.POSSIBLE[code]
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 2, code
        for band in bands:
            y = np.concatenate([path.vertices[:, 1] for path in band.get_paths()])
            assert y.min() == pytest.approx(low) and y.max() == pytest.approx(high), code
