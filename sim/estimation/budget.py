"""A calibration's budget, light on purpose (the standard library only), so that `sim` builds
its command line with these defaults without loading pyabc, scipy or pandas."""

from __future__ import annotations

import dataclasses

#: Posterior draws simulated for the posterior predictive by default.
PREDICTIVE_DRAWS = 20


@dataclasses.dataclass(frozen=True)
class SmcSettings:
    """How long the fit runs: particles per generation, generations at most, the tolerance to
    stop at, and a cap on simulations (the budget the dry run prices)."""

    population: int = 200
    generations: int = 8
    min_epsilon: float = 0.0
    max_simulations: int = 5000
