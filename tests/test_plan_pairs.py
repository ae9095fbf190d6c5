"""The plan's four pairs and chain completeness: values worked by hand, then proof that they are
outcomes only (no decision of the model reads them)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from sim.config import load_scenario
from sim.model import run_scenario
from sim.model.tables import TABLES
from sim.rules import metrics

PAIR_COLUMNS = ("pair_rnd_vs_manufacturing", "pair_hq_vs_chain", "pair_core_vs_supply",
                "pair_wuhan_capital_to_ring_cum", "pair_ring_capital_from_wuhan_cum",
                "chain_completeness_ring", "similarity_ring_mean_segment")
SIM = Path(__file__).resolve().parents[1] / "sim"


# --- the segment pairs ------------------------------------------------------------------------

def test_core_share_gap_by_hand():
    # first: Wuhan 6 of 10 = 0.6; second: Wuhan 2 of 10 = 0.2; gap 0.4
    assert_allclose(metrics.core_share_gap(np.array([6.0, 2, 2]), np.array([2.0, 3, 5])), 0.4)
    # reversed pattern: −0.4; all of first in Wuhan and none of second: +1
    assert_allclose(metrics.core_share_gap(np.array([2.0, 3, 5]), np.array([6.0, 2, 2])), -0.4)
    assert metrics.core_share_gap(np.array([5.0, 0]), np.array([0.0, 7])) == 1.0
    assert math.isnan(metrics.core_share_gap(np.array([1.0, 1]), np.zeros(2)))


def test_segment_pairs_by_hand():
    # Wuhan (row 0) and one ring city; two sectors; segments rnd, hq, core, supply.
    # Summed over sectors: Wuhan (3, 2, 4, 1), ring (1, 2, 4, 9).
    cube = np.array([[[1, 1, 2, 1], [2, 1, 2, 0]],
                     [[1, 0, 4, 4], [0, 2, 0, 5]]], dtype=float)
    pairs = metrics.segment_pairs(cube, core_index=0)
    # R&D: Wuhan 3/4 = 27/36; manufacturing (core + supply): Wuhan 5/18 = 10/36 -> 17/36
    assert_allclose(pairs["pair_rnd_vs_manufacturing"], 17 / 36, rtol=1e-12)
    # head offices: 2/4 = 18/36, less 10/36 -> 8/36
    assert_allclose(pairs["pair_hq_vs_chain"], 8 / 36, rtol=1e-12)
    # main chain 4/8 = 0.5, suppliers 1/10 = 0.1 -> 0.4
    assert_allclose(pairs["pair_core_vs_supply"], 0.4, rtol=1e-12)
    assert list(pairs) == [name for name, _, _ in metrics.SEGMENT_PAIRS]


def test_capital_pair_by_hand():
    # new investment placed: Wuhan 10, ring A 6, ring B 4; from Wuhan investors: 5, 3, 0.
    # Wuhan's capital in the circle 8, of which 3 in the ring: 0.375; the ring's 10, 3 of it from
    # Wuhan: 0.3
    out, funded = metrics.capital_pair(np.array([10.0, 6, 4]), np.array([5.0, 3, 0]))
    assert_allclose([out, funded], [0.375, 0.3], rtol=1e-12)
    out, funded = metrics.capital_pair(np.array([1.0, 2, 0]), np.zeros(3))
    assert math.isnan(out) and funded == 0.0
    assert all(math.isnan(v) for v in metrics.capital_pair(np.zeros(3), np.zeros(3)))
    with pytest.raises(ValueError):
        metrics.capital_pair(np.array([1.0, 1, 1]), np.array([0.0, 2, 0]))


# --- chain completeness -----------------------------------------------------------------------

def test_lead_sectors_by_hand():
    # shares of the circle by sector (0.4, 0.3, 0.3); city 0 (0.6, 0.3, 0.1): LQ (1.5, 1, 1/3);
    # city 1 (0.2, 0.3, 0.5): LQ (0.5, 1, 5/3)
    output = np.array([[6.0, 3, 1], [2, 3, 5]])
    assert metrics.lead_sectors(output, 1).tolist() == [[True, False, False],
                                                        [False, False, True]]
    assert metrics.lead_sectors(output, 2).tolist() == [[True, True, False],
                                                        [False, True, True]]


def chain_world():
    """Three cities, one sector: Wuhan (0) and ring city 1 are 50 km apart, ring city 2 is 150 km
    from Wuhan and 120 km from city 1; 25 km within a city."""
    distance = np.array([[25.0, 50, 150], [50, 25, 120], [150, 120, 25]])
    cube = np.array([[[4, 4, 8, 4]], [[0, 0, 6, 4]], [[0, 1, 5, 4]]], dtype=float)
    return cube, distance


def test_chain_coverage_by_hand():
    cube, distance = chain_world()
    # circle by segment (4, 5, 19, 12) of 40: shares (0.1, 0.125, 0.475, 0.3).
    # City 2 (10 of the sector) needs (1, 1.25, 4.75, 3) and reaches only itself (0, 1, 5, 4):
    # coverage (0, 0.8, 1, 1) = 2.8. Cities 0 and 1 reach each other: (4, 4, 14, 8) covers the
    # needs (2, 2.5, 9.5, 6) and (1, 1.25, 4.75, 3): 4 each.
    coverage = metrics.chain_coverage(cube, distance, reach_km=100)
    assert_allclose(coverage[:, 0], [4.0, 4.0, 2.8], rtol=1e-12)
    # a reach of 200 km puts Wuhan's R&D within city 2's reach
    assert_allclose(metrics.chain_coverage(cube, distance, reach_km=200)[:, 0], 4.0)
    # ring mean over the lead sectors: (4 + 2.8) / 2 = 3.4
    lead = np.ones((3, 1), dtype=bool)
    assert_allclose(metrics.chain_completeness_ring(cube, distance, lead, 0, 100), 3.4)


def test_chain_coverage_undefined_and_missing_segments():
    cube, distance = chain_world()
    cube[2] = 0.0          # city 2 lost the sector: undefined, left out of the ring mean
    coverage = metrics.chain_coverage(cube, distance, reach_km=100)
    assert math.isnan(coverage[2, 0])
    assert metrics.chain_completeness_ring(cube, distance, np.ones((3, 1), bool), 0, 100) == 4.0
    cube[:, :, 0] = 0.0    # no R&D anywhere in the circle: that segment counts 0 everywhere
    assert_allclose(metrics.chain_coverage(cube, distance, reach_km=100)[:2, 0], 3.0)
    with pytest.raises(ValueError):
        metrics.chain_coverage(cube, distance[:2, :2])


# --- similarity at the segment level ----------------------------------------------------------

def test_segment_similarity_sees_a_division_of_labour_within_a_sector():
    # two ring cities in one sector, one making its main chain, the other its suppliers: alike
    # by sector (S = 1), unlike by segment (S = 0)
    cube = np.zeros((3, 1, 4))
    cube[0, 0] = 1.0
    cube[1, 0, 2], cube[2, 0, 3] = 5.0, 3.0
    assert metrics.similarity_ring_mean(cube.sum(axis=2), 0) == 1.0
    assert metrics.similarity_ring_mean_segments(cube, 0) == 0.0


def test_segment_similarity_equals_sector_similarity_under_one_segment_split():
    rng = np.random.default_rng(7)
    sectors = rng.lognormal(size=(9, 11))
    split = np.array([0.04, 0.08, 0.5, 0.38])
    cube = sectors[:, :, None] * split
    assert_allclose(metrics.similarity_ring_mean_segments(cube, 0),
                    metrics.similarity_ring_mean(sectors, 0), rtol=1e-12)


# --- outcomes, never targets ------------------------------------------------------------------

def importers_of_metrics() -> set[str]:
    """Modules of sim.model and sim.rules that import sim.rules.metrics (or names from it)."""
    found = set()
    for path in [*(SIM / "model").glob("*.py"), *(SIM / "rules").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "sim.rules.metrics" or (
                    isinstance(node, ast.ImportFrom) and node.module == "sim.rules"
                    and any(a.name == "metrics" for a in node.names)) or (
                    isinstance(node, ast.Import)
                    and any(a.name == "sim.rules.metrics" for a in node.names)):
                found.add(path.relative_to(SIM.parent).as_posix())
    return found


def test_only_the_recorder_imports_the_metrics():
    """No agent, rule or planner can see the pairs: within the model only the recorder, which
    writes the tables after the step's decisions, imports the metrics."""
    assert importers_of_metrics() == {"sim/model/recorder.py"}


def test_pairs_are_outcomes_no_decision_reads_them(monkeypatch):
    """Replacing the pair metrics with nonsense changes their columns and nothing else: no rule
    of the model reads them (a coordinated run with every switch on, mandated agreements)."""
    cfg = load_scenario("scenarios/coordinated.yaml",
                        overrides=["world.n_units=600", "policies.agreements_voluntary=false"])
    honest = run_scenario(cfg, seed=3, steps=3)
    monkeypatch.setattr(metrics, "segment_pairs",
                        lambda cube, core: {name: 9.0 for name, _, _ in metrics.SEGMENT_PAIRS})
    monkeypatch.setattr(metrics, "capital_pair", lambda *args: (9.0, 9.0))
    monkeypatch.setattr(metrics, "chain_completeness_ring", lambda *args: 9.0)
    monkeypatch.setattr(metrics, "similarity_ring_mean_segments", lambda *args: 9.0)
    garbled = run_scenario(cfg, seed=3, steps=3)
    assert (garbled.circle[list(PAIR_COLUMNS)] == 9.0).all().all()
    assert not honest.circle[list(PAIR_COLUMNS)].eq(9.0).any().any()
    for name in TABLES:
        keep = [c for c in TABLES[name] if c not in PAIR_COLUMNS]
        pd.testing.assert_frame_equal(getattr(honest, name)[keep], getattr(garbled, name)[keep])


def test_pairs_in_the_circle_table():
    """Every step has the pairs; the capital pairs are undefined before any new investment."""
    cfg = load_scenario("scenarios/homogenised.yaml", overrides=["world.n_units=600"])
    circle = run_scenario(cfg, seed=1, steps=2).circle
    assert set(PAIR_COLUMNS) <= set(circle.columns)
    first = circle.iloc[0]
    assert math.isnan(first["pair_wuhan_capital_to_ring_cum"])
    later = circle.iloc[1:][list(PAIR_COLUMNS)]
    assert later.notna().all().all()
    assert ((later.filter(like="pair_") >= -1) & (later.filter(like="pair_") <= 1)).all().all()
    assert ((circle["chain_completeness_ring"] >= 0)
            & (circle["chain_completeness_ring"] <= 4)).all()
    # the base year splits every ring city's sectors alike over segments: both similarities agree
    assert_allclose(first["similarity_ring_mean_segment"], first["similarity_ring_mean"],
                    rtol=1e-9)
