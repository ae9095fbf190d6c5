"""The model as Mesa users drive it: by scenario name and dotted keys, with mesa.batch_run."""

from __future__ import annotations

import mesa
import pytest

from sim.config import ConfigError
from sim.model import CircleModel, run_scenario
from sim.model.bundled import resolve_config

#: A small world, passed the way batch_run passes any parameter (dotted keys as keywords).
SMALL = {"world.n_units": 500, "steps": 2}


def test_batch_run_is_seeded_and_paired_with_rng() -> None:
    """``rng=[1, 2]``: every parameter combination runs once per root seed (replicate 0), so
    scenarios are paired by seed (common random numbers) and a row is reproduced by
    ``run_scenario(config, seed)``; the deprecated ``iterations=`` gave unseeded runs."""
    parameters = {"scenario": ["homogenised", "coordinated"],
                  "competition.homogenisation": [0.3, 0.9], **SMALL}
    results = mesa.batch_run(CircleModel, parameters=parameters, rng=[1, 2],
                             display_progress=False)
    assert len(results) == 2 * 2 * 2
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
    assert frame["gdp_total"].tolist() == circle["gdp_total"].tolist()


def test_a_model_of_an_unknown_scenario_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bundled scenarios"):
        CircleModel(scenario="no_such_scenario")
