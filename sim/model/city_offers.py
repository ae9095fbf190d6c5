"""City governments' strategy rules as functions of the model: expected decisions, the value of
a placement to each city, best-response offers within budget and the subsidy cap.

The economics of a single decision live in :mod:`sim.rules.offers` (pure functions); this module
builds their inputs from the model's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.rules import accounts
from sim.model.firms import LOCAL, OUTSIDE, Q, WUHAN, kg_index, utilities
from sim.rules.offers import best_response, breaks_cap, within_budget

if TYPE_CHECKING:
    from sim.model.city import City
    from sim.model import CircleModel


def productivity_mass(model: "CircleModel") -> np.ndarray:
    """Productivity of the units at each park by sector-segment (KG x P)."""
    u, p = model.units, model.parks
    flat = kg_index(u) * p.n + u.park
    return np.bincount(flat, weights=u.productivity, minlength=model.kg * p.n).reshape(model.kg, p.n)


def decider_groups(model: "CircleModel", kgs: np.ndarray):
    """Representative deciders of the next step for the sector-segments ``kgs``.

    Arrivals by origin (local projects by home city, Wuhan, outside) and reviewers by current
    park, each with its expected productivity mass (the cities' forecast of the step's decisions).
    """
    w, econ, p = model.world, model.config.economy, model.parks
    c = w.n_cities
    mass = productivity_mass(model)
    rows = []
    for kg in kgs:
        lam = model.arrivals_now()[kg] * model.mean_productivity.ravel()[kg]
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


def city_values(model: "CircleModel", kgs: np.ndarray, lam: float | None = None) -> np.ndarray:
    """Value to each city of a yuan of value added at each park (C x len(kgs) x P):
    λ_Y · credited share + τ · tax share + land rent to the landlord city (``lam`` = 0: money only)."""
    p, t = model.parks, model.t
    shares = accounts.share_matrices(p, t, model.world.n_cities,
                                     model.config.policies.enclave.credited_double_count)
    lam = model.config.competition.promotion_weight_gdp if lam is None else lam
    tau = model.config.economy.tax_rate
    landlord = np.where(p.kind == 3, p.operator, p.city)
    rent = np.zeros((model.world.n_cities, p.n))
    rent[landlord, np.arange(p.n)] = model.current_terms.land_price
    a = model.world.land_per_output.ravel()[kgs]
    return (lam * shares.credited + tau * shares.tax)[:, None, :] + rent[:, None, :] * a[None, :, None]


def offer_inputs(model: "CircleModel", city: int, kgs: np.ndarray, settings) -> tuple:
    """What ``best_offers`` evaluates offers on: decider groups (kg, weight), their utilities and
    availability, and the city's value per yuan at each park."""
    kg, origin, home, current, weight = decider_groups(model, kgs)
    u, available = utilities(model, kg, origin, home, current, np.zeros(len(kg)), settings)
    return kg, weight, u, available, city_values(model, kgs)[city]


def best_offers(model: "CircleModel", city: int, kgs: np.ndarray, settings, ceiling: float,
                inputs: tuple | None = None):
    """Best-response offers of one city for ``kgs`` (rivals fixed) and their expected values.

    ``inputs`` (from ``offer_inputs`` with the same arguments) saves recomputing them.
    """
    comp = model.config.competition
    kg, weight, u, available, values = inputs or offer_inputs(model, city, kgs, settings)
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
        inputs = offer_inputs(model, city.index, kgs, s)
        br, value_free = best_offers(model, city.index, kgs, s, comp.subsidy_max, inputs)
        if cfg.switches.subsidy_cap:
            cap = cfg.policies.subsidy_cap.cap
            br_cap, value_cap = best_offers(model, city.index, kgs, s, min(cap, comp.subsidy_max),
                                            inputs)
            gain = Q * float((value_free - value_cap).sum())
            city.cap_gain = gain
            city.cheating = not city.detected and _breaks(model, city, gain)
            br = br if out_of_scheme(city) else br_cap
        offers[kgs] = np.clip(s.offers[city.index, kgs] + comp.damping * (br - s.offers[city.index, kgs]),
                              0.0, comp.subsidy_max)
    s.offers[city.index] = _within_budget(model, city.index, offers)


def out_of_scheme(city: "City") -> bool:
    """A city that breaks the cap, or was caught breaking it, is bound by it for no offer at all
    (placement and retention alike)."""
    return bool(city.cheating or city.detected)


def _breaks(model: "CircleModel", city: "City", gain_per_year: float) -> bool:
    """Break the cap iff a year's gain beats the chance of being caught times the present value
    of what staying in the open-ended scheme is projected to bring (``model.scheme_stake``); the
    scheme has no end date, so the city does not know when the model's run stops."""
    return breaks_cap(gain_per_year, model.config.policies.subsidy_cap.detection_probability_annual,
                      float(model.scheme_stake[city.index]), np.inf,
                      model.config.economy.discount_rate_annual)


def _within_budget(model: "CircleModel", c: int, offers: np.ndarray) -> np.ndarray:
    """Scale offers so running contracts plus a year of expected new ones fit the budget."""
    u, t = model.units, model.t
    running = (u.subsidy_payer == c) & (u.subsidy_until > t)
    committed = float((u.subsidy_rate * u.output)[running].sum())
    kg = kg_index(u)
    here = model.parks.registration[u.park] == c
    expected_new = float(Q * (model.p_review + model.p_exit) * (offers[kg] * u.output)[here].sum())
    budget = model.config.competition.budget_share * model.recorder.fiscal_revenue[c]
    return within_budget(offers, committed, expected_new, budget)
