"""City agents: the nine governments of the circle, their state and their strategy.

A city's objective (the promotion tournament, Li & Zhou 2005) weighs credited GDP, λ_Y yuan of
fiscal balance per yuan, plus the fiscal balance (every inflow less every outlay, the ``fiscal``
table; fixed costs such as serviced land's carrying cost move no choice). A unit placed
at park j is worth ``λ_Y · credited share + τ · tax share + land rent`` per yuan of value added to
a city, so an agreement that leaves Wuhan a share of a departing unit lowers what Wuhan pays to
keep it: sharing changes behaviour, not only bookkeeping. The economics of one decision live in
:mod:`sim.rules.offers`; this module builds their inputs from the model's state.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.utility import Choosers, UtilityParts, kg_index, utilities, utility_parts
from sim.rules import accounts
from sim.rules.constants import STEPS_PER_YEAR, Origin, ParkKind
from sim.rules.economy import Settings, park_offers
from sim.rules.offers import best_responses_on, breaks_cap, retention_choice, within_budget

if TYPE_CHECKING:
    from sim.model.circle import CircleModel


class City(mesa.Agent):
    """A city government: targets sectors, offers subsidies, may break a subsidy cap.

    Attributes:
        index: position in the world's city arrays.
        name: city name (English; the data file gives the Chinese name).
        offers: KG subsidy rates offered to placements and, as retention, to its own reviewers
            (its row of the model's ``settings.offers``).
        targets: KG bool, the sector-segments its promotion and subsidies reach.
        cheating: whether it currently breaks the subsidy cap.
        detected: whether a cap breach was detected (it then leaves the scheme for good).
        compensation: bargained transfer per year under the investment map (+ receives).
        cap_gain: a year's gain from breaking the cap, as last weighed.
        scheme_stake: what a year in the cap scheme is projected to bring (what it risks by
            breaking the cap): inflows from agreements, compensation owed, placements it keeps.
        placement_stake: the placements part of the stake (re-projected once a plan period).
        fiscal_revenue: last step's tax and land revenue per year (its subsidy budget's base).
        tax_revenue: last step's tax revenue per year (the bound on the compensation it pays).
        shared_inflow: last step's value per year received through agreements and transfers.
    """

    model: CircleModel

    def __init__(self, model: CircleModel, index: int, name: str) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.targets = model.settings.promoted[index].copy()
        self.cheating = False
        self.detected = False
        self.compensation = 0.0
        self.cap_gain = 0.0
        self.scheme_stake = 0.0
        self.placement_stake = 0.0
        self.fiscal_revenue = 0.0
        self.tax_revenue = 0.0
        self.shared_inflow = 0.0

    @property
    def offers(self) -> np.ndarray:
        """Its row of the model's ``settings.offers`` (a view, looked up each time, so that the
        city and the model never hold two copies: a deep copy of the model stays consistent)."""
        return self.model.settings.offers[self.index]

    def step(self) -> None:
        """Damped best response on subsidy offers, within the budget and (if on) the subsidy cap.

        Rivals' offers are those in force when the city moves, so the outcome depends on the
        order in which cities move (the model keeps the order of the data file).
        """
        model = self.model
        cfg, comp, s = model.config, model.config.competition, model.settings
        if not comp.active:
            return
        kgs = np.flatnonzero(self.targets)
        offers = np.zeros(model.kg)
        shared = model.shared_decisions     # set while the cities move in turn at a step
        if len(kgs):
            inputs = offer_inputs(model, self.index, kgs, s,
                                  *((shared.everyone, shared.parts) if shared else ()))
            capped = cfg.switches.subsidy_cap
            ceilings = [comp.subsidy_max, *([min(cfg.policies.subsidy_cap.cap, comp.subsidy_max)]
                                            if capped else [])]
            (br, value_free), *under_cap = best_offers_under(model, self.index, kgs, s, ceilings,
                                                             inputs)
            if capped:
                br_cap, value_cap = under_cap[0]
                self.cap_gain = STEPS_PER_YEAR * float((value_free - value_cap).sum())
                self.cheating = not self.detected and self._breaks(self.cap_gain)
                br = br if out_of_scheme(self) else br_cap
            current = s.offers[self.index, kgs]
            offers[kgs] = np.clip(current + comp.damping * (br - current), 0.0, comp.subsidy_max)
        self.offers[:] = self._within_budget(offers, shared.budgets[self.index] if shared else None)

    def close_books(self, fiscal_revenue: float, tax_revenue: float,
                    shared_inflow: float) -> None:
        """Take note of the step's revenue and shared inflows (next step's budget and bounds)."""
        self.fiscal_revenue = fiscal_revenue
        self.tax_revenue = tax_revenue
        self.shared_inflow = shared_inflow

    def _breaks(self, gain_per_year: float) -> bool:
        """Break the cap iff a year's gain beats the chance of being caught times the present
        value of what staying in the open-ended scheme is projected to bring (``scheme_stake``);
        the scheme has no end date, so the city does not know when the model's run stops."""
        cfg = self.model.config
        return breaks_cap(gain_per_year, cfg.policies.subsidy_cap.detection_probability_annual,
                          self.scheme_stake, np.inf, cfg.economy.discount_rate_annual)

    def _within_budget(self, offers: np.ndarray, base: BudgetBase | None = None) -> np.ndarray:
        """Scale offers so running contracts plus a year of expected new ones fit the budget.

        ``base`` (this city's of :func:`budget_bases` at the units as they are) saves rebuilding it.
        """
        model, cal = self.model, self.model.calibration
        base = base or budget_bases(model, [self.index])[0]
        expected_new = float(STEPS_PER_YEAR * (cal.p_review + cal.p_exit)
                             * (offers[base.kg] * base.output).sum())
        budget = model.config.competition.budget_share * self.fiscal_revenue
        return within_budget(offers, base.committed, expected_new, budget)


@dataclasses.dataclass(frozen=True)
class BudgetBase:
    """What a city's subsidy budget sees of the units: the running contracts it pays (per step),
    and the sector-segment and output of the units at parks where it pays placements."""

    committed: float
    kg: np.ndarray
    output: np.ndarray


def budget_bases(model: CircleModel, cities: list[int] | None = None) -> list[BudgetBase]:
    """:class:`BudgetBase` of each city (of ``cities``; all by default), units as they are."""
    u, t = model.units, model.steps
    contracts = u.subsidy_rate * u.output
    live = u.subsidy_until > t
    kg = kg_index(u)
    attractor = model.parks.attractor(t)[u.park]
    out = []
    for c in range(model.world.n_cities) if cities is None else cities:
        here = attractor == c
        out.append(BudgetBase(float(contracts[(u.subsidy_payer == c) & live].sum()),
                              kg[here], u.output[here]))
    return out


class SharedDecisions:
    """What the cities share when they move one after another at a step: the deciders of every
    sector-segment, their utilities' parts under the settings in force and each city's budget
    base, each built once at first use. Valid while the cities change only their own offers."""

    def __init__(self, model: CircleModel) -> None:
        self.model = model

    @functools.cached_property
    def everyone(self) -> tuple[Choosers, np.ndarray]:
        return decider_groups(self.model, np.arange(self.model.kg))

    @functools.cached_property
    def parts(self) -> UtilityParts:
        return utility_parts(self.model, self.everyone[0], self.model.settings)

    @functools.cached_property
    def budgets(self) -> list[BudgetBase]:
        return budget_bases(self.model)


def out_of_scheme(city: City) -> bool:
    """A city that breaks the cap, or was caught breaking it, is bound by it for no offer at all
    (placement and retention alike)."""
    return bool(city.cheating or city.detected)


@dataclasses.dataclass(frozen=True)
class OfferInputs:
    """What a city's best response is evaluated on, for its target sector-segments."""

    groups: Choosers        # representative deciders of the next step
    weight: np.ndarray      # their expected productivity mass
    u: np.ndarray           # their utilities (n x P) under the offers in force
    available: np.ndarray   # n x P
    values: np.ndarray      # len(kgs) x P the city's value per yuan at each park


def productivity_mass(model: CircleModel) -> np.ndarray:
    """Productivity of the units at each park by sector-segment (KG x P)."""
    u, p = model.units, model.parks
    flat = kg_index(u) * p.n + u.park
    return np.bincount(flat, weights=u.productivity,
                       minlength=model.kg * p.n).reshape(model.kg, p.n)


def decider_groups(model: CircleModel, kgs: np.ndarray) -> tuple[Choosers, np.ndarray]:
    """Representative deciders of the next step for the sector-segments ``kgs``, and the
    expected productivity mass of each (the cities' forecast of the step's decisions).

    Arrivals by origin (local projects by home city, Wuhan, outside) and reviewers by current park.
    """
    w, econ, p, cal = model.world, model.config.economy, model.parks, model.calibration
    mass = productivity_mass(model)[kgs]                                   # len(kgs) x P
    lam = model.arrivals_now()[kgs] * cal.mean_productivity.ravel()[kgs]
    counts = cal.base_counts[kgs]
    home_p = counts / counts.sum(axis=1, keepdims=True)
    n, c = len(kgs), w.n_cities
    arrival_weight = np.column_stack([lam[:, None] * econ.origin_shares["local"] * home_p,
                                      lam * econ.origin_shares["wuhan"],
                                      lam * econ.origin_shares["outside"]])   # n x (C + 2)
    origin = np.array([Origin.LOCAL] * c + [Origin.WUHAN, Origin.OUTSIDE], dtype=np.int64)
    home = np.array([*range(c), w.core, -1], dtype=np.int64)
    which, park = np.nonzero(mass > 0)            # reviewers, by sector-segment then park
    block = np.concatenate((np.repeat(np.arange(n), c + 2), which))
    order = np.argsort(block, kind="stable")      # per sector-segment: arrivals, then reviewers

    def column(arrivals: np.ndarray, reviewers: np.ndarray) -> np.ndarray:
        return np.concatenate((arrivals, reviewers))[order]

    groups = Choosers(kg=kgs[block][order].astype(np.int64),
                      origin=column(np.tile(origin, n), np.full(len(which), Origin.LOCAL)),
                      home=column(np.tile(home, n), p.registration[park].astype(np.int64)),
                      current=column(np.full(n * (c + 2), -1), park.astype(np.int64)),
                      stay_subsidy=np.zeros(len(order)))
    weight = column(arrival_weight.ravel(), cal.p_review * mass[which, park])
    return groups, weight


def city_values(model: CircleModel, kgs: np.ndarray, lam: float | None = None) -> np.ndarray:
    """Value to each city of a yuan of value added at each park (C x len(kgs) x P):
    λ_Y · credited share + τ · tax share + land rent to the landlord city (``lam`` = 0: money
    only)."""
    p, t = model.parks, model.steps
    shares = accounts.share_matrices(p, t, model.world.n_cities,
                                     model.config.policies.enclave.credited_double_count)
    lam = model.config.competition.promotion_weight_gdp if lam is None else lam
    tau = model.config.economy.tax_rate
    landlord = np.where(p.kind == ParkKind.REVERSE_ENCLAVE, p.operator, p.city)
    rent = np.zeros((model.world.n_cities, p.n))
    rent[landlord, np.arange(p.n)] = model.current_terms.land_price
    a = model.world.land_per_output.ravel()[kgs]
    return ((lam * shares.credited + tau * shares.tax)[:, None, :]
            + rent[:, None, :] * a[None, :, None])


def placement_values(model: CircleModel, settings: Settings, kg: np.ndarray, mass: np.ndarray,
                     values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each city gets per step from the output ``mass`` (n x P) that deciders of the
    sector-segments ``kg`` place at the parks, valued at ``values`` (C x n x P, its
    :func:`city_values` for ``kg``), and what it pays them in placement subsidies under
    ``settings``: ``(gross, paid)``, each C."""
    p, t = model.parks, model.steps
    pays = p.attractor(t)[None, :] == np.arange(model.world.n_cities)[:, None]
    gross = np.einsum("np,cnp->c", mass, values)
    paid = np.einsum("np,cp->c", mass * park_offers(settings, p, t)[kg], pays)
    return gross, paid


def offer_inputs(model: CircleModel, city: int, kgs: np.ndarray, settings: Settings,
                 everyone: tuple[Choosers, np.ndarray] | None = None,
                 parts: UtilityParts | None = None) -> OfferInputs:
    """Decider groups, their utilities and availability, and the city's values per yuan.

    ``everyone`` (``decider_groups`` of all sector-segments at this step) saves rebuilding them;
    with it, ``parts`` (their ``utility_parts`` under ``settings``, whose offers may since have
    changed) saves all of their utilities but the offers.
    """
    if everyone is None:
        groups, weight = decider_groups(model, kgs)
        u, available = utilities(model, groups, settings)
    else:
        rows = np.flatnonzero(np.isin(everyone[0].kg, kgs))
        groups, weight = everyone[0].select(rows), everyone[1][rows]
        u, available = (utilities(model, groups, settings) if parts is None else
                        parts.select(rows).at(park_offers(settings, model.parks, model.steps)))
    return OfferInputs(groups, weight, u, available, city_values(model, kgs)[city])


def best_offers(model: CircleModel, city: int, kgs: np.ndarray, settings: Settings,
                ceiling: float, inputs: OfferInputs | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Best-response offers of one city for ``kgs`` (rivals fixed) and their expected values.

    ``inputs`` (from ``offer_inputs`` with the same arguments) saves recomputing them.
    """
    return best_offers_under(model, city, kgs, settings, [ceiling], inputs)[0]


def best_offers_under(model: CircleModel, city: int, kgs: np.ndarray, settings: Settings,
                      ceilings: list[float], inputs: OfferInputs | None = None
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`best_offers` under each of several ceilings (without and with a subsidy cap), the
    deciders' logit at the offers in force evaluated once for all."""
    comp, cal = model.config.competition, model.calibration
    x = inputs or offer_inputs(model, city, kgs, settings)
    position = np.zeros(model.kg, dtype=np.int64)
    position[kgs] = np.arange(len(kgs))
    kg = x.groups.kg
    block = position[kg]
    pays = model.parks.attractor(model.steps) == city
    found = best_responses_on(
        [offer_grid(ceiling, comp.subsidy_grid_points) for ceiling in ceilings], x.u,
        x.available, x.weight, block, len(kgs), model.current_terms.q[kg], cal.sigma[kg],
        x.values[block], pays, settings.offers[city, kg], model.parks.city,
        model.world.n_cities, model.config.economy.nest_parameter, cal.life, cal.sub_life)
    return [(best, values.max(axis=1)) for best, values in found]


@functools.lru_cache(maxsize=16)
def offer_grid(ceiling: float, points: int) -> np.ndarray:
    """The candidate rates ``0 .. ceiling`` of a best response (read-only: shared by calls)."""
    grid = np.linspace(0.0, ceiling, points)
    grid.flags.writeable = False
    return grid


def retention_offers(model: CircleModel, who: Choosers, pick: np.ndarray,
                     u: np.ndarray | None = None) -> np.ndarray:
    """Cities counter-offer units that announce they will leave (retention subsidies); each unit
    accepts with the chance :func:`retention_terms` gives (draws from the ``choices`` stream).

    ``u`` (the deciders' utilities under the settings in force, n x P) saves recomputing them.
    Returns the retention rate accepted by each decider (0 if none).
    """
    comp = model.config.competition
    leaving = (who.current >= 0) & (pick != who.current)
    if not (comp.active and comp.retention) or not leaving.any():
        return np.zeros(len(who.kg))
    idx = np.flatnonzero(leaving)
    u = utilities(model, who.select(idx), model.settings)[0] if u is None else u[idx]
    rows = np.arange(len(idx))
    current = who.current[idx]
    u_move = np.where(pick[idx] >= 0, u[rows, np.maximum(pick[idx], 0)], 0.0)
    rate, chance = retention_terms(model, who.kg[idx], current, pick[idx],
                                   u[rows, current], u_move)
    accepted = (rate > 0) & (model.streams["choices"].random(len(idx)) < chance)
    out = np.zeros(len(who.kg))
    out[idx] = np.where(accepted, rate, 0.0)
    return out


def retention_terms(model: CircleModel, kg: np.ndarray, current: np.ndarray, dest: np.ndarray,
                    u_stay: np.ndarray, u_move: np.ndarray,
                    rate: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The counter-offer to units leaving park a (``current``) for b (``dest``, -1: outside),
    and the chance each accepts it.

    The city c attracting at a picks the rate s maximising
    ``P_stay(s) (L v_c(a) − L_s s) + (1 − P_stay(s)) L v_c(b)``
    (:func:`sim.rules.offers.retention_choice`), with P_stay the probability that staying, its
    utility raised by s q_a / σ, now beats the move the unit chose (a binary logit conditioned
    on the unit having preferred the move). What the city keeps when the unit moves,
    v_c(b), includes its agreed credit and tax shares, so sharing lowers retention spending.

    Args:
        u_stay, u_move: systematic utilities of staying and of the move (0 for the outside).
        rate: counter-offers already chosen: only the chance of their acceptance is computed.
    Returns:
        the rate offered (0: none) and the chance it is accepted (0 when no offer).
    """
    comp, p, cal = model.config.competition, model.parks, model.calibration
    if rate is not None:
        return rate, _acceptance(u_move - u_stay, rate * model.current_terms.q[kg, current]
                                 / cal.sigma[kg])
    c = p.attractor(model.steps)[current]
    ceiling = comp.subsidy_max
    if model.config.switches.subsidy_cap:
        free = np.array([out_of_scheme(city) for city in model.cities])
        ceiling = np.where(free[c], comp.subsidy_max,
                           min(model.config.policies.subsidy_cap.cap, ceiling))
    grid = (np.linspace(0.0, 1.0, comp.subsidy_grid_points)[None, :]
            * np.broadcast_to(ceiling, len(kg))[:, None])
    q_stay = model.current_terms.q[kg, current]
    p_stay = _acceptance((u_move - u_stay)[:, None],
                         grid * q_stay[:, None] / cal.sigma[kg][:, None])
    values = city_values(model, np.arange(model.kg))
    v_here = values[c, kg, current]
    v_there = np.where(dest >= 0, values[c, kg, np.maximum(dest, 0)], 0.0)
    rate, chance = retention_choice(grid, p_stay, v_here, v_there, cal.life, cal.sub_life)
    return rate, np.where(rate > 0, chance, 0.0)


def _acceptance(gap: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """Chance that a unit which preferred the move (utility ``gap`` above staying) stays when
    staying gains ``lift``: ``(P(lift) − P(0)) / (1 − P(0))`` of a binary logit."""
    binary = 1 / (1 + np.exp(gap - lift))
    base = 1 / (1 + np.exp(gap))
    return (binary - base) / np.maximum(1 - base, 1e-12)
