"""The model as Mesa users drive it: by scenario name and dotted keys, with mesa.batch_run."""

from __future__ import annotations

import mesa
import pytest

from sim.config import ConfigError
from sim.model import CircleModel

#: A small world, passed the way batch_run passes any parameter (dotted keys as keywords).
SMALL = {"world.n_units": 500, "steps": 2}


def test_batch_run_with_mesas_defaults_gives_one_row_per_run_at_its_last_step() -> None:
    results = mesa.batch_run(
        CircleModel,
        parameters={"scenario": ["homogenised", "coordinated"],
                    "competition.homogenisation": [0.3, 0.9], **SMALL},
        iterations=2)
    assert len(results) == 2 * 2 * 2
    assert {row["Step"] for row in results} == {2.0}          # running ends after the steps
    assert {(row["scenario"], row["competition.homogenisation"]) for row in results} == {
        (s, h) for s in ("homogenised", "coordinated") for h in (0.3, 0.9)}
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
