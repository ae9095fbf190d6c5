"""Location terms of the economy at one step: output, costs and profit per unit of productivity.

Output of a unit with productivity A at park j of city c:
``y = A · T_c^θ_g · (1 + μ_j) · (X_kc / X̄_k)^γ``. Profit per unit of output:
``1 − τ + s − w_c λ_g − r_j a_g − d · link distance − friction``; the location choice compares
``z = profit per unit of productivity`` across parks.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.rules.constants import TOLERANCE, n_sector_segments
from sim.rules.park_table import Parks


@dataclasses.dataclass(frozen=True)
class Technology:
    """What producing costs where, fixed for a run: the inputs of :func:`location_terms` that
    come from the world and the scenario (built by ``sim.model.world.technology``)."""

    talent_factor: np.ndarray     # C x G, T_c^θ_g: talent's effect on output by segment
    distance_km: np.ndarray       # C x C road distance
    links: np.ndarray             # G x G weight of linked segments for distance costs
    labour_share: np.ndarray      # K x G labour cost share of value added at wage index 1
    land_per_output: np.ndarray   # K x G km² per 亿元 of annual value added
    tax_rate: float               # τ, local tax on value added
    distance_cost_per_100km: float  # d, share of value added per 100 km to linked segments
    agglomeration_elasticity: float  # γ


@dataclasses.dataclass
class Terms:
    """Per (sector-segment, park) arrays, KG x P, at one step."""

    q: np.ndarray          # output per unit of productivity
    cost: np.ndarray       # costs per unit of output without subsidies (tax, wage, land, distance)
    land_price: np.ndarray  # P, 亿元 per km² per year
    link_km100: np.ndarray  # KG x C output-weighted distance to linked segments, 100 km


@dataclasses.dataclass
class Settings:
    """What cities and the coordinator have decided for this step."""

    offers: np.ndarray      # C x KG subsidy rate offered to placements (and retention)
    promoted: np.ndarray    # C x KG bool: a city's promotion reaches these projects
    mapped: np.ndarray | None  # C x KG bool investment map, None without a map
    platform: bool          # shared platform shows projects every park
    excluded: np.ndarray    # C bool: detected cap breakers lose the platform and their map slots


def agglomeration(output_ck: np.ndarray, gamma: float) -> np.ndarray:
    """(X_kc / X̄_k)^γ with X floored at 1% of the sector mean (C x K)."""
    mean = output_ck.mean(axis=0, keepdims=True)
    mean = np.where(mean > 0, mean, 1.0)
    return (np.maximum(output_ck, 0.01 * mean) / mean) ** gamma


def link_distances(
    output_ckg: np.ndarray, distance_km: np.ndarray, links: np.ndarray
) -> np.ndarray:
    """Output-weighted distance (100 km) from each city to a segment's linked segments
    (K x G x C)."""
    total = output_ckg.sum(axis=0, keepdims=True)
    where = output_ckg / np.where(total > 0, total, 1.0)          # C x K x G
    mean_dist = np.einsum("ckh,dc->khd", where, distance_km) / 100.0  # K x G' x C(from)
    return np.einsum("gh,khd->kgd", links, mean_dist)


def land_prices(land_rent_base: np.ndarray, parks: Parks, used: np.ndarray, elasticity: float,
                max_util: float) -> np.ndarray:
    """r_j = r̄_c (1 − utilisation)^(−elasticity), utilisation capped below 1 (P).

    Args:
        land_rent_base: C, r̄_c, each city's land rent at zero utilisation.
        used: P km² in use at each park.
    """
    util = np.minimum(used / np.maximum(parks.capacity, TOLERANCE), max_util)
    return land_rent_base[parks.city] * (1 - util) ** (-elasticity)


def location_terms(technology: Technology, parks: Parks, output_ckg: np.ndarray,
                   wage: np.ndarray, land_price: np.ndarray) -> Terms:
    """Output and cost per unit of productivity of every sector-segment at every park."""
    tech = technology
    agg = agglomeration(output_ckg.sum(axis=2), tech.agglomeration_elasticity)  # C x K
    c = parks.city
    q = ((agg[c][:, :, None] * tech.talent_factor[c][:, None, :])
         * (1 + parks.productivity_bonus)[:, None, None])
    link = link_distances(output_ckg, tech.distance_km, tech.links)      # K x G x C
    kg = n_sector_segments(tech.labour_share.shape[0])
    cost = (tech.tax_rate
            + wage[c][:, None, None] * tech.labour_share[None]
            + land_price[:, None, None] * tech.land_per_output[None]
            + tech.distance_cost_per_100km * np.moveaxis(link, 2, 0)[c])
    return Terms(q=q.reshape(len(c), kg).T, cost=cost.reshape(len(c), kg).T,
                 land_price=land_price, link_km100=link.reshape(kg, -1))


def friction(settings: Settings, parks: Parks, amount: float) -> np.ndarray:
    """Approval friction (share of value added) for off-map placements, KG x P; a city excluded
    from the scheme (caught breaking the cap) has lost its map slots."""
    if settings.mapped is None:
        return np.zeros((settings.offers.shape[1], parks.n))
    mapped = settings.mapped & ~settings.excluded[:, None]
    return np.where(mapped[parks.city].T, 0.0, amount)


def park_offers(settings: Settings, parks: Parks, step: int) -> np.ndarray:
    """Subsidy (share of value added) a placement at each park receives, KG x P.

    The city running attraction there (:meth:`Parks.attractor`: an enclave's source during the
    term) pays its offer; a reverse enclave adds the source's rent subsidy while it runs.
    """
    offer = settings.offers[parks.attractor(step)].T.copy()
    rent = np.where(step < parks.rent_end, parks.rent_subsidy, 0.0)
    return offer + rent[None, :]
