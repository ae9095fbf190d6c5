"""A model's scenario from what Mesa's tools pass: a bundled scenario's name (or a scenario file
or a validated config) and dotted keys as keyword arguments, e.g. for ``mesa.batch_run``::

    mesa.batch_run(CircleModel, parameters={"scenario": ["homogenised", "coordinated"],
                                            "competition.homogenisation": [0.3, 0.9]})
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.config.loader import ConfigError, apply_overrides, validate_mapping
from sim.config.schema import ScenarioConfig
from sim.config.sweeps import load_scenario

#: The scenario files shipped with the repository.
BUNDLED_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def scenario_path(scenario: str | os.PathLike) -> Path:
    """A bundled scenario's file by name (``"coordinated"``), or the given file itself."""
    path = Path(scenario)
    if path.suffix not in (".yaml", ".yml") and len(path.parts) == 1:
        path = BUNDLED_SCENARIOS / f"{scenario}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in BUNDLED_SCENARIOS.glob("*.yaml"))
        raise ConfigError(f"scenario {str(scenario)!r}: expected a scenario file or one of the "
                          f"bundled scenarios {', '.join(known)}")
    return path


def resolve_config(scenario: ScenarioConfig | str | os.PathLike,
                   values: Mapping[str, Any]) -> ScenarioConfig:
    """The validated scenario with dotted keys set (``{"world.n_units": 1000}``).

    Raises:
        ConfigError: naming the file or key and what was expected.
    """
    overrides = [f"{key}={json.dumps(value)}" for key, value in values.items()]
    if isinstance(scenario, ScenarioConfig):
        if not overrides:
            return scenario
        data = apply_overrides(scenario.model_dump(mode="json"), overrides, {})
        return validate_mapping(data, {}, "scenario")
    return load_scenario(scenario_path(scenario), overrides)
