"""City agents: the nine governments of the circle, their state and their strategy.

A city's objective (the promotion tournament, Li & Zhou 2005) weighs credited GDP, λ_Y yuan of
fiscal balance per yuan, plus the fiscal balance (every inflow less every outlay, the ``fiscal``
table; fixed costs such as serviced land's carrying cost move no choice). A unit placed
at park j is worth ``λ_Y · credited share + τ · tax share + land rent`` per yuan of value added to
a city, so an agreement that leaves Wuhan a share of a departing unit lowers what Wuhan pays to
keep it: sharing changes behaviour, not only bookkeeping. The economics of one decision live in
:mod:`sim.rules.offers`; a city's methods build their inputs from the state it is given.
"""

from __future__ import annotations

import dataclasses
import functools

import mesa
import numpy as np

from sim.model.books import Books
from sim.model.forecast import BudgetBase, budget_bases, city_values, decider_groups
from sim.model.state import State
from sim.model.utility import Choosers, OfferedUtilities, rows_of, utilities, utility_parts
from sim.rules.constants import STEPS_PER_YEAR
from sim.rules.economy import Settings, park_offers
from sim.rules.offers import best_responses_on, breaks_cap, damped, within_budget


class City(mesa.Agent):
    """A city government: targets sectors, offers subsidies, may break a subsidy cap.

    Attributes:
        index: position in the world's city arrays.
        name: city name (English; the data file gives the Chinese name).
        targets: KG bool, the sector-segments its promotion and subsidies reach. Its offers
            are its row of the settings' ``offers`` (C x KG).
        cheating: whether it currently breaks the subsidy cap.
        detected: whether a cap breach was detected (it then leaves the scheme for good).
        compensation: bargained transfer per year under the investment map (+ receives).
        cap_gain: a year's gain from breaking the cap, as last weighed.
        scheme_stake: what a year in the cap scheme is projected to bring (what it risks by
            breaking the cap): inflows from agreements, compensation owed, placements it keeps.
        placement_stake: the placements part of the stake (re-projected once a plan period).
        fiscal_revenue: last step's tax and land revenue per year (its subsidy budget's base).
        promotion_spent: last step's promotion cost per year (paid out of the same budget).
        tax_revenue: last step's tax revenue per year (the bound on the compensation it pays).
        shared_inflow: last step's value per year received through agreements and transfers.
        gdp_physical, gdp_statistical, gdp_credited, subsidy_spent, fiscal_balance: last step's
            books (亿元 per year), what Mesa's DataCollector reports for each city.
    """

    def __init__(self, model: mesa.Model, index: int, name: str, targets: np.ndarray) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.targets = np.array(targets, dtype=bool)
        self.cheating = False
        self.detected = False
        self.compensation = 0.0
        self.cap_gain = 0.0
        self.scheme_stake = 0.0
        self.placement_stake = 0.0
        self.fiscal_revenue = 0.0
        self.promotion_spent = 0.0
        self.tax_revenue = 0.0
        self.shared_inflow = 0.0
        self.gdp_physical = self.gdp_statistical = self.gdp_credited = 0.0
        self.subsidy_spent = self.fiscal_balance = 0.0

    @property
    def out_of_scheme(self) -> bool:
        """Bound by the subsidy cap for no offer at all (see :func:`out_of_scheme`)."""
        return out_of_scheme(self)

    def set_offers(self, state: State, shared: SharedDecisions | None = None) -> None:
        """Damped best response on subsidy offers, within the budget and (if on) the subsidy cap.

        Rivals' offers are those in force when the city moves (``state.settings``, which this
        method changes in its own row), so the outcome depends on the order in which cities move
        (the model keeps the order of the data file). ``shared`` saves what every city's move
        rebuilds otherwise.
        """
        cfg, competition, s = state.config, state.config.competition, state.settings
        if not competition.active:
            return
        kgs = np.flatnonzero(self.targets)
        offers = np.zeros(state.kg)
        if len(kgs):
            inputs = self.offer_inputs(
                state, kgs, s, *((shared.everyone, shared.parts, shared.values) if shared
                                 else ()))
            capped = cfg.switches.subsidy_cap
            ceilings = [competition.subsidy_max,
                        *([min(cfg.policies.subsidy_cap.cap, competition.subsidy_max)]
                          if capped else [])]
            (br, value_free), *under_cap = self.best_offers_under(state, kgs, s, ceilings, inputs)
            if capped:
                br_cap, value_cap = under_cap[0]
                self.cap_gain = STEPS_PER_YEAR * float((value_free - value_cap).sum())
                self.cheating = not self.detected and self.would_break_cap(state, self.cap_gain)
                br = br if self.out_of_scheme else br_cap
            current = s.offers[self.index, kgs]
            offers[kgs] = np.clip(damped(current, br, competition.damping), 0.0,
                                  competition.subsidy_max)
        s.offers[self.index] = self.within_budget(state, offers,
                                                  shared.budgets[self.index] if shared else None)

    def note_books(self, books: Books) -> None:
        """Take note of the step's books: revenue and shared inflows (next step's budget and
        bounds) and the figures it reports."""
        i = self.index
        self.fiscal_revenue = float(books.fiscal_revenue[i])
        self.promotion_spent = float(books.promotion_cost[i])
        self.tax_revenue = float(books.tax[i])
        self.shared_inflow = float(books.shared_inflow[i])
        self.gdp_physical = float(books.physical[i])
        self.gdp_statistical = float(books.statistical[i])
        self.gdp_credited = float(books.credited[i])
        self.subsidy_spent = float(books.subsidies[i])
        self.fiscal_balance = float(books.fiscal[i])

    def would_break_cap(self, state: State, gain_per_year: float) -> bool:
        """Break the cap iff a year's gain beats the chance of being caught times the present
        value of what staying in the open-ended scheme is projected to bring (``scheme_stake``);
        the scheme has no end date, so the city does not know when the model's run stops."""
        cfg = state.config
        return breaks_cap(gain_per_year, cfg.policies.subsidy_cap.detection_probability_annual,
                          self.scheme_stake, np.inf, cfg.economy.discount_rate_annual)

    def within_budget(self, state: State, offers: np.ndarray,
                      base: BudgetBase | None = None) -> np.ndarray:
        """Scale offers so running contracts plus a year of expected new ones fit the budget
        (its investment-attraction budget less what its promotion costs: 招商 budgets pay both).

        ``base`` (this city's of :func:`budget_bases` at the units as they are) saves rebuilding it.
        """
        cal = state.calibration
        base = base or budget_bases(state, [self.index])[0]
        expected_new = float(STEPS_PER_YEAR * (cal.p_review + cal.p_exit)
                             * (offers[base.kg] * base.output).sum())
        budget = max(state.config.competition.budget_share * self.fiscal_revenue
                     - self.promotion_spent, 0.0)
        return within_budget(offers, base.committed, expected_new, budget)

    def offer_inputs(self, state: State, kgs: np.ndarray, settings: Settings,
                     everyone: tuple[Choosers, np.ndarray] | None = None,
                     parts: OfferedUtilities | None = None,
                     values: np.ndarray | None = None) -> OfferInputs:
        """Decider groups, their utilities and availability, and the city's values per yuan.

        ``everyone`` (``decider_groups`` of all sector-segments at this step) saves rebuilding
        them; with it, ``parts`` (their utilities under ``settings``, kept while only offers
        change) saves all of their utilities but those of sector-segments whose offers moved.
        ``values`` (``city_values`` of every sector-segment) saves recomputing them.
        """
        if everyone is None:
            groups, weight = decider_groups(state, kgs)
            u, available = utilities(state, groups, settings)
        elif parts is None:
            rows = rows_of(everyone[0].kg, kgs, state.kg)
            groups, weight = everyone[0].select(rows), everyone[1][rows]
            u, available = utilities(state, groups, settings)
        else:
            rows, u, available = parts.at(park_offers(settings, state.parks, state.step), kgs)
            groups, weight = everyone[0].select(rows), everyone[1][rows]
        values = (city_values(state, kgs) if values is None else values[:, kgs])[self.index]
        return OfferInputs(groups, weight, u, available, values)

    def best_offers(self, state: State, kgs: np.ndarray, settings: Settings, ceiling: float,
                    inputs: OfferInputs | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Best-response offers for ``kgs`` (rivals fixed) and their expected values.

        ``inputs`` (from :meth:`offer_inputs` with the same arguments) saves recomputing them.
        """
        return self.best_offers_under(state, kgs, settings, [ceiling], inputs)[0]

    def best_offers_under(self, state: State, kgs: np.ndarray, settings: Settings,
                          ceilings: list[float], inputs: OfferInputs | None = None
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`best_offers` under each of several ceilings (without and with a subsidy cap),
        the deciders' logit at the offers in force evaluated once for all."""
        competition, cal = state.config.competition, state.calibration
        x = inputs or self.offer_inputs(state, kgs, settings)
        position = np.zeros(state.kg, dtype=np.int64)
        position[kgs] = np.arange(len(kgs))
        kg = x.groups.kg
        block = position[kg]
        pays = state.parks.attractor(state.step) == self.index
        found = best_responses_on(
            [offer_grid(ceiling, competition.subsidy_grid_points) for ceiling in ceilings], x.u,
            x.available, x.weight, block, len(kgs), state.terms.q[kg], cal.sigma[kg],
            x.values[block], pays, settings.offers[self.index, kg], state.parks.city,
            state.world.n_cities, state.config.economy.nest_parameter, cal.life, cal.sub_life)
        return [(best, values.max(axis=1)) for best, values in found]


class SharedDecisions:
    """What the cities share when they move one after another at a step: the deciders of every
    sector-segment, their utilities' parts under the settings in force and each city's budget
    base, each built once at first use. Valid while the cities change only their own offers."""

    def __init__(self, state: State) -> None:
        self.state = state

    @functools.cached_property
    def everyone(self) -> tuple[Choosers, np.ndarray]:
        return decider_groups(self.state, np.arange(self.state.kg))

    @functools.cached_property
    def parts(self) -> OfferedUtilities:
        return OfferedUtilities(utility_parts(self.state, self.everyone[0], self.state.settings))

    @functools.cached_property
    def values(self) -> np.ndarray:
        return city_values(self.state, np.arange(self.state.kg))

    @functools.cached_property
    def budgets(self) -> list[BudgetBase]:
        return budget_bases(self.state)


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


@functools.lru_cache(maxsize=16)
def offer_grid(ceiling: float, points: int) -> np.ndarray:
    """The candidate rates ``0 .. ceiling`` of a best response (read-only: shared by calls)."""
    grid = np.linspace(0.0, ceiling, points)
    grid.flags.writeable = False
    return grid
