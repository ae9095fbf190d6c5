"""Wuhan's industrial land supply: the share of the trend growth its serviced park land follows.

By hand on the land rule, then on a small seeded world: with a fixed land stock (share 0) growth
fills Wuhan's parks and arrivals are rationed out of Wuhan.
"""

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import CircleModel, run_scenario
from sim.model.world import build_world
from sim.rules.constants import ParkKind

SMALL = ["world.n_units=300", "steps=8", "economy.growth_rate_annual=0.065"]


def _model(share: float) -> CircleModel:
    cfg = load_scenario("scenarios/homogenised.yaml",
                        overrides=SMALL + [f"world.core_land_growth_share={share}"])
    return CircleModel(cfg, seed=1)


@pytest.mark.parametrize("share, core_factor", [(0.0, 1.0), (0.5, 1.0325 ** 2), (1.0, 1.065 ** 2)])
def test_core_land_after_eight_steps_grows_at_its_share_of_the_trend_by_hand(share, core_factor):
    """After 8 quarters (2 years) at g = 6.5%: the core's land is its base land times
    (1 + s · 0.065)^2 (1, 1.0325^2 = 1.06606, 1.065^2 = 1.134225); ring cities grow with the
    trend whatever s, and no land is allotted in the homogenised regime."""
    m = _model(share)
    m.steps = 8
    m.grow_supplies()
    local = m.parks.kind == ParkKind.LOCAL
    base = m.calibration.local_capacity
    expected = base * 1.065 ** 2
    expected[m.world.core] = base[m.world.core] * core_factor
    np.testing.assert_allclose(m.parks.capacity[local], expected, rtol=1e-12)
    np.testing.assert_allclose(m.land_trend(0), np.ones(m.world.n_cities))


def _wuhan_paths(share: float, replicates: int = 2) -> np.ndarray:
    """Per replicate: Wuhan's lowest idle-land share over the run and its final share of GDP."""
    cfg = load_scenario("scenarios/homogenised.yaml", overrides=[
        "world.n_units=800", "steps=20", f"world.core_land_growth_share={share}"])
    world = build_world(cfg)
    rows = []
    for r in range(replicates):
        res = run_scenario(cfg, replicate=r, world=world)
        wuhan = res.cities[res.cities.city == "Wuhan"]
        idle = 1 - wuhan.land_used / wuhan.land_capacity
        rows.append((idle.min(), res.circle.wuhan_share.iloc[-1]))
    return np.array(rows)


def test_a_fixed_core_land_stock_binds_and_lowers_wuhans_share_paired():
    """With a fixed land stock (share 0) growth fills Wuhan's parks (idle land below 2%) and, paired
    by replicate, Wuhan ends with less idle land and a lower share of the circle's GDP than under
    balanced growth (share 1): arrivals are rationed out of Wuhan. Checked in 8 seeds at this size
    (Wuhan's share lower in 8/8) and 5 paired replicates of 3,000 units over 20 steps (-6.8
    points). With the base year's reviewers at rest (retention in their calibration) 10 steps
    left the land only just binding in replicate 0 (idle 2.6%, share +0.001 against balanced).
    With Wuhan's cited base utilisation (0.86, 14% idle instead of 10%) 14 steps are too few
    (replicates 0-1: idle 1.5% and 0.4%, share +0.6 and +0.8 points against balanced); over the
    20 steps of the plan idle land is at most 0.2% and Wuhan's share 2.0-5.8 points lower in
    replicates 0-3. Output relocated out of Wuhan has no reliable sign and is not asserted."""
    fixed, balanced = _wuhan_paths(0.0), _wuhan_paths(1.0)
    assert (fixed[:, 0] < 0.02).all(), fixed
    assert (fixed[:, 0] < balanced[:, 0]).all(), (fixed, balanced)
    assert (fixed[:, 1] < balanced[:, 1]).all(), (fixed, balanced)
