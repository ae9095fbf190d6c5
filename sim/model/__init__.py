"""The model: state, agents and schedule (CircleModel, the world, parks, units, cities, the
coordinator, firms' decisions, the recorder and the output tables).

``CircleModel`` and ``run_scenario`` are loaded on first use, so that reading the table
declarations (``sim.model.tables``) does not import the whole model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.model.circle import CircleModel, run_scenario

__all__ = ["CircleModel", "run_scenario"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        # lazy: the model class loads Mesa; reading the table declarations (sim.model.tables) does
        # not
        from sim.model import circle

        return getattr(circle, name)
    raise AttributeError(f"module 'sim.model' has no attribute {name!r}")
