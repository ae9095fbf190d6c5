"""Turn the model's state after each step into rows of the output tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.config.schema import ScenarioConfig
from sim.model import welfare_accounts
from sim.model.books import Books
from sim.model.city import City
from sim.model.firms import StepEvents
from sim.model.state import State
from sim.model.tables import CHANNELS, TABLES, Results
from sim.rules import accounts, metrics
from sim.rules.constants import (
    KINDS,
    ORIGINS,
    SEGMENTS,
    STEPS_PER_YEAR,
    Origin,
    ParkKind,
    sector_and_segment,
)
from sim.rules.welfare import WelfareParts

#: The transfers table's channels (:data:`sim.model.tables.CHANNELS`) as labels to index into,
#: and the position of the channel of a move into a park of each kind (a local park: relocation).
CHANNEL_NAMES = np.array(CHANNELS, dtype=object)
CHANNEL_CODE_OF_KIND = np.array([CHANNELS.index(c) for c in ("relocation", *KINDS[1:])])
ORIGIN_NAMES = np.array(ORIGINS, dtype=object)


def names(labels) -> np.ndarray:
    """Labels to index into: an object array (its entries are the labels themselves, 8 bytes a
    row however long the label)."""
    return np.array(list(labels), dtype=object)


@dataclasses.dataclass(frozen=True)
class Coded:
    """A string column kept as positions into its labels (``labels[codes]``): a table's column
    is then built by one take from the labels as strings, not by converting every row's
    string (pandas stores ``str`` columns as Arrow strings); the same column, dtype included."""

    labels: np.ndarray      # object array of the labels
    codes: np.ndarray       # int, one per row

    def __len__(self) -> int:
        return len(self.codes)

    def decoded(self) -> np.ndarray:
        return self.labels[self.codes]


class Recorder:
    """Reads the state after each step into one row block per table; ``results()`` assembles the
    tables. It reads and never changes the model (its only state is what it recorded)."""

    def __init__(self) -> None:
        self.rows: dict[str, list] = {name: [] for name in TABLES}
        self.relocated_cum = 0.0
        self.invested_cum = 0.0
        self.new_investment_cum: np.ndarray | None = None   # C, since step 1 (step 0 has none)
        self.from_wuhan_cum: np.ndarray | None = None
        #: the same over investors based outside the receiving city (what "signed investment",
        #: 招商引资, counts): a local investor's project in its home city is left out
        self.nonlocal_cum: np.ndarray | None = None
        self.from_wuhan_nonlocal_cum: np.ndarray | None = None
        self.lead: np.ndarray | None = None      # the world's lead sectors (cities x sectors)
        self.cells: tuple[np.ndarray, ...] | None = None   # labels of the sectors table's rows

    def record(self, state: State, events: StepEvents, books: Books, cities: Sequence[City],
               agreements: list[dict], agreement_flows: list[tuple] | None = None) -> None:
        """Append the step's rows: the state, the step's events, its books, the cities' stances,
        the agreement rows written at this step and the agreements' own flows (shares due but
        not paid, side payments)."""
        w, p, t = state.world, state.parks, state.step
        cfg = state.config
        cube = state.output_cube()
        self._circle(state, events, books, cube)
        self._cities(state, events, books, cube, cities)
        self._plan_pairs(state, cube)
        self._fiscal(state, books, cities)
        self._sectors(state, cube)
        self._parks(state, books.used, books.park_output, books.terms.land_price)
        self._transfers(state, events)
        self._investment_map(state)
        self._keep_rows("flows", accounts.sharing_flow_rows(
            p, books.shares, books.park_output, books.park_tax,
            cfg.policies.park_within_park.platform_return_rate, w.cities, t))
        self._keep_rows("flows", agreement_flows or [])
        transfers = books.compensation
        self._keep_rows("agreements", [tuple(row[name] for name in TABLES["agreements"])
                                       for row in agreements])
        if np.any(transfers != 0):
            payers = np.flatnonzero(transfers < 0)
            takers = np.flatnonzero(transfers > 0)
            total = transfers[takers].sum()
            self._keep_rows("flows", [(t, w.cities[a], w.cities[b], "compensation",
                                       -transfers[a] * transfers[b] / total)
                                      for a in payers for b in takers])

    def _circle(self, state: State, events: StepEvents, books: Books,
                cube: np.ndarray) -> None:
        w, econ, t, units = state.world, state.config.economy, state.step, state.units
        physical, credited, subsidies = books.physical, books.credited, books.subsidies
        park_cost, transfers, used = books.park_cost, books.compensation, books.used
        city_of_unit = state.parks.city[units.park]
        manuf = cube.sum(axis=2)[:, w.manufacturing]
        dist_cost = (econ.distance_cost_per_100km
                     * (units.output * books.terms.link_km100[units.kg, city_of_unit]).sum())
        relocated, invested = self._out_of_wuhan(state, events)
        self.relocated_cum += relocated
        self.invested_cum += invested
        relocation = STEPS_PER_YEAR * events.relocation_cost
        parts = self._welfare(state, events, books)
        paid, friction = welfare_accounts.placed_friction(state, events)
        arrivals = events.is_arrival & (events.to_park >= 0)
        self.rows["circle"].append(dict(
            step=t, gdp_total=float(physical.sum()),
            wuhan_share=metrics.core_share(physical, w.core),
            wuhan_share_credited=metrics.core_share(credited, w.core),
            similarity_ring_mean=metrics.similarity_ring_mean(manuf, w.core),
            specialisation_mean=metrics.specialisation_mean(manuf),
            theil=metrics.theil_index(physical, w.population),
            theil_credited=metrics.theil_index(credited, w.population),
            subsidy_total=float(subsidies.sum()), tax_total=float(books.tax.sum()),
            distance_cost_total=float(dist_cost), relocation_cost_total=float(relocation),
            park_cost_total=float(park_cost.sum()), welfare=parts.circle,
            welfare_national=parts.national,
            welfare_labour_rents=parts.labour_rents,
            welfare_profits_resident=parts.profits_resident,
            welfare_profits_nonresident=parts.profits_nonresident,
            welfare_public=parts.public, welfare_land_forgone=parts.land_forgone,
            welfare_outside=parts.outside,
            friction_cost_total=float(STEPS_PER_YEAR * friction[paid].sum()),
            promotion_cost_total=float(books.promotion_cost.sum()),
            platform_cost_total=float(books.platform_cost.sum()),
            idle_land_share=metrics.idle_land_share(used[state.parks.open_at(t)],
                                                    state.parks.capacity[state.parks.open_at(t)]),
            relocated_out_of_wuhan=relocated, relocated_out_of_wuhan_cum=self.relocated_cum,
            wuhan_investment_in_ring=invested, wuhan_investment_in_ring_cum=self.invested_cum,
            n_units=len(units),
            new_investment_total=float(STEPS_PER_YEAR * events.output[arrivals].sum()),
            compensation_total=float(np.maximum(transfers, 0).sum())))

    def _plan_pairs(self, state: State, cube: np.ndarray) -> None:
        """The plan's four pairs, the ring's chain completeness and segment-level similarity, added
        to the step's circle row: outcomes read off the state (after the cities' investment
        totals), never an input to any decision."""
        w = state.world
        manuf = cube[:, w.manufacturing]
        row = self.rows["circle"][-1]
        row.update(metrics.segment_pairs(manuf, w.core))
        row["pair_wuhan_capital_to_ring_cum"], row["pair_ring_capital_from_wuhan_cum"] = \
            metrics.capital_pair(self.new_investment_cum, self.from_wuhan_cum, w.core)
        if self.lead is None:       # the base year's lead sectors: the same at every step
            self.lead = metrics.lead_sectors(w.output[:, w.manufacturing].sum(axis=2))
        lead = self.lead
        row["chain_completeness_ring"] = metrics.chain_completeness_ring(manuf, w.distance_km,
                                                                         lead, w.core)
        row["similarity_ring_mean_segment"] = metrics.similarity_ring_mean_segments(manuf, w.core)

    @staticmethod
    def _welfare(state: State, events: StepEvents, books: Books) -> WelfareParts:
        """The accounts of the circle residents' and the country's welfare a year at this step."""
        p, n = state.parks, state.world.n_cities
        retained = np.bincount(p.city, weights=books.shares.retained * books.park_tax,
                               minlength=n)
        flows = welfare_accounts.unit_flows(
            state, events, books.terms,
            state.config.policies.park_within_park.platform_return_rate)
        public = welfare_accounts.public_accounts(
            books.tax, retained, books.land_revenue, books.returns,
            books.compensation + books.side_payments, books.subsidies, books.park_cost,
            books.park_capital_cost, books.platform_cost, books.promotion_cost)
        return welfare_accounts.parts(state, flows, public)

    @staticmethod
    def _out_of_wuhan(state: State, events: StepEvents) -> tuple[float, float]:
        """Output (annual rate) placed in ring cities this step from Wuhan: existing units that
        relocated out of Wuhan, and new projects of Wuhan-origin investors (any channel)."""
        core = state.world.core
        placed = events.to_park >= 0
        to_city = np.where(placed, state.parks.city[np.maximum(events.to_park, 0)], -1)
        out = placed & (events.from_city == core) & (to_city != core)
        return (float(events.output[out & ~events.is_arrival].sum()),
                float(events.output[out & events.is_arrival].sum()))

    def _cities(self, state: State, events: StepEvents, books: Books, cube: np.ndarray,
                cities: Sequence[City]) -> None:
        w, p, units, t = state.world, state.parks, state.units, state.step
        persons = (w.labour_share.ravel()[units.kg] * units.output * 1e8
                   / (w.wage[p.city[units.park]] * state.config.world.wage_core_yuan))
        city_of_unit = p.city[units.park]
        offers = state.settings.offers
        arrivals = events.is_arrival & (events.to_park >= 0)
        dest = p.city[np.maximum(events.to_park, 0)]
        new_inv = np.bincount(dest[arrivals], weights=STEPS_PER_YEAR * events.output[arrivals],
                              minlength=w.n_cities)
        from_wuhan = arrivals & (events.origin == Origin.WUHAN)
        new_w = np.bincount(dest[from_wuhan], weights=STEPS_PER_YEAR * events.output[from_wuhan],
                            minlength=w.n_cities)
        outsider = arrivals & (events.from_city != dest)     # not the destination's own investor
        new_nl = np.bincount(dest[outsider], weights=STEPS_PER_YEAR * events.output[outsider],
                             minlength=w.n_cities)
        from_wuhan_nl = from_wuhan & outsider
        new_w_nl = np.bincount(dest[from_wuhan_nl],
                               weights=STEPS_PER_YEAR * events.output[from_wuhan_nl],
                               minlength=w.n_cities)
        if self.new_investment_cum is None:
            self.new_investment_cum, self.from_wuhan_cum, self.nonlocal_cum, \
                self.from_wuhan_nonlocal_cum = np.zeros((4, w.n_cities))
        self.new_investment_cum += new_inv
        self.from_wuhan_cum += new_w
        self.nonlocal_cum += new_nl
        self.from_wuhan_nonlocal_cum += new_w_nl
        self._keep("cities", dict(
            step=t, city=names(w.cities), gdp_physical=books.physical,
            gdp_statistical=books.statistical, gdp_credited=books.credited, tax_revenue=books.tax,
            land_revenue=books.land_revenue, subsidy_spent=books.subsidies,
            retention_spent=books.retention,
            transfers_net=books.returns + books.compensation + books.side_payments,
            fiscal_balance=books.fiscal, objective=books.objective,
            employment=np.bincount(city_of_unit, weights=persons, minlength=w.n_cities),
            land_used=np.bincount(p.city, weights=books.used, minlength=w.n_cities),
            land_capacity=np.bincount(p.city, weights=np.where(p.open_at(t), p.capacity, 0.0),
                                      minlength=w.n_cities),
            land_price=books.terms.land_price[: w.n_cities], wage=state.wage,
            n_units=np.bincount(city_of_unit, minlength=w.n_cities),
            new_investment=new_inv, new_investment_from_wuhan=new_w,
            wuhan_origin_share_cum=metrics.wuhan_origin_share(self.new_investment_cum,
                                                              self.from_wuhan_cum),
            wuhan_origin_share_nonlocal_cum=metrics.wuhan_origin_share(
                self.nonlocal_cum, self.from_wuhan_nonlocal_cum),
            subsidy_rate_mean=[float(offers[c.index][c.targets].mean()) if c.targets.any()
                               else 0.0 for c in cities],
            cheating=[bool(c.cheating) for c in cities]))

    def _fiscal(self, state: State, books: Books, cities: Sequence[City]) -> None:
        """The ``fiscal`` rows: every public inflow and outlay of each city, adding up to its fiscal
        balance, and where it stands under the subsidy cap: ``breaks_cap``, offering above the cap
        this quarter while not yet caught; ``caught``, caught at an inspection so far (out of the
        scheme for good). A city with neither is bound by the cap (if there is one)."""
        w, transfers = state.world, books.compensation
        collected, shared_in, shared_out = accounts.tax_split(state.parks, books.shares,
                                                              books.park_tax, w.n_cities)
        self._keep("fiscal", dict(
            step=state.step, city=names(w.cities), tax_collected=collected,
            tax_shared_in=shared_in, tax_shared_out=shared_out, land_revenue=books.land_revenue,
            platform_return=books.returns, compensation_received=np.maximum(transfers, 0.0),
            subsidies=books.subsidies - books.retention, retention=books.retention,
            compensation_paid=np.maximum(-transfers, 0.0),
            side_payment_received=np.maximum(books.side_payments, 0.0),
            side_payment_paid=np.maximum(-books.side_payments, 0.0),
            park_operating_cost=books.park_cost,
            park_capital_cost=books.park_capital_cost, platform_cost=books.platform_cost,
            promotion_cost=books.promotion_cost, balance=books.fiscal,
            breaks_cap=[bool(c.cheating) for c in cities],
            caught=[bool(c.detected) for c in cities]))

    def _sectors(self, state: State, cube: np.ndarray) -> None:
        if self.cells is None:      # the labels of the city x sector x segment cells, once
            w = state.world
            c, k, g = np.meshgrid(np.arange(w.n_cities), np.arange(w.n_sectors),
                                  np.arange(len(SEGMENTS)), indexing="ij")
            self.cells = (Coded(names(w.cities), c.ravel()), Coded(names(w.sectors), k.ravel()),
                          Coded(names(SEGMENTS), g.ravel()))
        city, sector, segment = self.cells
        self._keep("sectors", dict(step=state.step, city=city, sector=sector, segment=segment,
                                   output=cube.ravel()))

    def _parks(self, state: State, used: np.ndarray, park_output: np.ndarray,
               price: np.ndarray) -> None:
        p, w = state.parks, state.world
        n_units = np.bincount(state.units.park, minlength=p.n)
        self._keep("parks", dict(
            step=state.step, park=names(p.name), city=Coded(names(w.cities), p.city),
            kind=Coded(names(KINDS), p.kind), operator=Coded(names(w.cities), p.operator),
            land_used=used, land_capacity=np.where(p.open_at(state.step), p.capacity, 0.0),
            n_units=n_units, output=park_output, land_price=price))

    def _transfers(self, state: State, events: StepEvents) -> None:
        w, p = state.world, state.parks
        if len(events.unit_id) == 0:
            return
        places = names([*w.cities, "outside"])
        placed = events.to_park >= 0
        dest = np.maximum(events.to_park, 0)
        kind = p.kind[dest]
        channel = np.where(~placed, CHANNELS.index("exit"),
                           np.where(kind == ParkKind.LOCAL,
                                    np.where(events.is_arrival, CHANNELS.index("new_investment"),
                                             CHANNELS.index("relocation")),
                                    CHANNEL_CODE_OF_KIND[kind]))
        sector, segment = sector_and_segment(events.kg)
        outside = len(w.cities)
        self._keep("transfers", dict(
            step=state.step, unit_id=events.unit_id,
            sector=Coded(names(w.sectors), sector), segment=Coded(names(SEGMENTS), segment),
            origin=Coded(ORIGIN_NAMES, events.origin),
            from_city=Coded(places, np.where(events.from_city >= 0, events.from_city, outside)),
            to_city=Coded(places, np.where(placed, p.city[dest], outside)),
            to_park=Coded(names([*p.name, ""]), np.where(placed, dest, p.n)),
            channel=Coded(CHANNEL_NAMES, channel), output=events.output))

    def _investment_map(self, state: State) -> None:
        """The coordinator's map in force: one row per city and sector-segment it assigns."""
        if state.settings.mapped is None:
            return
        w = state.world
        city, kg = np.nonzero(state.settings.mapped)
        sector, segment = sector_and_segment(kg)
        self._keep("investment_map", dict(
            step=state.step, city=Coded(names(w.cities), city),
            sector=Coded(names(w.sectors), sector), segment=Coded(names(SEGMENTS), segment)))

    def _keep(self, table: str, columns: dict) -> None:
        """One step's rows of a table, kept as columns (a scalar repeated down its block):
        :meth:`results` builds each table once, not a DataFrame a step."""
        n = max(len(v) for v in columns.values() if not np.isscalar(v))
        self.rows[table].append({name: np.full(n, v) if np.isscalar(v)
                                 else v if isinstance(v, Coded) else np.asarray(v)
                                 for name, v in columns.items()})

    def _keep_rows(self, table: str, rows: list[tuple]) -> None:
        """Rows given as tuples in the table's column order, kept as :meth:`_keep` keeps them."""
        if rows:
            self._keep(table, {name: names(column) if isinstance(column[0], str)
                               else np.array(column)
                               for name, column in zip(TABLES[table], zip(*rows), strict=True)})

    def results(self, config: ScenarioConfig) -> Results:
        frames = {}
        for name, columns in TABLES.items():
            blocks = self.rows[name]
            if name == "circle":
                frame = pd.DataFrame(blocks)
            else:       # kept joined: a later call (the explorer's, each step) adds only new rows
                frame = _assemble(blocks, columns)
                self.rows[name] = [frame] if len(frame) else []
            frames[name] = frame.reindex(columns=list(columns))
        return Results(**frames, config=config.model_dump(mode="json"))


def _assemble(blocks: list, columns: tuple[str, ...]) -> pd.DataFrame:
    """A table from its steps' blocks in step order: DataFrames, or the columns
    :meth:`Recorder._keep` kept (joined column by column into one DataFrame)."""
    frames, kept = [], []
    for block in [*blocks, None]:
        if isinstance(block, dict):
            kept += [block] if len(next(iter(block.values()))) else []
            continue
        if kept:
            frames.append(pd.DataFrame({name: _joined([b[name] for b in kept])
                                        for name in kept[0]}))
            kept = []
        if block is not None and len(block):
            frames.append(block)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _joined(parts: list):
    """One column from its steps' parts: a :class:`Coded` column whose parts share their labels
    as one take from the labels as strings (the column pandas builds from the strings
    themselves, dtype included), any other as the parts' concatenation."""
    if all(isinstance(part, Coded) for part in parts):
        labels = parts[0].labels
        if all(part.labels is labels or np.array_equal(part.labels, labels) for part in parts):
            codes = np.concatenate([part.codes for part in parts])
            return pd.array(labels, dtype="str").take(codes)
    return np.concatenate([part.decoded() if isinstance(part, Coded) else part
                           for part in parts])
