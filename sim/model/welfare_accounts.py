"""The two welfare measures of one step, built from the state (rules in sim/rules/welfare.py).

The country's welfare also counts the outside option's production: the productivity mass
producing outside (``State.outside_mass``) at the outside terms the calibration fixed
(``sim.model.calibration.outside_terms``; docs/ODD.md, section 7).
"""

from __future__ import annotations

import numpy as np

from sim.model.firms import StepEvents
from sim.model.state import State
from sim.rules import welfare
from sim.rules.constants import STEPS_PER_YEAR, Origin, ParkKind
from sim.rules.economy import Terms


def unit_flows(state: State, events: StepEvents, terms: Terms,
               platform_rate: float) -> welfare.UnitFlows:
    """Annual flows of every unit in the circle at this step."""
    w, p, units, t, econ = state.world, state.parks, state.units, state.step, state.config.economy
    kg = units.kg
    city = p.city[units.park]
    paying = units.subsidy_until > t
    rent_support = np.where(t < p.rent_end, p.rent_subsidy, 0.0)[units.park]
    pwp_open = (p.kind == ParkKind.PARK_WITHIN_PARK) & p.open_at(t)
    relocation = np.zeros(len(units))
    moved = ~events.is_arrival & (events.to_park >= 0)
    if moved.any():   # this step's moves, found among the units by id
        order = np.argsort(units.unit_id)
        pos = np.searchsorted(units.unit_id, events.unit_id[moved], sorter=order)
        relocation[order[pos]] = STEPS_PER_YEAR * econ.relocation_cost * events.output[moved]
    output = units.output
    return welfare.UnitFlows(
        output=output,
        labour_cost=state.wage[city] * w.labour_share.ravel()[kg] * output,
        land_rent=units.land * terms.land_price[units.park],
        distance_cost=econ.distance_cost_per_100km * output * terms.link_km100[kg, city],
        subsidy=np.where(paying, units.subsidy_rate, 0.0) * output + rent_support * output,
        platform_fee=np.where(pwp_open[units.park], platform_rate, 0.0) * output,
        relocation=relocation, resident=units.origin != Origin.OUTSIDE)


def public_accounts(tax: np.ndarray, retained_tax: np.ndarray, land_rev: np.ndarray,
                    returns: np.ndarray, transfers: np.ndarray, subsidies: np.ndarray,
                    park_cost: np.ndarray, park_capital_cost: np.ndarray,
                    platform_cost: np.ndarray) -> welfare.PublicAccounts:
    """Cities' revenue and outlays (C), the carrying cost of serviced park land among the
    outlays (``sim.rules.accounts.park_capital_cost``, the same number the fiscal table books)."""
    revenue = tax + retained_tax + land_rev + returns + np.maximum(transfers, 0.0)
    outlays = (subsidies + park_cost + park_capital_cost + platform_cost
               + np.maximum(-transfers, 0.0))
    return welfare.PublicAccounts(revenue, outlays)


def measures(state: State, flows: welfare.UnitFlows,
             accounts: welfare.PublicAccounts) -> tuple[float, float]:
    """(welfare of the circle's residents, welfare of the country) per year."""
    econ, p = state.config.economy, state.parks
    forgone = econ.land_alternative_rent_per_km2 * float(p.capacity[p.open_at(state.step)].sum())
    args = (flows, accounts, econ.tax_rate, econ.reservation_wage_share, forgone, econ.mcpf)
    cal = state.calibration
    outside = float((state.outside_mass * cal.outside_q * cal.outside_rate).sum())
    return welfare.welfare_circle(*args), welfare.welfare_national(*args, outside)
