"""The public Python API for outside drivers (EMA Workbench, SALib, plain loops).

Dict in, dict out::

    import sim
    sim.evaluate("coordinated", seed=1, n_units=2000, **{"competition.homogenisation": 0.3})
    # {'welfare.pv': ..., 'welfare_national.pv': ..., 'gdp_total.pv': ...,
    #  'subsidy_total.pv': ..., 'similarity_ring_mean.last': ..., 'wuhan_share.last': ...,
    #  'theil.last': ...}

A scenario is a bundled name (``"coordinated"``, a file stem of ``scenarios/``), the path of a
scenario file, or a :class:`~sim.config.ScenarioConfig`. Values are dotted keys of the scenario
schema, given as keyword arguments (``**{"a.b": v}``) or as a mapping. The outcomes are what
``sim compare`` headlines, named by their measure: money flows as present values over the
horizon (``welfare.pv``, at the scenario's ``economy.discount_rate_annual``, 100m yuan), the
other headline metrics in the last quarter (``wuhan_share.last``); any circle column may be
asked for as ``<column>.pv`` or ``<column>.last``. Runs use the model's own seeded streams: the
same scenario, values, seed and replicate give the same outcomes. With ``against=`` the baseline
runs at the same values, seed and replicate (common random numbers) and the outcomes gain
``<outcome>.baseline`` and ``<outcome>.diff`` (scenario minus baseline). A value that the
scenario's settings make inert (``sim/config/inert.py``) gives an ``InertWarning``.

The scenario's ``uncertain:`` block becomes a SALib problem (:func:`salib_problem`) or EMA
Workbench parameters (:func:`ema_parameters`, :func:`ema_model`; the ``ema`` extra), whose
levers are the seven switches and which runs paired replicates on request.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from sim.analysis import registry
from sim.config import uncertain
from sim.config.inert import InertWarning, value_findings
from sim.config.loader import ConfigError, resolved_dict, schema_key_error, with_values
from sim.config.schema import ScenarioConfig
from sim.config.sweeps import load_scenario
from sim.config.uncertain import Parameter
from sim.model.tables import TABLES
from sim.paths import bundled_scenarios  # noqa: F401  (sim.bundled_scenarios)
from sim.sensitivity import core as sensitivity
from sim.sensitivity.core import ModelEvaluator, parse_uncertain, select

#: The report's headline outcomes (the metric registry's): money flows as present values
#: (``.pv``), the rest in the last quarter (``.last``).
OUTCOMES = tuple(f"{code}.{'pv' if registry.get(code).flow else 'last'}"
                 for code in registry.HEADLINE)
#: The seven switches of the co-construction rules: the levers of :func:`ema_model`.
SWITCHES = ("investment_map", "subsidy_cap", "shared_platform", "enclave", "gdp_tax_sharing",
            "park_within_park", "reverse_enclave")

ScenarioLike = str | os.PathLike | ScenarioConfig


def load(scenario: ScenarioLike, *, n_units: int | None = None,
         steps: int | None = None) -> ScenarioConfig:
    """A scenario by bundled name, file path or config, at an optional size and horizon.

    Raises:
        ConfigError: an unknown name (the known ones listed) or a bad file, in one line.
    """
    config = scenario if isinstance(scenario, ScenarioConfig) else load_scenario(scenario)
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
    return with_values(config, check_keys(values))  # one line for a value outside its range


def evaluate(scenario: ScenarioLike, values: Mapping[str, Any] | None = None, /, *,
             against: ScenarioLike | None = None, seed: int = 1, replicate: int = 0,
             n_units: int | None = None, steps: int | None = None,
             outcomes: Sequence[str] = OUTCOMES, **dotted_values: Any) -> dict[str, float]:
    """Run one scenario at the given values; return its headline outcomes.

    Args:
        scenario: bundled name, file path or ScenarioConfig.
        values: dotted key -> value (merged with ``dotted_values``, which win).
        against: a baseline run at the same values, seed and replicate (paired).
        seed, replicate: the root seed and replicate index of the run's random streams.
        n_units, steps: model size and quarters (the file's if None).
        outcomes: ``<circle column>.pv`` (present value over the horizon) or ``.last`` (last
            quarter); default :data:`OUTCOMES`, what the report headlines.
        **dotted_values: more values, e.g. ``**{"competition.homogenisation": 0.3}``.

    Raises:
        ConfigError: an unknown scenario, key or outcome, or a value outside the schema's range.
    """
    point = check_keys({**(values or {}), **dotted_values})
    config = load(scenario, n_units=n_units, steps=steps)
    warn_inert_values(with_dotted(config, point), point)  # validates before running
    base = None if against is None else load(against, n_units=n_units, steps=steps)
    return ScenarioFunction(config, base, seed, replicate, check_outcomes(outcomes))(**point)


def check_outcomes(outcomes: Sequence[str]) -> tuple[str, ...]:
    """The outcome names, each a circle column with ``.pv`` or ``.last`` (or none: last).

    Raises:
        ConfigError: naming the first unknown one.
    """
    for name in outcomes:
        column, _, measure = str(name).partition(".")
        if column not in TABLES["circle"] or measure not in ("", "pv", "last"):
            raise ConfigError(f"outcome {name}: expected <circle column>.pv or .last, e.g. "
                              f"welfare.pv or wuhan_share.last")
    return tuple(str(name) for name in outcomes)


def warn_inert_values(config: ScenarioConfig, values: Mapping[str, Any]) -> None:
    """An ``InertWarning`` per given key that the config's settings make inert or narrow."""
    for line in value_findings(config, values):
        warnings.warn(line, InertWarning, stacklevel=3)


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
        """The outcomes at ``values``; a ``replicate`` keyword (EMA's replications) picks the
        replicate of the random streams instead of ``self.replicate``."""
        replicate = int(_plain(values.pop("replicate", self.replicate)))
        base = None if self.baseline is None else resolved_dict(self.baseline)
        evaluator = ModelEvaluator(resolved_dict(self.scenario), base, self.seed, replicate,
                                   self.outcomes)
        return evaluator({k: _plain(v) for k, v in values.items()})


# --------------------------------------------------------------------------- uncertain block


def uncertain_parameters(scenario: ScenarioLike,
                         keys: Sequence[str] | None = None) -> list[Parameter]:
    """The scenario's ``uncertain:`` entries (all, or ``keys`` in that order)."""
    config = load(scenario)
    where = f"scenario {config.name}"
    return select(parse_uncertain(config.uncertain, where), keys, where)


def integer_keys(scenario: ScenarioLike, keys: Sequence[str]) -> list[str]:
    """Those of ``keys`` whose value in the scenario is an integer (sampled values round)."""
    return uncertain.integer_keys(resolved_dict(load(scenario)), list(keys))


def salib_problem(scenario: ScenarioLike, keys: Sequence[str] | None = None) -> dict:
    """The SALib problem dict (``num_vars``, ``names``, ``bounds``, ``dists``) of the
    scenario's uncertain parameters; names are the dotted keys."""
    return sensitivity.salib_problem(uncertain_parameters(scenario, keys))


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


def _scipy_dist(p: Parameter):
    from scipy import stats

    width = p.high - p.low
    if p.dist == "normal":  # mean the midpoint, sd a quarter of the range, cut at the bounds
        return stats.truncnorm(-2.0, 2.0, loc=(p.low + p.high) / 2, scale=width / 4)
    mode = (p.low + p.high) / 2 if p.mode is None else p.mode
    return stats.triang((mode - p.low) / width, loc=p.low, scale=width)


def ema_levers(switches: Sequence[str] = SWITCHES) -> list:
    """The switches as EMA Workbench ``CategoricalParameter`` levers (False, True), named
    ``switches__<name>`` with the dotted key as ``variable_name``."""
    from ema_workbench import CategoricalParameter

    keys = check_keys(dict.fromkeys(f"switches.{name}" for name in switches), "lever")
    return [CategoricalParameter(ema_name(key), [False, True], variable_name=key) for key in keys]


def ema_model(scenario: ScenarioLike, *, against: ScenarioLike | None = None,
              keys: Sequence[str] | None = None,
              categorical: Mapping[str, Sequence[Any]] | None = None,
              levers: Sequence[str] | None = SWITCHES, replications: int | None = None,
              seed: int = 1, replicate: int = 0, n_units: int | None = None,
              steps: int | None = None, outcomes: Sequence[str] = OUTCOMES,
              name: str | None = None):
    """An EMA Workbench model of the scenario, ready for ``perform_experiments``.

    Uncertainties come from its ``uncertain:`` block (and ``categorical``); levers are the
    switches named in ``levers`` (default all seven; a policy sets each on or off, the others
    keep the scenario's value; ``levers=()`` for none); one ``ScalarOutcome`` per outcome (and
    ``<o>__baseline``, ``<o>__diff`` with ``against``). With ``replications=n`` it is a
    ``ReplicatorModel`` that runs replicates 0..n−1 of the random streams at every experiment
    (the same replicates for every experiment and policy: paired), and each outcome is an
    ``ArrayOutcome`` named ``<o>__by_replicate`` holding the n values (experiments x
    replications).
    """
    from ema_workbench import ArrayOutcome, Model, ReplicatorModel, ScalarOutcome

    config = load(scenario, n_units=n_units, steps=steps)
    base = None if against is None else load(against, n_units=n_units, steps=steps)
    function = ScenarioFunction(config, base, seed, replicate, check_outcomes(outcomes))
    label = ema_name(name or config.name)
    if replications is None:
        model = Model(label, function=function)
    else:
        if int(replications) < 1:
            raise ConfigError(f"replications: expected an integer >= 1 (got {replications})")
        model = ReplicatorModel(label, function=function)
        model.replications = [{"replicate": r} for r in range(int(replications))]
    model.uncertainties = ema_parameters(config, keys, categorical)
    model.levers = ema_levers(levers or ())
    names = list(function.outcomes)
    if base is not None:
        names += [f"{m}.{kind}" for kind in ("baseline", "diff") for m in function.outcomes]
    if replications is None:
        model.outcomes = [ScalarOutcome(ema_name(n), variable_name=n) for n in names]
    else:   # EMA keeps one outcome class per name for the whole process: a name of its own
        model.outcomes = [ArrayOutcome(f"{ema_name(n)}__by_replicate", variable_name=n)
                          for n in names]
    return model
