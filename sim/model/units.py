"""Production units (firms, plants, projects) held as columns owned by the model.

Decisions are taken for all deciding units at once; Python loops run over cities, parks or
sectors, never over units. ``Units.frame()`` exposes the columns as a DataFrame.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd

from sim.rules.constants import ORIGINS, sector_segment


@dataclasses.dataclass
class Units:
    """Production units as columns (arrays over units)."""

    unit_id: np.ndarray       # int64, unique over the run
    sector: np.ndarray        # int16, index into World.sectors
    segment: np.ndarray       # int8, index into SEGMENTS
    productivity: np.ndarray  # A_i: output per unit of the location's productivity factor
    park: np.ndarray          # int32, index into Parks
    origin: np.ndarray        # int8, Origin
    home: np.ndarray          # int16, city of a local project's investor (-1 for others)
    land: np.ndarray          # km² held
    output: np.ndarray        # value added, 亿元 per year
    subsidy_rate: np.ndarray  # share of value added paid while the contract runs
    subsidy_until: np.ndarray  # step at which the subsidy contract ends
    subsidy_payer: np.ndarray  # city paying the contract (-1 none)
    subsidy_retention: np.ndarray  # bool: the contract was offered to keep the unit (retention)
    entered: np.ndarray       # step the unit took its current park

    def __len__(self) -> int:
        return len(self.unit_id)

    @functools.cached_property
    def kg(self) -> np.ndarray:
        """Each unit's sector-segment index (computed once: a unit's sector and segment never
        change, and selecting or extending units makes new columns)."""
        return sector_segment(self.sector, self.segment)

    def select(self, mask: np.ndarray) -> Units:
        return Units(**{f.name: getattr(self, f.name)[mask] for f in dataclasses.fields(self)})

    def extend(self, other: Units, mask: np.ndarray | None = None,
               other_mask: np.ndarray | None = None) -> Units:
        """These units followed by ``other``'s, each side kept where its mask is true (None:
        all), built column by column: no intermediate copy of every kept unit (a full copy of
        the units at a million)."""
        def kept(units: Units, name: str, which: np.ndarray | None) -> np.ndarray:
            column = getattr(units, name)
            return column if which is None else column[which]
        return Units(**{f.name: np.concatenate([kept(self, f.name, mask),
                                                kept(other, f.name, other_mask)])
                        for f in dataclasses.fields(self)})

    def frame(self, sectors: tuple[str, ...], segments: tuple[str, ...],
              park_names: list[str]) -> pd.DataFrame:
        """The units as a DataFrame with readable labels."""
        frame = pd.DataFrame({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        frame["sector"] = np.array(sectors)[self.sector]
        frame["segment"] = np.array(segments)[self.segment]
        frame["origin"] = np.array(ORIGINS)[self.origin]
        frame["park"] = np.array(park_names)[self.park]
        return frame


def new_units(ids: np.ndarray, sector: np.ndarray, segment: np.ndarray, productivity: np.ndarray,
              origin: np.ndarray, home: np.ndarray) -> Units:
    """Units not yet placed (park -1), with no land, output or subsidy."""
    n = len(ids)
    return Units(
        unit_id=ids.astype(np.int64), sector=sector.astype(np.int16),
        segment=segment.astype(np.int8), productivity=productivity.astype(float),
        park=np.full(n, -1, np.int32), origin=origin.astype(np.int8), home=home.astype(np.int16),
        land=np.zeros(n), output=np.zeros(n), subsidy_rate=np.zeros(n),
        subsidy_until=np.zeros(n, np.int32), subsidy_payer=np.full(n, -1, np.int16),
        subsidy_retention=np.zeros(n, dtype=bool),
        entered=np.zeros(n, np.int32))


def draw_base_units(output: np.ndarray, per_a_output: np.ndarray, n_units: int, sd: float,
                    rng: np.random.Generator) -> tuple[Units, np.ndarray]:
    """The base-year units of every city x sector x segment cell.

    Counts are proportional to each cell's output divided by its output per unit of productivity,
    so units of one sector-segment share one productivity distribution wherever they stand
    (ln A ~ N(0, sd²)); productivities are then scaled within each cell so that the cell's output
    equals the data exactly.

    Args:
        output: C x K x G base output.
        per_a_output: C x K x G output per unit of productivity at each city's local park.
        n_units: target total count (cells with output get at least one unit).
        sd: standard deviation of ln A.
    Returns:
        The units (park = city index, i.e. the local parks) and the K x G mean productivity.
    """
    weight = np.where(output > 0, output / per_a_output, 0.0)
    counts = np.where(output > 0, np.maximum(1, np.rint(n_units * weight / weight.sum())), 0)
    counts = counts.astype(np.int64)
    cell = np.repeat(np.arange(output.size), counts.ravel())
    c, k, g = np.unravel_index(cell, output.shape)
    raw = rng.lognormal(-0.5 * sd**2, sd, len(cell))
    raw_sum = np.bincount(cell, weights=raw, minlength=output.size)
    scale = output.ravel() / np.where(raw_sum > 0, raw_sum * per_a_output.ravel(), 1.0)
    productivity = raw * scale[cell]
    units = new_units(np.arange(len(cell)), k, g, productivity, np.zeros(len(cell)),
                      c)  # base units are local
    units.park = c.astype(np.int32)
    units.output = productivity * per_a_output.ravel()[cell]
    kg = sector_segment(k, g)
    mean_a = (np.bincount(kg, weights=productivity, minlength=output.shape[1] * output.shape[2])
              / np.maximum(np.bincount(kg, minlength=output.shape[1] * output.shape[2]), 1))
    return units, mean_a.reshape(output.shape[1], output.shape[2])
