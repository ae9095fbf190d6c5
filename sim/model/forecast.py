"""What the cities and the coordinator expect one step of decisions to bring them.

The representative deciders of the next step (arrivals by origin and reviewers by park, each with
its expected productivity mass), each city's value of a yuan of value added at each park, what
placements bring each city and what it pays them, and what a city's subsidy budget sees of the
units. Read by the cities' best responses, the coordinator's map and transfers, the agreements'
valuations and the status quo's equilibrium.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.model.state import State
from sim.model.utility import Choosers, utilities
from sim.rules import accounts
from sim.rules.choice import nested_probabilities
from sim.rules.constants import Origin, ParkKind
from sim.rules.economy import Settings, park_offers


@dataclasses.dataclass(frozen=True)
class BudgetBase:
    """What a city's subsidy budget sees of the units: the running contracts it pays (per step),
    and the sector-segment and output of the units at parks where it pays placements."""

    committed: float
    kg: np.ndarray
    output: np.ndarray


def budget_bases(state: State, cities: list[int] | None = None) -> list[BudgetBase]:
    """:class:`BudgetBase` of each city (of ``cities``; all by default), units as they are."""
    units, t = state.units, state.step
    contracts = units.subsidy_rate * units.output
    live = units.subsidy_until > t
    kg = units.kg
    attractor = state.parks.attractor(t)[units.park]
    out = []
    for c in range(state.world.n_cities) if cities is None else cities:
        here = attractor == c
        out.append(BudgetBase(float(contracts[(units.subsidy_payer == c) & live].sum()),
                              kg[here], units.output[here]))
    return out


def productivity_mass(state: State) -> np.ndarray:
    """Productivity of the units at each park by sector-segment (KG x P)."""
    units, p = state.units, state.parks
    flat = units.kg * p.n + units.park
    return np.bincount(flat, weights=units.productivity,
                       minlength=state.kg * p.n).reshape(state.kg, p.n)


def decider_groups(state: State, kgs: np.ndarray) -> tuple[Choosers, np.ndarray]:
    """Representative deciders of the next step for the sector-segments ``kgs``, and the
    expected productivity mass of each (the cities' forecast of the step's decisions).

    Arrivals by origin (local projects by home city, Wuhan, outside) and reviewers by current park.
    """
    w, econ, p, cal = state.world, state.config.economy, state.parks, state.calibration
    mass = productivity_mass(state)[kgs]                                   # len(kgs) x P
    arriving = state.arrivals_now()[kgs] * cal.mean_productivity.ravel()[kgs]
    counts = cal.base_counts[kgs]
    home_p = counts / counts.sum(axis=1, keepdims=True)
    n, c = len(kgs), w.n_cities
    arrival_weight = np.column_stack([arriving[:, None] * econ.origin_shares["local"] * home_p,
                                      arriving * econ.origin_shares["wuhan"],
                                      arriving * econ.origin_shares["outside"]])  # n x (C + 2)
    origin = np.array([Origin.LOCAL] * c + [Origin.WUHAN, Origin.OUTSIDE], dtype=np.int64)
    home = np.array([*range(c), w.core, -1], dtype=np.int64)
    which, park = np.nonzero(mass > 0)            # reviewers, by sector-segment then park
    block = np.concatenate((np.repeat(np.arange(n), c + 2), which))
    order = np.argsort(block, kind="stable")      # per sector-segment: arrivals, then reviewers

    def column(arrivals: np.ndarray, reviewers: np.ndarray) -> np.ndarray:
        return np.concatenate((arrivals, reviewers))[order]

    groups = Choosers(kg=kgs[block][order].astype(np.int64),
                      origin=column(np.tile(origin, n), np.full(len(which), Origin.LOCAL)),
                      home=column(np.tile(home, n), p.registration[park].astype(np.int64)),
                      current=column(np.full(n * (c + 2), -1), park.astype(np.int64)),
                      stay_subsidy=np.zeros(len(order)))
    weight = column(arrival_weight.ravel(), cal.p_review * mass[which, park])
    return groups, weight


def city_values(state: State, kgs: np.ndarray, gdp_weight: float | None = None) -> np.ndarray:
    """Value to each city of a yuan of value added at each park (C x len(kgs) x P):
    λ_Y · credited share + τ · tax share + land rent to the landlord city (``gdp_weight``
    λ_Y = 0: money only; the scenario's promotion weight if None)."""
    p, t = state.parks, state.step
    shares = accounts.share_matrices(p, t, state.world.n_cities,
                                     state.config.policies.enclave.credited_double_count)
    if gdp_weight is None:
        gdp_weight = state.config.competition.promotion_weight_gdp
    tau = state.config.economy.tax_rate
    landlord = np.where(p.kind == ParkKind.REVERSE_ENCLAVE, p.operator, p.city)
    rent = np.zeros((state.world.n_cities, p.n))
    rent[landlord, np.arange(p.n)] = state.terms.land_price
    a = state.world.land_per_output.ravel()[kgs]
    return ((gdp_weight * shares.credited + tau * shares.tax)[:, None, :]
            + rent[:, None, :] * a[None, :, None])


def placement_values(state: State, settings: Settings, kg: np.ndarray, mass: np.ndarray,
                     values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each city gets per step from the output ``mass`` (n x P) that deciders of the
    sector-segments ``kg`` place at the parks, valued at ``values`` (C x n x P, its
    :func:`city_values` for ``kg``), and what it pays them in placement subsidies under
    ``settings``: ``(gross, paid)``, each C."""
    p, t = state.parks, state.step
    pays = p.attractor(t)[None, :] == np.arange(state.world.n_cities)[:, None]
    gross = np.einsum("np,cnp->c", mass, values)
    paid = np.einsum("np,cp->c", mass * park_offers(settings, p, t)[kg], pays)
    return gross, paid


def projected_values(state: State, settings: Settings,
                     groups: tuple[Choosers, np.ndarray] | None = None,
                     utility: tuple[np.ndarray, np.ndarray] | None = None,
                     probs: np.ndarray | None = None,
                     values: np.ndarray | None = None) -> np.ndarray:
    """Each city's expected value of one step of decisions in every sector-segment (C).

    ``groups`` (``decider_groups`` of all sector-segments at this step) saves recomputing them;
    ``utility`` (their ``utilities`` under ``settings``) likewise, or ``probs`` (their choice
    probabilities of the parks, n x P); ``values`` (``city_values`` of their sector-segments,
    C x n x P) likewise.
    """
    cal = state.calibration
    groups, weight = groups or decider_groups(state, np.arange(state.kg))
    kg = groups.kg
    if probs is None:
        u, available = utility or utilities(state, groups, settings)
        probs = nested_probabilities(u, state.parks.city, state.world.n_cities,
                                     state.config.economy.nest_parameter, available)[:, :-1]
    if values is None:
        values = city_values(state, np.arange(state.kg))[:, kg, :]                # C x n x P
    mass = weight[:, None] * probs * state.terms.q[kg]                            # n x P
    gross, paid = placement_values(state, settings, kg, mass, values)
    return cal.life * gross - cal.sub_life * paid
