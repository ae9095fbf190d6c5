"""Wuhan's serviced park land: a quantity of new land a year on its stock, each km² holding more
output as land per unit of real output falls (``sim.rules.land``).

By hand on the rule, on the model's wiring, then on a small seeded world: with no new land and no
fall of land intensity, growth fills Wuhan's parks and arrivals are rationed out of Wuhan.
"""

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import CircleModel, run_scenario
from sim.model.world import build_world
from sim.rules.constants import ParkKind
from sim.rules.land import core_land_factor, intensity_factor

SMALL = ["world.n_units=300", "steps=8", "economy.growth_rate_annual=0.065"]


def test_core_land_factor_by_hand():
    # 10 km² a year on 200 km² for 2 years: 1 + 20/200 = 1.1 physical; land per output falls
    # 5% a year, so each km² holds 1/0.95^2 = 1.108033 times the output: 1.218837
    assert core_land_factor(2.0, 10.0, 200.0, 0.05) == pytest.approx(1.1 / 0.95**2)
    assert intensity_factor(0.5, 0.19) == pytest.approx(1 / 0.9)      # sqrt(0.81) = 0.9
    assert core_land_factor(0.0, 10.0, 200.0, 0.05) == 1.0
    assert core_land_factor(7.0, 0.0, 200.0, 0.0) == 1.0              # nothing grows: at rest
    with pytest.raises(ValueError, match="stock"):
        core_land_factor(1.0, 10.0, 0.0, 0.05)
    with pytest.raises(ValueError, match="rate in"):
        intensity_factor(1.0, 1.0)


def _model(supply: float, decline: float, stock: str = "null") -> CircleModel:
    cfg = load_scenario("scenarios/homogenised.yaml", overrides=SMALL + [
        f"world.core_land_supply_km2={supply}", f"economy.land_intensity_decline={decline}",
        f"world.core_land_stock_km2={stock}"])
    return CircleModel(cfg, seed=1)


@pytest.mark.parametrize("supply, decline, stock", [(0.0, 0.0, "null"), (8.8, 0.06, "null"),
                                                    (17.1, 0.0, "300")])
def test_core_land_after_eight_steps_by_hand(supply, decline, stock):
    """After 8 quarters (2 years): the core's land is its base land times (1 + 2 q / L0) /
    (1 − d)^2, L0 its calibrated stock unless given; ring cities grow with the trend 1.065^2
    whatever the core's rule, and no land is allotted in the homogenised regime."""
    m = _model(supply, decline, stock)
    m.steps = 8
    m.grow_supplies()
    local = m.parks.kind == ParkKind.LOCAL
    base = m.calibration.local_capacity
    l0 = base[m.world.core] if stock == "null" else float(stock)
    expected = base * 1.065 ** 2
    expected[m.world.core] = base[m.world.core] * (1 + 2 * supply / l0) / (1 - decline) ** 2
    np.testing.assert_allclose(m.parks.capacity[local], expected, rtol=1e-12)
    np.testing.assert_allclose(m.land_trend(0), np.ones(m.world.n_cities))


def _wuhan_paths(overrides: list[str], replicates: int = 2) -> np.ndarray:
    """Per replicate: Wuhan's lowest idle-land share over the run and its final share of GDP."""
    cfg = load_scenario("scenarios/homogenised.yaml",
                        overrides=["world.n_units=800", "steps=20", *overrides])
    world = build_world(cfg)
    rows = []
    for r in range(replicates):
        res = run_scenario(cfg, replicate=r, world=world)
        wuhan = res.cities[res.cities.city == "Wuhan"]
        idle = 1 - wuhan.land_used / wuhan.land_capacity
        rows.append((idle.min(), res.circle.wuhan_share.iloc[-1]))
    return np.array(rows)


def test_a_fixed_core_land_stock_binds_and_lowers_wuhans_share_paired():
    """With a fixed land stock (no new land, no fall of land intensity) growth fills Wuhan's parks
    (idle land below 2%) and, paired by replicate, Wuhan ends with less idle land and a lower share
    of the circle's GDP than with the cited supply (8.8 km² a year, land per output falling 6% a
    year, which outgrows the 6.5% trend: 1.6% + 6.4%): arrivals are rationed out of Wuhan. Under
    the rule this replaces (a share of the trend, 0 and 1 measured the same way) the fixed stock
    left idle land at most 0.2% over the 20 steps and Wuhan's share 2.0-5.8 points lower in
    replicates 0-3."""
    fixed = _wuhan_paths(["world.core_land_supply_km2=0", "economy.land_intensity_decline=0"])
    cited = _wuhan_paths([])
    assert (fixed[:, 0] < 0.02).all(), fixed
    assert (fixed[:, 0] < cited[:, 0]).all(), (fixed, cited)
    assert (fixed[:, 1] < cited[:, 1]).all(), (fixed, cited)
