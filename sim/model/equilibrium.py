"""The base year as the status quo's competition equilibrium.

The 2021 allocation was observed while cities were already competing: their promotion and their
subsidy offers were part of what projects chose on. So the arrival constants are calibrated with
the status quo's offers in place, and those offers are the cities' best responses to that
calibrated world: a fixed point, found by iterating (constants given offers, best responses given
constants). The status quo is the same for every scenario of a world (local parks only, base-year
targets, no cap, no platform, no map), so coordinated and homogenised runs start from one base year
and differ only by what changes from step 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from sim.model.calibration import Calibration
from sim.model.city import City
from sim.model.forecast import budget_bases, city_values, decider_groups
from sim.model.state import State
from sim.model.stationary import retention_hazards, settle_reviewers
from sim.model.utility import OfferedUtilities, utility_parts
from sim.rules.constants import OFFER_SETTLING_TOL, TOLERANCE
from sim.rules.economy import Settings, Terms
from sim.rules.iteration import secant_damping
from sim.rules.park_table import Parks


@dataclasses.dataclass(frozen=True)
class BaseContracts:
    """The draws that give base-year units the steady state's running contracts (over units).

    ``has``/``age``: whether a unit entered its park fewer than ``term`` steps ago, and when;
    ``lag_draw``/``rate_draw``: uniforms that place its latest retention contract, if any.
    """

    has: np.ndarray
    age: np.ndarray
    term: int
    lag_draw: np.ndarray
    rate_draw: np.ndarray


def contract_ages(n: int, exit_hazard: float, term_steps: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Which base-year units still hold the contract they signed on entering, and its age (steps).

    In a steady state where a share h of a cell's units leaves (and is replaced) each step, the
    share that entered fewer than L steps ago is ``1 − (1 − h)^L``, with age k (0 ≤ k < L) in
    proportion to ``(1 − h)^k``.
    """
    ages = np.arange(term_steps)
    weight = (1 - exit_hazard) ** ages
    has = rng.random(n) < 1 - (1 - exit_hazard) ** term_steps
    age = (rng.choice(term_steps, size=n, p=weight / weight.sum()) if term_steps
           else np.zeros(n, int))
    return has, age


def draw_base_contracts(n: int, turnover: float, term_steps: int,
                        rng: np.random.Generator) -> BaseContracts:
    """The draws of :class:`BaseContracts` (entry ages, then two uniforms per unit)."""
    has, age = contract_ages(n, turnover, term_steps, rng)
    return BaseContracts(has, age, term_steps, rng.random(n), rng.random(n))


def sign_base_contracts(state: State, offers: np.ndarray, base: BaseContracts,
                        retention: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                        ) -> None:
    """Base-year units hold the steady state's running contracts for the rest of their term.

    The state's units sign them (their contract columns are replaced). A unit that entered fewer
    than L steps ago holds its city's offer from then; a unit retained
    since holds the counter-offer instead. With a per-step retention chance ρ of its cell (a unit
    still there), its latest retention lies k steps back with probability ``ρ (1 − ρ)^k``
    (counted only if k < L and after it entered), at a rate drawn from the cell's distribution.

    Args:
        retention: per cell (KG x P) the retention chance, the rate distribution (KG x P x G)
            and the rate grid (G), from :func:`sim.model.stationary.retention_hazards`.
    """
    units, term = state.units, base.term
    kg, park = units.kg, units.park
    rate = offers[state.parks.registration[park], kg]   # the city that attracts to the park
    on = base.has & (rate > 0)
    until = np.where(on, term - base.age, 0)
    retained = np.zeros(len(units), dtype=bool)
    if retention is not None:
        hazard, dist, grid = retention
        rho = np.clip(hazard[kg, park], 0.0, 1 - TOLERANCE)
        with np.errstate(divide="ignore", invalid="ignore"):   # ρ = 0: no retention
            lag = np.floor(np.log1p(-base.lag_draw) / np.log1p(-rho))
        # the cumulative distribution of each cell (KG x P rows); each unit's pick is how many
        # points of its cell's row lie below its draw, counted one grid point at a time (a units
        # x grid array would be 16 floats a unit: 130 MB at a million units)
        cum = dist.reshape(-1, dist.shape[-1]).cumsum(axis=1)
        row = kg * dist.shape[1] + park
        pick = np.zeros(len(units), dtype=np.intp)
        for point in cum.T:
            pick += point[row] < base.rate_draw
        offer = grid[np.minimum(pick, len(grid) - 1)]
        retained = (lag < term) & (~base.has | (lag < base.age)) & (offer > 0)
        rate = np.where(retained, offer, rate)
        until = np.where(retained, term - np.where(retained, lag, 0), until).astype(int)
    signed = on | retained
    units.subsidy_rate = np.where(signed, rate, 0.0)
    units.subsidy_until = np.where(signed, until, 0).astype(units.subsidy_until.dtype)
    units.subsidy_payer = np.where(signed, state.parks.registration[park], -1).astype(
        units.subsidy_payer.dtype)
    units.subsidy_retention = retained
    units.entered = np.where(base.has, -base.age, 0).astype(units.entered.dtype)




def status_quo_state(state: State, parks: Parks, terms: Terms) -> State:
    """The status quo as step 1 sees it, before any offer: the base year's local ``parks`` and
    their ``terms``, the base-year targets promoted, no cap, platform or map (budgets as step 1
    sees them: contracts ending at step 1 have run out)."""
    c = state.world.n_cities
    settings = Settings(offers=np.zeros((c, state.kg)),
                        promoted=state.calibration.base_promoted.copy(), mapped=None,
                        platform=False, excluded=np.zeros(c, dtype=bool))
    return dataclasses.replace(state, parks=parks, terms=terms, settings=settings, step=1)


def status_quo_offers(state: State, cities: Sequence[City], delta_free: np.ndarray,
                      contracts: BaseContracts | None = None,
                      max_rounds: int = 300, tol: float = OFFER_SETTLING_TOL, max_passes: int = 12,
                      review_passes: int = 2) -> tuple[np.ndarray, Calibration, int, bool]:
    """Offers (C x KG) and the calibration of the status quo's equilibrium.

    Offers settle by rounds: each moves every city's offers part of the way to its best
    response within its budget (half way, or the secant step of :meth:`_Settling.damped_step`
    once best responses repeat), recalibrates the arrival constants so that base-year shares
    hold at the offers (``δ = δ_free − q s / σ``) and signs the steady state's running contracts
    at them. A round stops the pass when no offer is more than ``tol`` from its budgeted best
    response (best responses are on the offer grid and are recomputed until they repeat;
    budgets see the contracts signed at the offers). Then contracts (placements, and retention
    counter-offers at the cells' retention chances) and the reviewers' constants and switching
    cost settle together (:func:`sim.model.stationary.settle_reviewers`), so that reviews keep
    the base allocation with the offers, the running contracts and the counter-offers in place; the
    retention chances are set in the first pass (``review_passes`` rounds of chances, contracts
    and constants) and then kept, because contracts change by whole units and budgets that see
    them could cycle. Offers then respond to the settled reviewers in a new pass, until a pass
    leaves them unchanged (at most ``max_passes``; ``max_rounds`` rounds in all).

    Args:
        state: the status quo (:func:`status_quo_state`); its units sign the contracts.
        cities: the city agents (their budgets), in the order of the world's cities.
        delta_free: arrival constants that reproduce base shares without offers (KG x C).
        contracts: the draws of base-year contracts, signed at each round's offers.
    Returns:
        offers, the calibration with the status quo's constants, rounds used, and whether the
        status quo settled: a pass after the first left the offers unchanged within ``tol``
        and the reviewers' fixed point then ended by its own tolerance. False means a fixed
        point stopped at its cap (``max_rounds`` or ``max_passes`` here, or the reviewers'
        iteration limits), so the base year is not exactly at rest and drifts from step 1.
    """
    settling = _Settling(state, cities, delta_free, contracts)
    rounds, settled = 0, False
    for pass_ in range(max_passes):   # offers settle, then contracts and reviewers; repeat
        br, stable, moved, offers_settled = None, False, False, False
        settling.last_gap = None      # the reviewers moved: the gaps of the last pass are stale
        settling.constants()
        while rounds < max_rounds:
            rounds += 1
            if not stable:    # best responses stay on their grid point once rivals settle
                fresh = settling.best_responses()
                stable, br = br is not None and np.array_equal(fresh, br), fresh
            if settling.damped_step(br, adapt=stable) <= tol:
                offers_settled = True
                break
            moved = True
        # the retention chances are set once, in the first pass: contracts change by the
        # draw of whole units, and a budget that sees them could then cycle
        reviewers_settled = settling.reviewers(review_passes if pass_ == 0 else 1)
        if pass_ and not moved:
            settled = offers_settled and reviewers_settled
            break
    return settling.settings.offers.copy(), settling.state.calibration, rounds, settled


class _Settling:
    """The status quo's state while its offers, constants, contracts and reviewers settle: each
    change is a new state value (the settings' offers excepted, which the rounds move)."""

    def __init__(self, state: State, cities: Sequence[City], delta_free: np.ndarray,
                 contracts: BaseContracts | None) -> None:
        competition = state.config.competition
        self.state, self.cities, self.settings = state, cities, state.settings
        self.delta_free, self.contracts = delta_free, contracts
        self.q = state.terms.q[:, :state.world.n_cities]
        self.sigma = state.calibration.sigma
        self.grid = np.linspace(0.0, competition.subsidy_max,
                                competition.subsidy_grid_points)   # retention, no cap
        self.retention: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # each city's step towards its budgeted best response (half at first; see damped_step)
        self.damping = np.full(len(cities), 0.5)
        self.last_gap: np.ndarray | None = None

    def constants(self) -> None:
        """Arrival constants that keep base shares at the offers; contracts signed at them."""
        delta = self.delta_free - self.q * self.settings.offers.T / self.sigma[:, None]
        self.state = dataclasses.replace(
            self.state, calibration=dataclasses.replace(self.state.calibration,
                                                        delta_arrival=delta))
        if self.contracts is not None:     # the budget sees the steady state's running contracts
            sign_base_contracts(self.state, self.settings.offers, self.contracts, self.retention)

    def best_responses(self) -> np.ndarray:
        """Every city's best response (C x KG) in its base-year targets, rivals' offers fixed."""
        state, settings = self.state, self.settings
        out = np.zeros_like(settings.offers)
        everyone = decider_groups(state, np.arange(state.kg))
        parts = OfferedUtilities(utility_parts(state, everyone[0], settings))
        values = city_values(state, np.arange(state.kg))
        ceiling = state.config.competition.subsidy_max
        for city in self.cities:
            kgs = np.flatnonzero(state.calibration.base_promoted[city.index])
            if len(kgs):
                out[city.index, kgs], _ = city.best_offers(
                    state, kgs, settings, ceiling,
                    city.offer_inputs(state, kgs, settings, everyone, parts, values))
        return out

    def damped_step(self, best: np.ndarray, adapt: bool = True) -> float:
        """Offers move part of the way to the best responses within budgets; the largest gap
        between the two (the convergence measure, whatever the step).

        A budget that binds sees the running contracts signed at the offers, so the offers it
        allows fall as the offers rise: the gap of a budget-bound city changes sign from round
        to round, and half steps shrink it by a factor near −1 (−0.96 in a 2,000-unit world),
        never settling within the rounds' cap. Once the best responses have stopped changing
        (``adapt``), each city's step is set from the ratio r of its last two gaps: with the
        gap linear in the step, ``g' = (1 − a s) g`` gives the slope ``s = (1 − r) / a``, and
        the step ``a / (1 − r)`` reaches the fixed point; steps stay within [0.05, 0.5], so a
        city whose gap shrinks without changing sign keeps the half step.
        """
        bases = budget_bases(self.state)     # the contracts signed at the last offers
        new = np.array([city.within_budget(self.state, best[city.index], bases[city.index])
                        for city in self.cities])
        gap = new - self.settings.offers
        if adapt and self.last_gap is not None:
            self.damping = secant_damping(self.damping, self.last_gap, gap)
        self.last_gap = gap if adapt else None
        self.settings.offers[:] += self.damping[:, None] * gap
        self.constants()
        return float(np.max(np.abs(gap)))

    def reviewers(self, passes: int) -> bool:
        """Contracts and the reviewers' constants and switching cost settle together; whether
        the last of the reviewers' fixed points ended by its tolerance."""
        settled = False
        for i in range(passes):
            if i and self.state.config.competition.retention:   # chances of the settled reviewers
                self.retention = (*retention_hazards(self.state, self.settings, self.grid),
                                  self.grid)
            self.constants()
            review, kappa, _, settled = settle_reviewers(self.state, self.settings)
            self.state = dataclasses.replace(
                self.state, calibration=dataclasses.replace(
                    self.state.calibration, delta_review=review, switching_cost=kappa))
        return settled
