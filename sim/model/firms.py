"""The production units as a population: columns (:class:`sim.model.units.Units`) that retire,
arrive, choose a park and are placed, all at once.

Every draw comes from one of the population's streams (``arrivals``, ``reviews``, ``choices``),
so scenarios that differ in rules still share their draws (common random numbers).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.model.retention import retention_offers
from sim.model.state import State
from sim.model.units import Units, new_units
from sim.model.utility import Choosers, utilities, utilities_by_kind
from sim.rules.choice import nested_probabilities, ration_land, sample_choices, second_choice
from sim.rules.constants import (
    NO_LAND_LEFT_KM2,
    ORIGINS,
    STEPS_PER_YEAR,
    Origin,
    ParkKind,
    sector_and_segment,
)
from sim.rules.economy import park_offers
from sim.rules.trend import exit_hazard


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


class Firms:
    """The production units (firms, plants, projects) as columns, with their decisions.

    Decisions are taken for all deciding units at once; Python loops run over cities, parks or
    sectors, never over units (docs/ARCHITECTURE.md says why units are not Mesa agents).

    Args:
        units: the base-year units.
        outside_mass: KG productivity mass of projects producing outside the circle.
        arrivals, reviews, choices: the streams of new projects, reviews and exits, and choices.
    """

    def __init__(self, units: Units, outside_mass: np.ndarray, arrivals: np.random.Generator,
                 reviews: np.random.Generator, choices: np.random.Generator) -> None:
        self.units = units
        self.next_id = len(units)
        self.outside_mass = outside_mass
        self.arrivals, self.reviews, self.choices = arrivals, reviews, choices

    def retire(self, state: State) -> StepEvents:
        """Units close or leave at the exit hazard, raised by the trend's closures in a circle
        that declines faster than units leave (draws from the ``reviews`` stream); projects
        producing outside the circle close at the units' own hazard."""
        units, cal = self.units, state.calibration
        p_exit = cal.p_exit
        gone = self.reviews.random(len(units)) < exit_hazard(p_exit, cal.decline_exit)
        events = StepEvents(units.unit_id[gone], units.kg[gone],
                            units.origin[gone].astype(np.int64),
                            state.parks.city[units.park[gone]].astype(np.int64),
                            np.full(gone.sum(), -1, np.int64), units.output[gone],
                            np.zeros(gone.sum(), bool))
        self.units = units.select(~gone)
        self.outside_mass *= 1 - p_exit
        return events

    def arrive(self, state: State) -> Units:
        """New projects: Poisson counts per sector-segment, origin, home city and productivity."""
        rng, econ, w, cal = self.arrivals, state.config.economy, state.world, state.calibration
        counts = rng.poisson(state.arrivals_now())
        kg = np.repeat(np.arange(state.kg), counts)
        n = len(kg)
        shares = np.array([econ.origin_shares[o] for o in ORIGINS])
        origin = rng.choice(len(ORIGINS), size=n, p=shares / shares.sum())
        home_p = cal.base_counts[kg] / cal.base_counts[kg].sum(axis=1, keepdims=True)
        home = (home_p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
        home = np.where(origin == Origin.LOCAL, np.minimum(home, w.n_cities - 1),
                        np.where(origin == Origin.WUHAN, w.core, -1))
        sd = state.config.world.productivity_sd
        a = cal.mean_productivity.ravel()[kg] * rng.lognormal(-0.5 * sd**2, sd, n)
        ids = self.next_id + np.arange(n)
        self.next_id += n
        return new_units(ids, *sector_and_segment(kg), a, origin, home)

    def relocate(self, state: State) -> StepEvents:
        """Reviewing units and arrivals choose a park (or the outside option), cities
        counter-offer leavers, and the choices are placed."""
        units, p, t = self.units, state.parks, state.step
        reviewing = self.reviews.random(len(units)) < state.calibration.p_review
        # a reverse enclave's rent subsidy ends: its units reconsider
        reviewing |= ((p.kind[units.park] == ParkKind.REVERSE_ENCLAVE)
                      & (p.rent_end[units.park] == t))
        arrivals = self.arrive(state)
        rev = units.select(reviewing)
        dec = rev.extend(arrivals)
        who = Choosers(kg=dec.kg, origin=dec.origin, home=dec.home,
                       current=np.concatenate([rev.park.astype(np.int64),
                                               np.full(len(arrivals), -1)]),
                       stay_subsidy=np.where(dec.subsidy_until > t, dec.subsidy_rate, 0.0))
        land_per_output = state.world.land_per_output.ravel()[who.kg]
        land_per_a = land_per_output[:, None] * state.terms.q[who.kg]
        utility = utilities_by_kind(state, who, state.settings)
        pick = self.choose(state, who, land_per_a, dec.productivity, utility)
        retention = retention_offers(state, who, pick, self.choices, utility[0])
        pick = np.where(retention > 0, who.current, pick)
        return self.place(state, dec, who, pick, reviewing, retention)

    def choose(self, state: State, who: Choosers, land_per_a: np.ndarray,
               productivity: np.ndarray,
               utility: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Deciders choose at once; full parks reject in random order and rejected units take
        their next best park among those not full, with the tastes they chose with
        (:func:`sim.rules.choice.second_choice`).

        Args:
            who: the deciders.
            land_per_a: n x P km² a decider needs per unit of productivity at each park.
            productivity: n, each decider's productivity A.
            utility: the deciders' ``utilities`` under the settings in force, if already computed
                (availability is copied, not changed).
        Returns:
            The chosen park per decider (-1 = outside option; a reviewer rejected everywhere
            stays where it is).
        """
        rng, p, econ = self.choices, state.parks, state.config.economy
        kg, current = who.kg, who.current
        u, available = utility or utilities(state, who, state.settings)
        available = available.copy()       # rejections narrow it
        probs = nested_probabilities(u, p.city, state.world.n_cities, econ.nest_parameter,
                                     available)
        pick = sample_choices(probs, rng.random(len(kg)))
        pick = np.where(pick == p.n, -1, pick)
        free = p.capacity - state.land_used()
        rounds = econ.rejection_rounds
        pending = (pick >= 0) & (pick != current)          # placements that need land
        for round_ in range(rounds + 1):
            need = np.where(pending,
                            land_per_a[np.arange(len(kg)), np.maximum(pick, 0)] * productivity,
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
            pending = self._choose_again(state, u, available, probs, pick, current, free,
                                         rejected)
        return pick

    def _choose_again(self, state: State, u: np.ndarray, available: np.ndarray,
                      probs: np.ndarray, pick: np.ndarray, current: np.ndarray,
                      free: np.ndarray, rejected: np.ndarray) -> np.ndarray:
        """Deciders turned away take their next best park among those with land left (a
        reviewer may always stay), with the tastes they chose with; ``available``, ``probs``
        and ``pick`` change in place. Returns the placements that still need land."""
        p = state.parks
        idx = np.flatnonzero(rejected)
        available[idx] &= (free > NO_LAND_LEFT_KM2)[None, :]
        available[idx, pick[idx]] = False
        keep_cur = current[idx] >= 0
        available[idx[keep_cur], current[idx[keep_cur]]] = True
        after = nested_probabilities(u[idx], p.city, state.world.n_cities,
                                     state.config.economy.nest_parameter, available[idx])
        redraw = sample_choices(second_choice(probs[idx], after), self.choices.random(len(idx)))
        probs[idx] = after
        pick[idx] = np.where(redraw == p.n, -1, redraw)
        pending = np.zeros_like(rejected)
        pending[idx] = (pick[idx] >= 0) & (pick[idx] != current[idx])
        return pending

    def place(self, state: State, dec: Units, who: Choosers, pick: np.ndarray,
              reviewing: np.ndarray, retention: np.ndarray) -> StepEvents:
        """Apply the choices: leavers go, movers and arrivals take land, contracts are signed.

        Args:
            dec: the deciders' units (reviewers, then arrivals), in the order of ``who``.
            pick: chosen park per decider (-1: outside); ``reviewing``: the reviewers among
                the units; ``retention``: the retention rate each decider accepted (0: none).
        """
        kg, current = who.kg, who.current
        is_arrival = current < 0
        moved = (pick >= 0) & (pick != current)
        left = (pick < 0) & ~is_arrival
        new_output = dec.productivity * state.terms.q[kg, np.maximum(pick, 0)]
        _sign_contracts(state, dec, who, pick, retention)
        dec.park = np.where(moved, pick, dec.park).astype(np.int32)
        dec.land = np.where(moved, state.world.land_per_output.ravel()[kg] * new_output, dec.land)
        dec.output = np.where(moved, new_output, dec.output)
        dec.entered = np.where(moved, state.step, dec.entered)
        out = pick < 0                                   # arrivals that stay out and leavers
        np.add.at(self.outside_mass, kg[out], dec.productivity[out])
        events = _placement_events(state, dec, who, pick, new_output)
        keep = (~is_arrival & ~left) | (is_arrival & moved)
        self.units = self.units.extend(dec, ~reviewing, keep)
        return events

    def update_output(self, state: State) -> None:
        """Recompute every unit's output at its park with the agglomeration of the units as they
        stand now (the location terms of ``state``, whose units are these)."""
        units, terms = self.units, state.location_terms()
        units.output = units.productivity * terms.q[units.kg, units.park]


def _sign_contracts(state: State, dec: Units, who: Choosers, pick: np.ndarray,
                    retention: np.ndarray) -> None:
    """Placements sign the offer of their new park for the contract term; stayers who accepted
    a counter-offer sign it instead; a mover without an offer loses its old contract."""
    kg, current, p, t = who.kg, who.current, state.parks, state.step
    moved = (pick >= 0) & (pick != current)
    stayed = (pick >= 0) & (pick == current)
    dest = np.maximum(pick, 0)
    offer_here = park_offers(state.settings, p, t)[kg, dest]
    signs = moved & (offer_here > 0)
    retain = stayed & (retention > 0)
    contract = signs | retain
    rate = np.where(retain, retention, offer_here)
    years = state.config.competition.subsidy_years
    dec.subsidy_rate = np.where(contract, rate, np.where(moved, 0.0, dec.subsidy_rate))
    dec.subsidy_until = np.where(
        contract, t + int(round(years * STEPS_PER_YEAR)), dec.subsidy_until
    )
    dec.subsidy_payer = np.where(contract, p.attractor(t)[dest], dec.subsidy_payer)
    dec.subsidy_retention = np.where(contract, retain, dec.subsidy_retention)


def _placement_events(state: State, dec: Units, who: Choosers, pick: np.ndarray,
                      new_output: np.ndarray) -> StepEvents:
    """The step's moves, arrivals placed and leavers, for the tables (``dec`` placed)."""
    current, p = who.current, state.parks
    is_arrival = current < 0
    moved = (pick >= 0) & (pick != current)
    left = (pick < 0) & ~is_arrival
    from_city = np.where(is_arrival,
                         np.where(dec.origin == Origin.WUHAN, state.world.core,
                                  np.where(dec.origin == Origin.LOCAL, dec.home, -1)),
                         p.city[np.maximum(current, 0)])
    event = moved | left
    return StepEvents(
        dec.unit_id[event],
        who.kg[event],
        dec.origin[event].astype(np.int64),
        from_city[event].astype(np.int64),
        np.where(left, -1, pick)[event],
        np.where(left, dec.output, new_output)[event],
        is_arrival[event],
        relocation_cost=float(state.config.economy.relocation_cost
                              * new_output[moved & ~is_arrival].sum()),
    )
