"""Agreements as choices of both cities: offered at their declared start, signed only if source
and host both expect to gain in their own objective, shares bargained, renewed or expired at the
end of the term; the host allots the park's land out of its own idle park land.

The bargaining rule is pure (:func:`sim.rules.agreements.nash_bargain`); this module computes each
side's expected value with and without the agreement from the model's state.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.model.forecast import city_values, decider_groups, placement_values
from sim.model.state import State
from sim.model.utility import Choosers, UtilityParts, utilities, utility_parts
from sim.rules.agreements import allotted_land, nash_bargain
from sim.rules.choice import expected_rationing
from sim.rules.constants import KINDS, STEPS_PER_YEAR, TOLERANCE, ParkKind
from sim.rules.economy import park_offers
from sim.rules.park_table import Parks

CLOSED = 10**9          # start step of a park whose agreement is not (yet) signed
STATUSES = ("offered", "signed", "declined", "renewed", "expired")


@dataclasses.dataclass
class AgreementBook:
    """The declared terms of every agreement park and what became of them."""

    park: np.ndarray          # park index of each agreement
    start: np.ndarray         # declared first step
    land: np.ndarray          # declared land, km²
    term_steps: np.ndarray    # declared term in steps (inf: no end)
    gdp_share: np.ndarray     # declared source shares (used when shares are not bargained)
    tax_share: np.ndarray
    retention_steps: np.ndarray  # declared retention and rent-support spans, from the start
    rent_steps: np.ndarray
    allotted: np.ndarray      # C, land each host has allotted to agreement parks, km²
    active: np.ndarray        # bool: signed and in force
    rows: list = dataclasses.field(default_factory=list)

    def flush(self) -> list:
        """The table rows written since the last call."""
        out, self.rows = self.rows, []
        return out


def prepare(parks: Parks) -> AgreementBook:
    """Record the declared terms of every agreement park and close it until it is signed."""
    j = np.flatnonzero(parks.kind != ParkKind.LOCAL)
    book = AgreementBook(park=j, start=parks.start[j].copy(), land=parks.capacity[j].copy(),
                         term_steps=parks.term_end[j] - parks.start[j],
                         gdp_share=parks.gdp_share_source[j].copy(),
                         tax_share=parks.tax_share_source[j].copy(),
                         retention_steps=parks.retention_end[j] - parks.start[j],
                         rent_steps=parks.rent_end[j] - parks.start[j],
                         allotted=np.zeros(int((parks.kind == ParkKind.LOCAL).sum())),
                         active=np.zeros(len(j), bool))
    parks.start[j] = CLOSED
    parks.capacity[j] = 0.0
    return book


def negotiate(state: State, book: AgreementBook) -> Parks | None:
    """Offer every agreement of ``book`` due at this step (start or end of term); the parks with
    the agreements signed now in force, or None if none was signed.

    Each offer is valued on the state with the parks as they stand after the offers before it
    (the location terms of the step stay those the yearly terms are priced at). A declined offer
    is made again a year later (conditions, land above all, change)."""
    t = state.step
    due = [(i, book.active[i]) for i, j in enumerate(book.park)
           if (not book.active[i] and book.start[i] == t)
           or (book.active[i] and state.parks.term_end[j] == t)]
    if not due:
        return None
    groups = decider_groups(state, np.arange(state.kg))   # the same deciders in every variant
    parks, signed, base = state.parks, False, None
    for i, renewing in due:
        now = dataclasses.replace(state, parks=parks)
        base = _values(now.with_parks(parks), groups) if base is None else base
        offered = _offer(now, book, i, renewing, groups, base)
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
           base: np.ndarray) -> Parks | None:
    """Agreement i offered on ``state``: the parks with it signed, or None if declined."""
    p, t = state.parks, state.step
    j = book.park[i]
    src, host = p.operator[j], p.city[j]
    land = float(p.capacity[j]) if renewing else allotted_land(
        book.land[i], p.capacity[host], float(state.land_used()[host]))
    gdp, tax = _grid(state, book, i)
    variants = [_with_agreement(p, book, i, t, land, a_y, a_t, renewing)
                for a_y, a_t in zip(gdp, tax)]
    gains = np.array([STEPS_PER_YEAR * (value - base) - _yearly_terms(state, variant, j, land)
                      for variant, value in zip(variants, _share_variants(state, variants, groups),
                                                strict=True)])
    if state.config.policies.agreements_voluntary:
        pick = nash_bargain(gdp, gains[:, src], gains[:, host]) if land > 0 else None
    else:   # imposed (a provincial mandate): signed at the best joint gain, whoever loses
        pick = int(np.argmax(gains[:, src] + gains[:, host]))
    mid = len(gdp) // 2
    _row(state, book, i, "offered", gdp[mid], tax[mid], land)
    if pick is None:
        _row(state, book, i, "expired" if renewing else "declined", 0.0, 0.0, land)
        if not renewing:
            book.start[i] = t + STEPS_PER_YEAR
        return None
    book.active[i] = True
    if not renewing:
        book.allotted[p.city[j]] += land
    _row(state, book, i, "renewed" if renewing else "signed", gdp[pick], tax[pick], land)
    return _with_agreement(p, book, i, t, land, gdp[pick], tax[pick], renewing)


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


def _row(state: State, book: AgreementBook, i: int, status: str, a_y: float, a_t: float,
         land: float) -> None:
    p, w = state.parks, state.world
    j = book.park[i]
    term = book.term_steps[i] / STEPS_PER_YEAR
    book.rows.append(dict(
        step=state.step, source=w.cities[p.operator[j]], host=w.cities[p.city[j]],
        kind=KINDS[p.kind[j]], status=status, gdp_share=float(a_y), tax_share=float(a_t),
        term_years=float(term) if np.isfinite(term) else float("nan"), land_km2=float(land)))
