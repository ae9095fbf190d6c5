"""Agent-based model of park co-construction in the Wuhan city circle (武汉城市圈).

The public API for outside drivers is re-exported lazily from :mod:`sim.api`, so ``import sim``
stays cheap: ``sim.evaluate``, ``sim.salib_problem``, ``sim.ema_parameters``, ``sim.ema_model``,
``sim.bundled_scenarios``, ``sim.ema_levers``.
"""

from sim.version import __version__

_API = ("evaluate", "salib_problem", "ema_parameters", "ema_model", "ema_levers",
        "bundled_scenarios", "uncertain_parameters", "ScenarioFunction", "OUTCOMES", "SWITCHES")
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        # lazy: sim.api loads the config, the runner and the glue to SALib and EMA Workbench only
        # when a caller asks for sim.evaluate & co., so `import sim` stays cheap
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
