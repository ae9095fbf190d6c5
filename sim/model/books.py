"""The circle's books at the end of a step: GDP by each count, tax, land revenue, subsidies,
transfers, park, promotion and platform costs and each city's fiscal balance, computed once from
the state for the cities (their next budget and what they risk by cheating) and for the recorder
(the tables)."""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.model.agreement_book import Settlement
from sim.model.state import State
from sim.model.utility import platform_slots
from sim.rules import accounts
from sim.rules.consideration import relative_reach, slot_costs
from sim.rules.constants import ParkKind
from sim.rules.economy import Terms


@dataclasses.dataclass(frozen=True)
class Books:
    """One step's accounts; arrays over cities (C) unless marked P (parks). Money per year."""

    shares: accounts.Shares
    park_output: np.ndarray    # P
    park_tax: np.ndarray       # P
    physical: np.ndarray       # GDP where production stands
    statistical: np.ndarray    # GDP after agreed credit transfers
    credited: np.ndarray       # GDP each city reports in its reviews
    tax: np.ndarray
    returns: np.ndarray        # platform companies' returns
    used: np.ndarray           # P, km² in use
    terms: Terms
    land_revenue: np.ndarray
    subsidy_paid: np.ndarray   # per unit, this step's subsidy payments
    subsidies: np.ndarray      # contracts and reverse enclaves' rent support
    retention: np.ndarray      # the part of subsidies paid to keep units
    park_cost: np.ndarray      # running cost of co-built parks (and reverse enclaves' plot rent)
    park_capital_cost: np.ndarray  # carrying cost of the serviced park land the city owns
    platform_cost: np.ndarray  # the shared platform's running cost paid by each member city
    promotion_cost: np.ndarray  # what each city pays to promote its targeted sector-segments
    compensation: np.ndarray   # bargained transfers in force (+ receives)
    side_payments: np.ndarray  # agreements' side payments in force (+ receives)
    fiscal: np.ndarray         # fiscal balance
    objective: np.ndarray      # the promotion tournament's objective
    shared_inflow: np.ndarray  # value received through agreements and transfers

    @property
    def fiscal_revenue(self) -> np.ndarray:
        """Tax and land revenue: the base of a city's subsidy budget."""
        return self.tax + self.land_revenue


def close_books(state: State, compensation: np.ndarray,
                settled: Settlement | None = None) -> Books:
    """The accounts of the state, with the map's bargained transfers in force (C, + receives)
    and what the agreements settle (:class:`sim.model.agreement_book.Settlement`: shares paid,
    side payments, land reserved for parks not yet open; all shares paid and nothing else if
    None)."""
    w, p, units, t = state.world, state.parks, state.units, state.step
    cfg, econ = state.config, state.config.economy
    side = np.zeros(w.n_cities) if settled is None else settled.side_payments
    park_output = np.bincount(units.park, weights=units.output, minlength=p.n)
    park_tax = econ.tax_rate * park_output
    shares = accounts.share_matrices(p, t, w.n_cities, cfg.policies.enclave.credited_double_count,
                                     None if settled is None else settled.paid)
    primary = state.primary
    credited = accounts.credited_gdp(shares, park_output, primary)
    tax = accounts.tax_revenue(shares, park_tax)
    returns = accounts.platform_returns(p, park_output,
                                        cfg.policies.park_within_park.platform_return_rate,
                                        w.n_cities, t)
    used = state.land_used()
    terms = state.location_terms()
    landlord = np.where(p.kind == ParkKind.REVERSE_ENCLAVE, p.operator, p.city)
    land_rev = np.bincount(landlord, weights=used * terms.land_price, minlength=w.n_cities)
    sub_paid, subsidies, retention = _subsidies(state, park_output)
    park_cost, plot_rent = _park_costs(state, terms)
    land_rev += np.bincount(p.city, weights=plot_rent, minlength=w.n_cities)
    capital = accounts.park_capital_cost(p, t, w.n_cities, econ.land_capital_cost_per_km2)
    if settled is not None:     # serviced land given over to a park still being built out
        capital = capital + econ.land_capital_cost_per_km2 * settled.reserved_land
    reach = promotion_reach(state)
    platform_cost = _platform_cost(state, reach)
    promotion_cost = _promotion_cost(state, reach)
    fiscal = (tax + land_rev + returns + compensation + side - subsidies - park_cost - capital
              - platform_cost - promotion_cost)
    gdp_weight = cfg.competition.promotion_weight_gdp
    gdp0 = state.calibration.gdp0
    growth = credited / gdp0
    peers = (growth.sum() - growth) / (len(growth) - 1)
    return Books(
        shares=shares, park_output=park_output, park_tax=park_tax,
        physical=accounts.physical_gdp(park_output, p.city, primary),
        statistical=accounts.statistical_gdp(shares, park_output, primary), credited=credited,
        tax=tax, returns=returns, used=used, terms=terms, land_revenue=land_rev,
        subsidy_paid=sub_paid, subsidies=subsidies, retention=retention, park_cost=park_cost,
        park_capital_cost=capital, platform_cost=platform_cost, promotion_cost=promotion_cost,
        compensation=compensation, side_payments=side, fiscal=fiscal,
        objective=gdp_weight * (growth - peers) + fiscal / gdp0,
        shared_inflow=_inflow(state, shares, park_output, park_tax, returns, compensation))


def _subsidies(state: State, park_output: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This step's subsidy payment per unit, and per city what it pays (contracts and reverse
    enclaves' rent support) and the part of it paid to keep units (retention)."""
    units, p, t, n = state.units, state.parks, state.step, state.world.n_cities
    sub_paid = np.where(units.subsidy_until > t, units.subsidy_rate * units.output, 0.0)
    payer = np.maximum(units.subsidy_payer, 0)
    # float even when no unit is left (bincount of nothing is an integer array)
    subsidies = np.bincount(payer, weights=sub_paid, minlength=n).astype(float)
    retention = np.bincount(payer, weights=sub_paid * units.subsidy_retention, minlength=n)
    rent_sub = np.where(t < p.rent_end, p.rent_subsidy, 0.0) * park_output
    subsidies += np.bincount(p.operator, weights=rent_sub, minlength=n)
    return sub_paid, subsidies, retention


def _park_costs(state: State, terms: Terms) -> tuple[np.ndarray, np.ndarray]:
    """What each operator pays a year to run its open agreement parks (C), and the plot rent
    of each park (P): a reverse enclave's source rents its plot from the host at the host's
    park land price."""
    p, t, n = state.parks, state.step, state.world.n_cities
    open_agreement = (p.kind != ParkKind.LOCAL) & p.open_at(t)
    park_cost = np.bincount(p.operator, weights=np.where(open_agreement, p.build_cost, 0.0),
                            minlength=n)
    plot_rent = np.where(open_agreement & (p.kind == ParkKind.REVERSE_ENCLAVE),
                         p.capacity * terms.land_price[p.city], 0.0)
    park_cost += np.bincount(p.operator, weights=plot_rent, minlength=n)
    return park_cost, plot_rent


def promotion_reach(state: State) -> np.ndarray:
    """Relative reach of a slot in each sector-segment (KG, mean 1): the value added a year of
    its potential projects (``State.arrivals_now`` at the base year's output per unit of
    productivity) over the mean (:func:`sim.rules.consideration.relative_reach`)."""
    cal = state.calibration
    return relative_reach(state.arrivals_now() * cal.mean_productivity.ravel() * cal.circle_q)


def _promotion_cost(state: State, reach: np.ndarray) -> np.ndarray:
    """What each city pays a year to promote its targeted sector-segments (C): its slots at
    their reach (:func:`sim.rules.consideration.slot_costs`); nothing without competition."""
    competition = state.config.competition
    if not competition.active:
        return np.zeros(state.world.n_cities)
    return slot_costs(state.settings.promoted, reach, competition.promotion_cost_per_slot)


def _platform_cost(state: State, reach: np.ndarray) -> np.ndarray:
    """The shared platform's running cost paid by each member city (C): a fixed share, and the
    slots the platform shows for it at their reach (its cost scales with what it shows)."""
    s = state.settings
    if not s.platform:
        return np.zeros(state.world.n_cities)
    pol = state.config.policies.shared_platform
    return (np.where(s.excluded, 0.0, pol.operating_cost_per_city)
            + slot_costs(platform_slots(s), reach, pol.cost_per_slot))


def _inflow(state: State, shares: accounts.Shares, park_output: np.ndarray,
            park_tax: np.ndarray, returns: np.ndarray, compensation: np.ndarray) -> np.ndarray:
    """Annual value each city receives through agreements (what a cap breaker risks)."""
    p, gdp_weight = state.parks, state.config.competition.promotion_weight_gdp
    cities = np.arange(state.world.n_cities)[:, None]
    credit_in = (shares.statistical * (p.city[None, :] != cities)) @ park_output
    tax_in = (shares.tax * (p.registration[None, :] != cities)) @ park_tax
    own_returns = np.where(returns > 0, returns, 0.0)
    return gdp_weight * credit_in + tax_in + own_returns + np.maximum(compensation, 0.0)
