"""Agreements as choices of both cities: offered at their declared start, or, under
``policies.agreements.formation: proposed``, proposed by the circle's coordination office where
its assessment says the circle gains; signed only if source and host both expect to gain in
their own objective (under the office's proposal plus a political reward and a bargained side
payment), shares bargained; renewed or expired at the end of the term. The host allots the
park's land out of its own idle park land; a new park's land then opens over its build-out
(:mod:`sim.model.agreement_book`).

The bargaining rules are pure (:mod:`sim.rules.agreements`); this module computes each side's
expected value with and without the agreement from the model's state. Each side values promised
GDP-credit and tax shares at what the owed city expects to be paid (its record so far).
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from sim.model.agreement_book import BUILT_OUT, AgreementBook, add_row
from sim.model.forecast import city_values, decider_groups, placement_values
from sim.model.state import State
from sim.model.utility import Choosers, UtilityParts, utilities, utility_parts
from sim.rules.agreements import (
    allotted_land,
    bargain_with_side_payment,
    build_out_share,
    nash_bargain,
)
from sim.rules.choice import expected_rationing
from sim.rules.constants import KINDS, STEPS_PER_YEAR, TOLERANCE, ParkKind
from sim.rules.economy import park_offers
from sim.rules.park_table import Parks

STATUSES = ("in_force", "offered", "withheld", "signed", "declined", "renewed", "expired")


class Office(Protocol):
    """What the circle's coordination office does with an agreement (the ``Coordinator``)."""

    def assesses_gain(self, gains: np.ndarray) -> bool: ...

    def political_rewards(self, state: State) -> np.ndarray: ...

    def side_payment_bounds(self, state: State, book: AgreementBook) -> np.ndarray: ...


def negotiate(state: State, book: AgreementBook, office: Office | None = None) -> Parks | None:
    """Offer (or, with an ``office`` and the proposed formation, put to the office) every
    agreement of ``book`` due at this step (start or end of term); the parks with the agreements
    signed now in force, or None if none was signed.

    Each offer is valued on the state with the parks as they stand after the offers before it
    (the location terms of the step stay those the yearly terms are priced at). A declined or
    withheld offer is made again a year later (conditions, land above all, change)."""
    t = state.step
    due = [(i, book.active[i]) for i, j in enumerate(book.park)
           if (not book.active[i] and book.start[i] == t)
           or (book.active[i] and state.parks.term_end[j] == t)]
    if not due:
        return None
    if state.config.policies.agreements.formation != "proposed":
        office = None
    groups = decider_groups(state, np.arange(state.kg))   # the same deciders in every variant
    parks, signed, base = state.parks, False, None
    for i, renewing in due:
        now = dataclasses.replace(state, parks=parks)
        base = _values(now.with_parks(parks), groups) if base is None else base
        offered = _offer(now, book, i, renewing, groups, base, office)
        if offered is not None:
            parks, signed, base = offered, True, None
    return parks if signed else None


def _grid(state: State, book: AgreementBook, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (GDP share, tax share) pairs: a grid within the declared range for bargained
    enclaves with sharing on, else the declared shares alone."""
    pol = state.config.policies.enclave
    kind = KINDS[state.parks.kind[book.park[i]]]
    if kind == "enclave" and state.config.switches.gdp_tax_sharing and pol.bargain:
        grid = np.linspace(pol.share_range[0], pol.share_range[1], pol.share_grid_points)
        return grid, grid
    return np.array([book.gdp_share[i]]), np.array([book.tax_share[i]])


def _offer(state: State, book: AgreementBook, i: int, renewing: bool, groups: tuple,
           base: np.ndarray, office: Office | None) -> Parks | None:
    """Agreement i offered on ``state``: the parks with it signed, or None if declined."""
    p, t = state.parks, state.step
    j = book.park[i]
    src, host = p.operator[j], p.city[j]
    land = float(p.capacity[j]) if renewing else allotted_land(
        book.land[i], p.capacity[host], float(state.land_used()[host]))
    gdp, tax = _grid(state, book, i)
    variants = [_with_agreement(p, book, i, t, land, a_y, a_t, renewing)
                for a_y, a_t in zip(gdp, tax)]
    honoured = float(book.honoured()[src])
    expected = [_honoured(v, j, honoured) for v in variants]
    gains = np.array([STEPS_PER_YEAR * (value - base) - _yearly_terms(state, variant, j, land)
                      for variant, value in zip(variants, _share_variants(state, expected, groups),
                                                strict=True)])
    mid = len(gdp) // 2
    cities = state.world.cities
    if office is not None and state.config.policies.agreements_voluntary \
            and not office.assesses_gain(gains):
        add_row(book, p, cities, i, t, "withheld", gdp[mid], tax[mid], land)
        return _refused(state, book, i, renewing, gdp[mid], tax[mid], land)
    add_row(book, p, cities, i, t, "offered", gdp[mid], tax[mid], land)
    found = _decide(state, book, gains, gdp, src, host, land, office)
    if found is None:
        return _refused(state, book, i, renewing, gdp[mid], tax[mid], land, "declined")
    pick, side = found
    book.active[i] = True
    if not renewing:
        book.allotted[p.city[j]] += land
        book.signed_at[i] = t
        book.full_land[i], book.full_cost[i] = land, variants[pick].build_cost[j]
    book.side_payment[i] = side
    add_row(book, p, cities, i, t, "renewed" if renewing else "signed", gdp[pick], tax[pick],
            land, side)
    return _opened(variants[pick], j, state.config.policies.agreements.build_out_years,
                   renewing)


def _decide(state: State, book: AgreementBook, gains: np.ndarray, grid: np.ndarray, src: int,
            host: int, land: float, office: Office | None) -> tuple[int, float] | None:
    """The grid point and side payment the agreement is signed at, or None if declined.

    Imposed (``agreements_voluntary: false``): at the best joint gain, no side payment. Proposed
    by the office: each side's gain plus its political reward, a side payment bargained within
    the payers' bounds (:func:`sim.rules.agreements.bargain_with_side_payment`). Voluntary:
    Nash bargaining over the shares alone (:func:`sim.rules.agreements.nash_bargain`).
    """
    if not state.config.policies.agreements_voluntary:
        return int(np.argmax(gains[:, src] + gains[:, host])), 0.0
    if land <= 0:
        return None
    if office is None:
        pick = nash_bargain(grid, gains[:, src], gains[:, host])
        return None if pick is None else (pick, 0.0)
    reward = office.political_rewards(state)
    bound = office.side_payment_bounds(state, book)
    return bargain_with_side_payment(gains[:, src], gains[:, host], reward[src], reward[host],
                                     bound[src], bound[host])


def _refused(state: State, book: AgreementBook, i: int, renewing: bool, a_y: float, a_t: float,
             land: float, status: str = "") -> None:
    """A declined or withheld offer: a new one is made again a year later; a renewal expires."""
    if renewing:
        add_row(book, state.parks, state.world.cities, i, state.step, "expired", 0.0, 0.0, land)
    else:
        if status:
            add_row(book, state.parks, state.world.cities, i, state.step, status, 0.0, 0.0, land)
        book.start[i] = state.step + STEPS_PER_YEAR
    return None


def _honoured(parks: Parks, j: int, honoured: float) -> Parks:
    """The parks with park j's agreed shares at what the owed city expects to be paid."""
    if honoured == 1.0:
        return parks
    out = dataclasses.replace(parks, gdp_share_source=parks.gdp_share_source.copy(),
                              tax_share_source=parks.tax_share_source.copy())
    out.gdp_share_source[j] *= honoured
    out.tax_share_source[j] *= honoured
    return out


def _opened(parks: Parks, j: int, build_out_years: float, renewing: bool) -> Parks:
    """The signed parks as they open: a new enclave's or branch's land (and running cost) at the
    share the build-out opens at signing; each side valued it at its full area."""
    if renewing or parks.kind[j] not in BUILT_OUT:
        return parks
    share = float(build_out_share(0, build_out_years))
    parks.capacity[j] *= share
    parks.build_cost[j] *= share
    return parks


def _yearly_terms(state: State, p: Parks, j: int, land: float) -> np.ndarray:
    """What each city pays (+) or receives (−) a year under the terms themselves: the operator
    runs the park (build cost); a reverse enclave's source pays the host the land rent of the
    land it is allotted (the host of an enclave stays the landlord and collects rent itself)."""
    out = np.zeros(state.world.n_cities)
    out[p.operator[j]] += p.build_cost[j]
    if p.kind[j] == ParkKind.REVERSE_ENCLAVE:
        rent = land * float(state.terms.land_price[p.city[j]])
        out[p.operator[j]] += rent
        out[p.city[j]] -= rent
    return out


def _with_agreement(p: Parks, book: AgreementBook, i: int, t: int, land: float, a_y: float,
                    a_t: float, renewing: bool) -> Parks:
    """A copy of the parks with agreement i in force from step t at the given shares; a new
    agreement takes its land out of the host's local park."""
    j = book.park[i]
    v = dataclasses.replace(p, **{f.name: getattr(p, f.name).copy()
                                  for f in dataclasses.fields(Parks) if f.name != "name"})
    if not renewing:
        v.start[j] = t
        v.capacity[j] = land
        v.capacity[p.city[j]] -= land
        # the running cost scales with the land actually allotted (booked as park_cost)
        v.build_cost[j] = p.build_cost[j] * land / max(float(book.land[i]), TOLERANCE)
        v.retention_end[j] = t + book.retention_steps[i]
        v.rent_end[j] = t + book.rent_steps[i]
    v.term_end[j] = t + book.term_steps[i]
    v.gdp_share_source[j], v.tax_share_source[j] = a_y, a_t
    return v


def _values(state: State, groups: tuple) -> np.ndarray:
    """Each city's projected value of one step of decisions (C) in ``state`` (parks and their
    location terms): credited GDP, tax and land rent of the placements, platform returns of
    park-within-park branches (split by equity), minus the subsidies the city pays. Placements
    are rationed by idle land as the model rations them
    (:func:`sim.rules.choice.expected_rationing`): a park asked for more than it has takes only
    that much, the rest goes to its next best."""
    return _projection(state, groups)


def _share_variants(state: State, variants: list[Parks], groups: tuple) -> list[np.ndarray]:
    """:func:`_values` of each variant of one agreement's terms. Variants that differ only in its
    GDP and tax shares have the same location terms, and the shares reach the deciders'
    utilities only through an enclave source's referrals (attention): those are recomputed and
    the rest of the utilities kept."""
    parts: UtilityParts | None = None
    valued, out = state, []
    for variant in variants:
        if parts is not None and not _same_but_shares(variant, valued.parks):
            parts = None
        valued = (valued.with_parks(variant) if parts is None
                  else dataclasses.replace(valued, parks=variant))
        parts = utility_parts(valued, groups[0], valued.settings, parts)
        out.append(_projection(valued, groups, parts))
    return out


def _same_but_shares(a: Parks, b: Parks) -> bool:
    """Whether two parks tables differ at most in the agreements' GDP and tax shares."""
    return all(np.array_equal(getattr(a, f.name), getattr(b, f.name))
               for f in dataclasses.fields(Parks)
               if f.name not in ("gdp_share_source", "tax_share_source"))


def _projection(state: State, groups: tuple[Choosers, np.ndarray],
                parts: UtilityParts | None = None) -> np.ndarray:
    p, c, t, cal = state.parks, state.world.n_cities, state.step, state.calibration
    kgs = np.arange(state.kg)
    who, weight = groups
    kg = who.kg
    u, available = (utilities(state, who, state.settings) if parts is None
                    else parts.at(park_offers(state.settings, p, t)))
    q = state.terms.q[kg]
    need = state.world.land_per_output.ravel()[kg][:, None] * q      # km² per productivity
    placed = expected_rationing(u, available, weight, need, who.current,
                                p.capacity - state.land_used(), p.city, c,
                                state.config.economy.nest_parameter,
                                state.config.economy.rejection_rounds)
    mass = placed[:, :-1] * q                                                # n x P output
    gross, paid = placement_values(state, state.settings, kg, mass,
                                   city_values(state, kgs)[:, kg, :])
    pwp = np.where((p.kind == ParkKind.PARK_WITHIN_PARK) & p.open_at(t),
                   state.config.policies.park_within_park.platform_return_rate
                   * mass.sum(axis=0), 0.0)
    returns = (np.bincount(p.operator, weights=pwp * p.equity_operator, minlength=c)
               + np.bincount(p.city, weights=pwp * (1 - p.equity_operator), minlength=c))
    return cal.life * (gross + returns) - cal.sub_life * paid
