"""A model's scenario from what Mesa's tools pass: a bundled scenario's name (or a scenario file
or a validated config) and dotted keys as keyword arguments, e.g. for ``mesa.batch_run``::

    mesa.batch_run(CircleModel, parameters={"scenario": ["homogenised", "coordinated"],
                                            "competition.homogenisation": [0.3, 0.9]})
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from sim.config.loader import with_values
from sim.config.schema import ScenarioConfig
from sim.config.sweeps import load_scenario


def resolve_config(scenario: ScenarioConfig | str | os.PathLike,
                   values: Mapping[str, Any]) -> ScenarioConfig:
    """The validated scenario with dotted keys set (``{"world.n_units": 1000}``).

    Raises:
        ConfigError: naming the file or key and what was expected.
    """
    if isinstance(scenario, ScenarioConfig):
        return with_values(scenario, values) if values else scenario
    overrides = [f"{key}={json.dumps(value)}" for key, value in values.items()]
    return load_scenario(scenario, overrides)
