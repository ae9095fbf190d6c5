"""The model as Mesa users drive it: by scenario name and dotted keys, with mesa.batch_run, and
its DataCollector (headlines read from the recorder, seed and replicate, each city's books)."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from sim.config import ConfigError
from sim.model import CircleModel, run_scenario
from sim.model.bundled import resolve_config
from sim.model.collector import CIRCLE_COLUMNS, CITY_FIGURES, RecordedColumn

#: A small world, passed the way batch_run passes any parameter (dotted keys as keywords).
SMALL = {"world.n_units": 500, "steps": 2}
TINY = {"world.n_units": 300, "steps": 1}


def test_batch_run_is_seeded_and_paired_with_rng() -> None:
    """``rng=[1, 2]``: every parameter combination runs once per root seed (replicate 0), so
    scenarios are paired by seed (common random numbers) and a row is reproduced by
    ``run_scenario(config, seed)``; the deprecated ``iterations=`` gave unseeded runs."""
    parameters = {"scenario": ["homogenised", "coordinated"],
                  "competition.homogenisation": [0.3, 0.9], **SMALL}
    results = mesa.batch_run(CircleModel, parameters=parameters, rng=[1, 2],
                             display_progress=False)
    assert len(results) == 2 * 2 * 2 * 9                      # runs x the nine cities
    assert {row["Step"] for row in results} == {2.0}          # running ends after the steps
    assert {(row["scenario"], row["competition.homogenisation"], row["seed"])
            for row in results} == {(s, h, seed) for s in ("homogenised", "coordinated")
                                    for h in (0.3, 0.9) for seed in (1, 2)}
    assert {row["iteration"]: row["seed"] for row in results} == {0: 1, 1: 2}
    again = mesa.batch_run(CircleModel, parameters=parameters, rng=[1, 2],
                           display_progress=False)
    key = ("scenario", "competition.homogenisation", "seed")
    first = {tuple(r[k] for k in key): r["gdp_total"] for r in results}
    assert first == {tuple(r[k] for k in key): r["gdp_total"] for r in again}   # seeded
    config = resolve_config("coordinated", {"competition.homogenisation": 0.9, **SMALL})
    circle = run_scenario(config, seed=2).circle
    assert first[("coordinated", 0.9, 2)] == circle["gdp_total"].iloc[-1]
    assert all(row["gdp_total"] > 0 and 0 < row["wuhan_share"] < 1 for row in results)
    for run in {row["RunId"] for row in results}:
        rows = [row for row in results if row["RunId"] == run]
        assert sorted(row["city"] for row in rows) == sorted(
            ("Wuhan", "Huangshi", "Ezhou", "Xiaogan", "Huanggang", "Xianning", "Xiantao",
             "Qianjiang", "Tianmen"))
        assert sum(row["gdp_physical"] for row in rows) == pytest.approx(rows[0]["gdp_total"])
    assert all(isinstance(row["seed"], int) for row in results)   # the seed each run drew


def test_batch_run_with_rng_values_pairs_runs_on_their_seeds() -> None:
    """``rng=[...]`` is the model's root seed: a value repeated gives the same run (common
    random numbers), another value other draws; the rows name their seed and replicate."""
    results = mesa.batch_run(CircleModel, parameters={"scenario": "homogenised", **TINY},
                             rng=[5, 5, 6], display_progress=False)
    by_run = {}
    for row in results:
        by_run.setdefault((row["RunId"], row["seed"], row["replicate"]), []).append(
            (row["city"], row["gdp_physical"], row["fiscal_balance"]))
    assert sorted(key[1:] for key in by_run) == [(5, 0), (5, 0), (6, 0)]
    (_, five_a), (_, five_b), (_, six) = sorted((key[1], rows) for key, rows in by_run.items())
    assert five_a == five_b and five_a != six
    direct = CircleModel(scenario="homogenised", seed=5, **TINY)
    while direct.running:
        direct.step()
    cities = direct.recorder.results(direct.config).cities
    last = cities[cities.step == cities.step.max()]
    assert [(c, g) for c, g, _ in five_a] == list(zip(last.city, last.gdp_physical))


def test_a_model_by_name_takes_dotted_keys_and_stops_after_its_steps() -> None:
    model = CircleModel(scenario="homogenised", seed=None,
                        **{"competition.homogenisation": 0.3, **SMALL})
    assert model.config.competition.homogenisation == 0.3 and model.config.steps == 2
    assert isinstance(model.seed, int)
    while model.running:
        model.step()
    assert model.steps == 2 and len(model.cities) == model.world.n_cities
    frame = model.datacollector.get_model_vars_dataframe()
    circle = model.recorder.results(model.config).circle
    assert len(frame) == 3
    for column in circle.columns.drop("step"):          # every column of the circle table
        np.testing.assert_array_equal(frame[column].to_numpy(float), circle[column].to_numpy(float))
    assert frame["seed"].tolist() == [model.seed] * 3 and frame["replicate"].tolist() == [0] * 3


def test_the_collector_reads_every_circle_column_where_the_recorder_keeps_it() -> None:
    model = CircleModel(scenario="coordinated", seed=2, replicate=1, **TINY)
    model.step()
    model_vars = model.datacollector.model_vars
    assert list(model_vars)[:len(CIRCLE_COLUMNS)] == list(CIRCLE_COLUMNS)
    rows = model.recorder.rows["circle"]
    for name in CIRCLE_COLUMNS:
        column = model_vars[name]
        assert isinstance(column, RecordedColumn) and len(column) == 2
        assert column[-1] is rows[-1][name] and column[:] == [row[name] for row in rows]
    assert model_vars["replicate"] == [1, 1] and model_vars["seed"] == [2, 2]


def test_each_citys_books_are_its_agent_variables() -> None:
    model = CircleModel(scenario="coordinated", seed=2, **TINY)
    model.step()
    agents = model.datacollector.get_agent_vars_dataframe().reset_index()
    cities = model.recorder.results(model.config).cities
    assert len(agents) == 2 * 9                          # two collected steps, nine cities
    assert set(agents.AgentID) == {city.unique_id for city in model.cities}
    assert model.coordinator.unique_id not in set(agents.AgentID)
    np.testing.assert_array_equal(agents.city, cities.city)
    np.testing.assert_array_equal(agents.Step, cities.step)
    for figure in CITY_FIGURES:                          # the cities table's columns of a name
        np.testing.assert_array_equal(agents[figure], cities[figure])


def test_the_coordinator_is_an_agent_created_after_the_cities() -> None:
    model = CircleModel(scenario="coordinated", seed=2, **TINY)
    ids = [city.unique_id for city in model.cities]
    assert ids == sorted(ids) and [city.index for city in model.cities] == list(range(9))
    assert isinstance(model.coordinator, mesa.Agent) and model.coordinator.unique_id > max(ids)


def test_a_model_of_an_unknown_scenario_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a bundled scenario name"):
        CircleModel(scenario="no_such_scenario")
