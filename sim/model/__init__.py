"""The model: state, agents and schedule (CircleModel, the world, parks, units, cities, the
coordinator, firms' decisions, the recorder and the output tables)."""

from sim.model.circle import CircleModel, run_scenario

__all__ = ["CircleModel", "run_scenario"]
