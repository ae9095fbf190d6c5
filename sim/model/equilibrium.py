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
from typing import TYPE_CHECKING

import numpy as np

from sim.model.city import best_offers
from sim.model.utility import kg_index
from sim.rules.economy import Settings, Terms

if TYPE_CHECKING:
    from sim.model.circle import CircleModel
    from sim.model.parks import Parks


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


def sign_base_contracts(model: CircleModel, offers: np.ndarray, has: np.ndarray,
                        age: np.ndarray, term_steps: int) -> None:
    """Base-year units under contract hold their city's offer for the rest of the term."""
    u = model.units
    rate = offers[u.park, kg_index(u)]
    on = has & (rate > 0)
    u.subsidy_rate = np.where(on, rate, 0.0)
    u.subsidy_until = np.where(on, term_steps - age, 0).astype(u.subsidy_until.dtype)
    u.subsidy_payer = np.where(on, u.park, -1).astype(u.subsidy_payer.dtype)
    u.entered = np.where(on, -age, 0).astype(u.entered.dtype)


def status_quo_offers(model: CircleModel, parks: Parks, terms: Terms, delta_free: np.ndarray,
                      contracts: tuple[np.ndarray, np.ndarray, int] | None = None,
                      max_rounds: int = 60,
                      tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray, int]:
    """Offers (C x KG) and arrival constants (KG x C) of the status quo's equilibrium.

    Each round recalibrates the arrival constants so that base-year shares hold at the current
    offers (``δ = δ_free − q s / σ``) and sets every city's offers to its best response within
    its budget. Stops when no offer changes by more than ``tol`` (the best responses are on the
    offer grid and are recomputed until they repeat; budgets, which see the contracts signed at
    the offers, are reached by half steps) or after ``max_rounds``.

    Args:
        parks: the base year's parks (local parks only).
        terms: the base year's location terms at those parks.
        delta_free: arrival constants that reproduce base shares without offers (KG x C).
        contracts: (has, age, term steps) of base-year contracts, signed at each round's offers.
    Returns:
        offers, arrival constants, rounds used.
    """
    c, comp, cal = model.world.n_cities, model.config.competition, model.calibration
    cities = list(model.cities)
    saved = model.parks, model.current_terms, model.settings, cal
    settings = Settings(offers=np.zeros((c, model.kg)), promoted=cal.base_promoted.copy(),
                        mapped=None, platform=False, excluded=np.zeros(c, dtype=bool))
    q = terms.q[:, :c]
    model.parks, model.current_terms, model.settings = parks, terms, settings
    model.steps = 1      # budgets as step 1 sees them: contracts ending at step 1 have run out
    br, stable = None, False

    def constants() -> np.ndarray:
        delta = delta_free - q * settings.offers.T / cal.sigma[:, None]
        model.calibration = dataclasses.replace(cal, delta_arrival=delta)
        return delta

    try:
        rounds = 0
        while rounds < max_rounds:
            rounds += 1
            delta = constants()
            if contracts is not None:     # the budget sees the steady state's running contracts
                sign_base_contracts(model, settings.offers, *contracts)
            if not stable:    # best responses stay on their grid point once rivals settle
                fresh = _best_responses(model, settings, comp.subsidy_max)
                stable, br = br is not None and np.array_equal(fresh, br), fresh
            new = np.array([cities[city]._within_budget(br[city]) for city in range(c)])
            change = float(np.max(np.abs(new - settings.offers)))
            # half steps: budgets see the contracts signed at the offers, which can overshoot
            settings.offers[:] += 0.5 * (new - settings.offers)
            if change <= tol:
                break
        delta = constants()
        if contracts is not None:
            sign_base_contracts(model, settings.offers, *contracts)
    finally:
        model.parks, model.current_terms, model.settings, model.calibration = saved
        model.steps = 0
    return settings.offers.copy(), delta, rounds


def _best_responses(model: CircleModel, settings: Settings, ceiling: float) -> np.ndarray:
    """Every city's best response (C x KG) in its base-year targets, rivals' offers fixed."""
    out = np.zeros_like(settings.offers)
    for city in range(model.world.n_cities):
        kgs = np.flatnonzero(model.calibration.base_promoted[city])
        if len(kgs):
            out[city, kgs], _ = best_offers(model, city, kgs, settings, ceiling)
    return out
