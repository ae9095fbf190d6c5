"""Welfare of the circle's residents and of the country, as pure functions (no model, no files).

Both measures are annual rates in the money unit of their inputs (亿元 per year) and count only
real flows: attention, consideration and GDP credit are never value. Conventions (docs/ODD.md,
section 7, "Welfare"), each chosen so that an invariance holds (``tests/test_welfare.py``):

- labour earns rents above a reservation wage fixed at a share ρ of its city's *base-year* wage,
  so a wage-level change at equal employment moves money between firms and workers and leaves
  the country's welfare unchanged (workers are residents);
- profits of units owned in the circle (local and Wuhan origin) are income of residents; profits
  of outside-owned units leave the circle (but stay in the country);
- public money has one shadow price: every yuan a government receives or pays (tax, land rent,
  platform returns, transfers, subsidies, park, promotion and platform costs) counts at the
  marginal cost of public funds (MCPF), so a transfer between two governments changes neither
  measure, a subsidy costs its excess burden (MCPF − 1) and a tax or rent a government collects
  saves that much of other taxes' burden (Dahlby 2008, *The Marginal Cost of Public Funds*);
- developed park land costs its capital and forgoes its alternative use whether it is used or
  idle, so idle land is a pure cost and land rent is a transfer between the occupant and the
  landlord city;
- approval friction (a delay that costs the project a share of a year's value added) and moving
  costs are resources used up: they lower the paying unit's profit and go to nobody;
- the country also counts what projects produce outside the circle, valued by the same rule at
  the outside option's own subsidy, land rent and tax (``surplus_per_output``), so a project
  that moves in at equal productivity and equal costs adds nothing.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["UnitFlows", "PublicAccounts", "WelfareParts", "labour_rents", "unit_profits",
           "public_value", "welfare_parts", "welfare_circle", "welfare_national",
           "surplus_per_output"]


@dataclasses.dataclass(frozen=True)
class UnitFlows:
    """Annual flows of each production unit in the circle (arrays over units)."""

    output: np.ndarray          # value added
    labour_cost: np.ndarray     # wage bill at the wages of the step
    reservation: np.ndarray     # the same labour at the reservation wage (ρ x base-year wage)
    land_rent: np.ndarray       # rent paid for the land it holds
    distance_cost: np.ndarray   # costs of distance to linked segments
    subsidy: np.ndarray         # subsidies received (placement, retention, rent support)
    platform_fee: np.ndarray    # platform company's return taken from its value added
    relocation: np.ndarray      # relocation cost paid this step (annual rate; 0 if it did not move)
    friction: np.ndarray        # approval delay's cost paid this step (annual rate; 0 if none)
    resident: np.ndarray        # bool: owned in the circle (local or Wuhan origin)


@dataclasses.dataclass(frozen=True)
class PublicAccounts:
    """Each city government's revenue and outlays (arrays over cities)."""

    revenue: np.ndarray   # tax received (after sharing), land rent, platform returns, transfers in
    outlays: np.ndarray   # subsidies, park, promotion and platform costs, transfers out


@dataclasses.dataclass(frozen=True)
class WelfareParts:
    """The accounts both measures are made of (亿元 a year), so a difference can be taken apart.

    ``circle = labour_rents + profits_resident + public − land_forgone``;
    ``national = circle + profits_nonresident + outside``.
    """

    labour_rents: float
    profits_resident: float
    profits_nonresident: float
    public: float
    land_forgone: float
    outside: float

    @property
    def circle(self) -> float:
        return self.labour_rents + self.profits_resident + self.public - self.land_forgone

    @property
    def national(self) -> float:
        return self.circle + self.profits_nonresident + self.outside


def labour_rents(labour_cost: np.ndarray, reservation: np.ndarray) -> float:
    """Wages above the reservation wage: ``Σ (wage bill − the same labour at ρ w₀)``."""
    return float(np.sum(labour_cost) - np.sum(reservation))


def unit_profits(flows: UnitFlows, tax_rate: float) -> np.ndarray:
    """Each unit's profit: ``y (1 − τ) − wages − rent − distance − platform fee + subsidy − move
    − approval friction``."""
    return (flows.output * (1.0 - tax_rate) - flows.labour_cost - flows.land_rent
            - flows.distance_cost - flows.platform_fee + flows.subsidy - flows.relocation
            - flows.friction)


def public_value(accounts: PublicAccounts, mcpf: float) -> float:
    """Every public yuan at the marginal cost of public funds: ``MCPF · Σ (revenue − outlays)``."""
    return float(mcpf * (np.sum(accounts.revenue) - np.sum(accounts.outlays)))


def welfare_parts(flows: UnitFlows, accounts: PublicAccounts, tax_rate: float,
                  land_forgone: float, mcpf: float, outside_surplus: float = 0.0
                  ) -> WelfareParts:
    """The accounts of both measures for one step.

    Args:
        flows: units in the circle.
        accounts: the circle cities' governments.
        tax_rate: τ, tax on value added (what units pay; what cities receive is in ``accounts``).
        land_forgone: alternative use of all developed park land (used or idle), per year.
        mcpf: marginal cost of public funds.
        outside_surplus: surplus of projects producing outside the circle, valued by the same
            rule (``surplus_per_output`` times their output there).
    """
    profits = unit_profits(flows, tax_rate)
    resident = np.asarray(flows.resident, dtype=bool)
    return WelfareParts(labour_rents=labour_rents(flows.labour_cost, flows.reservation),
                        profits_resident=float(profits[resident].sum()),
                        profits_nonresident=float(profits[~resident].sum()),
                        public=public_value(accounts, mcpf), land_forgone=float(land_forgone),
                        outside=float(outside_surplus))


def welfare_circle(flows: UnitFlows, accounts: PublicAccounts, tax_rate: float,
                   land_forgone: float, mcpf: float) -> float:
    """Welfare of the circle's residents per year:
    ``W = Σ (wages − reservation) + Σ_resident profits + MCPF · Σ_c (revenue_c − outlays_c)
    − land_forgone``."""
    return welfare_parts(flows, accounts, tax_rate, land_forgone, mcpf).circle


def welfare_national(flows: UnitFlows, accounts: PublicAccounts, tax_rate: float,
                     land_forgone: float, mcpf: float, outside_surplus: float) -> float:
    """Welfare of the country per year: every unit's profit counts, plus production outside.

    ``W_n = W + Σ_outside-owned profits + outside_surplus``. Taxes, rents, fees and subsidies
    are transfers between firms and governments, so they count only through the shadow price of
    public money: a subsidy costs its excess burden (MCPF − 1), and a project that moves in from
    outside at the outside option's productivity and costs adds nothing.
    """
    return welfare_parts(flows, accounts, tax_rate, land_forgone, mcpf,
                         outside_surplus).national


def surplus_per_output(reservation_share: np.ndarray, distance_cost_share: np.ndarray,
                       public_share: np.ndarray | float, mcpf: float) -> np.ndarray:
    """National surplus per yuan of value added: ``1 − ρ w₀ λ − d D + (MCPF − 1)(τ + r a − s)``.

    Value added less the labour's reservation wage and distance costs (wages above it, profits,
    taxes and rents are someone's income), plus the excess burden that the net public inflow
    (tax and land rent collected, less subsidies paid) saves or costs.

    Args:
        reservation_share: labour at the reservation wage per yuan of value added, ``ρ w₀ λ``.
        distance_cost_share: distance cost per yuan of value added, ``d D``.
        public_share: tax and land rent less subsidies per yuan, ``τ + r a − s``.
    """
    return (1.0 - reservation_share - distance_cost_share
            + (mcpf - 1.0) * np.asarray(public_share))
