"""Headline metrics: exact values worked by hand, then invariants on seeded random worlds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from sim.rules import metrics

RNG_SEED = 20240601


def random_output(n_cities: int = 9, n_sectors: int = 11, seed: int = RNG_SEED) -> np.ndarray:
    """Seeded cities x sectors output with some zero cells, as sparse ring structures have."""
    rng = np.random.default_rng(seed)
    output = rng.lognormal(0.0, 1.0, size=(n_cities, n_sectors))
    output[rng.random(output.shape) < 0.3] = 0.0
    output[:, 0] += 0.1  # every city produces something
    return output


# --- structure similarity -------------------------------------------------------------------

def test_similarity_by_hand():
    # shares (0.5, 0.5) and (1, 0): S = 0.5 / sqrt(0.5 * 1) = 0.70710678...
    assert_allclose(metrics.similarity(np.array([10.0, 10.0]), np.array([3.0, 0.0])),
                    1 / math.sqrt(2), rtol=1e-12)
    # shares (0.6, 0.4) and (0.2, 0.8): dot 0.12 + 0.32 = 0.44; |x|² = 0.52, |y|² = 0.68
    # S = 0.44 / sqrt(0.52 * 0.68) = 0.44 / 0.594643... = 0.739940...
    assert_allclose(metrics.similarity(np.array([6.0, 4.0]), np.array([1.0, 4.0])),
                    0.44 / math.sqrt(0.52 * 0.68), rtol=1e-12)
    assert metrics.similarity(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == 0.0


def test_similarity_undefined_and_bad_input():
    assert math.isnan(metrics.similarity(np.zeros(3), np.ones(3)))
    with pytest.raises(ValueError):
        metrics.similarity(np.array([1.0, -1.0]), np.ones(2))


def test_similarity_matrix_by_hand():
    # A = (1,0,0), B = (0,1,0), C = (1,1,0) (shares 0.5, 0.5): S_AB = 0,
    # S_AC = S_BC = 0.5 / sqrt(1 * 0.5) = 0.7071; diagonal 1; the empty city D is nan.
    output = np.array([[1, 0, 0], [0, 1, 0], [4, 4, 0], [0, 0, 0]], dtype=float)
    r = 1 / math.sqrt(2)
    expected = np.array([[1, 0, r], [0, 1, r], [r, r, 1]])
    matrix = metrics.similarity_matrix(output)
    assert_allclose(matrix[:3, :3], expected, atol=1e-12)
    assert np.all(np.isnan(matrix[3])) and np.all(np.isnan(matrix[:, 3]))


def test_similarity_properties():
    output = random_output()
    matrix = metrics.similarity_matrix(output)
    assert np.all((matrix >= 0) & (matrix <= 1))
    assert_allclose(np.diag(matrix), 1.0, rtol=1e-12)
    assert_allclose(matrix, matrix.T, rtol=1e-12)
    for i, j in [(0, 1), (2, 7), (4, 8)]:
        s = metrics.similarity(output[i], output[j])
        assert_allclose(s, matrix[i, j], rtol=1e-12)
        assert_allclose(metrics.similarity(37.5 * output[i], 0.01 * output[j]), s, rtol=1e-12)
        assert_allclose(metrics.similarity(output[i], output[i]), 1.0, rtol=1e-12)


def test_similarity_ring_mean_by_hand():
    # core (1,1,1); ring r1 = (1,0,0), r2 = (0,1,0), r3 = (1,1,0).
    # Ring pairs: S(r1,r2) = 0, S(r1,r3) = S(r2,r3) = 0.70711 -> mean = 2 * 0.70711 / 3 = 0.47140.
    output = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=float)
    assert_allclose(metrics.similarity_ring_mean(output), 2 / (3 * math.sqrt(2)), rtol=1e-12)
    # Core at row 3 instead: ring = (1,1,1), (1,0,0), (0,1,0).
    # S((1/3,1/3,1/3),(1,0,0)) = (1/3) / sqrt(1/3) = 0.57735 twice, and 0 -> mean 0.38490.
    assert_allclose(metrics.similarity_ring_mean(output, core_index=3),
                    2 * math.sqrt(1 / 3) / 3, rtol=1e-12)


def test_similarity_ring_mean_skips_empty_cities():
    # ring city row 3 is empty: only the pair (r1, r2) with S = 0.7071 is defined.
    output = np.array([[5, 5], [1, 1], [1, 0], [0, 0]], dtype=float)
    assert_allclose(metrics.similarity_ring_mean(output), 1 / math.sqrt(2), rtol=1e-12)
    assert math.isnan(metrics.similarity_ring_mean(np.array([[1.0, 1.0], [1.0, 0.0]])))


# --- specialisation -------------------------------------------------------------------------

def test_krugman_by_hand():
    # A = (10,0), B = (0,10), C = (5,5).
    # K_A: own (1,0), rest B+C = (5,15) -> (0.25,0.75): |1-0.25| + |0-0.75| = 1.5.
    # K_B: own (0,1), rest A+C = (15,5) -> (0.75,0.25): 1.5.
    # K_C: own (0.5,0.5), rest A+B = (10,10) -> (0.5,0.5): 0.  Mean = 1.0.
    output = np.array([[10, 0], [0, 10], [5, 5]], dtype=float)
    assert_allclose(metrics.krugman_index(output), [1.5, 1.5, 0.0], atol=1e-12)
    assert_allclose(metrics.specialisation_mean(output), 1.0, rtol=1e-12)
    # Pooled, not averaged: A = (1,0), B = (0,3), C = (1,0). K_A: rest B+C = (1,3) -> (0.25,0.75)
    # gives 0.75 + 0.75 = 1.5 (averaging B's and C's shares would give (0.5,0.5) and 1.0).
    unequal = np.array([[1, 0], [0, 3], [1, 0]], dtype=float)
    assert_allclose(metrics.krugman_index(unequal)[0], 1.5, rtol=1e-12)


def test_krugman_three_sectors_and_empty_city():
    # A = (2,1,1), B = (0,2,2), C = (0,0,0).
    # K_A: own (0.5,0.25,0.25), rest = B = (0,0.5,0.5): 0.5 + 0.25 + 0.25 = 1.0.
    # K_B: own (0,0.5,0.5), rest = A = (0.5,0.25,0.25): 1.0.  K_C undefined (no output).
    output = np.array([[2, 1, 1], [0, 2, 2], [0, 0, 0]], dtype=float)
    k = metrics.krugman_index(output)
    assert_allclose(k[:2], [1.0, 1.0], rtol=1e-12)
    assert math.isnan(k[2])
    assert_allclose(metrics.specialisation_mean(output), 1.0, rtol=1e-12)


def test_krugman_properties():
    k = metrics.krugman_index(random_output())
    assert np.all((k >= 0) & (k <= 2))
    # a city producing only what nobody else produces has K = 2
    disjoint = np.array([[3, 0, 0], [0, 1, 2], [0, 5, 1]], dtype=float)
    assert_allclose(metrics.krugman_index(disjoint)[0], 2.0, rtol=1e-12)
    # identical structures everywhere: K = 0
    assert_allclose(metrics.krugman_index(np.outer([1, 2, 5], [3, 1, 1])), 0.0, atol=1e-12)


def test_location_quotients_by_hand():
    # A = (6,2), B = (2,0); total 10, circle shares (0.8, 0.2).
    # A shares (0.75,0.25) -> LQ (0.75/0.8, 0.25/0.2) = (0.9375, 1.25);
    # B shares (1, 0) -> (1.25, 0); the empty city C -> (0, 0).
    output = np.array([[6, 2], [2, 0], [0, 0]], dtype=float)
    assert_allclose(metrics.location_quotients(output),
                    [[0.9375, 1.25], [1.25, 0.0], [0.0, 0.0]], rtol=1e-12)
    # a sector nobody produces gets LQ 0, not nan
    assert_allclose(metrics.location_quotients(np.array([[1.0, 0.0], [3.0, 0.0]])),
                    [[1.0, 0.0], [1.0, 0.0]], rtol=1e-12)


def test_location_quotients_weighted_mean_is_one():
    # Σ_i (X_i / X) · LQ_ik = Σ_i x_ik / X_k = 1 for every sector with output.
    output = random_output()
    weights = output.sum(axis=1) / output.sum()
    assert_allclose(weights @ metrics.location_quotients(output), 1.0, rtol=1e-12)


# --- distribution -----------------------------------------------------------------------------

def test_theil_by_hand():
    # s = (0.75, 0.25), p = (0.5, 0.5): T = 0.75 ln 1.5 + 0.25 ln 0.5 = 0.304099 - 0.173287
    assert_allclose(metrics.theil_index(np.array([300.0, 100.0]), np.array([1.0, 1.0])),
                    0.75 * math.log(1.5) + 0.25 * math.log(0.5), rtol=1e-12)
    assert_allclose(metrics.theil_index(np.array([300.0, 100.0]), np.array([1.0, 1.0])),
                    0.130812, atol=1e-6)
    # equal GDP per capita (50 each): T = 0
    assert_allclose(metrics.theil_index(np.array([200.0, 100.0, 50.0]), np.array([4.0, 2.0, 1.0])),
                    0.0, atol=1e-12)
    # a city with no GDP contributes 0: T = 1 · ln(1 / 0.5) = ln 2
    assert_allclose(metrics.theil_index(np.array([100.0, 0.0]), np.array([1.0, 1.0])),
                    math.log(2), rtol=1e-12)


def test_theil_properties_and_bad_input():
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(20):
        gdp, population = rng.lognormal(size=9), rng.lognormal(size=9)
        t = metrics.theil_index(gdp, population)
        assert t >= 0
        assert_allclose(metrics.theil_index(7 * gdp, 0.3 * population), t, rtol=1e-12)
    assert math.isnan(metrics.theil_index(np.zeros(2), np.ones(2)))
    with pytest.raises(ValueError):
        metrics.theil_index(np.ones(2), np.array([1.0, 0.0]))


def test_core_share_by_hand():
    gdp = np.array([60.0, 20.0, 20.0])
    assert_allclose(metrics.core_share(gdp), 0.6, rtol=1e-12)
    assert_allclose(metrics.core_share(gdp, core_index=1), 0.2, rtol=1e-12)
    assert math.isnan(metrics.core_share(np.zeros(3)))


# --- land, discounting ----------------------------------------------------------------------

def test_idle_land_share_by_hand():
    # used 2 + 3 = 5 of 5 + 5 = 10: half idle
    assert_allclose(metrics.idle_land_share(np.array([2.0, 3.0]), np.array([5.0, 5.0])), 0.5)
    assert metrics.idle_land_share(np.array([5.0]), np.array([5.0])) == 0.0
    assert math.isnan(metrics.idle_land_share(np.zeros(2), np.zeros(2)))


def test_discounted_total_by_hand():
    # no discounting: two quarters at an annual rate of 4 -> 1 + 1 = 2
    assert_allclose(metrics.discounted_total(np.array([4.0, 4.0]), 0.0), 2.0)
    # quarter 0 at rate 4 -> 1; quarter 4 (one year on) at rate 8 -> 2 / 1.05 = 1.904762
    assert_allclose(metrics.discounted_total(np.array([4.0, 0, 0, 0, 8.0]), 0.05),
                    1 + 2 / 1.05, rtol=1e-12)
    # half-year steps at 21% a year: 1 + 1/1.1 + 1/1.21 = 2.735537
    assert_allclose(metrics.discounted_total(np.array([2.0, 2.0, 2.0]), 0.21, steps_per_year=2),
                    1 + 1 / 1.1 + 1 / 1.21, rtol=1e-12)
    assert metrics.discounted_total(np.array([]), 0.05) == 0.0
    with pytest.raises(ValueError):
        metrics.discounted_total(np.ones(2), -1.0)


# --- paired comparison and investment origin --------------------------------------------------

def test_gain_against_baseline_by_hand():
    values = pd.DataFrame({
        "step": [0, 0, 1, 1], "city": ["Wuhan", "Ezhou", "Wuhan", "Ezhou"],
        "replicate": 0, "gdp": [100.0, 10.0, 104.0, 13.0], "tax": [8.0, 1.0, 8.5, 1.2],
        "scenario": "coordinated",
    })
    baseline = pd.DataFrame({  # shuffled order, and one extra row with no partner
        "step": [1, 0, 1, 0, 2], "city": ["Ezhou", "Wuhan", "Wuhan", "Ezhou", "Wuhan"],
        "replicate": 0, "gdp": [11.0, 100.0, 105.0, 10.0, 99.0], "tax": [1.0, 8.0, 8.0, 1.0, 7.0],
        "scenario": "homogenised",
    })
    gain = metrics.gain_against_baseline(values, baseline, ["step", "city", "replicate"],
                                         ["gdp", "tax"])
    assert list(gain.columns) == ["step", "city", "replicate", "gdp_diff", "tax_diff"]
    # sorted by keys: (0,Ezhou) 10-10, (0,Wuhan) 100-100, (1,Ezhou) 13-11, (1,Wuhan) 104-105
    assert list(gain["city"]) == ["Ezhou", "Wuhan", "Ezhou", "Wuhan"]
    assert_allclose(gain["gdp_diff"], [0.0, 0.0, 2.0, -1.0])
    assert_allclose(gain["tax_diff"], [0.0, 0.0, 0.2, 0.5], atol=1e-12)


def test_gain_against_baseline_rejects_bad_pairs():
    frame = pd.DataFrame({"step": [0, 0], "gdp": [1.0, 2.0]})
    with pytest.raises(pd.errors.MergeError):
        metrics.gain_against_baseline(frame, frame, ["step"], ["gdp"])
    with pytest.raises(ValueError, match="tax"):
        metrics.gain_against_baseline(frame, frame, ["step"], ["tax"])


def test_wuhan_origin_share_by_hand():
    # 5 of 10 from Wuhan -> 0.5; no new investment -> nan; 4 of 4 -> 1
    share = metrics.wuhan_origin_share(np.array([10.0, 0.0, 4.0]), np.array([5.0, 0.0, 4.0]))
    assert_allclose(share, [0.5, np.nan, 1.0])


# --- table wrappers ---------------------------------------------------------------------------

def test_structure_by_step_matches_arrays():
    # step 0: Wuhan (1,1), Ezhou (1,0) [core 0.5 + rnd 0.5], Xiaogan (1,1) -> ring S = 0.7071
    # step 1: Ezhou and Xiaogan both (1,1) -> ring S = 1; the services row is dropped.
    rows = [
        (0, "Wuhan", "automotive", "core", 1.0), (0, "Wuhan", "health", "core", 1.0),
        (0, "Ezhou", "automotive", "core", 0.5), (0, "Ezhou", "automotive", "rnd", 0.5),
        (0, "Xiaogan", "automotive", "core", 2.0), (0, "Xiaogan", "health", "supply", 2.0),
        (1, "Ezhou", "automotive", "core", 1.0), (1, "Ezhou", "health", "core", 1.0),
        (1, "Xiaogan", "automotive", "core", 3.0), (1, "Xiaogan", "health", "core", 3.0),
        (1, "Xiaogan", "finance", "hq", 50.0), (1, "Wuhan", "automotive", "hq", 2.0),
    ]
    sectors = pd.DataFrame(rows, columns=["step", "city", "sector", "segment", "output"])
    cities, codes = ["Wuhan", "Ezhou", "Xiaogan"], ["automotive", "health"]
    assert_allclose(metrics.output_matrix(sectors[sectors.step == 0], cities, codes),
                    [[1, 1], [1, 0], [2, 2]])
    table = metrics.structure_by_step(sectors, cities, codes)
    assert list(table["step"]) == [0, 1]
    assert_allclose(table["similarity_ring_mean"], [1 / math.sqrt(2), 1.0], rtol=1e-12)
    # step 1 Krugman: Wuhan (1,0) vs rest (4,4)/8 -> 1.0; Ezhou (.5,.5) vs (5,3)/8 -> 0.25;
    # Xiaogan (.5,.5) vs (3,1)/4 -> 0.5; mean = 1.75 / 3
    assert_allclose(table["specialisation_mean"].iloc[1], 1.75 / 3, rtol=1e-12)
