"""Steps of the model's fixed-point iterations (the status quo's offers, the reviewers'
constants): how far an agent moves toward its target given how its gap answered last time.
Pure numpy, shared by the rules that iterate."""

from __future__ import annotations

import numpy as np

from sim.rules.constants import TOLERANCE


def secant_damping(damping: np.ndarray, last_gap: np.ndarray, gap: np.ndarray,
                   low: float = 0.05, high: float = 0.5) -> np.ndarray:
    """Each agent's step (a share of its gap, C) from its last two gaps (C x K each).

    With the gap linear in the step along its own direction, a step ``a`` turns a gap ``g``
    into ``(1 − a s) g``; the ratio ``r = g'·g / g·g`` gives the slope ``s = (1 − r) / a`` and
    the step that reaches the fixed point, ``1 / s = a / (1 − r)``, kept within
    [``low``, ``high``]. An agent whose gap was zero, or grew in its own direction (r >= 1,
    where no positive slope is seen), keeps its step.
    """
    last2 = np.einsum("ck,ck->c", last_gap, last_gap)
    ratio = np.divide(np.einsum("ck,ck->c", gap, last_gap), last2,
                      out=np.ones_like(last2), where=last2 > 0)
    proposed = np.where(ratio < 1, damping / np.maximum(1 - ratio, TOLERANCE), damping)
    return np.clip(proposed, low, high)
