"""Every numeric key of the scenario schema at its minimum and at its maximum, on a tiny model.

Each case either runs to finite tables or is refused by the schema or a cross-field rule with a
one-line reason (``ConfigError``, what ``sim`` prints with exit status 2); anything else (an
exception from the model, a NaN in a table, a reason in several lines) is a case the schema's
bounds and the model disagree on. An open bound (``gt``/``lt``) is tried at the nearest
representable number inside it. The run's size keys (``steps``, ``world.n_units``, ``seed``,
``replicates``) are left out: they set the cost, not the economics.

``tests/test_reliab_store.py`` runs the keys whose extremes once failed through ``sim run``; the
whole list (197 cases per scenario) takes about 70 s of CPU per scenario, and its last result is
recorded in ``docs/TOOLS.md``::

    python -m tests.extremes                      # coordinated and homogenised
    python -m tests.extremes --scenario scenarios/homogenised.yaml
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
#: A tiny model: a case costs about 0.4 CPU seconds.
TINY = ("world.n_units=300", "steps=2")
SIZE_KEYS = ("seed", "replicates", "steps", "world.n_units")


@dataclasses.dataclass(frozen=True)
class Extreme:
    """One key at one end of its range, and what became of it."""

    key: str
    end: str          # "min" or "max"
    value: float
    outcome: str = ""  # "ran", "refused: <line>" or "FAILED: <error>"


def _bounds(field) -> tuple[float | None, bool, float | None, bool]:
    low = high = None
    low_open = high_open = False
    for meta in field.metadata:
        if getattr(meta, "ge", None) is not None:
            low = meta.ge
        if getattr(meta, "gt", None) is not None:
            low, low_open = meta.gt, True
        if getattr(meta, "le", None) is not None:
            high = meta.le
        if getattr(meta, "lt", None) is not None:
            high, high_open = meta.lt, True
    return low, low_open, high, high_open


def _plain(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return args[0] if union and len(args) == 1 else annotation


def numeric_keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, type, tuple]]:
    """``(dotted key, int or float, bounds)`` of every bounded numeric key of the schema: in
    nested sections, in the first item of a list of sections (``agreements.0.land_km2``) and
    under each key of a mapping of numbers (``economy.talent_elasticity.rnd``)."""
    for name, field in model.model_fields.items():
        kind = _plain(field.annotation)
        args = typing.get_args(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from numeric_keys(kind, f"{prefix}{name}.")
        elif typing.get_origin(kind) is list and isinstance(args[0], type) \
                and issubclass(args[0], BaseModel):
            yield from numeric_keys(args[0], f"{prefix}{name}.0.")
        elif typing.get_origin(kind) is dict and typing.get_origin(args[1]) is typing.Annotated:
            number, *meta = typing.get_args(args[1])
            for key in typing.get_args(args[0]):
                yield f"{prefix}{name}.{key}", number, _bounds(meta[0])
        elif kind in (int, float) and f"{prefix}{name}" not in SIZE_KEYS:
            yield f"{prefix}{name}", kind, _bounds(field)


def extremes() -> list[Extreme]:
    """Every bounded numeric key at each end it has (open ends just inside)."""
    from sim.config.schema import ScenarioConfig

    found = []
    for key, kind, (low, low_open, high, high_open) in numeric_keys(ScenarioConfig):
        for end, bound, is_open in (("min", low, low_open), ("max", high, high_open)):
            if bound is None:
                continue
            value = bound
            if is_open:
                toward = np.inf if end == "min" else -np.inf
                value = float(np.nextafter(bound, toward)) if kind is float else \
                    bound + (1 if end == "min" else -1)
            found.append(Extreme(key, end, int(value) if kind is int else float(value)))
    return found


def try_extreme(case: Extreme, scenario: Path, size: tuple[str, ...] = TINY) -> Extreme:
    """Load the scenario with the key at its extreme and run it (seed 1, replicate 0)."""
    from sim.config import ConfigError, load_scenario
    from sim.model import run_scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inert-parameter warnings and numpy's
        try:
            config = load_scenario(scenario, [f"{case.key}={case.value!r}", *size])
        except ConfigError as exc:
            lines = str(exc).count("\n") + 1
            outcome = f"refused: {exc}" if lines == 1 else \
                f"FAILED: refused in {lines} lines: {exc}"
            return dataclasses.replace(case, outcome=outcome)
        try:
            run_scenario(config, seed=1, replicate=0)
        except Exception as exc:  # noqa: BLE001 (what the listing is for)
            return dataclasses.replace(case, outcome=f"FAILED: {type(exc).__name__}: {exc}")
    return dataclasses.replace(case, outcome="ran")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, action="append",
                        help="scenario file (default: coordinated and homogenised)")
    args = parser.parse_args(argv)
    scenarios = args.scenario or [ROOT / "scenarios" / "coordinated.yaml",
                                  ROOT / "scenarios" / "homogenised.yaml"]
    failed = 0
    for scenario in scenarios:
        results = [try_extreme(case, scenario) for case in extremes()]
        for case in results:
            if case.outcome != "ran":
                print(f"{scenario.name}: {case.key} {case.end} = {case.value!r}: {case.outcome}")
        bad = sum(case.outcome.startswith("FAILED") for case in results)
        ran = sum(case.outcome == "ran" for case in results)
        print(f"{scenario.name}: {len(results)} extremes: {ran} ran, "
              f"{len(results) - ran - bad} refused in one line, {bad} failed")
        failed += bad
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
