"""The base-year world: GDP, structure, distances and units."""

import numpy as np
import pandas as pd
import pytest

from sim.config.schema import ScenarioConfig
from sim.model import CircleModel
from sim.model.world import build_world, great_circle_km, spread_output
from sim.paths import DATA_DIR


@pytest.fixture(scope="module")
def world():
    return build_world(ScenarioConfig())


def test_step0_reproduces_2021_gdp_within_one_percent():
    model = CircleModel(ScenarioConfig(competition={"active": False}), seed=3)
    cities = model.recorder.results(model.config).cities
    data = pd.read_csv(DATA_DIR / "cities.csv").set_index("city")["gdp_2021"]
    got = cities[cities.step == 0].set_index("city")["gdp_physical"]
    np.testing.assert_allclose(got[data.index], data, rtol=0.01)


def test_standard_world_has_at_least_20000_units_as_a_frame():
    model = CircleModel(ScenarioConfig(), seed=1)
    frame = model.units.frame(
        model.world.sectors, ("rnd", "hq", "core", "supply"), model.parks.name
    )
    assert len(frame) >= 20_000
    assert {"unit_id", "sector", "segment", "productivity", "park", "origin", "output"} <= set(
        frame.columns
    )
    assert frame.unit_id.is_unique


def test_primary_output_uses_reported_structure(world):
    # Wuhan's reported 2021 structure: 2.5% primary
    assert world.primary[0] == pytest.approx(0.025 * 17716.76)


def test_spread_output_by_hand():
    # one city, GDP 100 non-primary, 60% secondary; two manufacturing sectors weighted 1:3 and one
    # service sector; one segment: 15, 45, 40
    out = spread_output(np.array([100.0]), np.array([0.6]), np.array([[1.0, 3.0, 2.0]]),
                        np.array([True, True, False]), np.ones((1, 3, 1)))
    np.testing.assert_allclose(out[0, :, 0], [15, 45, 40])


def test_road_distance_is_great_circle_times_detour(world):
    gc = great_circle_km(world.lon[[0, 2]], world.lat[[0, 2]])[0, 1]
    assert 55 < gc < 70   # Wuhan to Ezhou city centre
    assert world.distance_km[0, 2] == pytest.approx(1.3 * gc)
    np.testing.assert_allclose(world.distance_km, world.distance_km.T)
    np.testing.assert_allclose(np.diag(world.distance_km), 25.0)


def test_wuhan_has_the_most_talent_and_highest_wage(world):
    assert world.talent.argmax() == world.core and world.wage.argmax() == world.core
