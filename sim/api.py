"""The public Python API for outside drivers (EMA Workbench, SALib, plain loops).

Dict in, dict out::

    import sim
    sim.evaluate("coordinated", seed=1, n_units=2000, **{"competition.homogenisation": 0.3})
    # {'similarity_ring_mean': ..., 'welfare': ..., 'subsidy_total': ..., 'wuhan_share': ...,
    #  'theil': ..., 'gdp_total': ...}

A scenario is a bundled name (``"coordinated"``, a file stem of ``scenarios/``), the path of a
scenario file, or a :class:`~sim.config.ScenarioConfig`. Values are dotted keys of the scenario
schema, given as keyword arguments (``**{"a.b": v}``) or as a mapping. The outcomes are the
circle table's headline columns at the last step, run with the model's own seeded streams: the
same scenario, values, seed and replicate give the same outcomes. With ``against=`` the baseline
runs at the same values, seed and replicate (common random numbers) and the outcomes gain
``<metric>.baseline`` and ``<metric>.diff`` (scenario minus baseline).

The scenario's ``uncertain:`` block becomes a SALib problem (:func:`salib_problem`) or EMA
Workbench parameters (:func:`ema_parameters`, :func:`ema_model`; the ``ema`` extra).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config.loader import ConfigError, load_scenario, resolved_dict, schema_key_error
from sim.config.schema import ScenarioConfig

if TYPE_CHECKING:
    from sim.sensitivity.core import Parameter

#: The scenario files bundled with the repository checkout.
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
#: Headline outcomes (circle table, last step); same names as the sensitivity analysis uses.
OUTCOMES = ("similarity_ring_mean", "welfare", "subsidy_total", "wuhan_share", "theil",
            "gdp_total")

ScenarioLike = str | os.PathLike | ScenarioConfig


def bundled_scenarios() -> list[str]:
    """Names of the bundled scenario files (``scenarios/<name>.yaml``)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml") if p.stem != "base")


def load(scenario: ScenarioLike, *, n_units: int | None = None,
         steps: int | None = None) -> ScenarioConfig:
    """A scenario by bundled name, file path or config, at an optional size and horizon.

    Raises:
        ConfigError: an unknown name (the known ones listed) or a bad file, in one line.
    """
    if isinstance(scenario, ScenarioConfig):
        config = scenario
    else:
        path = Path(scenario)
        if not path.is_file() and path.suffix not in (".yaml", ".yml") and path.parent == Path():
            path = SCENARIO_DIR / f"{scenario}.yaml"
            if not path.is_file():
                raise ConfigError(f"scenario {str(scenario)!r}: expected a bundled name "
                                  f"({', '.join(bundled_scenarios())}) or a scenario file path")
        config = load_scenario(path)
    size = {"world.n_units": n_units, "steps": steps}
    return with_dotted(config, {k: v for k, v in size.items() if v is not None})


def _plain(value: Any) -> Any:
    """numpy scalars (EMA and SALib samples) as Python numbers."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) \
        else value


def check_keys(values: Mapping[str, Any], label: str = "value") -> dict[str, Any]:
    """``values`` with plain Python numbers; one-line ConfigError for a key not in the schema."""
    for key in values:
        problem = schema_key_error(str(key))
        if problem:
            raise ConfigError(f"{label} {key}: expected a dotted key of the scenario schema: "
                              f"{problem}")
    return {str(k): _plain(v) for k, v in values.items()}


def with_dotted(config: ScenarioConfig, values: Mapping[str, Any]) -> ScenarioConfig:
    """A copy of ``config`` with dotted keys set and validated again."""
    if not values:
        return config
    from pydantic import ValidationError

    from sim.config.loader import describe_validation_error
    from sim.explorer.levers import with_values

    try:
        return with_values(config, check_keys(values))
    except ValidationError as exc:  # a value outside the schema's range
        raise ConfigError(describe_validation_error(exc, {}, f"scenario {config.name}")) from None


def evaluate(scenario: ScenarioLike, values: Mapping[str, Any] | None = None, /, *,
             against: ScenarioLike | None = None, seed: int = 1, replicate: int = 0,
             n_units: int | None = None, steps: int | None = None,
             outcomes: Sequence[str] = OUTCOMES, **dotted_values: Any) -> dict[str, float]:
    """Run one scenario at the given values; return its headline outcomes at the last step.

    Args:
        scenario: bundled name, file path or ScenarioConfig.
        values: dotted key -> value (merged with ``dotted_values``, which win).
        against: a baseline run at the same values, seed and replicate (paired).
        seed, replicate: the root seed and replicate index of the run's random streams.
        n_units, steps: model size and quarters (the file's if None).
        outcomes: circle-table columns to return.
        **dotted_values: more values, e.g. ``**{"competition.homogenisation": 0.3}``.

    Raises:
        ConfigError: an unknown scenario or key, or a value outside the schema's range.
    """
    point = check_keys({**(values or {}), **dotted_values})
    config = load(scenario, n_units=n_units, steps=steps)
    with_dotted(config, point)  # validate before running
    base = None if against is None else load(against, n_units=n_units, steps=steps)
    return ScenarioFunction(config, base, seed, replicate, tuple(outcomes))(**point)


@dataclasses.dataclass
class ScenarioFunction:
    """A picklable ``f(**dotted_values) -> {outcome: number}`` for EMA Workbench or pools.

    Reuses :class:`sim.sensitivity.core.ModelEvaluator` (the same code path as ``sim
    sensitivity``), so a point evaluated here matches the same point of a sensitivity study.
    """

    scenario: ScenarioConfig
    baseline: ScenarioConfig | None = None
    seed: int = 1
    replicate: int = 0
    outcomes: tuple[str, ...] = OUTCOMES

    def __call__(self, **values: Any) -> dict[str, float]:
        from sim.sensitivity.core import ModelEvaluator

        base = None if self.baseline is None else resolved_dict(self.baseline)
        evaluator = ModelEvaluator(resolved_dict(self.scenario), base, self.seed, self.replicate,
                                   self.outcomes)
        return evaluator({k: _plain(v) for k, v in values.items()})


# --------------------------------------------------------------------------- uncertain block


def uncertain_parameters(scenario: ScenarioLike,
                         keys: Sequence[str] | None = None) -> list["Parameter"]:
    """The scenario's ``uncertain:`` entries (all, or ``keys`` in that order)."""
    from sim.sensitivity.core import parse_uncertain, select

    config = load(scenario)
    where = f"scenario {config.name}"
    return select(parse_uncertain(config.uncertain, where), keys, where)


def integer_keys(scenario: ScenarioLike, keys: Sequence[str]) -> list[str]:
    """Those of ``keys`` whose value in the scenario is an integer (sampled values round)."""
    from sim.sensitivity.cli import integer_keys as found

    return found(resolved_dict(load(scenario)), list(keys))


def salib_problem(scenario: ScenarioLike, keys: Sequence[str] | None = None) -> dict:
    """The SALib problem dict (``num_vars``, ``names``, ``bounds``, ``dists``) of the
    scenario's uncertain parameters; names are the dotted keys."""
    from sim.sensitivity.core import salib_problem as problem

    return problem(uncertain_parameters(scenario, keys))


def ema_name(key: str) -> str:
    """An EMA Workbench name (a Python identifier) for a dotted key: dots become ``__``."""
    return key.replace(".", "__")


def ema_parameters(scenario: ScenarioLike, keys: Sequence[str] | None = None,
                   categorical: Mapping[str, Sequence[Any]] | None = None) -> list:
    """EMA Workbench parameters for the scenario's uncertain block (and optional categories).

    Integer keys become ``IntegerParameter``, others ``RealParameter`` (normal and triangular
    entries as ``from_dist`` with the same truncated normal or triangle SALib uses);
    ``categorical`` maps further dotted keys (e.g. switches) to their possible values as
    ``CategoricalParameter``. Each parameter's ``variable_name`` is the dotted key, so EMA
    passes values to :class:`ScenarioFunction` under the scenario's own key names.
    """
    from ema_workbench import CategoricalParameter, IntegerParameter, RealParameter

    params = uncertain_parameters(scenario, keys)
    whole = set(integer_keys(scenario, [p.key for p in params]))
    out = []
    for p in params:
        name = ema_name(p.key)
        if p.key in whole:
            out.append(IntegerParameter(name, int(round(p.low)), int(round(p.high)),
                                        variable_name=p.key))
        elif p.dist == "uniform":
            out.append(RealParameter(name, p.low, p.high, variable_name=p.key))
        else:
            out.append(RealParameter.from_dist(name, _scipy_dist(p), variable_name=p.key))
    for key, options in check_keys(dict(categorical or {}), "categorical").items():
        out.append(CategoricalParameter(ema_name(key), list(options), variable_name=key))
    return out


def _scipy_dist(p: "Parameter"):
    from scipy import stats

    width = p.high - p.low
    if p.dist == "normal":  # mean the midpoint, sd a quarter of the range, cut at the bounds
        return stats.truncnorm(-2.0, 2.0, loc=(p.low + p.high) / 2, scale=width / 4)
    mode = (p.low + p.high) / 2 if p.mode is None else p.mode
    return stats.triang((mode - p.low) / width, loc=p.low, scale=width)


def ema_model(scenario: ScenarioLike, *, against: ScenarioLike | None = None,
              keys: Sequence[str] | None = None,
              categorical: Mapping[str, Sequence[Any]] | None = None, seed: int = 1,
              replicate: int = 0, n_units: int | None = None, steps: int | None = None,
              outcomes: Sequence[str] = OUTCOMES, name: str | None = None):
    """An EMA Workbench ``Model`` of the scenario: uncertainties from its uncertain block,
    one ``ScalarOutcome`` per headline outcome (and ``<m>__baseline``, ``<m>__diff`` with
    ``against``); ready for ``perform_experiments`` with any evaluator."""
    from ema_workbench import Model, ScalarOutcome

    config = load(scenario, n_units=n_units, steps=steps)
    base = None if against is None else load(against, n_units=n_units, steps=steps)
    model = Model(ema_name(name or config.name),
                  function=ScenarioFunction(config, base, seed, replicate, tuple(outcomes)))
    model.uncertainties = ema_parameters(config, keys, categorical)
    names = list(outcomes)
    if base is not None:
        names += [f"{m}.{kind}" for kind in ("baseline", "diff") for m in outcomes]
    model.outcomes = [ScalarOutcome(ema_name(n), variable_name=n) for n in names]
    return model
