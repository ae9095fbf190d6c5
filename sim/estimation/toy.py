"""A linear-Gaussian stand-in for the model's targets, whose posterior is known exactly.

It has the signature of :func:`sim.validation.evidence.simulate_targets`, so the whole pipeline
(screening, reference table, identifiability, pyabc, posterior predictive, posterior draws in a
batch) can be checked against the right answer without running the model, the way
:func:`sim.sensitivity.core.ishigami` checks the sensitivity indices.

Three parameters ``toy.level``, ``toy.slope``, ``toy.inert`` on [-5, 5] (uniform). Targets
(each the mean of ``REPEATS`` unit-variance normal draws around its expectation):
``level`` = level, ``trend`` = level + 2 slope (both ``calibration``), ``held_out`` = level −
slope (``validation``). ``toy.inert`` moves nothing, so it is not identified. With a flat prior
the posterior of (level, slope) given the two calibration targets is normal with mean
``A⁻¹ y`` and covariance ``(AᵀA)⁻¹ / REPEATS``, A = [[1, 0], [1, 2]].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from sim.config.uncertain import Parameter

#: Draws averaged into each toy target (its noise sd is 1 / sqrt(REPEATS)).
REPEATS = 4
#: The toy's parameters and their priors.
PARAMETERS = (Parameter("toy.level", -5.0, 5.0), Parameter("toy.slope", -5.0, 5.0),
              Parameter("toy.inert", -5.0, 5.0))
#: Coefficients of each target on (level, slope, inert).
DESIGN = {"level": (1.0, 0.0, 0.0), "trend": (1.0, 2.0, 0.0), "held_out": (1.0, -1.0, 0.0)}


@dataclasses.dataclass(frozen=True)
class ToyTarget:
    """A target of the toy: name, role, observed value and a band around it."""

    name: str
    role: str
    data: float
    band_lo: float
    band_hi: float
    source: str = "toy simulator (sim/estimation/toy.py)"


def toy_targets(truth: dict[str, float], seed: int = 0) -> list[ToyTarget]:
    """The toy's three targets observed once at ``truth`` (band: data ± 2 noise sd)."""
    data = toy_simulate_targets([], [f"{k}={v!r}" for k, v in truth.items()], seed, 0)
    half = 2 / np.sqrt(REPEATS)
    roles = {"level": "calibration", "trend": "calibration", "held_out": "validation"}
    return [ToyTarget(name, roles[name], data[name], data[name] - half, data[name] + half)
            for name in DESIGN]


def toy_simulate_targets(targets: Sequence, overrides: Sequence[str], seed: int,
                         replicate: int, n_units: int | None = None) -> dict[str, float]:
    """One realisation of every toy target at the parameter values in ``overrides``."""
    values = {p.key: 0.0 for p in PARAMETERS}
    for item in overrides:
        key, _, value = item.partition("=")
        if key in values:
            values[key] = float(value)
    theta = np.array([values[p.key] for p in PARAMETERS])
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(replicate,)))
    noise = rng.normal(0.0, 1.0, (len(DESIGN), REPEATS)).mean(axis=1)
    return {name: float(np.dot(row, theta) + e) for (name, row), e in zip(DESIGN.items(), noise)}


def exact_posterior(observed: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of (level, slope) given the calibration targets (flat prior)."""
    design = np.array([DESIGN["level"][:2], DESIGN["trend"][:2]])
    y = np.array([observed["level"], observed["trend"]])
    cov = np.linalg.inv(design.T @ design) / REPEATS
    return np.linalg.solve(design, y), cov
