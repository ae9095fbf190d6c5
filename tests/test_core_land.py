"""Wuhan's industrial land supply: the share of the trend growth its serviced park land follows.

By hand on the land rule, then on a small seeded world: with a fixed land stock (share 0) growth
fills Wuhan's parks, and its land price rises above the balanced-growth one.
"""

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import CircleModel
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
