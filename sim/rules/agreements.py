"""Pure rules of co-construction agreements: bargaining over shares and side payments, the
build-out of a new park, what an owed city expects to be paid, and where Wuhan's projects go.

No model state here: arrays in, arrays or numbers out, so each rule is tested by hand.
"""

from __future__ import annotations

import numpy as np

from sim.rules.constants import ARRIVAL_MIXTURE_TOL, STEPS_PER_YEAR, TOLERANCE


def nash_bargain(grid: np.ndarray, gain_source: np.ndarray, gain_host: np.ndarray) -> int | None:
    """Index of the share on ``grid`` an agreement is signed at, or None if it is declined.

    Symmetric Nash bargaining with the no-agreement outcome as the disagreement point: among the
    shares at which both sides expect to gain (strictly), the one maximising the product of the
    gains; ties go to the lower share. None when no share leaves both better off.

    Args:
        grid: candidate source shares (GDP credit and tax), ascending.
        gain_source, gain_host: each side's expected gain at every grid point over no agreement.
    """
    gain_source, gain_host = np.asarray(gain_source, float), np.asarray(gain_host, float)
    if len(grid) != len(gain_source) or len(grid) != len(gain_host):
        raise ValueError("grid and gains must have the same length")
    both = (gain_source > 0) & (gain_host > 0)
    if not both.any():
        return None
    product = np.where(both, gain_source * gain_host, -np.inf)
    return int(np.argmax(product))


def bargain_with_side_payment(gain_source: np.ndarray, gain_host: np.ndarray,
                              reward_source: float, reward_host: float, bound_source: float,
                              bound_host: float) -> tuple[int, float] | None:
    """Grid point and side payment an agreement is signed at, or None if it is declined.

    Each side counts its own gain at each grid point plus the political reward for signing the
    office's proposal; money passes between the two budgets at par, so for a given share the
    Nash product ``(a + z)(b − z)`` (``a``, ``b``: source's and host's gains with rewards; ``z``:
    what the host pays the source a year, negative if the source pays) is largest at
    ``z = (b − a) / 2``, which splits the joint gain equally. A payer pays at most its bound, so
    ``z`` is clipped to ``[−bound_source, bound_host]``. Signed where both sides then gain
    strictly; among such points the largest product wins, ties to the lower share.

    Args:
        gain_source, gain_host: each side's gain at every grid point over no agreement (a year).
        reward_source, reward_host: each side's political reward for signing (a year).
        bound_source, bound_host: the most each side may pay the other a year (>= 0).
    Returns:
        (grid index, side payment a year, + host pays source), or None.
    """
    a = np.asarray(gain_source, float) + reward_source
    b = np.asarray(gain_host, float) + reward_host
    if a.shape != b.shape:
        raise ValueError("the two sides' gains must have the same length")
    z = np.clip((b - a) / 2.0, -max(bound_source, 0.0), max(bound_host, 0.0))
    both = (a + z > 0) & (b - z > 0)
    if not both.any():
        return None
    product = np.where(both, (a + z) * (b - z), -np.inf)
    pick = int(np.argmax(product))
    return pick, float(z[pick])


def build_out_share(steps_since_signing: np.ndarray | float, build_out_years: float) -> np.ndarray:
    """Share of a new park's serviced land open ``steps_since_signing`` quarters after signing.

    The land opens in equal parts over ``build_out_years``, the first part at signing:
    ``min(1, (s + 1) / (4 T))``; nothing before signing (s < 0); all at once when T = 0.
    """
    s = np.asarray(steps_since_signing, float)
    if build_out_years <= 0:
        return np.where(s >= 0, 1.0, 0.0)
    return np.clip((s + 1.0) / (STEPS_PER_YEAR * build_out_years), 0.0, 1.0) * (s >= 0)


def honoured_share(paid_periods: np.ndarray, due_periods: np.ndarray) -> np.ndarray:
    """What an owed city expects of a promised GDP-credit or tax share: the share of the periods
    due so far in which it was paid (1 while nothing has fallen due)."""
    paid, due = np.asarray(paid_periods, float), np.asarray(due_periods, float)
    return np.where(due > 0, paid / np.where(due > 0, due, 1.0), 1.0)


def allotted_land(wanted_km2: float, host_capacity_km2: float, host_used_km2: float) -> float:
    """Land the host allots to an agreement park: what the terms ask, at most its idle land."""
    return float(max(min(wanted_km2, host_capacity_km2 - host_used_km2), 0.0))


def linkage_to_core(output_ckg: np.ndarray, links: np.ndarray, core: int) -> np.ndarray:
    """How strongly a project of each sector-segment is tied to the core city's chain (K x G).

    The share of its linked segments' output (weighted by ``links``, G x G) that stands in the core
    city: a supplier whose main chain is all in Wuhan is tied 1, one whose chain is all elsewhere 0.
    """
    total = output_ckg.sum(axis=0)                                     # K x G
    core_share = np.where(total > 0, output_ckg[core] / np.where(total > 0, total, 1.0), 0.0)
    weight = links / np.maximum(links.sum(axis=1, keepdims=True), TOLERANCE)
    return core_share @ weight.T                                       # K x G


def gravity_utility(distance_from_core_km: np.ndarray, core: int, tie: np.ndarray,
                    decay: float) -> np.ndarray:
    """Utility shift of a core-city investor's project at each city (len(tie) x C).

    A gravity form: the chance of locating at distance d falls as ``d^(−decay · tie)``, i.e. the
    utility term is ``−decay · tie · ln(d / d_core)``, zero in the core city itself; ``tie`` (from
    :func:`linkage_to_core`) scales the decay by how much of the project's chain is in the core.
    """
    d = np.asarray(distance_from_core_km, float)
    rel = np.log(d / d[core])
    return -decay * np.asarray(tie, float)[:, None] * rel[None, :]


def decay_for_mean_elasticity(elasticity: float, tie: np.ndarray, weight: np.ndarray) -> float:
    """The decay β whose weighted mean distance elasticity ``β · tie`` equals ``elasticity``.

    A gravity equation estimates one distance elasticity for all flows, i.e. their average; in the
    model a project's own elasticity is ``β · tie`` (its chain's tie to the core), so β is the cited
    average elasticity over the weighted mean tie (weights: the projects' output).
    """
    tie, weight = np.asarray(tie, float).ravel(), np.asarray(weight, float).ravel()
    if tie.shape != weight.shape or weight.sum() <= 0:
        raise ValueError("tie and weight must have the same shape and a positive total weight")
    mean_tie = float((tie * weight).sum() / weight.sum())
    return float(elasticity) / mean_tie if mean_tie > 0 else 0.0


def mixture_arrival_constants(unit_shares: np.ndarray, outside_share: float, z0: np.ndarray,
                              sigma: np.ndarray, shift: np.ndarray, shifted_weight: float,
                              tol: float = ARRIVAL_MIXTURE_TOL, max_iter: int = 500) -> np.ndarray:
    """Arrival constants δ (KG x C) that reproduce the base-year shares when a share
    ``shifted_weight`` of arrivals (core-city investors) has the extra utility ``shift`` (KG x C).

    The contraction ``δ ← δ + ln s − ln ŝ(δ)`` of Berry, Levinsohn & Pakes (1995) on the mixture of
    two plain logits (one park per city in the base year); with ``shift = 0`` it returns Berry's
    (1994) closed form ``ln s_j − ln s_0 − z_j/σ``.
    """
    s = unit_shares * (1 - outside_share)
    v0 = z0 / sigma[:, None]
    delta = np.log(s) - np.log(outside_share) - v0
    for _ in range(max_iter):
        plain = np.exp(delta + v0)
        moved = plain * np.exp(shift)
        pred = ((1 - shifted_weight) * plain / (1 + plain.sum(axis=1, keepdims=True))
                + shifted_weight * moved / (1 + moved.sum(axis=1, keepdims=True)))
        step = np.log(s) - np.log(pred)
        delta = delta + step
        if np.abs(step).max() < tol:
            break
    return delta


def rd_link_attention(rd_units_kc: np.ndarray, link_from_rnd: np.ndarray,
                      strength: float) -> np.ndarray:
    """Attention multiplier (K x G x C) of a ring city's parks for new projects linked to R&D its
    firms run in its reverse enclaves ("R&D in Wuhan, manufacturing in the circle").

    ``1 + strength · link_g · n / (n + 1)``: n the R&D units of the sector in the city's reverse
    enclaves (the referral saturates with their number), ``link_g`` how much R&D serves segment g
    (row ``rnd`` of the segment links).
    """
    n = np.asarray(rd_units_kc, float)
    presence = n / (n + 1.0)                                          # K x C
    return 1.0 + strength * np.asarray(link_from_rnd, float)[None, :, None] * presence[:, None, :]
