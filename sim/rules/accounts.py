"""The accounts: who counts which GDP and receives which tax, as pure functions.

China's rules: GDP is counted where the establishment is (physical GDP);
tax goes where the unit is registered; sharing agreements move *credit* between cities.
Statistical GDP moves the agreed credit and sums to physical GDP; credited GDP is what each city
reports in its own reviews and may double-count (Guangxi's 2024 enclave rule lets both sides count
shared output in internal reviews).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim.rules.constants import ParkKind
from sim.rules.park_table import Parks


@dataclasses.dataclass(frozen=True)
class Shares:
    """City x park share matrices in force at one step."""

    statistical: np.ndarray   # C x P, columns sum to 1
    credited: np.ndarray      # C x P, columns sum to >= 1
    tax: np.ndarray           # C x P, columns sum to 1 - retained
    retained: np.ndarray      # P, share of tax a park keeps (neither city receives it)


def share_matrices(parks: Parks, step: int, n_cities: int, double_count: bool = False,
                   paid: np.ndarray | None = None) -> Shares:
    """The credit and tax shares of every park at ``step``.

    Enclave: during its term the source takes α_Y of the GDP credit and α_T of the tax left after
    the park-retained share (retained only until ``retention_end``); after the term all goes to
    the host. Reverse enclave: tax by registration (the source); α_Y of the credit to the source.
    Park-within-park and local parks: everything stays where the park is. ``paid`` (P, 0 to 1):
    the part of each park's agreed shares actually paid this period (the rest stays with the
    host; all paid if None).
    """
    p = parks.n
    cols = np.arange(p)
    in_term = (parks.start <= step) & (step < parks.term_end)
    honoured = np.ones(p) if paid is None else np.asarray(paid, float)
    a_y = np.where(in_term, parks.gdp_share_source, 0.0) * honoured
    a_t = np.where(in_term, parks.tax_share_source, 0.0) * honoured
    kept = np.where(in_term & (step < parks.retention_end), parks.retained_share, 0.0)
    stat = np.zeros((n_cities, p))
    stat[parks.city, cols] += 1.0 - a_y       # one entry per column: no repeated index
    stat[parks.operator, cols] += a_y
    credited = stat.copy()
    if double_count:
        enclave = parks.kind == ParkKind.ENCLAVE
        shared = enclave & (a_y > 0)
        credited[:, shared] = 0.0
        credited[parks.city[shared], cols[shared]] = 1.0
        credited[parks.operator[shared], cols[shared]] = 1.0
    tax = np.zeros((n_cities, p))
    tax[parks.registration, cols] += (1.0 - a_t) * (1.0 - kept)
    tax[parks.operator, cols] += a_t * (1.0 - kept)
    return Shares(stat, credited, tax, kept)


def physical_gdp(park_output: np.ndarray, park_city: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """GDP where production stands: primary output plus the output of each city's parks."""
    return primary + np.bincount(park_city, weights=park_output, minlength=len(primary))


def statistical_gdp(shares: Shares, park_output: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """GDP after agreed credit transfers; sums to physical GDP."""
    return primary + shares.statistical @ park_output


def credited_gdp(shares: Shares, park_output: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """GDP each city reports in its own performance reviews (may double-count)."""
    return primary + shares.credited @ park_output


def tax_revenue(shares: Shares, park_tax: np.ndarray) -> np.ndarray:
    """Each city's tax receipts after sharing (parks keep their retained share)."""
    return shares.tax @ park_tax


def tax_split(parks: Parks, shares: Shares, park_tax: np.ndarray,
              n_cities: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each city's tax collected at registration (after the parks' retained share), the tax shared
    in from units registered elsewhere and shared out of its own: collected + in − out is its
    tax revenue."""
    own = parks.registration[None, :] == np.arange(n_cities)[:, None]            # C x P
    collected = own @ ((1.0 - shares.retained) * park_tax)
    shared_in = (shares.tax * ~own) @ park_tax
    shared_out = (own * ((1.0 - shares.retained)[None, :] - shares.tax)) @ park_tax
    return collected, shared_in, shared_out


def park_capital_cost(parks: Parks, step: int, n_cities: int, cost_per_km2: float) -> np.ndarray:
    """The annual carrying cost of serviced park land each city bears (C): ``cost/km² × land``.

    Serviced land costs its capital whether used or idle. The city where a park stands serviced
    its land and stays its landlord, so it carries the cost of its local park and of the land it
    allotted to every agreement park in force (enclave, park-within-park, reverse enclave); the
    operator pays the park's running cost and, for a reverse enclave, the plot's rent instead.
    """
    serviced = (parks.kind == ParkKind.LOCAL) | parks.open_at(step)
    return np.bincount(parks.city[serviced], weights=cost_per_km2 * parks.capacity[serviced],
                       minlength=n_cities)


def platform_returns(parks: Parks, park_output: np.ndarray, return_rate: float,
                     n_cities: int, step: int) -> np.ndarray:
    """Returns of park-within-park platform companies, split by equity (WEDZ-Huanggang 80:20).

    The platform earns ``return_rate`` of its branch's value added; GDP and tax stay with the host.
    """
    pwp = (parks.kind == ParkKind.PARK_WITHIN_PARK) & parks.open_at(step)
    earned = np.where(pwp, return_rate * park_output, 0.0)
    out = np.bincount(parks.operator, weights=earned * parks.equity_operator, minlength=n_cities)
    out += np.bincount(parks.city, weights=earned * (1 - parks.equity_operator), minlength=n_cities)
    return out


def sharing_flows(parks: Parks, shares: Shares, park_output: np.ndarray, park_tax: np.ndarray,
                  returns_rate: float, cities: tuple[str, ...], step: int) -> pd.DataFrame:
    """The ``flows`` rows of one step: credit, tax and platform returns moved between cities."""
    return pd.DataFrame(sharing_flow_rows(parks, shares, park_output, park_tax, returns_rate,
                                          cities, step),
                        columns=["step", "from_city", "to_city", "kind", "amount"])


def sharing_flow_rows(parks: Parks, shares: Shares, park_output: np.ndarray,
                      park_tax: np.ndarray, returns_rate: float, cities: tuple[str, ...],
                      step: int) -> list[tuple]:
    """:func:`sharing_flows` as (step, from_city, to_city, kind, amount) tuples."""
    rows = []
    for j in np.flatnonzero(parks.kind != ParkKind.LOCAL):
        host, op = cities[parks.city[j]], cities[parks.operator[j]]
        credit = shares.statistical[parks.operator[j], j] * park_output[j]
        # enclave: the agreed share; reverse enclave: registration sends the tax to the source
        tax_to_source = shares.tax[parks.operator[j], j] * park_tax[j]
        if credit > 0:
            rows.append((step, host, op, "gdp_credit", credit))
        if tax_to_source > 0:
            rows.append((step, host, op, "tax", tax_to_source))
        if shares.retained[j] > 0 and park_tax[j] > 0:
            rows.append((step, host, f"park:{parks.name[j]}", "tax_retained",
                         shares.retained[j] * park_tax[j]))
        if (
            parks.kind[j] == ParkKind.PARK_WITHIN_PARK
            and park_output[j] > 0
            and parks.start[j] <= step
        ):
            rows.append((step, host, op, "platform_return",
                         returns_rate * park_output[j] * parks.equity_operator[j]))
    return rows
