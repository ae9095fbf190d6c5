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
from sim.rules.economy import Terms, friction


def unit_flows(state: State, events: StepEvents, terms: Terms,
               platform_rate: float) -> welfare.UnitFlows:
    """Annual flows of every unit in the circle at this step."""
    w, p, units, t, econ = state.world, state.parks, state.units, state.step, state.config.economy
    kg = units.kg
    city = p.city[units.park]
    paying = units.subsidy_until > t
    rent_support = np.where(t < p.rent_end, p.rent_subsidy, 0.0)[units.park]
    pwp_open = (p.kind == ParkKind.PARK_WITHIN_PARK) & p.open_at(t)
    output = units.output
    labour = w.labour_share.ravel()[kg] * output
    moved = ~events.is_arrival & (events.to_park >= 0)
    order = _id_order(units.unit_id)
    return welfare.UnitFlows(
        output=output, labour_cost=state.wage[city] * labour,
        reservation=econ.reservation_wage_share * w.wage[city] * labour,
        land_rent=units.land * terms.land_price[units.park],
        distance_cost=econ.distance_cost_per_100km * output * terms.link_km100[kg, city],
        subsidy=np.where(paying, units.subsidy_rate, 0.0) * output + rent_support * output,
        platform_fee=np.where(pwp_open[units.park], platform_rate, 0.0) * output,
        relocation=_per_unit(state, events, order, moved,
                             econ.relocation_cost * events.output),
        friction=_per_unit(state, events, order, *placed_friction(state, events)),
        resident=units.origin != Origin.OUTSIDE)


def placed_friction(state: State, events: StepEvents) -> tuple[np.ndarray, np.ndarray]:
    """The step's new projects placed off the map, and what the approval delay cost each (a
    share of a year's value added, once): ``(which events, cost)``."""
    placed = events.is_arrival & (events.to_park >= 0)
    cfg = state.config
    if not cfg.switches.investment_map or not placed.any():
        return np.zeros_like(placed), np.zeros(len(placed))
    rate = friction(state.settings, state.parks, cfg.policies.investment_map.approval_friction)
    cost = rate[events.kg, np.maximum(events.to_park, 0)] * events.output
    return placed & (cost > 0), cost


def _id_order(ids: np.ndarray) -> np.ndarray:
    """The order that sorts the units' ids. Ids are unique, so the stable sort gives the only
    sorting permutation, and it is quick on ids that are mostly in order already (units join at
    the end with new ids)."""
    return np.argsort(ids, kind="stable")


def _per_unit(state: State, events: StepEvents, order: np.ndarray, which: np.ndarray,
              once: np.ndarray) -> np.ndarray:
    """A one-off cost of some of the step's events (``once``, where ``which``), as the annual
    rate of this step on the units that paid it (found among the units by id; ``order`` sorts
    the ids)."""
    units = state.units
    out = np.zeros(len(units))
    if which.any():
        pos = np.searchsorted(units.unit_id, events.unit_id[which], sorter=order)
        out[order[pos]] = STEPS_PER_YEAR * once[which]
    return out


def public_accounts(tax: np.ndarray, retained_tax: np.ndarray, land_rev: np.ndarray,
                    returns: np.ndarray, transfers: np.ndarray, subsidies: np.ndarray,
                    park_cost: np.ndarray, park_capital_cost: np.ndarray,
                    platform_cost: np.ndarray, promotion_cost: np.ndarray
                    ) -> welfare.PublicAccounts:
    """Cities' revenue and outlays (C), the carrying cost of serviced park land among the
    outlays (``sim.rules.accounts.park_capital_cost``, the same number the fiscal table books)."""
    revenue = tax + retained_tax + land_rev + returns + np.maximum(transfers, 0.0)
    outlays = (subsidies + park_cost + park_capital_cost + platform_cost + promotion_cost
               + np.maximum(-transfers, 0.0))
    return welfare.PublicAccounts(revenue, outlays)


def parts(state: State, flows: welfare.UnitFlows,
          accounts: welfare.PublicAccounts) -> welfare.WelfareParts:
    """The accounts of both welfare measures at this step (``.circle``, ``.national``)."""
    econ, p = state.config.economy, state.parks
    forgone = econ.land_alternative_rent_per_km2 * float(p.capacity[p.open_at(state.step)].sum())
    cal = state.calibration
    outside = float((state.outside_mass * cal.outside_q * cal.outside_rate).sum())
    return welfare.welfare_parts(flows, accounts, econ.tax_rate, forgone, econ.mcpf, outside)


def measures(state: State, flows: welfare.UnitFlows,
             accounts: welfare.PublicAccounts) -> tuple[float, float]:
    """(welfare of the circle's residents, welfare of the country) per year."""
    found = parts(state, flows, accounts)
    return found.circle, found.national
