"""What happens in a step, as functions of the model: arrivals, reviews, choices, strategies.

Every draw comes from one of the model's named streams (``arrivals``, ``reviews``, ``choices``,
``strategy``), so scenarios that differ in rules still share their draws (common random numbers).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sim.rules import accounts
from sim.model.world import SEGMENTS
from sim.rules.choice import nested_probabilities, ration_land, sample_choices
from sim.rules.economy import friction, park_offers
from sim.model.units import ORIGINS, Units, new_units

if TYPE_CHECKING:
    from sim.model import CircleModel

LOCAL, WUHAN, OUTSIDE = range(3)
Q = 4


@dataclasses.dataclass
class StepEvents:
    """What the step's decisions did, for the tables (arrays over events)."""

    unit_id: np.ndarray
    kg: np.ndarray
    origin: np.ndarray
    from_city: np.ndarray     # city index; -1 outside / unknown
    to_park: np.ndarray       # park index; -1 left the circle
    output: np.ndarray
    is_arrival: np.ndarray
    relocation_cost: float = 0.0


def empty_step() -> StepEvents:
    e = np.zeros(0, dtype=np.int64)
    return StepEvents(e, e, e, e, e, np.zeros(0), np.zeros(0, bool))


def merge_step(a: StepEvents, b: StepEvents) -> StepEvents:
    fields = [f.name for f in dataclasses.fields(StepEvents) if f.name != "relocation_cost"]
    merged = {f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in fields}
    return StepEvents(**merged, relocation_cost=a.relocation_cost + b.relocation_cost)


def kg_index(units: Units) -> np.ndarray:
    return units.sector.astype(np.int64) * len(SEGMENTS) + units.segment


# ----------------------------------------------------------------------------- utilities
def value_shares(model: "CircleModel", shares: accounts.Shares) -> np.ndarray:
    """Share of a unit's value a city keeps at each park, relative to its own park (C x P)."""
    lam, tau = model.config.competition.promotion_weight_gdp, model.config.economy.tax_rate
    return (lam * shares.credited + tau * shares.tax) / (lam + tau)


def attention(model: "CircleModel", kg: np.ndarray, origin: np.ndarray, home: np.ndarray,
              current: np.ndarray, settings, vshare: np.ndarray) -> np.ndarray:
    """How strongly each decider considers each park (n x P), relative to nothing special.

    Promotion reaches a city's targeted projects; the shared platform shows projects every park;
    an agreement park's operator refers its own projects there, an enclave's source in proportion
    to the value it keeps (so sharing raises referrals).
    """
    p, econ, comp = model.parks, model.config.economy, model.config.competition
    arrival = current < 0
    att = np.full((len(kg), p.n), econ.attention_base)
    if model.config.competition.active:
        promoted = settings.promoted[p.registration][:, kg].T
        att = np.where(promoted & arrival[:, None], comp.attention_promoted, att)
    if settings.platform:
        shown = ~settings.excluded[p.registration]
        att = np.where(shown[None, :] & arrival[:, None],
                       np.maximum(att, model.config.policies.shared_platform.attention), att)
    cur_reg = np.where(arrival, -1, p.registration[np.maximum(current, 0)])
    core = model.world.core
    for j in np.flatnonzero(p.kind != 0):
        op = p.operator[j]
        own = ((origin == WUHAN) & (op == core)) | ((origin == LOCAL) & (home == op)) | (cur_reg == op)
        if p.kind[j] == 2:   # park-within-park: the zone's attraction system
            own = (origin == WUHAN) | (origin == OUTSIDE) | (cur_reg == op)
            mult = 1 + p.referral_strength[j]
        else:
            mult = 1 + p.referral_strength[j] * vshare[op, j]
        att[:, j] *= np.where(own, mult, 1.0)
    return att


def utilities(model: "CircleModel", kg: np.ndarray, origin: np.ndarray, home: np.ndarray,
              current: np.ndarray, stay_subsidy: np.ndarray, settings) -> tuple[np.ndarray, np.ndarray]:
    """Systematic utilities (n x P) and availability of every park for each decider.

    Arrivals (current = -1) use the arrival constants; reviewers the reviewer constants, pay the
    relocation cost to move and keep their running subsidy contract if they stay.
    """
    m, p, econ = model, model.parks, model.config.economy
    terms, t = m.current_terms, m.t
    offers = park_offers(settings, p, t)
    fric = (friction(settings, p, m.config.policies.investment_map.approval_friction)
            if m.config.switches.investment_map else np.zeros_like(offers))
    fric = np.where((current >= 0)[:, None], 0.0, fric[kg])   # only new projects need approval
    reviewer = current >= 0
    rows = np.arange(len(kg))
    q = terms.q[kg]
    margin = 1 - terms.cost[kg] + offers[kg] - fric
    cur = np.maximum(current, 0)
    rent = np.where(t < p.rent_end, p.rent_subsidy, 0.0)      # reverse enclaves' rent support
    stay_margin = 1 - terms.cost[kg, cur] + stay_subsidy + rent[cur]
    margin[rows[reviewer], cur[reviewer]] = stay_margin[reviewer]
    sigma = m.sigma[kg][:, None]
    delta = np.where(reviewer[:, None], m.delta_review[kg][:, p.city], m.delta_arrival[kg][:, p.city])
    moving = reviewer[:, None] & (np.arange(p.n)[None, :] != current[:, None])
    u = delta + q * margin / sigma - moving * (econ.relocation_cost * q / sigma
                                               + m.switching_cost[kg][:, None])
    shares = accounts.share_matrices(p, t, m.world.n_cities,
                                     m.config.policies.enclave.credited_double_count)
    att = attention(m, kg, origin, home, current, settings, value_shares(m, shares))
    u += np.log(att / econ.attention_base)
    k, g = kg // len(SEGMENTS), kg % len(SEGMENTS)
    available = p.open_at(t)[None, :] & p.sector_ok[:, k].T & p.segment_ok[:, g].T
    cur_reg = np.where(reviewer, p.registration[cur], -1)
    belongs = ((origin == LOCAL) & (home == p.operator[:, None])).T | (cur_reg[:, None] == p.operator[None, :])
    available &= ~p.home_only[None, :] | belongs
    available[rows[reviewer], cur[reviewer]] = True
    return u, available


# ----------------------------------------------------------------------------- units
def retire_units(model: "CircleModel") -> "StepEvents":
    """Units close or leave at the exit hazard (draws from the ``reviews`` stream)."""
    u = model.units
    gone = model.streams["reviews"].random(len(u)) < model.p_exit
    events = StepEvents(u.unit_id[gone], kg_index(u)[gone], u.origin[gone].astype(np.int64),
                        model.parks.city[u.park[gone]].astype(np.int64),
                        np.full(gone.sum(), -1, np.int64), u.output[gone], np.zeros(gone.sum(), bool))
    model.units = u.select(~gone)
    return events


def draw_arrivals(model: "CircleModel") -> Units:
    """New projects: Poisson counts per sector-segment, origin, home city and productivity."""
    rng, econ, w = model.streams["arrivals"], model.config.economy, model.world
    counts = rng.poisson(model.arrivals_now())
    kg = np.repeat(np.arange(model.kg), counts)
    n = len(kg)
    shares = np.array([econ.origin_shares[o] for o in ORIGINS])
    origin = rng.choice(len(ORIGINS), size=n, p=shares / shares.sum())
    home_p = model.base_counts[kg] / model.base_counts[kg].sum(axis=1, keepdims=True)
    home = (home_p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    home = np.where(origin == LOCAL, np.minimum(home, w.n_cities - 1),
                    np.where(origin == WUHAN, w.core, -1))
    sd = model.config.world.productivity_sd
    a = model.mean_productivity.ravel()[kg] * rng.lognormal(-0.5 * sd**2, sd, n)
    ids = model.next_id + np.arange(n)
    model.next_id += n
    return new_units(ids, kg // len(SEGMENTS), kg % len(SEGMENTS), a, origin, home)


def choose(model: "CircleModel", kg, origin, home, current, stay_sub, need_per_a, prod):
    """Deciders choose at once; full parks reject in random order and rejected units choose again.

    Returns the chosen park per decider (-1 = outside option; a reviewer rejected everywhere
    stays where it is).
    """
    rng, p = model.streams["choices"], model.parks
    u, available = utilities(model, kg, origin, home, current, stay_sub, model.settings)
    probs = nested_probabilities(u, p.city, model.world.n_cities,
                                 model.config.economy.nest_parameter, available)
    pick = sample_choices(probs, rng.random(len(kg)))
    pick = np.where(pick == p.n, -1, pick)
    free = p.capacity - model.land_used()
    rounds = model.config.economy.rejection_rounds
    pending = (pick >= 0) & (pick != current)          # placements that need land
    for round_ in range(rounds + 1):
        need = np.where(pending, need_per_a[np.arange(len(kg)), np.maximum(pick, 0)] * prod, 0.0)
        ok = ration_land(np.where(pending, pick, -1), need, free, rng.random(len(kg)))
        taken = pending & ok
        free = free - np.bincount(np.maximum(pick, 0), weights=np.where(taken, need, 0.0),
                                  minlength=p.n)
        rejected = pending & ~ok
        if not rejected.any():
            break
        if round_ == rounds:   # out of rounds: arrivals stay out, reviewers stay put
            pick[rejected] = np.where(current[rejected] >= 0, current[rejected], -1)
            break
        idx = np.flatnonzero(rejected)
        available[idx] &= (free > 1e-9)[None, :]
        available[idx, pick[idx]] = False
        keep_cur = current[idx] >= 0
        available[idx[keep_cur], current[idx[keep_cur]]] = True
        pr = nested_probabilities(u[idx], p.city, model.world.n_cities,
                                  model.config.economy.nest_parameter, available[idx])
        redraw = sample_choices(pr, rng.random(len(idx)))
        pick[idx] = np.where(redraw == p.n, -1, redraw)
        pending = np.zeros_like(pending)
        pending[idx] = (pick[idx] >= 0) & (pick[idx] != current[idx])
    return pick


def decide_locations(model: "CircleModel") -> StepEvents:
    """Arrivals and reviewing units choose a park (or the outside option) and are placed."""
    u, p, t = model.units, model.parks, model.t
    reviewing = model.streams["reviews"].random(len(u)) < model.p_review
    reviewing |= (p.kind[u.park] == 3) & (p.rent_end[u.park] == t)   # rent subsidy ends: reconsider
    arrivals = draw_arrivals(model)
    rev = u.select(reviewing)
    dec = rev.extend(arrivals)
    kg = kg_index(dec)
    current = np.concatenate([rev.park.astype(np.int64), np.full(len(arrivals), -1)])
    stay_sub = np.where(dec.subsidy_until > t, dec.subsidy_rate, 0.0)
    land_per_output = model.world.land_per_output.ravel()[kg]
    need_per_a = land_per_output[:, None] * model.current_terms.q[kg]
    pick = choose(model, kg, dec.origin, dec.home, current, stay_sub, need_per_a, dec.productivity)
    retention = retain_leavers(model, dec, kg, current, pick, stay_sub)
    pick = np.where(retention > 0, current, pick)
    return place(model, dec, kg, current, pick, reviewing, len(rev), retention)


def retain_leavers(model: "CircleModel", dec: Units, kg, current, pick, stay_sub) -> np.ndarray:
    """Cities counter-offer units that announce they will leave (retention subsidies).

    For a unit leaving park a of city c for park b, the city picks the rate s maximising
    ``P_stay(s) (L v_c(a) − L_s s) + (1 − P_stay(s)) L v_c(b)``, with P_stay the probability that
    staying, its utility raised by s q_a / σ, now beats the move the unit chose (a binary logit
    conditioned on the unit having preferred the move). What the city keeps when the unit moves,
    v_c(b), includes its agreed credit and tax shares, so sharing lowers retention spending.
    Returns the retention rate accepted by each decider (0 if none).
    """
    comp, p = model.config.competition, model.parks
    leaving = (current >= 0) & (pick != current)
    if not (comp.active and comp.retention) or not leaving.any():
        return np.zeros(len(kg))
    idx = np.flatnonzero(leaving)
    c = p.registration[current[idx]]
    ceiling = comp.subsidy_max
    if model.config.switches.subsidy_cap:
        from sim.model.city_offers import out_of_scheme
        free = np.array([out_of_scheme(city) for city in model.cities])
        ceiling = np.where(free[c], comp.subsidy_max, min(model.config.policies.subsidy_cap.cap, ceiling))
    grid = np.linspace(0.0, 1.0, comp.subsidy_grid_points)[None, :] * np.broadcast_to(ceiling, len(idx))[:, None]
    u, _ = utilities(model, kg[idx], dec.origin[idx], dec.home[idx], current[idx], stay_sub[idx],
                     model.settings)
    rows = np.arange(len(idx))
    u_stay, u_move = u[rows, current[idx]], np.where(pick[idx] >= 0, u[rows, np.maximum(pick[idx], 0)], 0.0)
    q_stay = model.current_terms.q[kg[idx], current[idx]]
    # the unit revealed that it prefers b: P(stay | offer s, chose b) = (P(s) − P(0)) / (1 − P(0))
    binary = 1 / (1 + np.exp(u_move[:, None] - u_stay[:, None] - grid * q_stay[:, None] / model.sigma[kg[idx]][:, None]))
    p_stay = (binary - binary[:, :1]) / np.maximum(1 - binary[:, :1], 1e-12)
    from sim.model.city_offers import city_values
    values = city_values(model, np.arange(model.kg))
    v_here = values[c, kg[idx], current[idx]]
    v_there = np.where(pick[idx] >= 0, values[c, kg[idx], np.maximum(pick[idx], 0)], 0.0)
    payoff = p_stay * (model.life * v_here[:, None] - model.sub_life * grid) + (1 - p_stay) * model.life * v_there[:, None]
    best = np.argmax(payoff, axis=1)
    rate, chance = grid[rows, best], p_stay[rows, best]
    accepted = (rate > 0) & (model.streams["choices"].random(len(idx)) < chance)
    out = np.zeros(len(kg))
    out[idx] = np.where(accepted, rate, 0.0)
    return out


def place(model: "CircleModel", dec: Units, kg, current, pick, reviewing, n_rev,
          retention: np.ndarray) -> StepEvents:
    """Apply the choices: leavers go, movers and arrivals take land, contracts are signed."""
    p, t, terms, econ = model.parks, model.t, model.current_terms, model.config.economy
    offers = park_offers(model.settings, p, t)
    years = model.config.competition.subsidy_years
    is_arrival = current < 0
    moved = (pick >= 0) & (pick != current)
    stayed = (pick >= 0) & (pick == current)
    left = (pick < 0) & ~is_arrival
    dest = np.maximum(pick, 0)
    new_output = dec.productivity * terms.q[kg, dest]
    offer_here = offers[kg, dest]
    # placements sign the offer of their new park; stayers may get a better retention offer
    signs = moved & (offer_here > 0)
    retain = stayed & (retention > 0)
    contract = signs | retain
    rate = np.where(retain, retention, offer_here)
    dec.subsidy_rate = np.where(contract, rate, np.where(moved, 0.0, dec.subsidy_rate))
    dec.subsidy_until = np.where(contract, t + int(round(years * Q)), dec.subsidy_until)
    dec.subsidy_payer = np.where(contract, p.registration[dest], dec.subsidy_payer)
    dec.subsidy_retention = np.where(contract, retain, dec.subsidy_retention)
    dec.park = np.where(moved, pick, dec.park).astype(np.int32)
    dec.land = np.where(moved, model.world.land_per_output.ravel()[kg] * new_output, dec.land)
    dec.output = np.where(moved, new_output, dec.output)
    dec.entered = np.where(moved, t, dec.entered)
    from_city = np.where(is_arrival, np.where(dec.origin == WUHAN, model.world.core,
                                              np.where(dec.origin == LOCAL, dec.home, -1)),
                         p.city[np.maximum(current, 0)])
    event = moved | left
    events = StepEvents(dec.unit_id[event], kg[event], dec.origin[event].astype(np.int64),
                        from_city[event].astype(np.int64), np.where(left, -1, pick)[event],
                        np.where(left, dec.output, new_output)[event], is_arrival[event],
                        relocation_cost=float(econ.relocation_cost * new_output[moved & ~is_arrival].sum()))
    staying_units = model.units.select(~reviewing)
    keep = (~is_arrival & ~left) | (is_arrival & moved)
    model.units = staying_units.extend(dec.select(keep))
    return events
