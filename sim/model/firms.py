"""Firms' decisions in a step: exits, new projects, reviews, location choices and placement.

Every draw comes from one of the model's named streams (``arrivals``, ``reviews``, ``choices``),
so scenarios that differ in rules still share their draws (common random numbers).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sim.model.city import retention_offers
from sim.model.units import Units, new_units
from sim.model.utility import Choosers, kg_index, utilities
from sim.rules.choice import nested_probabilities, ration_land, sample_choices, second_choice
from sim.rules.constants import ORIGINS, SEGMENTS, STEPS_PER_YEAR, Origin, ParkKind
from sim.rules.economy import park_offers
from sim.rules.trend import exit_hazard

if TYPE_CHECKING:
    from sim.model.circle import CircleModel


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


# ----------------------------------------------------------------------------- units
def retire_units(model: CircleModel) -> StepEvents:
    """Units close or leave at the exit hazard, raised by the trend's closures in a circle that
    declines faster than units leave (draws from the ``reviews`` stream)."""
    u, cal = model.units, model.calibration
    gone = model.streams["reviews"].random(len(u)) < exit_hazard(cal.p_exit, cal.decline_exit)
    events = StepEvents(u.unit_id[gone], kg_index(u)[gone], u.origin[gone].astype(np.int64),
                        model.parks.city[u.park[gone]].astype(np.int64),
                        np.full(gone.sum(), -1, np.int64), u.output[gone],
                        np.zeros(gone.sum(), bool))
    model.units = u.select(~gone)
    return events


def draw_arrivals(model: CircleModel) -> Units:
    """New projects: Poisson counts per sector-segment, origin, home city and productivity."""
    rng, econ, w = model.streams["arrivals"], model.config.economy, model.world
    cal = model.calibration
    counts = rng.poisson(model.arrivals_now())
    kg = np.repeat(np.arange(model.kg), counts)
    n = len(kg)
    shares = np.array([econ.origin_shares[o] for o in ORIGINS])
    origin = rng.choice(len(ORIGINS), size=n, p=shares / shares.sum())
    home_p = cal.base_counts[kg] / cal.base_counts[kg].sum(axis=1, keepdims=True)
    home = (home_p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    home = np.where(origin == Origin.LOCAL, np.minimum(home, w.n_cities - 1),
                    np.where(origin == Origin.WUHAN, w.core, -1))
    sd = model.config.world.productivity_sd
    a = cal.mean_productivity.ravel()[kg] * rng.lognormal(-0.5 * sd**2, sd, n)
    ids = model.next_id + np.arange(n)
    model.next_id += n
    return new_units(ids, kg // len(SEGMENTS), kg % len(SEGMENTS), a, origin, home)


def choose(model: CircleModel, who: Choosers, land_per_a: np.ndarray,
           productivity: np.ndarray,
           utility: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Deciders choose at once; full parks reject in random order and rejected units take their
    next best park among those not full, with the tastes they chose with
    (:func:`sim.rules.choice.second_choice`).

    Args:
        who: the deciders.
        land_per_a: n x P km² a decider needs per unit of productivity at each park.
        productivity: n, each decider's productivity A.
        utility: the deciders' ``utilities`` under the settings in force, if already computed
            (availability is copied, not changed).
    Returns:
        The chosen park per decider (-1 = outside option; a reviewer rejected everywhere stays
        where it is).
    """
    rng, p = model.streams["choices"], model.parks
    kg, current = who.kg, who.current
    u, available = utility or utilities(model, who, model.settings)
    available = available.copy()       # rejections narrow it
    probs = nested_probabilities(u, p.city, model.world.n_cities,
                                 model.config.economy.nest_parameter, available)
    pick = sample_choices(probs, rng.random(len(kg)))
    pick = np.where(pick == p.n, -1, pick)
    free = p.capacity - model.land_used()
    rounds = model.config.economy.rejection_rounds
    pending = (pick >= 0) & (pick != current)          # placements that need land
    for round_ in range(rounds + 1):
        need = np.where(pending, land_per_a[np.arange(len(kg)), np.maximum(pick, 0)] * productivity,
                        0.0)
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
        after = nested_probabilities(u[idx], p.city, model.world.n_cities,
                                     model.config.economy.nest_parameter, available[idx])
        redraw = sample_choices(second_choice(probs[idx], after), rng.random(len(idx)))
        probs[idx] = after
        pick[idx] = np.where(redraw == p.n, -1, redraw)
        pending = np.zeros_like(pending)
        pending[idx] = (pick[idx] >= 0) & (pick[idx] != current[idx])
    return pick


def decide_locations(model: CircleModel) -> StepEvents:
    """Arrivals and reviewing units choose a park (or the outside option) and are placed."""
    u, p, t = model.units, model.parks, model.steps
    reviewing = model.streams["reviews"].random(len(u)) < model.calibration.p_review
    # a reverse enclave's rent subsidy ends: its units reconsider
    reviewing |= (p.kind[u.park] == ParkKind.REVERSE_ENCLAVE) & (p.rent_end[u.park] == t)
    arrivals = draw_arrivals(model)
    rev = u.select(reviewing)
    dec = rev.extend(arrivals)
    who = Choosers(kg=kg_index(dec), origin=dec.origin, home=dec.home,
                   current=np.concatenate([rev.park.astype(np.int64), np.full(len(arrivals), -1)]),
                   stay_subsidy=np.where(dec.subsidy_until > t, dec.subsidy_rate, 0.0))
    land_per_output = model.world.land_per_output.ravel()[who.kg]
    land_per_a = land_per_output[:, None] * model.current_terms.q[who.kg]
    utility = utilities(model, who, model.settings)
    pick = choose(model, who, land_per_a, dec.productivity, utility)
    retention = retention_offers(model, who, pick, utility[0])
    pick = np.where(retention > 0, who.current, pick)
    return place(model, dec, who, pick, reviewing, retention)


def place(model: CircleModel, dec: Units, who: Choosers, pick: np.ndarray,
          reviewing: np.ndarray, retention: np.ndarray) -> StepEvents:
    """Apply the choices: leavers go, movers and arrivals take land, contracts are signed.

    Args:
        dec: the deciders' units (reviewers, then arrivals), in the order of ``who``.
        pick: chosen park per decider (-1: outside); ``reviewing``: the reviewers among
            ``model.units``; ``retention``: the retention rate each decider accepted (0: none).
    """
    kg, current = who.kg, who.current
    p, t, terms, econ = model.parks, model.steps, model.current_terms, model.config.economy
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
    dec.subsidy_until = np.where(
        contract, t + int(round(years * STEPS_PER_YEAR)), dec.subsidy_until
    )
    dec.subsidy_payer = np.where(contract, p.attractor(t)[dest], dec.subsidy_payer)
    dec.subsidy_retention = np.where(contract, retain, dec.subsidy_retention)
    dec.park = np.where(moved, pick, dec.park).astype(np.int32)
    dec.land = np.where(moved, model.world.land_per_output.ravel()[kg] * new_output, dec.land)
    dec.output = np.where(moved, new_output, dec.output)
    dec.entered = np.where(moved, t, dec.entered)
    from_city = np.where(is_arrival, np.where(dec.origin == Origin.WUHAN, model.world.core,
                                              np.where(dec.origin == Origin.LOCAL, dec.home, -1)),
                         p.city[np.maximum(current, 0)])
    out = pick < 0                                   # arrivals that stay out and leavers
    np.add.at(model.outside_mass, kg[out], dec.productivity[out])
    event = moved | left
    events = StepEvents(
        dec.unit_id[event],
        kg[event],
        dec.origin[event].astype(np.int64),
        from_city[event].astype(np.int64),
        np.where(left, -1, pick)[event],
        np.where(left, dec.output, new_output)[event],
        is_arrival[event],
        relocation_cost=float(econ.relocation_cost * new_output[moved & ~is_arrival].sum()),
    )
    staying_units = model.units.select(~reviewing)
    keep = (~is_arrival & ~left) | (is_arrival & moved)
    model.units = staying_units.extend(dec.select(keep))
    return events
