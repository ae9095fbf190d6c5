"""Scenario files checked whole, and expanded into the runs of a batch (sweeps x replicates).

:func:`load_scenario` reads one file (its ``extends:`` chain and ``--set`` overrides,
:mod:`sim.config.loader`) and checks it whole: the schema, the data folder and the cross-field
constraints (:mod:`sim.config.constraints`), its ``uncertain:`` and ``sweep:`` blocks, and warns
about inert values (:mod:`sim.config.inert`). :func:`plan_scenario` checks every sweep point too.

A ``sweep:`` block varies dotted keys of the schema. ``grid:`` takes the cartesian product of its
lists; ``zip:`` pairs its lists element by element (equal lengths); with both, every zip pair is
combined with every grid point. Replicate r of every scenario and sweep point runs with the same
root seed and r, so its random streams are the same (common random numbers, ``sim/model/seeds.py``).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.config.constraints import check_references
from sim.config.inert import warn_inert
from sim.config.loader import (
    ConfigError,
    Origins,
    _path_tuple,
    _show_value,
    load_raw,
    origin_of,
    resolved_dict,
    scenario_file,
    schema_key_error,
    set_dotted,
    show_path,
    validate_mapping,
)
from sim.config.schema import ScenarioConfig
from sim.config.uncertain import parse_entry

#: Keys that a sweep or uncertain block may not vary (``seed``: replicates are the seeds; a
#: swept seed would be overridden by the batch's root seed and give identical runs).
UNSWEEPABLE = ("name", "sweep", "uncertain", "replicates", "extends", "seed", "posterior")
#: Most sweep points of one scenario file, and most runs (points x replicates) of one file.
MAX_POINTS = 10_000
MAX_RUNS = 1_000_000
#: The schema's caps on ``replicates`` and ``seed``, applied to the --replicates and --seed flags.
MAX_REPLICATES = ScenarioConfig.model_fields["replicates"].metadata[-1].le
MAX_SEED = ScenarioConfig.model_fields["seed"].metadata[-1].le


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a batch: a scenario at one sweep point and one replicate.

    Attributes:
        name: ``<scenario>/<key=value,...>/r07`` (no middle part without a sweep).
        scenario: the scenario's ``name``.
        sweep: swept dotted key -> value at this point (empty without a sweep).
        replicate: replicate index r (>= 0).
        seed: the root seed; the run's streams derive from (seed, replicate) alone.
        config: the fully resolved scenario at this point, as plain data.
        file: the scenario file it came from.
    """

    name: str
    scenario: str
    sweep: dict
    replicate: int
    seed: int
    config: dict
    file: str


def check_variable_key(key: str, loc: tuple, origins: Origins, default: str) -> None:
    """A swept or uncertain key must be a dotted key of the schema other than the run's own."""
    at = origin_of(loc, origins, default)
    label = ".".join(str(p) for p in loc[:-1])
    problem = schema_key_error(key)
    if problem is None and key.split(".")[0] in UNSWEEPABLE:
        problem = f"'{key.split('.')[0]}' cannot be varied" + (
            " (replicates give each run its own random streams)" if key == "seed" else "")
    if problem:
        raise ConfigError(f"{at}: {label}.{key}: expected a dotted key of the scenario schema: "
                          f"{problem}")


#: Uncertain keys whose schema constraint binds on their ends together: the corner of the box
#: where each key is at its high end (the others at their values) must pass as well.
JOINT_HIGH = (("economy.stay_share_reviewers", "economy.leave_share_reviewers"),)


def check_uncertain(config: ScenarioConfig, origins: Origins, default: str) -> None:
    """Every entry of the ``uncertain:`` block (for the sensitivity analysis) is a schema key
    with a valid range whose ends the schema accepts, alone and, for the keys of
    :data:`JOINT_HIGH`, at their high ends together (a sampler draws every point of the box)."""
    problems: list[str] = []
    for key, spec in (config.uncertain or {}).items():
        check_variable_key(str(key), ("uncertain", key), origins, default)
        at = origin_of(("uncertain", key), origins, default)
        try:
            param = parse_entry(str(key), spec, at)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        for end, value in (("low", param.low), ("high", param.high)):
            data = resolved_dict(config)
            set_dotted(data, str(key), value, at)
            try:
                ScenarioConfig.model_validate(data)
            except ValidationError as exc:
                why = exc.errors()[0]["msg"].removeprefix("Value error, ")
                problems.append(f"{at}: uncertain.{key}: expected a range the schema accepts "
                                f"({end} = {value:g}: {why})")
    if not problems:
        problems = _joint_problems(config, origins, default)
    if problems:
        raise ConfigError("\n".join(problems))


def _joint_problems(config: ScenarioConfig, origins: Origins, default: str) -> list[str]:
    """The corners of :data:`JOINT_HIGH` where two or more of the keys are uncertain."""
    block = {str(key): spec for key, spec in (config.uncertain or {}).items()}
    problems = []
    for keys in JOINT_HIGH:
        varied = [key for key in keys if key in block]
        if len(varied) < 2:       # one key alone: its own ends were checked
            continue
        data = resolved_dict(config)
        where = origin_of(("uncertain", varied[0]), origins, default)
        highs = {}
        for key in varied:
            highs[key] = parse_entry(key, block[key], where).high
            set_dotted(data, key, highs[key], where)
        try:
            ScenarioConfig.model_validate(data)
        except ValidationError as exc:
            why = exc.errors()[0]["msg"].removeprefix("Value error, ")
            ends = ", ".join(f"{key} = {value:g}" for key, value in highs.items())
            problems.append(f"{where}: uncertain.{varied[0]}: expected ranges the schema accepts "
                            f"together (at the high ends {ends}: {why})")
    return problems


def sweep_points(config: ScenarioConfig, origins: Origins, default: str) -> list[dict[str, Any]]:
    """The points of a scenario's ``sweep:`` block, each a dict of dotted key -> value.

    Returns ``[{}]`` when the scenario has no sweep.
    """
    block = config.sweep
    if block is None:
        return [{}]
    at = origin_of(("sweep",), origins, default)
    if not block or set(block) - {"grid", "zip"}:
        extra = sorted(set(map(str, block)) - {"grid", "zip"})
        got = f"unknown key(s) {', '.join(extra)}" if extra else "an empty mapping"
        raise ConfigError(f"{at}: sweep: expected 'grid:' and/or 'zip:' mappings of dotted key "
                          f"to a list of values (got {got})")
    axes: dict[str, dict[str, list]] = {}
    for kind in ("grid", "zip"):
        axes[kind] = _sweep_axis(block.get(kind), kind, origins, default)
    both = set(axes["grid"]) & set(axes["zip"])
    if both:
        raise ConfigError(f"{at}: sweep: key {sorted(both)[0]} is in both grid and zip")
    lengths = {key: len(values) for key, values in axes["zip"].items()}
    if len(set(lengths.values())) > 1:
        where = origin_of(("sweep", "zip"), origins, default)
        shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ConfigError(f"{where}: sweep.zip: expected lists of equal length ({shown})")
    n_points = max(len(next(iter(axes["zip"].values()), [None])), 1)
    for values in axes["grid"].values():
        n_points *= len(values)
    if n_points > MAX_POINTS:
        raise ConfigError(f"{at}: sweep: expected at most {MAX_POINTS:,} sweep points (got "
                          f"{n_points:,})")
    grid = [dict(zip(axes["grid"], combo)) for combo in itertools.product(*axes["grid"].values())]
    zipped = [dict(zip(axes["zip"], combo)) for combo in zip(*axes["zip"].values())] or [{}]
    return [{**g, **z} for g in grid for z in zipped]


def _sweep_axis(axis: Any, kind: str, origins: Origins, default: str) -> dict[str, list]:
    if axis is None:
        return {}
    at = origin_of(("sweep", kind), origins, default)
    if not isinstance(axis, dict) or not axis:
        raise ConfigError(f"{at}: sweep.{kind}: expected a mapping of dotted key to a list of "
                          f"values (got {_show_value(axis)})")
    for key, values in axis.items():
        check_variable_key(str(key), ("sweep", kind, key), origins, default)
        where = origin_of(("sweep", kind, key), origins, default)
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: sweep.{kind}.{key}: expected a non-empty list of values "
                              f"(got {_show_value(values)})")
        if len({repr(v) for v in values}) < len(values):
            raise ConfigError(f"{where}: sweep.{kind}.{key}: expected distinct values "
                              f"(got {_show_value(values)})")
    return {str(k): v for k, v in axis.items()}


def point_label(point: dict[str, Any]) -> str:
    """``key=value,...`` with each key cut to its shortest unique suffix of >= 2 parts."""
    keys = list(point)
    short = {}
    for key in keys:
        parts = key.split(".")
        for n in range(min(2, len(parts)), len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if sum(k == suffix or k.endswith("." + suffix) for k in keys) == 1:
                break
        short[key] = suffix
    return ",".join(f"{short[k]}={_format_value(v)}" for k, v in point.items())


def run_name(scenario: str, label: str, replicate: int, n_replicates: int) -> str:
    """A run's name: ``<scenario>/<point label>/r07`` (no middle part without a sweep), the
    replicate zero-padded to the width of the largest of ``n_replicates`` (at least 2)."""
    width = max(2, len(str(n_replicates - 1)))
    return f"{scenario}{'/' + label if label else ''}/r{replicate:0{width}d}"


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("%", "%25").replace("/", "%2F")  # "/" separates a run's name


@dataclasses.dataclass(frozen=True)
class ScenarioPlan:
    """A scenario file validated at every sweep point: what its runs are made of.

    Attributes:
        name: the scenario's ``name``.
        file: the scenario file, absolute.
        points: swept dotted key -> value at each point (``[{}]`` without a sweep).
        configs: the fully resolved scenario at each point, as plain data.
        n_replicates: replicates per point.
        seed: the root seed of every run.
    """

    name: str
    file: str
    points: list[dict[str, Any]]
    configs: list[dict]
    n_replicates: int
    seed: int

    def run_name(self, point: int, replicate: int) -> str:
        """``<scenario>/<key=value,...>/r07`` (no middle part without a sweep)."""
        return run_name(self.name, point_label(self.points[point]), replicate, self.n_replicates)

    def point_names(self) -> list[str]:
        """One run name per point, of its last replicate: replicate suffixes are distinct and
        of one width, so these names collide or overflow exactly when the runs' names do."""
        return [self.run_name(i, self.n_replicates - 1) for i in range(len(self.points))]

    def runs(self) -> list[RunSpec]:
        """Every run: each point times each replicate."""
        return [RunSpec(name=self.run_name(i, r), scenario=self.name, sweep=dict(point),
                        replicate=r, seed=self.seed, config=config, file=self.file)
                for i, (point, config) in enumerate(zip(self.points, self.configs))
                for r in range(self.n_replicates)]


def load_scenario(path: str | os.PathLike, overrides: Iterable[str] = ()) -> ScenarioConfig:
    """Read, merge, override and validate one scenario file (its base point; its sweep points
    are checked when a batch is planned, :func:`plan_scenario`).

    Args:
        path: the scenario YAML file, or a bundled scenario's name (``"coordinated"``).
        overrides: ``"key.path=value"`` strings applied after the ``extends:`` chain.

    Raises:
        ConfigError: with a one-line message naming the file, key path and what was expected.
    """
    path = scenario_file(path)
    data, origins = load_raw(path, overrides)
    default = show_path(path)
    config = validate_mapping(data, origins, default)
    check_references(config, origins, default)
    check_uncertain(config, origins, default)
    points = sweep_points(config, origins, default)
    warn_inert(config, origins, default, points)  # a warning line, not an error
    return config


def plan_scenario(path: str | os.PathLike, overrides: Iterable[str] = (),
                  replicates: int | None = None, seed: int | None = None) -> ScenarioPlan:
    """One scenario file (or bundled scenario name), validated at its base and at every sweep
    point like a file of its own (schema, data folder and cross-field constraints), before any
    run starts."""
    path = scenario_file(path)
    data, origins = load_raw(path, overrides)
    default = show_path(path)
    config = validate_mapping(data, origins, default)
    folders: dict[str, Any] = {}
    check_references(config, origins, default, folders)
    check_uncertain(config, origins, default)
    points = sweep_points(config, origins, default)
    n_replicates = config.replicates if replicates is None else replicates
    if len(points) * n_replicates > MAX_RUNS:
        raise ConfigError(f"{default}: expected at most {MAX_RUNS:,} runs per scenario file (got "
                          f"{len(points):,} sweep point(s) x {n_replicates:,} replicates)")
    root_seed = config.seed if seed is None else seed
    base = {**data, "sweep": None, "seed": root_seed, "replicates": n_replicates}
    file_origins = dict(origins)
    for key in points[0]:  # a swept value comes from its line of the sweep block
        where = next((origins[("sweep", kind, key)] for kind in ("grid", "zip")
                      if ("sweep", kind, key) in origins), origins.get(("sweep",), (default, None)))
        origins[_path_tuple(key)] = where
    configs = [point_config(base, point, origins, default, folders) for point in points]
    warn_inert(config, file_origins, default, points)  # a warning line, once the file is valid
    return ScenarioPlan(name=config.name, file=str(Path(path).resolve()), points=points,
                        configs=configs, n_replicates=n_replicates, seed=root_seed)


def point_config(data: dict, point: dict[str, Any], origins: Origins, default: str,
                 folders: dict[str, Any]) -> dict:
    """The resolved scenario at one sweep point, checked like a file; every problem line names
    the point: ``<file>:<line> (sweep point <key=value,...>): <key>: <expected> (got ...)``."""
    try:
        return _checked_point(data, point, origins, default, folders)
    except ConfigError:
        pass
    shown = ", ".join(f"{key}={_show_value(value)}" for key, value in point.items())
    tag = f" (sweep point {shown})"
    tagged = {key: (f"{shown}:{line}{tag}" if line else f"{shown}{tag}", None)
              for key, (shown, line) in origins.items()}
    return _checked_point(data, point, tagged, default + tag, folders)  # raises, naming the point


def _checked_point(data: dict, point: dict[str, Any], origins: Origins, default: str,
                   folders: dict[str, Any]) -> dict:
    point_data = data
    for key, value in point.items():
        point_data = _copied_along(point_data, key)
        set_dotted(point_data, key, value, origin_of(_path_tuple(key), origins, default))
    config = validate_mapping(point_data, origins, default)
    check_references(config, origins, default, folders)
    return resolved_dict(config)


def _copied_along(data: dict, dotted: str) -> dict:
    """A copy of ``data`` whose mappings and lists on the path ``dotted`` are copies too, so
    setting that key leaves ``data`` (shared by every sweep point) as it was."""
    top = dict(data)
    node: Any = top
    for part in dotted.split(".")[:-1]:
        key: Any = int(part) if isinstance(node, list) and part.isascii() and part.isdigit() \
            else part
        try:
            child = node[key]
        except (KeyError, IndexError, TypeError):
            break
        if not isinstance(child, (dict, list)):
            break
        node[key] = child = dict(child) if isinstance(child, dict) else list(child)
        node = child
    return top


def plan_batch(config_files: Iterable[str | os.PathLike], overrides: Iterable[str] = (),
               replicates: int | None = None, seed: int | None = None) -> list[ScenarioPlan]:
    """Every scenario file of a batch, validated at every sweep point (see :func:`expand_runs`)."""
    for flag, value, low, high in (("replicates", replicates, 1, MAX_REPLICATES),
                                   ("seed", seed, 0, MAX_SEED)):
        if value is not None and not low <= value <= high:
            bound = f">= {low}" if value < low else f"<= {high:,}"
            raise ConfigError(f"--{flag}: expected an integer {bound} (got {value})")
    overrides = list(overrides)
    plans: list[ScenarioPlan] = []
    owner: dict[str, str] = {}
    for path in config_files:
        plan = plan_scenario(path, overrides, replicates, seed)
        if plan.name in owner:
            raise ConfigError(f"{show_path(path)}: name: expected a scenario name not used by "
                              f"another file of the batch ({show_path(owner[plan.name])}) "
                              f"(got {plan.name!r})")
        owner[plan.name] = str(path)
        plans.append(plan)
    if not plans:
        raise ConfigError("batch: expected at least one scenario file")
    return plans


def expand_runs(config_files: Iterable[str | os.PathLike], overrides: Iterable[str] = (),
                replicates: int | None = None, seed: int | None = None) -> list[RunSpec]:
    """Every run of a batch, in file, sweep-point and replicate order.

    Args:
        config_files: scenario YAML files.
        overrides: ``key.path=value`` strings applied to every file.
        replicates: replicates per point; default each file's ``replicates:``.
        seed: root seed; default each file's ``seed:``.

    Raises:
        ConfigError: on any bad file, override, option or sweep point, or two scenarios sharing
            a name.
    """
    return [run for plan in plan_batch(config_files, overrides, replicates, seed)
            for run in plan.runs()]
