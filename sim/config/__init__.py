"""Scenario configuration: the schema, loading scenario files, and expanding them into runs."""

from sim.config.loader import ConfigError, resolved_dict
from sim.config.schema import ScenarioConfig
from sim.config.sweeps import RunSpec, expand_runs, load_scenario

__all__ = ["ConfigError", "RunSpec", "ScenarioConfig", "expand_runs", "load_scenario",
           "resolved_dict"]
