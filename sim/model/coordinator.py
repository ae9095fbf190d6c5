"""The circle's coordinator: detects cap breakers, draws the investment map from the state and
bargains the transfers that keep every city at least as well off as under competition.

The optimisation and the transfer rule are pure functions in :mod:`sim.rules.planning`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import mesa
import numpy as np

from sim.model.agreement_book import AgreementBook, committed_side_payments
from sim.model.city import City, SharedDecisions
from sim.model.forecast import projected_values
from sim.model.state import State
from sim.model.utility import OfferedUtilities, segments_settings_move, utility_parts
from sim.rules import accounts
from sim.rules.choice import nested_probabilities
from sim.rules.constants import (
    SEGMENTS,
    STEPS_PER_YEAR,
    TOLERANCE,
    ParkKind,
    n_sector_segments,
    per_step,
)
from sim.rules.economy import Settings, park_offers
from sim.rules.offers import damped, target_sectors
from sim.rules.planning import (
    bounded_by_revenue,
    compensation,
    congestion_external,
    draw_map,
    map_slots,
    planner_scores,
    spillover_external,
)


class Coordinator(mesa.Agent):
    """The coordination office of the circle (its investment map, transfers and inspections).

    Args:
        model: the model it belongs to (created after the cities).
        cities: the cities it coordinates, in the data file's order.
        map_rng: draws of the planner's noisy estimates.
        detection_rng: draws of the inspections of cap breakers.
    """

    def __init__(self, model: mesa.Model, cities: Iterable[City], map_rng: np.random.Generator,
                 detection_rng: np.random.Generator) -> None:
        super().__init__(model)
        self.cities: Sequence[City] = list(cities)
        self.map_rng = map_rng
        self.detection_rng = detection_rng

    def step(self, state: State, shared: SharedDecisions | None = None) -> None:
        """Cap breakers are detected at random; the map is (re)drawn and transfers bargained
        once a plan period; under a cap, each city's stake in the scheme is projected.

        Changes the cities and the settings of ``state`` (exclusions, the map, promotion).
        ``shared`` (the step's deciders, not yet asked for their utilities) is what the cities
        move on next: the bargaining and the stakes fill it with the deciders' utilities under
        the settings in force, which the cities then do not build again."""
        cfg = state.config
        shared = shared or SharedDecisions(state)
        detect = self.detection_rng.random(state.world.n_cities)
        p_step = per_step(cfg.policies.subsidy_cap.detection_probability_annual)
        for city in self.cities:
            if city.cheating and detect[city.index] < p_step:
                city.detected = True
                state.settings.excluded[city.index] = True
        if cfg.switches.investment_map and not (state.step - 1) % self._replan_every(state):
            self.draw_investment_map(state, shared)
        if cfg.switches.subsidy_cap:
            for city, stake in zip(self.cities, self.scheme_stakes(state, shared), strict=True):
                city.scheme_stake = float(stake)

    @staticmethod
    def _replan_every(state: State) -> int:
        pol = state.config.policies.investment_map
        return max(int(round(pol.replan_years * STEPS_PER_YEAR)), 1)

    def draw_investment_map(self, state: State, shared: SharedDecisions | None = None) -> None:
        """Draw the map (slots by size and land) and bargain the compensation that goes with it."""
        cfg, w = state.config, state.world
        free = self._free_land(state)
        industrial = state.output_cube().sum(axis=(1, 2))
        slots = map_slots(industrial, free,
                          n_sector_segments(cfg.competition.lead_sectors) * w.n_cities)
        mapped = draw_map(self._planner_scores(state), self._land_need(state), free, slots,
                          cfg.policies.investment_map.max_cities_per_segment)
        state.settings.mapped = mapped
        if cfg.competition.active:
            state.settings.promoted = mapped.copy()
            for city in self.cities:
                city.targets = mapped[city.index].copy()
        self._bargain(state, shared or SharedDecisions(state))

    def _planner_scores(self, state: State) -> np.ndarray:
        """Firms' attractiveness of each city's own park plus what a placement does to other
        firms that they do not price: agglomeration spillovers less land and labour congestion
        (both per unit of productivity, in the same logit units)."""
        cal, w = state.calibration, state.world
        terms, c, econ, g = state.terms, w.n_cities, state.config.economy, len(SEGMENTS)
        q, cost = terms.q[:, :c], terms.cost[:, :c]
        attract = cal.delta_arrival + q * (1 - cost) / cal.sigma[:, None]
        cube = state.output_cube()                                            # C x K x G
        mass = cube.sum(axis=2)                                               # C x K
        margin = np.moveaxis((1 - cost).reshape(w.n_sectors, g, c), 2, 0)     # C x K x G
        weight = np.where(mass[:, :, None] > 0, cube, 1.0)   # others' profit per yuan, by output
        per_yuan = (weight * margin).sum(axis=2) / weight.sum(axis=2)
        spill = np.repeat(spillover_external(per_yuan, mass, econ.agglomeration_elasticity),
                          g, axis=1)                                          # C x KG, per yuan
        p = state.parks
        local = p.kind == ParkKind.LOCAL
        used = np.bincount(p.city[local], weights=state.land_used()[local], minlength=c)
        cap = np.bincount(p.city[local], weights=p.capacity[local], minlength=c)
        congest = congestion_external(w.land_per_output.ravel(), w.labour_share.ravel(),
                                      terms.land_price[:c], used / np.maximum(cap, TOLERANCE),
                                      econ.land_price_utilisation_elasticity, state.wage,
                                      econ.wage_adjustment_elasticity)    # C x KG, per yuan
        external = (spill - congest) * q.T / cal.sigma[None, :]
        pol = state.config.policies.investment_map
        return planner_scores(attract.T, external, pol.spillover_weight, pol.noise_sd,
                              self.map_rng)

    @staticmethod
    def _land_need(state: State) -> np.ndarray:
        """Expected km² of new land each sector-segment takes over one plan period."""
        cal, econ = state.calibration, state.config.economy
        pol = state.config.policies.investment_map
        steps = pol.replan_years * STEPS_PER_YEAR
        q = state.terms.q[:, :state.world.n_cities].mean(axis=1)
        return (state.arrivals_now() * (1 - econ.outside_share_arrivals) * steps
                * cal.mean_productivity.ravel() * q * state.world.land_per_output.ravel())

    @staticmethod
    def _free_land(state: State) -> np.ndarray:
        p = state.parks
        free = np.maximum(p.capacity - state.land_used(), 0.0)
        return np.bincount(p.city, weights=free, minlength=state.world.n_cities)

    def _bargain(self, state: State, shared: SharedDecisions) -> None:
        """Compensation in money: a city is paid, as an annual fiscal flow, what a year of
        coordinated decisions is projected to cost its objective against competition (the present
        value spread over a unit's life), times (1 + premium); the gainers pay, each at most a
        share of its tax revenue."""
        cfg = state.config
        everyone = shared.everyone
        rival, rival_u = self._competition_benchmark(state, shared)
        life = state.calibration.life
        values = shared.values[:, everyone[0].kg, :]
        coordinated = (STEPS_PER_YEAR * projected_values(state, state.settings, everyone,
                                                         _in_force(state, shared),
                                                         values=values) / life)
        competing = (STEPS_PER_YEAR * projected_values(state, rival, everyone, rival_u,
                                                       values=values) / life)
        pol = cfg.policies.investment_map
        tax = np.array([city.tax_revenue for city in self.cities])
        transfers = bounded_by_revenue(
            compensation(coordinated, competing, pol.bargaining_premium), tax,
            pol.compensation_cap_share)
        for city in self.cities:
            city.compensation = transfers[city.index]

    def _competition_benchmark(self, state: State, shared: SharedDecisions
                               ) -> tuple[Settings, tuple[np.ndarray, np.ndarray] | None]:
        """The settings competition would bring: each city targets by its own scores, then a
        short damped best-response path of offers from those in force (rivals' settings); and
        the deciders' utilities and availability at them (None if competition is off)."""
        everyone = shared.everyone
        competition, w = state.config.competition, state.world
        targets = np.repeat(target_sectors(w.hotness, w.advantage, competition.homogenisation,
                                           competition.lead_sectors), len(SEGMENTS), axis=1)
        rival = Settings(offers=state.settings.offers.copy(), promoted=targets, mapped=None,
                         platform=False, excluded=state.settings.excluded.copy())
        if not competition.active:
            return rival, None
        # only the rivals' offers move: utilities kept and recomputed where offers moved; the
        # deciders' parts the settings leave alone are those in force
        parts = OfferedUtilities(utility_parts(state, everyone[0], rival, shared.parts.parts))
        values = shared.values
        for _ in range(2):   # a short damped best-response path as the competition benchmark
            for city in self.cities:
                kgs = np.flatnonzero(targets[city.index])
                br, _ = city.best_offers(state, kgs, rival, competition.subsidy_max,
                                         city.offer_inputs(state, kgs, rival, everyone,
                                                           parts, values))
                row = rival.offers[city.index]
                row[kgs] = damped(row[kgs], br, competition.damping)
        return rival, parts.at(park_offers(rival, state.parks, state.step),
                               np.arange(state.kg))[1:]

    def scheme_stakes(self, state: State, shared: SharedDecisions | None = None) -> np.ndarray:
        """What each city expects a year in the scheme to bring (C): inflows from the agreements
        in force (credit valued at λ_Y, tax, platform returns) at today's output, the compensation
        it is owed, and a year of placements it would lose if excluded (platform and map slots;
        projected once a plan period)."""
        p, w, t, cfg = state.parks, state.world, state.step, state.config
        park_output = np.bincount(state.units.park, weights=state.units.output, minlength=p.n)
        shares = accounts.share_matrices(p, t, w.n_cities,
                                         cfg.policies.enclave.credited_double_count)
        foreign = p.city[None, :] != np.arange(w.n_cities)[:, None]
        registered_elsewhere = p.registration[None, :] != np.arange(w.n_cities)[:, None]
        inflow = (cfg.competition.promotion_weight_gdp * (shares.statistical * foreign)
                  @ park_output
                  + (shares.tax * registered_elsewhere) @ (cfg.economy.tax_rate * park_output)
                  + accounts.platform_returns(p, park_output,
                                              cfg.policies.park_within_park.platform_return_rate,
                                              w.n_cities, t))
        owed = np.maximum([city.compensation for city in self.cities], 0.0)
        if not (t - 1) % self._replan_every(state):     # re-projected once a plan period
            placement = STEPS_PER_YEAR * np.maximum(self._placement_stakes(
                state, shared or SharedDecisions(state)), 0.0)
            for city in self.cities:
                city.placement_stake = float(placement[city.index])
        return inflow + owed + np.array([city.placement_stake for city in self.cities])

    @staticmethod
    def _placement_stakes(state: State, shared: SharedDecisions) -> np.ndarray:
        """Per city, the present value of a step's placements it keeps by staying in the scheme
        (shown on the platform, its map slots free of approval friction) against being excluded."""
        s = state.settings
        if not (s.platform or s.mapped is not None):
            return np.zeros(state.world.n_cities)
        groups, parts = shared.everyone, shared.parts.parts
        u, available = _in_force(state, shared)
        nest_param = state.config.economy.nest_parameter
        nest, n_c = state.parks.city, state.world.n_cities
        probs = nested_probabilities(u, nest, n_c, nest_param, available)[:, :-1]    # in force
        values = shared.values[:, groups[0].kg, :]
        inside = projected_values(state, s, groups, probs=probs, values=values)
        # exclusion reaches only new projects (platform, map slots, entry): reviewers' utilities
        # are those in force (tests/test_model.py checks it), and so are their choices; of the
        # new projects, only those of sector-segments whose settings the exclusion moves
        new = np.flatnonzero(groups[0].current < 0)
        out = np.zeros(n_c)
        for c in np.flatnonzero(~s.excluded):
            excluded = s.excluded.copy()
            excluded[c] = True
            alone = Settings(offers=s.offers, promoted=s.promoted, mapped=s.mapped,
                             platform=s.platform, excluded=excluded)
            rows = new[segments_settings_move(state, s, alone)[groups[0].kg[new]]]
            if not len(rows):           # nobody's choice moves: the same projection
                out[c] = inside[c] - inside[c]
                continue
            u, available = utility_parts(state, groups[0].select(rows), alone,
                                         parts.select(rows)).at(
                park_offers(alone, state.parks, state.step))
            chosen = probs.copy()
            chosen[rows] = nested_probabilities(u, nest, n_c, nest_param, available)[:, :-1]
            out[c] = inside[c] - projected_values(state, alone, groups, probs=chosen,
                                                  values=values)[c]
        return out


    # ----------------------------------------------------------- agreements (the office)
    @staticmethod
    def assesses_gain(gains: np.ndarray) -> bool:
        """Whether the office proposes an agreement: its assessment is every city's projected
        gain a year summed (the circle's, third cities included; side payments and political
        rewards are transfers within the circle and left out), and it proposes where the circle
        gains at some of the terms bargained over (``gains``: terms x cities)."""
        return bool(np.asarray(gains, float).sum(axis=1).max() > 0)

    @staticmethod
    def political_rewards(state: State) -> np.ndarray:
        """What each city's leaders gain a year by signing the office's proposal (or lose by
        refusing it): ``policies.agreements.political_reward`` of its base-year GDP (C)."""
        return state.config.policies.agreements.political_reward * state.calibration.gdp0

    @staticmethod
    def side_payment_bounds(state: State, book: AgreementBook) -> np.ndarray:
        """The most each city may pay a year in a new side payment (C): a share of its tax
        revenue (``policies.agreements.side_payment_cap_share``) less the side payments it
        already pays."""
        p, n = state.parks, state.world.n_cities
        park_tax = state.config.economy.tax_rate * np.bincount(
            state.units.park, weights=state.units.output, minlength=p.n)
        tax = accounts.tax_revenue(accounts.share_matrices(p, state.step, n), park_tax)
        cap = state.config.policies.agreements.side_payment_cap_share * tax
        return np.maximum(cap - committed_side_payments(book, p, n), 0.0)


def _in_force(state: State, shared: SharedDecisions) -> tuple[np.ndarray, np.ndarray]:
    """Every decider's utilities and availability at the offers in force (``shared`` keeps
    them for the cities' moves)."""
    offers = park_offers(state.settings, state.parks, state.step)
    return shared.parts.at(offers, np.arange(state.kg))[1:]


def compensation_in_force(cities: Iterable[City]) -> np.ndarray:
    """This step's transfers (C, positive = receives): a city caught breaking the cap forfeits
    what it would receive, and the payers' contributions shrink in proportion."""
    cities = list(cities)
    transfers = np.array([city.compensation for city in cities], dtype=float)
    caught = np.array([city.detected for city in cities])
    transfers[caught & (transfers > 0)] = 0.0
    owed = transfers[transfers > 0].sum()
    paying = transfers < 0
    if paying.any():
        transfers[paying] *= owed / -transfers[paying].sum()
    return transfers
