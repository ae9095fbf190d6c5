"""The circle's trend as flows of projects: arrivals that replace the units leaving and add the
trend's growth, and closures where the trend falls faster than units leave by themselves.

Per sector-segment, with h the per-step outflow (closures plus reviewers who leave the circle),
o the share of potential projects that invest outside it, e an extra closure hazard and A_t the
potential projects of step t, the stock moves as ``n_t = n_{t-1} (1 - h)(1 - e) + (1 - o) A_t``.
Holding it on the trend ``n_t = n_0 (1 + g_q)^t`` (docs/VALIDATION.md, section 1) gives
``A_t = n_0 (h + g_q)(1 + g_q)^(t-1) / (1 - o)`` with e = 0 while ``h + g_q >= 0``. A decline
faster than the outflow (``g_q < -h``, e.g. -10% a year against h = 2.2% a quarter) cannot come
from fewer arrivals, which stop at zero: the rest of it is closures, ``(1 - h)(1 - e) = 1 + g_q``.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TrendFlows:
    """The flows that keep a sector-segment's stock on the trend.

    Attributes:
        arrival_share: (1 - o) A_1 / n_0, the potential projects of step 1 that settle in the
            circle per unit of base stock: h + g_q, or 0 when the trend falls faster than h.
        decline_exit: e, the per-step closure hazard added to the units' own exit hazard.
    """

    arrival_share: float
    decline_exit: float


def trend_flows(outflow: float, growth_q: float) -> TrendFlows:
    """Arrivals and extra closures that hold the stock on a trend growing by ``growth_q`` a step
    when a share ``outflow`` of units leaves each step by itself (both per step, ``outflow < 1``,
    ``growth_q > -1``)."""
    if outflow + growth_q >= 0:
        return TrendFlows(arrival_share=outflow + growth_q, decline_exit=0.0)
    return TrendFlows(arrival_share=0.0, decline_exit=1 - (1 + growth_q) / (1 - outflow))


def exit_hazard(own_exit: float, decline_exit: float) -> float:
    """A unit's closure hazard in a step: its own, or else the trend's decline (``own_exit``
    itself when there is no decline, so a growing circle's draws are untouched)."""
    return own_exit + (1 - own_exit) * decline_exit
