"""Agreements as choices of both cities: offered at their declared start, signed only if source
and host both expect to gain in their own objective, shares bargained, renewed or expired at the
end of the term; the host allots the park's land out of its own idle park land.

The bargaining rule is pure (:func:`sim.rules.agreements.nash_bargain`); this module computes each
side's expected value with and without the agreement from the model's state.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sim.model.city import city_values, decider_groups, placement_values
from sim.model.parks import Parks
from sim.model.utility import Choosers, UtilityParts, utilities, utility_parts
from sim.rules.agreements import allotted_land, nash_bargain
from sim.rules.choice import expected_rationing
from sim.rules.constants import KINDS, STEPS_PER_YEAR, ParkKind
from sim.rules.economy import park_offers

if TYPE_CHECKING:
    from sim.model.circle import CircleModel

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


def negotiate(model: CircleModel) -> bool:
    """Offer every agreement due at this step (start or end of term); True if parks changed.

    A declined offer is made again a year later (conditions, land above all, change)."""
    book, p, t = model.agreements, model.parks, model.steps
    due = [(i, book.active[i]) for i, j in enumerate(book.park)
           if (not book.active[i] and book.start[i] == t)
           or (book.active[i] and p.term_end[j] == t)]
    if not due:
        return False
    groups = decider_groups(model, np.arange(model.kg))   # the same deciders in every variant
    changed, base = False, None
    for i, renewing in due:
        base = _values(model, model.parks, groups) if base is None else base
        if _offer(model, i, renewing, groups, base):
            changed, base = True, None
    return changed


def _grid(model: CircleModel, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (GDP share, tax share) pairs: a grid within the declared range for bargained
    enclaves with sharing on, else the declared shares alone."""
    book, pol = model.agreements, model.config.policies.enclave
    kind = KINDS[model.parks.kind[book.park[i]]]
    if kind == "enclave" and model.config.switches.gdp_tax_sharing and pol.bargain:
        grid = np.linspace(pol.share_range[0], pol.share_range[1], pol.share_grid_points)
        return grid, grid
    return np.array([book.gdp_share[i]]), np.array([book.tax_share[i]])


def _offer(model: CircleModel, i: int, renewing: bool, groups: tuple, base: np.ndarray) -> bool:
    book, p, t = model.agreements, model.parks, model.steps
    j = book.park[i]
    src, host = p.operator[j], p.city[j]
    land = float(p.capacity[j]) if renewing else allotted_land(
        book.land[i], p.capacity[host], float(model.land_used()[host]))
    gdp, tax = _grid(model, i)
    variants = [_with_agreement(p, book, i, t, land, a_y, a_t, renewing)
                for a_y, a_t in zip(gdp, tax)]
    gains = np.array([STEPS_PER_YEAR * (value - base) - _yearly_terms(model, variant, j, land)
                      for variant, value in zip(variants, _share_variants(model, variants, groups),
                                                strict=True)])
    if model.config.policies.agreements_voluntary:
        pick = nash_bargain(gdp, gains[:, src], gains[:, host]) if land > 0 else None
    else:   # imposed (a provincial mandate): signed at the best joint gain, whoever loses
        pick = int(np.argmax(gains[:, src] + gains[:, host]))
    mid = len(gdp) // 2
    _row(model, i, "offered", gdp[mid], tax[mid], land)
    if pick is None:
        _row(model, i, "expired" if renewing else "declined", 0.0, 0.0, land)
        if not renewing:
            book.start[i] = t + STEPS_PER_YEAR
        return False
    signed = _with_agreement(p, book, i, t, land, gdp[pick], tax[pick], renewing)
    for f in dataclasses.fields(Parks):
        setattr(p, f.name, getattr(signed, f.name))
    book.active[i] = True
    if not renewing:
        book.allotted[p.city[j]] += land
    _row(model, i, "renewed" if renewing else "signed", gdp[pick], tax[pick], land)
    return True


def _yearly_terms(model: CircleModel, p: Parks, j: int, land: float) -> np.ndarray:
    """What each city pays (+) or receives (−) a year under the terms themselves: the operator
    runs the park (build cost); a reverse enclave's source pays the host the land rent of the
    land it is allotted (the host of an enclave stays the landlord and collects rent itself)."""
    out = np.zeros(model.world.n_cities)
    out[p.operator[j]] += p.build_cost[j]
    if p.kind[j] == ParkKind.REVERSE_ENCLAVE:
        rent = land * float(model.current_terms.land_price[p.city[j]])
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
        v.build_cost[j] = p.build_cost[j] * land / max(float(book.land[i]), 1e-12)
        v.retention_end[j] = t + book.retention_steps[i]
        v.rent_end[j] = t + book.rent_steps[i]
    v.term_end[j] = t + book.term_steps[i]
    v.gdp_share_source[j], v.tax_share_source[j] = a_y, a_t
    return v


def _values(model: CircleModel, parks: Parks, groups: tuple) -> np.ndarray:
    """Each city's projected value of one step of decisions (C) if the parks were ``parks``:
    credited GDP, tax and land rent of the placements, platform returns of park-within-park
    branches (split by equity), minus the subsidies the city pays. Placements are rationed by
    idle land as the model rations them (:func:`sim.rules.choice.expected_rationing`): a park
    asked for more than it has takes only that much, the rest goes to its next best."""
    saved = model.parks, model.current_terms
    model.parks = parks
    try:
        model.current_terms = model.terms()
        return _projection(model, groups)
    finally:
        model.parks, model.current_terms = saved


def _share_variants(model: CircleModel, variants: list[Parks], groups: tuple) -> list[np.ndarray]:
    """:func:`_values` of each variant of one agreement's terms. Variants that differ only in its
    GDP and tax shares have the same location terms, and the shares reach the deciders'
    utilities only through an enclave source's referrals (attention): those are recomputed and
    the rest of the utilities kept."""
    saved = model.parks, model.current_terms
    parts: UtilityParts | None = None
    try:
        out = []
        for variant in variants:
            if parts is not None and not _same_but_shares(variant, model.parks):
                parts = None
            model.parks = variant
            if parts is None:
                model.current_terms = model.terms()
            parts = utility_parts(model, groups[0], model.settings, parts)
            out.append(_projection(model, groups, parts))
        return out
    finally:
        model.parks, model.current_terms = saved


def _same_but_shares(a: Parks, b: Parks) -> bool:
    """Whether two parks tables differ at most in the agreements' GDP and tax shares."""
    return all(np.array_equal(getattr(a, f.name), getattr(b, f.name))
               for f in dataclasses.fields(Parks)
               if f.name not in ("gdp_share_source", "tax_share_source"))


def _projection(model: CircleModel, groups: tuple[Choosers, np.ndarray],
                parts: UtilityParts | None = None) -> np.ndarray:
    p, c, t, cal = model.parks, model.world.n_cities, model.steps, model.calibration
    kgs = np.arange(model.kg)
    who, weight = groups
    kg = who.kg
    u, available = (utilities(model, who, model.settings) if parts is None
                    else parts.at(park_offers(model.settings, p, t)))
    q = model.current_terms.q[kg]
    need = model.world.land_per_output.ravel()[kg][:, None] * q      # km² per productivity
    placed = expected_rationing(u, available, weight, need, who.current,
                                p.capacity - model.land_used(), p.city, c,
                                model.config.economy.nest_parameter,
                                model.config.economy.rejection_rounds)
    mass = placed[:, :-1] * q                                                # n x P output
    gross, paid = placement_values(model, model.settings, kg, mass,
                                   city_values(model, kgs)[:, kg, :])
    pwp = np.where((p.kind == ParkKind.PARK_WITHIN_PARK) & p.open_at(t),
                   model.config.policies.park_within_park.platform_return_rate
                   * mass.sum(axis=0), 0.0)
    returns = (np.bincount(p.operator, weights=pwp * p.equity_operator, minlength=c)
               + np.bincount(p.city, weights=pwp * (1 - p.equity_operator), minlength=c))
    return cal.life * (gross + returns) - cal.sub_life * paid


def _row(model: CircleModel, i: int, status: str, a_y: float, a_t: float, land: float) -> None:
    book, p, w = model.agreements, model.parks, model.world
    j = book.park[i]
    term = book.term_steps[i] / STEPS_PER_YEAR
    model.agreements.rows.append(dict(
        step=model.steps, source=w.cities[p.operator[j]], host=w.cities[p.city[j]],
        kind=KINDS[p.kind[j]], status=status, gdp_share=float(a_y), tax_share=float(a_t),
        term_years=float(term) if np.isfinite(term) else float("nan"), land_km2=float(land)))
