"""Welfare of the circle's residents and of the country, as pure functions (no model, no files).

Both measures are annual rates in the money unit of their inputs (亿元 per year) and count only
real flows: attention, consideration and GDP credit are never value. Conventions (docs/ODD.md,
section 7, "Welfare"):

- labour earns rents above a reservation wage, a share ρ of the wage (workers are residents);
- profits of units owned in the circle (local and Wuhan origin) are income of residents; profits
  of outside-owned units leave the circle (but stay in the country);
- public money: revenue (tax, land rent, platform returns, transfers received) counts at face
  value; every public outlay (subsidies of every kind, park capital and running costs, the
  platform, transfers paid) costs the marginal cost of public funds (MCPF) per yuan, so a pure
  transfer from a government costs its excess burden (MCPF − 1);
- developed park land costs its capital and forgoes its alternative use whether it is used or
  idle, so idle land is a pure cost and land rent is a transfer between the occupant and the
  landlord city;
- the country also counts what projects produce outside the circle (``outside_surplus``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["UnitFlows", "PublicAccounts", "labour_rents", "unit_profits", "public_value",
           "welfare_circle", "welfare_national", "surplus_per_output"]


@dataclasses.dataclass(frozen=True)
class UnitFlows:
    """Annual flows of each production unit in the circle (arrays over units)."""

    output: np.ndarray          # value added
    labour_cost: np.ndarray     # wage bill
    land_rent: np.ndarray       # rent paid for the land it holds
    distance_cost: np.ndarray   # costs of distance to linked segments
    subsidy: np.ndarray         # subsidies received (placement, retention, rent support)
    platform_fee: np.ndarray    # platform company's return taken from its value added
    relocation: np.ndarray      # relocation cost paid this step (annual rate; 0 if it did not move)
    resident: np.ndarray        # bool: owned in the circle (local or Wuhan origin)


@dataclasses.dataclass(frozen=True)
class PublicAccounts:
    """Each city government's revenue and outlays (arrays over cities)."""

    revenue: np.ndarray   # tax received (after sharing), land rent, platform returns, transfers in
    outlays: np.ndarray   # subsidies, park capital and running costs, platform, transfers out


def labour_rents(labour_cost: np.ndarray, reservation_share: float) -> float:
    """Wages above the reservation wage: ``(1 − ρ) · Σ wage bill``."""
    return float((1.0 - reservation_share) * np.sum(labour_cost))


def unit_profits(flows: UnitFlows, tax_rate: float) -> np.ndarray:
    """Each unit's profit:
    ``y (1 − τ) − wages − rent − distance − platform fee + subsidy − move``."""
    return (flows.output * (1.0 - tax_rate) - flows.labour_cost - flows.land_rent
            - flows.distance_cost - flows.platform_fee + flows.subsidy - flows.relocation)


def public_value(accounts: PublicAccounts, mcpf: float) -> float:
    """Revenue at face value minus every outlay at the marginal cost of public funds."""
    return float(np.sum(accounts.revenue) - mcpf * np.sum(accounts.outlays))


def welfare_circle(flows: UnitFlows, accounts: PublicAccounts, tax_rate: float,
                   reservation_share: float, land_forgone: float, mcpf: float) -> float:
    """Welfare of the circle's residents per year.

    ``W = (1 − ρ) Σ wages + Σ_resident profits + Σ_c (revenue_c − MCPF · outlays_c) − land_forgone``

    Args:
        flows: units in the circle.
        accounts: the circle cities' governments.
        tax_rate: τ, tax on value added (what units pay; what cities receive is in ``accounts``).
        reservation_share: ρ, reservation wage as a share of the wage.
        land_forgone: alternative use of all developed park land (used or idle), per year.
        mcpf: marginal cost of public funds.
    """
    profits = unit_profits(flows, tax_rate)
    return (labour_rents(flows.labour_cost, reservation_share)
            + float(profits[flows.resident].sum()) + public_value(accounts, mcpf) - land_forgone)


def welfare_national(flows: UnitFlows, accounts: PublicAccounts, tax_rate: float,
                     reservation_share: float, land_forgone: float, mcpf: float,
                     outside_surplus: float) -> float:
    """Welfare of the country per year: every unit's profit counts, plus production outside.

    ``W_n = (1 − ρ) Σ wages + Σ_all profits + Σ_c (revenue_c − MCPF · outlays_c) − land_forgone
    + outside_surplus``. Taxes, rents, fees and subsidies are transfers between firms and
    governments, so a subsidy costs only its excess burden (MCPF − 1) and a project that moves in
    from outside at the outside option's productivity and costs adds nothing.

    Args:
        outside_surplus: surplus of projects producing outside the circle, valued by the same
            rule (``surplus_per_output`` times their output there).
    """
    profits = unit_profits(flows, tax_rate)
    return (labour_rents(flows.labour_cost, reservation_share) + float(profits.sum())
            + public_value(accounts, mcpf) - land_forgone + outside_surplus)


def surplus_per_output(labour_share_wage: np.ndarray, distance_cost_share: np.ndarray,
                       reservation_share: float) -> np.ndarray:
    """National surplus per yuan of value added of unsubsidised production on developed land:
    ``1 − ρ · w λ − d D`` (taxes and rents are transfers; land is not scarce at the margin).

    Args:
        labour_share_wage: wage bill per yuan of value added, ``w λ``.
        distance_cost_share: distance cost per yuan of value added, ``d D``.
    """
    return 1.0 - reservation_share * labour_share_wage - distance_cost_share
