"""The agreements' book: each agreement's declared terms, what became of it, and what its
parties owe one another while it is in force.

- **In force or new.** An agreement in force in the base year stays open from step 0; any other
  is closed until both cities sign it (:mod:`sim.model.negotiation`).
- **Build-out.** A new enclave's or branch's serviced land opens in equal parts over
  ``policies.agreements.build_out_years`` from signing (its running cost with it); a reverse
  enclave is a building, open at once.
- **Shares not always paid.** Each period the agreed GDP-credit and tax shares of a park are
  paid with ``policies.agreements.payment_probability`` (one draw of the ``payments`` stream per
  agreement of the scenario's list, whether in force or not, so paired scenarios draw alike).
  An unpaid period's shares stay with the host; what was due is recorded, and the owed city's
  record (periods paid of those due) is what it expects of shares in later proposals.
- **Side payments.** Money a year from host to source (or back) bargained at signing, paid while
  the agreement is in force, booked in both budgets.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.config.schema import ScenarioConfig
from sim.model.parks import built_agreements
from sim.rules import accounts
from sim.rules.agreements import build_out_share, honoured_share
from sim.rules.constants import KINDS, STEPS_PER_YEAR, ParkKind
from sim.rules.park_table import Parks

CLOSED = 10**9          # start step of a park whose agreement is not (yet) signed
#: Kinds whose serviced land is built out after signing (a reverse enclave is a building).
BUILT_OUT = (ParkKind.ENCLAVE, ParkKind.PARK_WITHIN_PARK)


@dataclasses.dataclass
class AgreementBook:
    """The declared terms of every agreement park (arrays over agreements A, in park order),
    what became of them and what is owed."""

    park: np.ndarray          # park index of each agreement
    entry: np.ndarray         # its position in the scenario's list of agreements
    name: list[str]
    basis: list[str]          # in_force, documented or hypothetical
    start: np.ndarray         # next step it is offered (declared first step; a year after a no)
    land: np.ndarray          # declared land, km²
    term_steps: np.ndarray    # declared term in steps (inf: no end)
    gdp_share: np.ndarray     # declared source shares (used when shares are not bargained)
    tax_share: np.ndarray
    retention_steps: np.ndarray  # declared retention and rent-support spans, from the start
    rent_steps: np.ndarray
    allotted: np.ndarray      # C, land each host has allotted to new agreement parks, km²
    active: np.ndarray        # bool: signed (or in force) and in force now
    signed_at: np.ndarray     # step of signing (-inf: in force in the base year)
    full_land: np.ndarray     # land the terms allot (open once built out), km²
    full_cost: np.ndarray     # running cost a year once built out
    side_payment: np.ndarray  # a year, + the host pays the source (0 if none)
    paid_periods: np.ndarray  # C: periods a city was paid the shares it was owed
    due_periods: np.ndarray   # C: periods shares fell due to it
    paid_now: np.ndarray      # P: 1 if this period's shares are paid, 0 if not
    rows: list = dataclasses.field(default_factory=list)

    def flush(self) -> list:
        """The table rows written since the last call."""
        out, self.rows = self.rows, []
        return out

    def honoured(self) -> np.ndarray:
        """Per city, what it expects of a share it is promised (C)."""
        return honoured_share(self.paid_periods, self.due_periods)


def prepare(parks: Parks, config: ScenarioConfig, n_cities: int) -> AgreementBook:
    """Record the declared terms of every agreement park; close each new one until it is
    signed (the agreements in force stay open and active, and are recorded as such)."""
    j = np.flatnonzero(parks.kind != ParkKind.LOCAL)
    entry = np.array(built_agreements(config), dtype=int)
    basis = [config.agreements[e].basis for e in entry]
    in_force = np.array([b == "in_force" for b in basis], dtype=bool)
    book = AgreementBook(
        park=j, entry=entry, name=[parks.name[k] for k in j], basis=basis,
        start=parks.start[j].copy(), land=parks.capacity[j].copy(),
        term_steps=parks.term_end[j] - parks.start[j],
        gdp_share=parks.gdp_share_source[j].copy(), tax_share=parks.tax_share_source[j].copy(),
        retention_steps=parks.retention_end[j] - parks.start[j],
        rent_steps=parks.rent_end[j] - parks.start[j], allotted=np.zeros(n_cities),
        active=in_force.copy(), signed_at=np.where(in_force, -np.inf, np.nan),
        full_land=parks.capacity[j].copy(), full_cost=parks.build_cost[j].copy(),
        side_payment=np.zeros(len(j)), paid_periods=np.zeros(n_cities),
        due_periods=np.zeros(n_cities), paid_now=np.ones(parks.n))
    parks.start[j[~in_force]] = CLOSED
    parks.capacity[j[~in_force]] = 0.0
    return book


def record_in_force(book: AgreementBook, parks: Parks, cities: tuple[str, ...]) -> None:
    """One ``in_force`` row per agreement in force in the base year (at step 0)."""
    for i in np.flatnonzero(np.isneginf(book.signed_at)):
        j = book.park[i]
        add_row(book, parks, cities, i, 0, "in_force", float(parks.gdp_share_source[j]),
                float(parks.tax_share_source[j]), float(parks.capacity[j]))


def add_row(book: AgreementBook, parks: Parks, cities: tuple[str, ...], i: int, step: int,
            status: str, a_y: float, a_t: float, land: float, side: float = 0.0) -> None:
    """Append one row of the ``agreements`` table for agreement i."""
    j = book.park[i]
    term = book.term_steps[i] / STEPS_PER_YEAR
    book.rows.append(dict(
        step=step, name=book.name[i], basis=book.basis[i], source=cities[parks.operator[j]],
        host=cities[parks.city[j]], kind=KINDS[parks.kind[j]], status=status,
        gdp_share=float(a_y), tax_share=float(a_t),
        term_years=float(term) if np.isfinite(term) else float("nan"), land_km2=float(land),
        side_payment=float(side)))


def open_land(parks: Parks, book: AgreementBook, step: int, build_out_years: float) -> None:
    """Each signed new enclave and branch opens its serviced land by the build-out rule
    (:func:`sim.rules.agreements.build_out_share`), its running cost in proportion."""
    new = book.active & np.isfinite(book.signed_at) & np.isin(parks.kind[book.park], BUILT_OUT)
    if not new.any():
        return
    share = build_out_share(step - book.signed_at[new], build_out_years)
    parks.capacity[book.park[new]] = book.full_land[new] * share
    parks.build_cost[book.park[new]] = book.full_cost[new] * share


def settle_payments(book: AgreementBook, parks: Parks, step: int, draws: np.ndarray,
                    probability: float) -> None:
    """Decide whether this period's agreed shares of each park are paid (``draws``: one uniform
    per agreement of the scenario's list) and add the period to the owed cities' records."""
    book.paid_now = np.ones(parks.n)
    in_term = (parks.start <= step) & (step < parks.term_end)
    for i, j in enumerate(book.park):
        owed = in_term[j] and (parks.gdp_share_source[j] > 0 or parks.tax_share_source[j] > 0)
        if not owed:
            continue
        paid = bool(draws[book.entry[i]] < probability)
        book.paid_now[j] = float(paid)
        book.due_periods[parks.operator[j]] += 1
        book.paid_periods[parks.operator[j]] += paid


@dataclasses.dataclass(frozen=True)
class Settlement:
    """What the agreements put in a step's books."""

    paid: np.ndarray           # P: the part of each park's agreed shares paid this period
    side_payments: np.ndarray  # C: side payments in force, a year (+ receives)
    reserved_land: np.ndarray  # C: land hosts allotted to new parks that is not open yet, km²


def settlement(book: AgreementBook, parks: Parks, step: int, n_cities: int) -> Settlement:
    """The agreements' part of this step's books: shares paid, side payments, and the serviced
    land a host has given over to a new park that the build-out has not opened yet (it still
    carries its cost)."""
    j = book.park
    new = book.active & np.isfinite(book.signed_at)
    unopened = np.where(new, np.maximum(book.full_land - parks.capacity[j], 0.0), 0.0)
    return Settlement(book.paid_now, side_payments(book, parks, step, n_cities),
                      np.bincount(parks.city[j], weights=unopened, minlength=n_cities))


def side_payments(book: AgreementBook, parks: Parks, step: int, n_cities: int) -> np.ndarray:
    """Each city's side payments this step, a year (C, + receives): agreements in force and in
    their term."""
    j = book.park
    on = book.active & (parks.start[j] <= step) & (step < parks.term_end[j])
    z = np.where(on, book.side_payment, 0.0)
    return (np.bincount(parks.operator[j], weights=z, minlength=n_cities)
            - np.bincount(parks.city[j], weights=z, minlength=n_cities))


def committed_side_payments(book: AgreementBook, parks: Parks, n_cities: int) -> np.ndarray:
    """What each city already pays a year under the side payments of agreements in force (C)."""
    j = book.park
    z = np.where(book.active, book.side_payment, 0.0)
    return (np.bincount(parks.city[j], weights=np.maximum(z, 0.0), minlength=n_cities)
            + np.bincount(parks.operator[j], weights=np.maximum(-z, 0.0), minlength=n_cities))


def payment_flow_rows(book: AgreementBook, parks: Parks, step: int, park_output: np.ndarray,
                      park_tax: np.ndarray, cities: tuple[str, ...]) -> list[tuple]:
    """The ``flows`` rows this step adds, as (step, from_city, to_city, kind, amount) tuples:
    agreed shares due but not paid (``gdp_credit_unpaid``, ``tax_unpaid``, from the host that
    kept them to the source) and side payments."""
    rows = []
    n = len(cities)
    due = accounts.share_matrices(parks, step, n)
    for i, j in enumerate(book.park):
        host, src = cities[parks.city[j]], cities[parks.operator[j]]
        if book.paid_now[j] == 0:
            credit = due.statistical[parks.operator[j], j] * park_output[j]
            tax = (due.tax[parks.operator[j], j] * park_tax[j]
                   if parks.registration[j] != parks.operator[j] else 0.0)
            rows += [(step, host, src, kind, amount) for kind, amount in
                     (("gdp_credit_unpaid", credit), ("tax_unpaid", tax)) if amount > 0]
        z = book.side_payment[i]
        if book.active[i] and z != 0 and parks.start[j] <= step < parks.term_end[j]:
            payer, payee = (host, src) if z > 0 else (src, host)
            rows.append((step, payer, payee, "side_payment", abs(float(z))))
    return rows
