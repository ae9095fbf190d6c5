"""The two welfare measures of one step, built from the model's state (rules in
sim/rules/welfare.py).

Also the outside option's production, which the country's welfare counts: a project that takes the
outside option produces its productivity times the base-year output-weighted mean output per unit
of productivity of its sector-segment in the circle, with the circle's base-year mean wage bill
and distance costs per yuan (docs/ODD.md, section 7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.config.schema import ScenarioConfig
from sim.model.world import World
from sim.rules import welfare
from sim.rules.constants import SEGMENTS, STEPS_PER_YEAR, Origin, ParkKind
from sim.rules.economy import Terms

if TYPE_CHECKING:
    from sim.model.calibration import Calibration
    from sim.model.circle import CircleModel
    from sim.model.firms import StepEvents


def outside_terms(w: World, config: ScenarioConfig, q: np.ndarray,
                  link_km100: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output per unit of productivity (KG) and national surplus per yuan (KG) outside the circle.

    Args:
        q: KG x P base-year output per unit of productivity (the first C columns: local parks).
        link_km100: KG x P base-year distance to linked segments (100 km).
    """
    econ = config.economy
    c = w.n_cities
    y = np.moveaxis(w.output, 0, -1).reshape(-1, c)                           # KG x C
    weight = y / np.maximum(y.sum(axis=1, keepdims=True), 1e-300)
    wage_share = w.wage[None, :] * w.labour_share.reshape(-1, 1)
    dist_share = econ.distance_cost_per_100km * link_km100[:, :c]
    rate = welfare.surplus_per_output(wage_share, dist_share, econ.reservation_wage_share)
    return (weight * q[:, :c]).sum(axis=1), (weight * rate).sum(axis=1)


def stationary_outside_mass(config: ScenarioConfig, cal: Calibration) -> np.ndarray:
    """Productivity mass producing outside in the base year's expected steady state (KG).

    Inflow per step: arrivals taking the outside option and reviewers leaving; outflow: closures.
    """
    econ = config.economy
    mean_a = cal.mean_productivity.ravel()
    inflow = (cal.arrival_rate * econ.outside_share_arrivals
              + (1 - cal.p_exit) * cal.p_review * econ.leave_share_reviewers
              * cal.base_counts.sum(axis=1)) * mean_a
    return inflow / max(cal.p_exit, 1e-9)


def unit_flows(model: CircleModel, events: StepEvents, terms: Terms,
               platform_rate: float) -> welfare.UnitFlows:
    """Annual flows of every unit in the circle at this step."""
    w, p, u, t, econ = model.world, model.parks, model.units, model.steps, model.config.economy
    kg = u.sector.astype(np.int64) * len(SEGMENTS) + u.segment
    city = p.city[u.park]
    paying = u.subsidy_until > t
    rent_support = np.where(t < p.rent_end, p.rent_subsidy, 0.0)[u.park]
    pwp_open = (p.kind == ParkKind.PARK_WITHIN_PARK) & p.open_at(t)
    relocation = np.zeros(len(u))
    moved = ~events.is_arrival & (events.to_park >= 0)
    if moved.any():   # this step's moves, found among the units by id
        order = np.argsort(u.unit_id)
        pos = np.searchsorted(u.unit_id, events.unit_id[moved], sorter=order)
        relocation[order[pos]] = STEPS_PER_YEAR * econ.relocation_cost * events.output[moved]
    return welfare.UnitFlows(
        output=u.output,
        labour_cost=model.wage[city] * w.labour_share.ravel()[kg] * u.output,
        land_rent=u.land * terms.land_price[u.park],
        distance_cost=econ.distance_cost_per_100km * u.output * terms.link_km100[kg, city],
        subsidy=np.where(paying, u.subsidy_rate, 0.0) * u.output + rent_support * u.output,
        platform_fee=np.where(pwp_open[u.park], platform_rate, 0.0) * u.output,
        relocation=relocation, resident=u.origin != Origin.OUTSIDE)


def public_accounts(tax: np.ndarray, retained_tax: np.ndarray, land_rev: np.ndarray,
                    returns: np.ndarray, comp: np.ndarray, subsidies: np.ndarray,
                    park_cost: np.ndarray, park_capital_cost: np.ndarray,
                    platform_cost: np.ndarray) -> welfare.PublicAccounts:
    """Cities' revenue and outlays (C), the carrying cost of serviced park land among the
    outlays (``sim.rules.accounts.park_capital_cost``, the same number the fiscal table books)."""
    revenue = tax + retained_tax + land_rev + returns + np.maximum(comp, 0.0)
    outlays = (subsidies + park_cost + park_capital_cost + platform_cost
               + np.maximum(-comp, 0.0))
    return welfare.PublicAccounts(revenue, outlays)


def measures(model: CircleModel, flows: welfare.UnitFlows,
             accounts: welfare.PublicAccounts) -> tuple[float, float]:
    """(welfare of the circle's residents, welfare of the country) per year."""
    econ, p = model.config.economy, model.parks
    forgone = econ.land_alternative_rent_per_km2 * float(p.capacity[p.open_at(model.steps)].sum())
    args = (flows, accounts, econ.tax_rate, econ.reservation_wage_share, forgone, econ.mcpf)
    cal = model.calibration
    outside = float((model.outside_mass * cal.outside_q * cal.outside_rate).sum())
    return welfare.welfare_circle(*args), welfare.welfare_national(*args, outside)
