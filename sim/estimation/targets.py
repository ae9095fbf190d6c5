"""The targets a calibration may use, and the simulator that maps parameters to their outputs.

Targets are declared once in the targets file of ``sim evidence``
(:func:`sim.validation.targets.load_targets`); each has a ``role``. Only ``calibration`` targets
enter screening, identifiability and the fit; ``validation`` targets are held out and only
scored on the posterior predictive. Every function here that feeds a fit goes through
:func:`calibration_only`, which refuses a validation target.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sim.config.inert import InertWarning
from sim.config.loader import ConfigError
from sim.validation.targets import load_targets

#: Replicate indices a simulation draws from (the CLI's and the schema's cap on replicates).
REPLICATE_SPACE = 100_000


class TargetLike(Protocol):
    """What the pipeline reads of a target (``sim.validation.targets.Target``)."""

    name: str
    role: str
    data: float
    band_lo: float
    band_hi: float


#: ``simulate(targets, overrides, seed, replicate, n_units) -> {target name: model output}``,
#: the signature of :func:`sim.validation.evidence.simulate_targets`.
SimulateTargets = Callable[..., dict[str, float]]


def load_calibration_targets(path: str | os.PathLike | None = None) -> list:
    """Every target of the targets file (both roles), read by ``sim evidence``'s loader."""
    return list(load_targets(path))


def calibration_only(targets: Sequence[TargetLike]) -> list[TargetLike]:
    """The ``calibration`` targets that have data, in the file's order (a target without data
    cannot be fitted); a ConfigError if there are none."""
    chosen = [t for t in targets if t.role == "calibration" and math.isfinite(t.data)]
    if not chosen:
        raise ConfigError("targets: expected at least one target with role 'calibration'")
    return chosen


def check_held_out(used: Sequence[TargetLike]) -> None:
    """Refuse a fit whose targets include a ``validation`` target (the hold-out rule)."""
    leaked = [t.name for t in used if t.role != "calibration"]
    if leaked:
        raise ConfigError(f"targets: {', '.join(leaked)}: expected only 'calibration' targets in "
                          f"a fit (validation targets are held out)")


def observed(targets: Sequence[TargetLike]) -> dict[str, float]:
    """The data of each target, keyed by name (the observed summary statistics)."""
    return {t.name: float(t.data) for t in targets}


def replicate_of(point: dict[str, float], salt: int = 0) -> int:
    """A replicate index fixed by the parameter values: the same point gives the same
    realisation of the model, different points independent ones."""
    text = json.dumps({"salt": salt, **{k: float(v) for k, v in sorted(point.items())}})
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % REPLICATE_SPACE


def override_strings(point: dict[str, float], base: Sequence[str] = ()) -> list[str]:
    """``key=value`` overrides for the targets' scenarios: ``base`` first, then the point."""
    return [*base, *(f"{key}={float(value)!r}" for key, value in point.items())]


@dataclasses.dataclass(frozen=True)
class TargetSimulator:
    """One realisation of every target's model output at a parameter point; picklable.

    Attributes:
        targets: the targets simulated (a fit passes only calibration targets).
        seed: root seed of the model's streams.
        replicate: a fixed replicate (screening: common random numbers across points), or None
            for one fixed by the point's values (:func:`replicate_of`: a fresh draw per point).
        n_units: model size (None: the size ``simulate`` chooses).
        overrides: dotted ``key=value`` settings applied before the point's values.
        simulate: the simulator (default :func:`sim.validation.evidence.simulate_targets`).
        realisations: realisations averaged per point (replicates r, r + 1, ...): the model's
            sampling noise, an artefact of representing the economy by a finite number of units,
            falls by its square root, as it would with that many times the units.
    """

    targets: tuple
    seed: int = 1
    replicate: int | None = None
    n_units: int | None = None
    overrides: tuple[str, ...] = ()
    simulate: SimulateTargets | None = None
    realisations: int = 1

    def __call__(self, point: dict[str, Any]) -> dict[str, float]:
        simulate = self.simulate or _evidence_simulator()
        first = replicate_of(point, self.seed) if self.replicate is None else self.replicate
        totals = dict.fromkeys((t.name for t in self.targets), 0.0)
        for k in range(self.realisations):
            replicate = (first + k) % REPLICATE_SPACE
            with warnings.catch_warnings():  # a prior may cover a key the targets' runs ignore:
                warnings.simplefilter("ignore", InertWarning)  # the screen shows it moves nothing
                values = simulate(list(self.targets), override_strings(point, self.overrides),
                                  self.seed, replicate, self.n_units)
            for t in self.targets:
                totals[t.name] += float(values[t.name])
        return {name: total / self.realisations for name, total in totals.items()}


def _evidence_simulator() -> SimulateTargets:
    """``sim evidence``'s simulator of the targets."""
    # lazy: the model loads only when targets are simulated, not when the calibration's
    # command line is built (`sim --help`) nor for the toy
    from sim.validation.evidence import simulate_targets

    return simulate_targets
