"""What happens in a step, as functions of the model: arrivals, reviews, choices, strategies.

Every draw comes from one of the model's named streams (``arrivals``, ``reviews``, ``choices``,
``strategy``), so scenarios that differ in rules still share their draws (common random numbers).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sim import accounts
from sim.calibration import SEGMENTS
from sim.choice import nested_probabilities, ration_land, sample_choices
from sim.economy import friction, park_offers
from sim.units import ORIGINS, Units, new_units

if TYPE_CHECKING:
    from sim.agents import City
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
    reviewer = current >= 0
    rows = np.arange(len(kg))
    q = terms.q[kg]
    margin = 1 - terms.cost[kg] + offers[kg] - fric[kg]
    cur = np.maximum(current, 0)
    stay_margin = 1 - terms.cost[kg, cur] + stay_subsidy
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
    growth = (1 + econ.growth_rate_annual) ** (model.t / Q)
    counts = rng.poisson(model.arrival_rate * growth)
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
        cheats = np.array([city.cheating for city in model.cities])
        ceiling = np.where(cheats[c], comp.subsidy_max, min(model.config.policies.subsidy_cap.cap, ceiling))
    grid = np.linspace(0.0, 1.0, comp.subsidy_grid_points)[None, :] * np.broadcast_to(ceiling, len(idx))[:, None]
    u, _ = utilities(model, kg[idx], dec.origin[idx], dec.home[idx], current[idx], stay_sub[idx],
                     model.settings)
    rows = np.arange(len(idx))
    u_stay, u_move = u[rows, current[idx]], np.where(pick[idx] >= 0, u[rows, np.maximum(pick[idx], 0)], 0.0)
    q_stay = model.current_terms.q[kg[idx], current[idx]]
    # the unit revealed that it prefers b: P(stay | offer s, chose b) = (P(s) − P(0)) / (1 − P(0))
    binary = 1 / (1 + np.exp(u_move[:, None] - u_stay[:, None] - grid * q_stay[:, None] / model.sigma[kg[idx]][:, None]))
    p_stay = (binary - binary[:, :1]) / np.maximum(1 - binary[:, :1], 1e-12)
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


# ----------------------------------------------------------------------------- cities
def decider_groups(model: "CircleModel", kgs: np.ndarray):
    """Representative deciders of the next step for the sector-segments ``kgs``.

    Arrivals by origin (local projects by home city, Wuhan, outside) and reviewers by current
    park, each with its expected productivity mass (the cities' forecast of the step's decisions).
    """
    w, econ, p = model.world, model.config.economy, model.parks
    c = w.n_cities
    u = model.units
    ukg = kg_index(u)
    mass = np.zeros((model.kg, p.n))
    np.add.at(mass, (ukg, u.park), u.productivity)
    rows = []
    for kg in kgs:
        lam = model.arrival_rate[kg] * model.mean_productivity.ravel()[kg]
        home_p = model.base_counts[kg] / model.base_counts[kg].sum()
        for h in range(c):
            rows.append((kg, LOCAL, h, -1, lam * econ.origin_shares["local"] * home_p[h]))
        rows.append((kg, WUHAN, w.core, -1, lam * econ.origin_shares["wuhan"]))
        rows.append((kg, OUTSIDE, -1, -1, lam * econ.origin_shares["outside"]))
        for j in np.flatnonzero(mass[kg] > 0):
            rows.append((kg, LOCAL, p.registration[j], j, model.p_review * mass[kg, j]))
    arr = np.array(rows, dtype=float)
    return (arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64),
            arr[:, 3].astype(np.int64), arr[:, 4])


def city_values(model: "CircleModel", kgs: np.ndarray) -> np.ndarray:
    """Value to each city of a yuan of value added at each park (C x len(kgs) x P):
    λ_Y · credited share + τ · tax share + land rent to the landlord city."""
    p, t = model.parks, model.t
    shares = accounts.share_matrices(p, t, model.world.n_cities,
                                     model.config.policies.enclave.credited_double_count)
    lam, tau = model.config.competition.promotion_weight_gdp, model.config.economy.tax_rate
    landlord = np.where(p.kind == 3, p.operator, p.city)
    rent = np.zeros((model.world.n_cities, p.n))
    rent[landlord, np.arange(p.n)] = model.current_terms.land_price
    a = model.world.land_per_output.ravel()[kgs]
    return (lam * shares.credited + tau * shares.tax)[:, None, :] + rent[:, None, :] * a[None, :, None]


def best_offers(model: "CircleModel", city: int, kgs: np.ndarray, settings, ceiling: float):
    """Best-response offers of one city for ``kgs`` (rivals fixed) and their expected values."""
    from sim.strategy import best_response
    comp = model.config.competition
    kg, origin, home, current, weight = decider_groups(model, kgs)
    u, available = utilities(model, kg, origin, home, current, np.zeros(len(kg)), settings)
    values = city_values(model, kgs)[city]
    pays = model.parks.registration == city
    grid = np.linspace(0.0, ceiling, comp.subsidy_grid_points)
    best = np.zeros(len(kgs))
    gains = np.zeros(len(kgs))
    for i, target in enumerate(kgs):
        rows = kg == target
        s, v = best_response(u[rows], available[rows], weight[rows], model.current_terms.q[target],
                             model.sigma[target], values[i], pays, settings.offers[city, target],
                             grid, model.parks.city, model.world.n_cities,
                             model.config.economy.nest_parameter, model.life, model.sub_life)
        best[i], gains[i] = s, v.max()
    return best, gains


def strategise(model: "CircleModel", city: "City") -> None:
    """Damped best response on subsidy offers, within the budget and (if on) the subsidy cap."""
    cfg, comp, s = model.config, model.config.competition, model.settings
    if not comp.active:
        return
    kgs = np.flatnonzero(city.targets)
    offers = np.zeros(model.kg)
    if len(kgs):
        br, value_free = best_offers(model, city.index, kgs, s, comp.subsidy_max)
        if cfg.switches.subsidy_cap:
            cap = cfg.policies.subsidy_cap.cap
            br_cap, value_cap = best_offers(model, city.index, kgs, s, min(cap, comp.subsidy_max))
            gain = Q * float((value_free - value_cap).sum())
            years_left = max(cfg.steps - model.t, 0) / Q
            city.cheating = not city.detected and _breaks(model, city, gain, years_left)
            br = br if city.cheating or city.detected else br_cap
        offers[kgs] = np.clip(s.offers[city.index, kgs] + comp.damping * (br - s.offers[city.index, kgs]),
                              0.0, comp.subsidy_max)
    s.offers[city.index] = _within_budget(model, city.index, offers)


def _breaks(model: "CircleModel", city: "City", gain_per_year: float, years_left: float) -> bool:
    from sim.strategy import breaks_cap
    inflow = model.recorder.shared_inflow[city.index]
    return breaks_cap(gain_per_year, model.config.policies.subsidy_cap.detection_probability_annual,
                      inflow, years_left)


def _within_budget(model: "CircleModel", c: int, offers: np.ndarray) -> np.ndarray:
    """Scale offers so running contracts plus a year of expected new ones fit the budget."""
    from sim.strategy import within_budget
    u, t = model.units, model.t
    running = (u.subsidy_payer == c) & (u.subsidy_until > t)
    committed = float((u.subsidy_rate * u.output)[running].sum())
    kg = kg_index(u)
    here = model.parks.registration[u.park] == c
    expected_new = float(Q * (model.p_review + model.p_exit) * (offers[kg] * u.output)[here].sum())
    budget = model.config.competition.budget_share * model.recorder.fiscal_revenue[c]
    return within_budget(offers, committed, expected_new, budget)


# ----------------------------------------------------------------------------- coordinator
def coordinate(model: "CircleModel") -> None:
    """The coordinator (re)draws the investment map and sets bargained transfers; cap breakers
    are detected at random."""
    cfg = model.config
    detect = model.detection_rng.random(model.world.n_cities)
    p_step = 1 - (1 - cfg.policies.subsidy_cap.detection_probability_annual) ** (1 / Q)
    for city in model.cities:
        if city.cheating and detect[city.index] < p_step:
            city.detected = True
            model.settings.excluded[city.index] = True
    if not cfg.switches.investment_map:
        return
    every = max(int(round(cfg.policies.investment_map.replan_years * Q)), 1)
    if (model.t - 1) % every:
        return
    from sim.coordinator import draw_map
    mapped = draw_map(_planner_scores(model), _land_need(model), _free_land(model),
                      cfg.competition.lead_sectors * len(SEGMENTS),
                      cfg.policies.investment_map.max_cities_per_segment)
    model.settings.mapped = mapped
    if cfg.competition.active:
        model.settings.promoted = mapped.copy()
        for city in model.cities:
            city.targets = mapped[city.index].copy()
    _bargain(model)


def _planner_scores(model: "CircleModel") -> np.ndarray:
    """Firms' attractiveness of each city's own park plus the linkage costs firms ignore."""
    from sim.coordinator import planner_scores
    terms, c = model.current_terms, model.world.n_cities
    q, cost = terms.q[:, :c], terms.cost[:, :c]
    attract = model.delta_arrival + q * (1 - cost) / model.sigma[:, None]
    linkage = -(model.config.economy.distance_cost_per_100km * q * terms.link_km100
                / model.sigma[:, None])
    pol = model.config.policies.investment_map
    return planner_scores(attract.T, linkage.T, pol.spillover_weight, pol.noise_sd, model.map_rng)


def _land_need(model: "CircleModel") -> np.ndarray:
    """Expected km² of new land each sector-segment takes over one plan period."""
    econ, pol = model.config.economy, model.config.policies.investment_map
    steps = pol.replan_years * Q
    q = model.current_terms.q[:, :model.world.n_cities].mean(axis=1)
    return (model.arrival_rate * (1 - econ.outside_share_arrivals) * steps
            * model.mean_productivity.ravel() * q * model.world.land_per_output.ravel())


def _free_land(model: "CircleModel") -> np.ndarray:
    p = model.parks
    free = np.maximum(p.capacity - model.land_used(), 0.0)
    return np.bincount(p.city, weights=free, minlength=model.world.n_cities)


def projected_values(model: "CircleModel", settings) -> np.ndarray:
    """Each city's expected value of one step of decisions in every sector-segment (C)."""
    kgs = np.arange(model.kg)
    kg, origin, home, current, weight = decider_groups(model, kgs)
    u, available = utilities(model, kg, origin, home, current, np.zeros(len(kg)), settings)
    probs = nested_probabilities(u, model.parks.city, model.world.n_cities,
                                 model.config.economy.nest_parameter, available)[:, :-1]
    mass = weight[:, None] * probs * model.current_terms.q[kg]            # n x P
    values = city_values(model, kgs)                                      # C x KG x P
    offers = park_offers(settings, model.parks, model.t)[kg]              # n x P
    pays = model.parks.registration[None, :] == np.arange(model.world.n_cities)[:, None]
    gross = np.einsum("np,cnp->c", mass, values[:, kg, :])
    paid = np.einsum("np,cp->c", mass * offers, pays)
    return model.life * gross - model.sub_life * paid


def _bargain(model: "CircleModel") -> None:
    """Compensation so that no city expects to do worse than under competition."""
    from sim.coordinator import compensation
    from sim.economy import Settings
    from sim.strategy import target_sectors
    cfg = model.config
    comp_targets = np.repeat(target_sectors(model.world.hotness, model.world.advantage,
                                            cfg.competition.homogenisation,
                                            cfg.competition.lead_sectors), len(SEGMENTS), axis=1)
    rival = Settings(offers=model.settings.offers.copy(), promoted=comp_targets, mapped=None,
                     platform=False, excluded=model.settings.excluded.copy())
    if cfg.competition.active:
        for _ in range(2):   # a short damped best-response path as the competition benchmark
            for c in range(model.world.n_cities):
                kgs = np.flatnonzero(comp_targets[c])
                br, _ = best_offers(model, c, kgs, rival, cfg.competition.subsidy_max)
                rival.offers[c, kgs] += cfg.competition.damping * (br - rival.offers[c, kgs])
    coordinated = projected_values(model, model.settings)
    competing = projected_values(model, rival)
    model.compensation = Q * compensation(coordinated, competing,
                                          cfg.policies.investment_map.bargaining_premium)
