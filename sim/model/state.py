"""The model's state at one moment, as one value: what every decision of a step reads.

The functions of :mod:`sim.model` take a :class:`State` (or the agent that owns the data), never
the model itself. A what-if (a valuation under other parks, another calibration, the status quo
at step 1) is a new state made with :func:`dataclasses.replace` or :meth:`State.with_parks`:
nothing is swapped into the model and restored. ``CircleModel.state`` takes the model's state
now; the arrays are shared, not copied, so a state is cheap and reads what the model holds.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.config.schema import ScenarioConfig
from sim.model.calibration import Calibration
from sim.model.units import Units
from sim.model.world import World
from sim.rules.constants import STEPS_PER_YEAR, n_sector_segments
from sim.rules.economy import Settings, Technology, Terms, land_prices, location_terms
from sim.rules.park_table import Parks


@dataclasses.dataclass(frozen=True)
class State:
    """The world, the run's constants and what stands and has been decided at one step."""

    world: World
    config: ScenarioConfig
    calibration: Calibration
    technology: Technology
    parks: Parks
    units: Units
    settings: Settings          # the cities' offers and promotion, the map, the platform
    terms: Terms                # the location terms in force at this step
    step: int
    wage: np.ndarray            # C wage index
    gravity: np.ndarray         # KG x C core-city investors' gravity
    rd_attention: np.ndarray    # KG x C attention drawn by reverse enclaves' R&D
    out_of_scheme: np.ndarray   # C bool: breaking the subsidy cap, or caught breaking it
    outside_mass: np.ndarray    # KG productivity mass producing outside the circle

    @property
    def kg(self) -> int:
        """The number of sector-segments."""
        return n_sector_segments(self.world.n_sectors)

    def land_used(self) -> np.ndarray:
        """P km² held at each park."""
        return land_in_use(self.units, self.parks)

    def output_cube(self) -> np.ndarray:
        """City x sector x segment output where production physically stands."""
        return output_by_cell(self.world, self.parks, self.units)

    def trend(self, step: int | None = None) -> float:
        """The circle's trend level at ``step`` (this step if None)."""
        return trend_level(self.config, self.step if step is None else step)

    def arrivals_now(self) -> np.ndarray:
        """Potential projects per sector-segment this step: they replace exits and leavers and add
        the trend's growth, ``n0 (h + g_q)(1 + g_q)^(t−1) / (1 − o)`` (docs/VALIDATION.md)."""
        cal = self.calibration
        return cal.arrival_rate * (1 + cal.growth_q) ** (self.step - 1)

    @property
    def primary(self) -> np.ndarray:
        """Primary output (not modelled, never moves) grows with the circle's trend."""
        return self.world.primary * self.trend()

    def location_terms(self) -> Terms:
        """The location terms of the state's parks, units and wages (land priced by its use)."""
        return priced_terms(self.world, self.config, self.technology, self.parks, self.units,
                            self.wage)

    def with_parks(self, parks: Parks) -> State:
        """The state with other parks and the location terms they give (a what-if)."""
        return dataclasses.replace(self, parks=parks,
                                   terms=dataclasses.replace(self, parks=parks).location_terms())


def trend_level(config: ScenarioConfig, step: int) -> float:
    """The circle's trend level (1 + g)^(t/4) at a step: 1 at step 0, 1 without growth."""
    return (1 + config.economy.growth_rate_annual) ** (step / STEPS_PER_YEAR)


def land_in_use(units: Units, parks: Parks) -> np.ndarray:
    """P km² the units hold at each park."""
    return np.bincount(units.park, weights=units.land, minlength=parks.n)


def output_by_cell(world: World, parks: Parks, units: Units) -> np.ndarray:
    """City x sector x segment output where production physically stands."""
    kg = n_sector_segments(world.n_sectors)
    cell = parks.city[units.park].astype(np.int64) * kg + units.kg   # summed in unit order
    return np.bincount(cell, weights=units.output,
                       minlength=world.n_cities * kg).reshape(world.n_cities, world.n_sectors,
                                                               -1)


def priced_terms(world: World, config: ScenarioConfig, technology: Technology, parks: Parks,
                 units: Units, wage: np.ndarray) -> Terms:
    """The location terms at ``parks`` with the units where they stand: land priced by its use,
    agglomeration by the output standing in each city."""
    econ = config.economy
    prices = land_prices(world.land_rent_base, parks, land_in_use(units, parks),
                         econ.land_price_utilisation_elasticity, econ.max_utilisation)
    return location_terms(technology, parks, output_by_cell(world, parks, units), wage, prices)
