"""Turn the model's state after each step into rows of the output tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.rules import accounts, metrics
from sim.model.world import SEGMENTS
from sim.model.coordinator import compensation_in_force
from sim.model.parks import KINDS
from sim.model.tables import TABLES, Results

if TYPE_CHECKING:
    from sim.model.firms import StepEvents
    from sim.model import CircleModel

CHANNEL_OF_KIND = {0: "relocation", 1: "enclave", 2: "park_within_park", 3: "reverse_enclave"}
ORIGIN_NAMES = np.array(["local", "wuhan", "outside"])


class Recorder:
    """Collects one row block per step; ``results()`` assembles the tables."""

    def __init__(self, model: "CircleModel") -> None:
        self.rows: dict[str, list] = {name: [] for name in TABLES}
        self.moved_cum = 0.0
        n = model.world.n_cities
        self.shared_inflow = np.zeros(n)
        self.fiscal_revenue = np.zeros(n)
        self.tax_revenue = np.zeros(n)

    def record(self, model: "CircleModel", events: "StepEvents") -> None:
        w, p, u, t = model.world, model.parks, model.units, model.t
        cfg, econ = model.config, model.config.economy
        city_of_unit = p.city[u.park]
        park_output = np.bincount(u.park, weights=u.output, minlength=p.n)
        park_tax = econ.tax_rate * park_output
        shares = accounts.share_matrices(p, t, w.n_cities, cfg.policies.enclave.credited_double_count)
        primary = model.primary
        physical = accounts.physical_gdp(park_output, p.city, primary)
        statistical = accounts.statistical_gdp(shares, park_output, primary)
        credited = accounts.credited_gdp(shares, park_output, primary)
        tax = accounts.tax_revenue(shares, park_tax)
        returns = accounts.platform_returns(p, park_output, cfg.policies.park_within_park.platform_return_rate,
                                            w.n_cities, t)
        used = model.land_used()
        terms = model.terms()
        price = terms.land_price
        landlord = np.where(p.kind == 3, p.operator, p.city)
        land_rev = np.bincount(landlord, weights=used * price, minlength=w.n_cities)
        paying = u.subsidy_until > t
        sub_paid = np.where(paying, u.subsidy_rate * u.output, 0.0)
        subsidies = np.bincount(np.maximum(u.subsidy_payer, 0), weights=sub_paid, minlength=w.n_cities)
        retention = np.bincount(np.maximum(u.subsidy_payer, 0), weights=sub_paid * u.subsidy_retention,
                                minlength=w.n_cities)
        rent_sub = np.where(t < p.rent_end, p.rent_subsidy, 0.0) * park_output
        subsidies += np.bincount(p.operator, weights=rent_sub, minlength=w.n_cities)
        open_agreement = (p.kind != 0) & p.open_at(t)
        park_cost = np.bincount(p.operator, weights=np.where(open_agreement, p.build_cost, 0.0),
                                minlength=w.n_cities)
        comp = compensation_in_force(model)
        fiscal = tax + land_rev + returns + comp - subsidies - park_cost
        lam = cfg.competition.promotion_weight_gdp
        growth = credited / model.gdp0
        peers = (growth.sum() - growth) / (len(growth) - 1)
        objective = lam * (growth - peers) + fiscal / model.gdp0
        self.fiscal_revenue = tax + land_rev
        self.tax_revenue = tax
        self.shared_inflow = self._inflow(model, shares, park_output, park_tax, returns, comp)
        cube = model.output_cube()
        self._circle(model, events, physical, credited, tax, subsidies, park_cost, comp, used, cube, u,
                     sub_paid, city_of_unit, terms)
        self._cities(model, events, physical, statistical, credited, tax, land_rev, subsidies, retention,
                     returns + comp, fiscal, objective, used, price, cube)
        self._fiscal(model, shares, park_tax, land_rev, returns, comp, subsidies, retention,
                     park_cost, fiscal)
        self._sectors(model, cube)
        self._parks(model, used, park_output, price)
        self._transfers(model, events)
        self._investment_map(model)
        flows = accounts.sharing_flows(p, shares, park_output, park_tax,
                                       cfg.policies.park_within_park.platform_return_rate, w.cities, t)
        self.rows["flows"].append(flows)
        if np.any(comp != 0):
            payers = np.flatnonzero(comp < 0)
            takers = np.flatnonzero(comp > 0)
            total = comp[takers].sum()
            extra = [(t, w.cities[a], w.cities[b], "compensation", -comp[a] * comp[b] / total)
                     for a in payers for b in takers]
            self.rows["flows"].append(pd.DataFrame(extra, columns=TABLES["flows"]))

    def _inflow(self, model, shares, park_output, park_tax, returns, comp) -> np.ndarray:
        """Annual value each city receives through agreements (what a cap breaker risks)."""
        p, lam = model.parks, model.config.competition.promotion_weight_gdp
        foreign = p.city[None, :] != np.arange(model.world.n_cities)[:, None]
        credit_in = (shares.statistical * foreign) @ park_output
        tax_in = (shares.tax * (p.registration[None, :] != np.arange(model.world.n_cities)[:, None])) @ park_tax
        own_returns = np.where(returns > 0, returns, 0.0)
        return lam * credit_in + tax_in + own_returns + np.maximum(comp, 0.0)

    def _circle(self, model, events, physical, credited, tax, subsidies, park_cost, comp, used, cube, u,
                sub_paid, city_of_unit, terms) -> None:
        w, econ, t = model.world, model.config.economy, model.t
        manuf = cube.sum(axis=2)[:, w.manufacturing]
        kg = u.sector.astype(np.int64) * len(SEGMENTS) + u.segment
        dist_cost = econ.distance_cost_per_100km * (u.output * terms.link_km100[kg, city_of_unit]).sum()
        outside_owned = float(sub_paid[u.origin == 2].sum())
        moved = self._moved_out(model, events)
        self.moved_cum += moved
        relocation = 4 * events.relocation_cost
        va = float(physical.sum() - model.primary.sum())
        welfare = metrics.welfare(va, dist_cost, relocation, float(subsidies.sum()), outside_owned,
                                  float(park_cost.sum()), econ.mcpf)
        arrivals = events.is_arrival & (events.to_park >= 0)
        self.rows["circle"].append(dict(
            step=t, gdp_total=float(physical.sum()),
            wuhan_share=metrics.core_share(physical, w.core),
            wuhan_share_credited=metrics.core_share(credited, w.core),
            similarity_ring_mean=metrics.similarity_ring_mean(manuf, w.core),
            specialisation_mean=metrics.specialisation_mean(manuf),
            theil=metrics.theil_index(physical, w.population),
            theil_credited=metrics.theil_index(credited, w.population),
            subsidy_total=float(subsidies.sum()), tax_total=float(tax.sum()),
            distance_cost_total=float(dist_cost), relocation_cost_total=float(relocation),
            park_cost_total=float(park_cost.sum()), welfare=welfare,
            idle_land_share=metrics.idle_land_share(used[model.parks.open_at(t)],
                                                    model.parks.capacity[model.parks.open_at(t)]),
            moved_out_of_wuhan=moved, moved_out_of_wuhan_cum=self.moved_cum, n_units=len(u),
            new_investment_total=float(4 * events.output[arrivals].sum()),
            compensation_total=float(np.maximum(comp, 0).sum())))

    def _moved_out(self, model, events) -> float:
        """Output (annual rate) moved from Wuhan to ring cities this step, any channel."""
        core = model.world.core
        placed = events.to_park >= 0
        to_city = np.where(placed, model.parks.city[np.maximum(events.to_park, 0)], -1)
        out = placed & (events.from_city == core) & (to_city != core)
        return float(events.output[out].sum())

    def _cities(self, model, events, physical, statistical, credited, tax, land_rev, subsidies, retention,
                transfers_net, fiscal, objective, used, price, cube) -> None:
        w, p, u, t = model.world, model.parks, model.units, model.t
        kg = u.sector.astype(np.int64) * len(SEGMENTS) + u.segment
        persons = (w.labour_share.ravel()[kg] * u.output * 1e8
                   / (w.wage[p.city[u.park]] * model.config.world.wage_core_yuan))
        city_of_unit = p.city[u.park]
        arrivals = events.is_arrival & (events.to_park >= 0)
        dest = p.city[np.maximum(events.to_park, 0)]
        new_inv = np.bincount(dest[arrivals], weights=4 * events.output[arrivals], minlength=w.n_cities)
        from_wuhan = arrivals & (events.origin == 1)
        new_w = np.bincount(dest[from_wuhan], weights=4 * events.output[from_wuhan], minlength=w.n_cities)
        frame = pd.DataFrame(dict(
            step=t, city=list(w.cities), gdp_physical=physical, gdp_statistical=statistical,
            gdp_credited=credited, tax_revenue=tax, land_revenue=land_rev, subsidy_spent=subsidies,
            retention_spent=retention, transfers_net=transfers_net, fiscal_balance=fiscal,
            objective=objective,
            employment=np.bincount(city_of_unit, weights=persons, minlength=w.n_cities),
            land_used=np.bincount(p.city, weights=used, minlength=w.n_cities),
            land_capacity=np.bincount(p.city, weights=np.where(p.open_at(t), p.capacity, 0.0),
                                      minlength=w.n_cities),
            land_price=price[: w.n_cities], wage=model.wage,
            n_units=np.bincount(city_of_unit, minlength=w.n_cities),
            new_investment=new_inv, new_investment_from_wuhan=new_w,
            subsidy_rate_mean=[float(c.offers[c.targets].mean()) if c.targets.any() else 0.0
                               for c in model.cities],
            cheating=[bool(c.cheating) for c in model.cities]))
        self.rows["cities"].append(frame)

    def _fiscal(self, model, shares, park_tax, land_rev, returns, comp, subsidies, retention,
                park_cost, balance) -> None:
        """The ``fiscal`` rows: every public inflow and outlay of each city; they add up to its
        fiscal balance."""
        w = model.world
        collected, shared_in, shared_out = accounts.tax_split(model.parks, shares, park_tax, w.n_cities)
        self.rows["fiscal"].append(pd.DataFrame(dict(
            step=model.t, city=list(w.cities), tax_collected=collected, tax_shared_in=shared_in,
            tax_shared_out=shared_out, land_revenue=land_rev, platform_return=returns,
            compensation_received=np.maximum(comp, 0.0), subsidies=subsidies - retention,
            retention=retention, compensation_paid=np.maximum(-comp, 0.0),
            park_operating_cost=park_cost, balance=balance,
            in_scheme=[not c.detected for c in model.cities])))

    def _sectors(self, model, cube) -> None:
        w = model.world
        c, k, g = np.meshgrid(np.arange(w.n_cities), np.arange(w.n_sectors), np.arange(len(SEGMENTS)),
                              indexing="ij")
        self.rows["sectors"].append(pd.DataFrame(dict(
            step=model.t, city=np.array(w.cities)[c.ravel()], sector=np.array(w.sectors)[k.ravel()],
            segment=np.array(SEGMENTS)[g.ravel()], output=cube.ravel())))

    def _parks(self, model, used, park_output, price) -> None:
        p, w = model.parks, model.world
        n_units = np.bincount(model.units.park, minlength=p.n)
        self.rows["parks"].append(pd.DataFrame(dict(
            step=model.t, park=p.name, city=np.array(w.cities)[p.city],
            kind=np.array(KINDS)[p.kind], operator=np.array(w.cities)[p.operator],
            land_used=used, land_capacity=np.where(p.open_at(model.t), p.capacity, 0.0),
            n_units=n_units, output=park_output, land_price=price)))

    def _transfers(self, model, events) -> None:
        w, p = model.world, model.parks
        if len(events.unit_id) == 0:
            return
        names = np.array(list(w.cities) + ["outside"])
        placed = events.to_park >= 0
        dest = np.maximum(events.to_park, 0)
        kind = p.kind[dest]
        channel = np.where(~placed, "exit",
                           np.where(kind == 0, np.where(events.is_arrival, "new_investment", "relocation"),
                                    np.array([CHANNEL_OF_KIND[k] for k in range(4)])[kind]))
        self.rows["transfers"].append(pd.DataFrame(dict(
            step=model.t, unit_id=events.unit_id, sector=np.array(w.sectors)[events.kg // len(SEGMENTS)],
            segment=np.array(SEGMENTS)[events.kg % len(SEGMENTS)], origin=ORIGIN_NAMES[events.origin],
            from_city=names[np.where(events.from_city >= 0, events.from_city, len(w.cities))],
            to_city=np.where(placed, names[p.city[dest]], "outside"),
            to_park=np.where(placed, np.array(p.name)[dest], ""), channel=channel,
            output=events.output)))

    def _investment_map(self, model) -> None:
        """The coordinator's map in force: one row per city and sector-segment it assigns."""
        if model.settings.mapped is None:
            return
        w = model.world
        city, kg = np.nonzero(model.settings.mapped)
        self.rows["investment_map"].append(pd.DataFrame(dict(
            step=model.t, city=np.array(w.cities)[city], sector=np.array(w.sectors)[kg // len(SEGMENTS)],
            segment=np.array(SEGMENTS)[kg % len(SEGMENTS)])))

    def results(self, config) -> Results:
        frames = {}
        for name, columns in TABLES.items():
            blocks = self.rows[name]
            if name == "circle":
                frame = pd.DataFrame(blocks)
            else:
                blocks = [b for b in blocks if len(b)]
                frame = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=columns)
            frames[name] = frame.reindex(columns=list(columns))
        return Results(**frames, config=config.model_dump(mode="json"))
