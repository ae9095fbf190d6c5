"""Attention as consideration: which parks a project looks at, not what producing there is worth.

A project considers park j with probability π_j (promotion, the shared platform and an operator's
referral raise it). With independent consideration the choice probability is a mixture over
consideration sets (Manski 1977; Swait & Ben-Akiva 1987); the implicit-availability logit
approximates it by adding ``ln π_j`` to the utility (Cascetta & Papola 2001), as in models of
limited information and advertising (Goeree 2008). Alone, that term also draws projects into the
circle from the outside option, as if attention were worth money. Here attention only
reallocates consideration *within* the circle: a decider-specific shift keeps the circle's
inclusive value what it is under the base year's consideration (which the choice constants were
calibrated with), and the circle's odds against the outside option change only by a stated
entry effect (the shared platform's ``entry_effect``, declared with a range).
"""

from __future__ import annotations

import numpy as np

from sim.rules.choice import nest_sums, row_max


def circle_logsum(u: np.ndarray, nest: np.ndarray, n_nests: int, nest_param: float,
                  available: np.ndarray) -> np.ndarray:
    """Inclusive value of all available parks of a nested logit (nests = cities), per decider:
    ``ln Σ_c exp(λ IV_c)``, ``IV_c = ln Σ_{j∈c} exp(u_j / λ)``; −inf if no park is available."""
    scaled = np.where(available, u / nest_param, -np.inf)
    top = row_max(scaled)
    top[~np.isfinite(top)] = 0.0
    e = np.exp(scaled - top)
    nest_sum = nest_sums(e, nest, n_nests)
    with np.errstate(divide="ignore"):
        nest_u = nest_param * (np.log(nest_sum) + top)
        m = row_max(nest_u)
        m[~np.isfinite(m)] = 0.0
        return np.log(np.exp(nest_u - m).sum(axis=1)) + m[:, 0]


def consideration_terms(u: np.ndarray, log_att: np.ndarray, log_ref: np.ndarray,
                        entry: np.ndarray, nest: np.ndarray, n_nests: int, nest_param: float,
                        available: np.ndarray) -> np.ndarray:
    """Utility terms (n x P) of consideration: ``ln π_j + a_i``.

    ``a_i`` makes decider i's inclusive value of the circle equal to its value under the
    reference consideration ``log_ref`` plus ``ln(1 + entry_i)``: attention moves projects
    between parks; only ``entry`` moves them between the circle and elsewhere.

    Args:
        u: n x P utilities without any attention term.
        log_att: n x P log consideration weights now.
        log_ref: n x P log consideration weights of the base year (the calibration's).
        entry: n, rise in the odds of considering the circle at all.
    """
    # a decider whose consideration is the reference's and who gets no entry effect keeps its
    # inclusive value as it is (shift 0): only the others' logsums are computed
    moved = np.flatnonzero((log_att != log_ref).any(axis=1) | (entry != 0))
    if not len(moved):
        return log_att
    shift = np.zeros(len(u))
    um, am, k = u[moved], available[moved], len(moved)
    # both logsums in one pass over twice the rows (each row's arithmetic is its own)
    both = circle_logsum(np.concatenate((um + log_ref[moved], um + log_att[moved])), nest,
                         n_nests, nest_param, np.concatenate((am, am)))
    shift[moved] = both[:k] - both[k:] + np.log1p(entry[moved])
    shift = np.where(np.isfinite(shift), shift, 0.0)
    return log_att + shift[:, None]


def with_platform(att: np.ndarray, base: float, level: float) -> np.ndarray:
    """Consideration of a park that the shared platform also shows (same shape as ``att``).

    The platform and the city's own promotion are two independent ways a project comes to
    consider a park beyond the base rate: the platform alone brings a park from ``base`` to
    ``level``, so it reaches a share ``e = (level − base)/(1 − base)`` of the projects that would
    not otherwise consider it, and ``π' = 1 − (1 − π)(1 − e)``. A park already considered by
    every project (π = 1) gains nothing; a park nobody promotes gets exactly ``level``; the
    platform never lowers consideration (``level`` below ``base`` leaves it as it is).
    """
    if base >= 1.0 or level <= base:
        return att
    reach = (level - base) / (1.0 - base)
    return 1.0 - (1.0 - att) * (1.0 - reach)


def slot_costs(slots: np.ndarray, reach: np.ndarray, cost_per_slot: float) -> np.ndarray:
    """What each city pays a year for its slots (C): ``cost_per_slot · Σ_kg slots_ckg · r_kg``.

    A slot is a sector-segment a city promotes (or the platform shows for it). Its cost scales
    with its reach ``r_kg``: the value added of the potential projects of the sector-segment
    relative to the mean over sector-segments (a delegation to a large industry's fairs and
    firms costs more than one to a small industry's), so ``cost_per_slot`` is the cost of a slot
    of mean reach.

    Args:
        slots: C x KG bool.
        reach: KG relative reach (mean 1).
    """
    return cost_per_slot * (slots.astype(float) @ reach)


def relative_reach(potential_value: np.ndarray) -> np.ndarray:
    """Each sector-segment's potential projects' value added over the mean (KG; mean 1)."""
    mean = float(np.mean(potential_value))
    return potential_value / mean if mean > 0 else np.ones_like(potential_value)


def subsidy_equivalent(log_attention_ratio: float | np.ndarray, q_over_sigma: np.ndarray
                       ) -> np.ndarray:
    """The subsidy rate (share of value added) that moves a park's utility as much as raising
    its consideration by the factor ``exp(log_attention_ratio)``: ``σ ln(π'/π) / q``, the size
    of an attention effect in subsidy terms (docs/ODD.md, section 4)."""
    return np.asarray(log_attention_ratio) / np.asarray(q_over_sigma)
