"""Common random numbers: every run's random streams come from the root seed and the replicate.

Replicate r of every scenario and sweep point draws the same streams, whatever the scenario is
called, so differences between scenarios are paired rather than noise. Each purpose has its own
stream, so a rule that draws more numbers in one scenario does not shift the draws of another.
"""

from __future__ import annotations

import numpy as np

#: The streams, in spawn order (a new stream goes last, so the others keep their draws).
#: ``payments``: whether each period's agreed GDP-credit and tax shares are paid.
STREAMS = ("world", "arrivals", "reviews", "choices", "strategy", "mesa", "payments")


def spawn_streams(root_seed: int, replicate: int = 0) -> dict[str, np.random.Generator]:
    """One independent generator per stream name, derived from ``(root_seed, replicate)`` alone.

    Args:
        root_seed: the batch's root seed (>= 0).
        replicate: the replicate index r (>= 0).
    """
    if root_seed < 0 or replicate < 0:
        raise ValueError("seed and replicate must be >= 0")
    root = np.random.SeedSequence(entropy=root_seed, spawn_key=(replicate,))
    children = root.spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }
