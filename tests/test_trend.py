"""The trend as flows of projects (sim/rules/trend.py): numbers worked by hand, and a declining
circle that runs and follows its trend."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sim.rules.trend import TrendFlows, exit_hazard, trend_flows


def test_growth_is_carried_by_arrivals_alone() -> None:
    # h = 0.02 a step leave, the trend grows 0.01 a step: arrivals 0.03 of the stock, no closures
    assert trend_flows(0.02, 0.01) == TrendFlows(arrival_share=pytest.approx(0.03),
                                                 decline_exit=0.0)


def test_a_slow_decline_is_fewer_arrivals() -> None:
    # the trend falls 0.015 a step, less than h = 0.02: arrivals replace 0.005 of the stock
    flows = trend_flows(0.02, -0.015)
    assert flows.arrival_share == pytest.approx(0.005)
    assert flows.decline_exit == 0.0


def test_a_fast_decline_is_carried_by_closures() -> None:
    # the trend falls 0.05 a step, h = 0.02: no arrivals, and (1 - 0.02)(1 - e) = 0.95,
    # so e = 1 - 0.95 / 0.98 = 0.030612...
    flows = trend_flows(0.02, -0.05)
    assert flows.arrival_share == 0.0
    assert flows.decline_exit == pytest.approx(0.03 / 0.98)
    assert (1 - 0.02) * (1 - flows.decline_exit) == pytest.approx(0.95)


def test_the_two_regimes_meet_where_the_decline_equals_the_outflow() -> None:
    assert trend_flows(0.02, -0.02) == TrendFlows(0.0, 0.0)
    assert trend_flows(0.02, -0.02 - 1e-12).decline_exit == pytest.approx(0.0, abs=1e-11)


def test_exit_hazard_adds_closures_to_the_units_own_exits() -> None:
    assert exit_hazard(0.02, 0.0) == 0.02          # exactly: a growing circle's draws unchanged
    assert exit_hazard(0.02, 0.5) == pytest.approx(0.51)
    assert exit_hazard(0.0, 0.25) == 0.25


@pytest.mark.parametrize("growth", [-0.1, -0.5])
def test_a_declining_circle_runs_and_its_stock_follows_the_trend(growth: float) -> None:
    from sim.config import load_scenario
    from sim.model import run_scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = load_scenario("scenarios/homogenised.yaml", [
            f"economy.growth_rate_annual={growth}", "world.n_units=2000", "steps=4"])
        cities = run_scenario(config, seed=1).cities  # raises on a NaN where none is allowed
    units = cities.groupby("step")["n_units"].sum()
    # four quarters of a trend falling by ``growth`` a year: (1 + g) times the base stock, up
    # to the draws (binomial closures of ~2,000 units: a few percent)
    assert units.iloc[-1] / units.iloc[0] == pytest.approx(1 + growth, rel=0.08)


def test_the_books_close_with_no_unit_left() -> None:
    """An emptied circle (a long steep decline) keeps float accounts (bincount of nothing is an
    integer array, which once failed the run)."""
    from sim.config import load_scenario
    from sim.model.books import close_books
    from sim.model.circle import CircleModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CircleModel(load_scenario("scenarios/homogenised.yaml",
                                          ["world.n_units=300", "steps=1"]), seed=1)
    model.firms.units = model.units.select(np.zeros(len(model.units), bool))
    books = close_books(model.state, np.zeros(model.world.n_cities))
    assert np.all(books.subsidies == 0.0) and books.subsidies.dtype == float
