"""What a park is worth to a unit choosing where to go: the deciders, their attention to each
park and the systematic utilities of the location logit, from the model's state."""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.config.schema import ScenarioConfig
from sim.model.state import State
from sim.model.units import Units
from sim.model.world import World
from sim.rules import accounts
from sim.rules.agreements import rd_link_attention
from sim.rules.consideration import consideration_terms, with_platform
from sim.rules.constants import (
    SEGMENTS,
    TOLERANCE,
    Origin,
    ParkKind,
    n_sector_segments,
    sector_and_segment,
)
from sim.rules.economy import Settings, friction, park_offers
from sim.rules.park_table import Parks


@dataclasses.dataclass(frozen=True)
class Choosers:
    """Units (or representative groups of units) choosing a park, as arrays over choosers."""

    kg: np.ndarray            # sector-segment index
    origin: np.ndarray        # Origin
    home: np.ndarray          # city of a local project's investor (-1 for others)
    current: np.ndarray       # park now; -1 for an arrival
    stay_subsidy: np.ndarray  # rate of its running subsidy contract if it stays (0 if none)

    def __len__(self) -> int:
        return len(self.kg)

    def select(self, idx: np.ndarray) -> Choosers:
        return Choosers(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})


def value_shares(state: State, shares: accounts.Shares) -> np.ndarray:
    """Share of a unit's value a city keeps at each park, relative to its own park (C x P)."""
    gdp_weight = state.config.competition.promotion_weight_gdp
    tau = state.config.economy.tax_rate
    return (gdp_weight * shares.credited + tau * shares.tax) / (gdp_weight + tau)


def reverse_enclave_attention(world: World, config: ScenarioConfig, parks: Parks,
                              units: Units) -> np.ndarray:
    """KG x C attention multiplier from R&D units in each ring city's reverse enclaves."""
    rnd = SEGMENTS.index("rnd")
    rd = (parks.kind[units.park] == ParkKind.REVERSE_ENCLAVE) & (units.segment == rnd)
    n = np.zeros((world.n_sectors, world.n_cities))
    np.add.at(n, (units.sector[rd], parks.operator[units.park[rd]]), 1.0)
    link = world.links[rnd] / max(world.links[rnd].max(), TOLERANCE)
    strength = config.policies.reverse_enclave.manufacturing_referral
    return rd_link_attention(n, link, strength).reshape(n_sector_segments(world.n_sectors),
                                                        world.n_cities)


def attention(state: State, who: Choosers, settings: Settings,
              vshare: np.ndarray) -> np.ndarray:
    """How strongly each decider considers each park (n x P), relative to nothing special.

    Promotion reaches a city's targeted projects; the shared platform shows projects the parks
    the investment map assigns to their sector-segment (without a map, those their city
    promotes), on top of promotion as an independent channel
    (:func:`sim.rules.consideration.with_platform`); an agreement park's operator refers its own
    projects there, an enclave's source in proportion to the value it keeps (so sharing raises
    referrals).
    """
    p, econ, competition = state.parks, state.config.economy, state.config.competition
    kg, origin, home, current = who.kg, who.origin, who.home, who.current
    arrival = current < 0
    if competition.active:
        promoted = settings.promoted[p.attractor(state.step)][:, kg].T
        att = np.where(promoted & arrival[:, None], competition.attention_promoted,
                       econ.attention_base)
    else:
        att = np.full((len(kg), p.n), econ.attention_base)
    if settings.platform:
        shown = platform_parks(settings, p, state.step)[kg] & arrival[:, None]
        att = np.where(shown, with_platform(att, econ.attention_base,
                                            state.config.policies.shared_platform.attention),
                       att)
    cur_reg = np.where(arrival, -1, p.registration[np.maximum(current, 0)])
    j = np.flatnonzero(p.kind != ParkKind.LOCAL)          # agreement parks, all at once
    if len(j):
        op, zone = p.operator[j], p.kind[j] == ParkKind.PARK_WITHIN_PARK
        mine = cur_reg[:, None] == op[None, :]
        own = (((origin == Origin.WUHAN)[:, None] & (op == state.world.core)[None, :])
               | ((origin == Origin.LOCAL)[:, None] & (home[:, None] == op[None, :])) | mine)
        # a park within a park draws through the zone's attraction system
        own = np.where(zone[None, :],
                       ((origin == Origin.WUHAN) | (origin == Origin.OUTSIDE))[:, None] | mine,
                       own)
        mult = np.where(zone, 1 + p.referral_strength[j],
                        1 + p.referral_strength[j] * vshare[op, j])
        att[:, j] *= np.where(own, mult[None, :], 1.0)
    # R&D a ring city's firms run in its reverse enclaves draws linked production to its parks
    # (a multiplier of 1 everywhere while no such R&D runs: nothing to multiply)
    if (state.rd_attention != 1.0).any():
        new = np.flatnonzero(arrival)
        att[new] *= state.rd_attention[kg[new]][:, p.city]
    return att


def platform_slots(settings: Settings) -> np.ndarray:
    """The sector-segments the shared platform shows for each member city (C x KG): those the
    investment map assigns it, or without a map those it promotes; none for a city out of the
    scheme (caught breaking the subsidy cap)."""
    chosen = settings.mapped if settings.mapped is not None else settings.promoted
    return chosen & ~settings.excluded[:, None]


def platform_parks(settings: Settings, parks: Parks, step: int) -> np.ndarray:
    """Which parks the shared platform shows to projects of each sector-segment (KG x P): a
    park of a city mapped for the segment (without a map, of the city promoting it there), not
    one registered in a city out of the scheme."""
    city = parks.city if settings.mapped is not None else parks.attractor(step)
    return (platform_slots(settings)[city]
            & ~settings.excluded[parks.registration][:, None]).T


def segments_settings_move(state: State, a: Settings, b: Settings) -> np.ndarray:
    """Which sector-segments' deciders may have other utility parts (friction, attention,
    entry) under settings ``b`` than under ``a`` (KG bool): those whose row of the approval
    friction, of the platform's parks or of the promotion reaching each park differs (offers
    aside: :meth:`UtilityParts.at` adds them). A decider's parts depend on the settings only
    through its own row of these, so the others' are the same numbers."""
    if a.platform != b.platform or (a.mapped is None) != (b.mapped is None):
        return np.ones(state.kg, dtype=bool)
    p, amount = state.parks, state.config.policies.investment_map.approval_friction
    attractor = p.attractor(state.step)
    moved = (friction(a, p, amount) != friction(b, p, amount)).any(axis=1)
    moved |= (a.promoted[attractor] != b.promoted[attractor]).any(axis=0)
    if a.platform:
        moved |= (platform_parks(a, p, state.step) != platform_parks(b, p, state.step)).any(axis=1)
    return moved


def utilities(state: State, who: Choosers,
              settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Systematic utilities (n x P) and availability of every park for each decider.

    Arrivals (current = -1) use the arrival constants; reviewers the reviewer constants, pay the
    relocation cost to move and keep their running subsidy contract if they stay.
    """
    return utility_parts(state, who, settings).at(park_offers(settings, state.parks, state.step))


def utilities_by_kind(state: State, who: Choosers,
                      settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """:func:`utilities` of many deciders, computed once per kind: a decider's utilities are a
    function of its attributes (every field of :class:`Choosers`: sector-segment, origin, home,
    park, running contract) and the state alone, row by row, so deciders alike get the same
    rows (a step's reviewers and arrivals hold about a third as many kinds as deciders)."""
    kind = np.stack([_exact_key(getattr(who, f.name)) for f in dataclasses.fields(who)], axis=1)
    first, inverse = kinds_of(kind)
    u, available = utilities(state, who.select(first), settings)
    return u[inverse], available[inverse]


def kinds_of(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``rows`` (n x k int), as ``np.unique(rows, axis=0, return_index=True,
    return_inverse=True)`` gives them: the first row of each kind in the kinds' sorted order and
    each row's kind; by a stable lexicographic sort of the columns (much faster than sorting
    the rows as records)."""
    n = len(rows)
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    order = np.lexsort(rows.T[::-1])            # by the first column, then the next, ...
    ordered = rows[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return order[new], inverse


def _exact_key(values: np.ndarray) -> np.ndarray:
    """An attribute as int64 keys equal exactly where the values are (floats by their bits)."""
    if np.issubdtype(values.dtype, np.floating):
        return np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    return values.astype(np.int64)


@dataclasses.dataclass(frozen=True)
class UtilityParts:
    """Deciders' utilities (n x P) taken apart: everything but the subsidy offers, fixed by the
    state and the settings' promotion, platform, map and exclusions. Cities that move one
    after another at a step change only offers, so their deciders' parts are built once.
    :meth:`at` adds the offers in the order :func:`utilities` always did (the same numbers)."""

    kg: np.ndarray           # n sector-segment
    net: np.ndarray          # n x P margin before offers: 1 − cost
    friction: np.ndarray     # n x P approval friction (new projects off the map)
    reviewer: np.ndarray     # n bool
    current: np.ndarray      # n park now (0 for arrivals)
    stay_margin: np.ndarray  # n margin of staying: running contract, rent support
    delta: np.ndarray        # n x P choice constants
    q: np.ndarray            # n x P output per productivity
    sigma: np.ndarray        # n x 1 choice scale
    moving: np.ndarray       # n x P relocation and switching cost (utility)
    gravity: np.ndarray      # n x P gravity of the core city's projects
    log_att: np.ndarray      # n x P log consideration now, relative to the base
    log_ref: np.ndarray      # n x P log consideration of the base year
    entry: np.ndarray        # n platform's rise in the odds of considering the circle
    available: np.ndarray    # n x P bool
    nest: np.ndarray         # P city of each park
    n_nests: int
    nest_param: float        # λ of the nested logit

    def select(self, idx: np.ndarray) -> UtilityParts:
        """The parts of the deciders ``idx`` (rows)."""
        return dataclasses.replace(self, **{name: getattr(self, name)[idx] for name in _ROWS})

    def at(self, offers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Utilities (n x P) at the subsidy offers ``offers`` (KG x P, :func:`park_offers`), and
        a copy of the availability."""
        margin = self.net + offers[self.kg] - self.friction
        stays = np.flatnonzero(self.reviewer)
        margin[stays, self.current[stays]] = self.stay_margin[stays]
        u = self.delta + self.q * margin / self.sigma - self.moving
        u += self.gravity
        u += consideration_terms(u, self.log_att, self.log_ref, self.entry, self.nest,
                                 self.n_nests, self.nest_param, self.available)
        return u, self.available.copy()


class OfferedUtilities:
    """Deciders' utilities at the subsidy offers in force, kept between calls while only offers
    change (the cities moving in turn, a round of best responses): a decider's utilities depend
    on the offers of its own sector-segment alone (its row of :func:`park_offers`), so the
    deciders of a sector-segment are computed when first asked for and again only once that
    row of offers has changed. Each row is computed as :meth:`UtilityParts.at` computes it."""

    def __init__(self, parts: UtilityParts) -> None:
        self.parts = parts
        self.u = np.empty_like(parts.delta)
        self.available = parts.available
        self.offers: np.ndarray | None = None       # KG x P offers each row was computed at
        self.done: np.ndarray | None = None         # KG bool: rows computed

    def at(self, offers: np.ndarray, kgs: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
        """The rows of the deciders of ``kgs``, their utilities at ``offers`` (KG x P) and a
        copy of their availability."""
        if self.offers is None:
            self.offers, self.done = offers.copy(), np.zeros(len(offers), dtype=bool)
        kgs = np.asarray(kgs)
        stale = kgs[~self.done[kgs] | (offers[kgs] != self.offers[kgs]).any(axis=1)]
        if len(stale):
            rows = rows_of(self.parts.kg, stale, len(offers))
            self.u[rows] = self.parts.select(rows).at(offers)[0]
            self.offers[stale], self.done[stale] = offers[stale], True
        rows = rows_of(self.parts.kg, kgs, len(offers))
        return rows, self.u[rows], self.available[rows]


def rows_of(kg: np.ndarray, kgs: np.ndarray, n_kg: int) -> np.ndarray:
    """The rows (in order) whose sector-segment ``kg`` is one of ``kgs``."""
    mask = np.zeros(n_kg, dtype=bool)
    mask[kgs] = True
    return np.flatnonzero(mask[kg])


_ROWS = ("kg", "net", "friction", "reviewer", "current", "stay_margin", "delta", "q", "sigma",
         "moving", "gravity", "log_att", "log_ref", "entry", "available")


def utility_parts(state: State, who: Choosers, settings: Settings,
                  like: UtilityParts | None = None) -> UtilityParts:
    """:class:`UtilityParts` of the deciders ``who`` under ``settings`` (offers aside).

    ``like`` (the parts of the same deciders in the same state under other settings) saves all
    but what settings change: approval friction, attention and the platform's entry effect.
    """
    base = like or _state_parts(state, who)
    cfg, p, econ = state.config, state.parks, state.config.economy
    # without a map drawn (the status quo, or the map's switch off) nothing pays friction
    fric = (friction(settings, p, cfg.policies.investment_map.approval_friction)
            if settings.mapped is not None and cfg.switches.investment_map
            else np.zeros((state.kg, p.n)))
    fric = np.where((who.current >= 0)[:, None], 0.0, fric[who.kg])   # new projects need approval
    shares = accounts.share_matrices(p, state.step, state.world.n_cities,
                                     cfg.policies.enclave.credited_double_count)
    att = attention(state, who, settings, value_shares(state, shares))
    entry = np.zeros(len(who.kg))
    if settings.platform:   # the platform alone may change whether projects look at the circle
        shown = platform_parks(settings, p, state.step)[who.kg] & base.available
        entry = np.where((who.current < 0) & shown.any(axis=1),
                         cfg.policies.shared_platform.entry_effect, 0.0)
    return dataclasses.replace(base, friction=fric, log_att=np.log(att / econ.attention_base),
                               entry=entry)


def _state_parts(state: State, who: Choosers) -> UtilityParts:
    """The parts settings leave alone (friction, attention and entry are left empty)."""
    p, econ, cal = state.parks, state.config.economy, state.calibration
    kg, current = who.kg, who.current
    terms, t = state.terms, state.step
    reviewer = current >= 0
    q = terms.q[kg]
    cur = np.maximum(current, 0)
    rent = np.where(t < p.rent_end, p.rent_subsidy, 0.0)      # reverse enclaves' rent support
    sigma = cal.sigma[kg][:, None]
    moving = reviewer[:, None] & (np.arange(p.n)[None, :] != current[:, None])
    core_investor = (who.origin == Origin.WUHAN) & ~reviewer   # gravity of the core's projects
    empty = np.empty((0, p.n))
    return UtilityParts(
        kg=kg, net=1 - terms.cost[kg], friction=empty, reviewer=reviewer, current=cur,
        stay_margin=1 - terms.cost[kg, cur] + who.stay_subsidy + rent[cur],
        delta=np.where(reviewer[:, None], cal.delta_review[kg][:, p.city],
                       cal.delta_arrival[kg][:, p.city]), q=q, sigma=sigma,
        moving=moving * (econ.relocation_cost * q / sigma + cal.switching_cost[kg][:, None]),
        gravity=np.where(core_investor[:, None], state.gravity[kg][:, p.city], 0.0),
        log_att=empty,
        log_ref=np.log(reference_attention(state, kg, current) / econ.attention_base),
        entry=np.empty(0), available=_available(state, who), nest=p.city,
        n_nests=state.world.n_cities, nest_param=econ.nest_parameter)


def _available(state: State, who: Choosers) -> np.ndarray:
    """Which parks each decider may choose (n x P): open, admitting its sector and segment, a
    home-only park if it belongs there, and always the park it is in."""
    p, kg, current = state.parks, who.kg, who.current
    reviewer, cur = current >= 0, np.maximum(current, 0)
    k, g = sector_and_segment(kg)
    available = p.open_at(state.step)[None, :] & p.sector_ok[:, k].T & p.segment_ok[:, g].T
    home_only = np.flatnonzero(p.home_only)
    if len(home_only):
        op = p.operator[home_only][None, :]
        cur_reg = np.where(reviewer, p.registration[cur], -1)
        local = (who.origin == Origin.LOCAL)[:, None]
        available[:, home_only] &= (local & (who.home[:, None] == op)) | (cur_reg[:, None] == op)
    available[np.arange(len(kg))[reviewer], cur[reviewer]] = True
    return available


def reference_attention(state: State, kg: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Consideration weights of the base year (n x P): the base year's promotion reaches arriving
    projects of the promoted sector-segments; no platform, no referral. The arrival constants are
    calibrated with it in place."""
    p, econ = state.parks, state.config.economy
    promoted = (state.calibration.base_promoted[p.registration][:, kg].T
                & (current < 0)[:, None])
    return np.where(promoted, state.config.competition.attention_promoted, econ.attention_base)
