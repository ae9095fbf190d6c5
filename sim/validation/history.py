"""The exogenous drivers of a historical period, read from the data folder.

A run over past years needs what the scenario file assumes for 2021-2025, measured for its own
years: the circle's real growth (Hubei's GDP at comparable prices, ``hubei_gdp.csv``), how fast
land per unit of real output fell (``land_evidence.csv``), how much new serviced land Wuhan
released a year, and the stock it started from. Growth is real, not nominal: the model's money
has no price level, so its trend is volume growth (the circle's GDP grew 12.6% a year in current
prices 2010-2019, 9.5% at comparable prices).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model.world import World

GROWTH_FILE = "hubei_gdp.csv"
LAND_FILE = "land_evidence.csv"
KM2_PER_MU = 1 / 1500.0          # 1 mu = 666.67 m²


@dataclasses.dataclass(frozen=True)
class PeriodDrivers:
    """What a run from ``first`` to ``last`` takes from the data (rates a year; land in km²)."""

    real_growth: float              # circle's trend: Hubei's real GDP growth, compounded
    land_intensity_decline: float   # fall of construction land per unit of GDP
    core_land_supply_km2: float     # new serviced land Wuhan released a year
    core_land_stock_km2: float      # Wuhan's serviced park land at the start

    def overrides(self) -> list[str]:
        """The drivers as ``--set`` overrides of a scenario."""
        return [f"economy.growth_rate_annual={self.real_growth:.6f}",
                f"economy.land_intensity_decline={self.land_intensity_decline:.6f}",
                f"world.core_land_supply_km2={self.core_land_supply_km2:.4f}",
                f"world.core_land_stock_km2={self.core_land_stock_km2:.4f}"]


def _read(folder: Path, name: str, columns: set[str]) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing data file (a historical run needs it)")
    frame = pd.read_csv(path)
    missing = columns - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: expected the columns {sorted(missing)}")
    return frame


def real_growth(folder: Path, first: int, last: int) -> float:
    """Compound annual real growth of Hubei's GDP from ``first`` to ``last`` (the growth rates of
    the years first+1 .. last, each at comparable prices)."""
    frame = _read(folder, GROWTH_FILE, {"year", "real_growth_pct"}).set_index("year")
    years = list(range(first + 1, last + 1))
    missing = [y for y in years if y not in frame.index or pd.isna(frame.at[y, "real_growth_pct"])]
    if missing:
        raise ValueError(f"{folder / GROWTH_FILE}: real_growth_pct: expected a value for the "
                         f"years {missing}")
    index = np.prod([1 + frame.at[y, "real_growth_pct"] / 100 for y in years])
    return float(index ** (1 / len(years)) - 1)


def land_intensity_decline(folder: Path, first: int, last: int, region: str = "China") -> float:
    """Yearly fall of construction land per unit of GDP over the reported (not target) periods
    of ``region`` lying within ``first`` .. ``last``, compounded over the years they cover."""
    frame = _read(folder, LAND_FILE, {"indicator", "region", "first_year", "last_year", "value",
                                      "status"})
    rows = frame[(frame.indicator == "construction_land_per_gdp_change")
                 & (frame.region == region) & (frame.status == "reported")
                 & (frame.first_year >= first) & (frame.last_year <= last)]
    if rows.empty:
        raise ValueError(f"{folder / LAND_FILE}: no reported construction_land_per_gdp_change of "
                         f"{region} within {first}-{last}")
    years = float((rows.last_year - rows.first_year + 1).sum())
    remaining = float(np.prod(1 + rows.value / 100))
    return 1 - remaining ** (1 / years)


def core_land_supply(folder: Path, first: int, last: int, city: str = "Wuhan") -> float:
    """New serviced land a year (km²): industrial and commercial land transacted over the years
    reported within ``first`` .. ``last`` (or, if none, over the longest reported span), per
    year, times the share of it that was new construction land."""
    frame = _read(folder, LAND_FILE, {"indicator", "region", "first_year", "last_year", "value"})
    deals = frame[(frame.indicator == "industrial_commercial_land_transacted")
                  & (frame.region == city)].copy()
    share = frame[(frame.indicator == "new_construction_land_share") & (frame.region == city)]
    if deals.empty or share.empty:
        raise ValueError(f"{folder / LAND_FILE}: expected {city}'s industrial_commercial_land_"
                         f"transacted and new_construction_land_share")
    deals["span"] = deals.last_year - deals.first_year + 1
    inside = deals[(deals.first_year >= first) & (deals.last_year <= last)]
    rows = inside if len(inside) else deals.sort_values("span").iloc[[-1]]
    mu_a_year = float(rows.value.sum() / rows.span.sum())
    return mu_a_year * KM2_PER_MU * float(share.value.iloc[0]) / 100


def base_core_stock(world: World, utilisation: float) -> float:
    """The base year's (2021) serviced park land of the core city, km²: the land its output needs
    (``land_per_output_km2`` (A) of ``segments.csv``) at the base utilisation, as the calibration
    builds it."""
    used = float((world.land_per_output * world.output[world.core]).sum())
    return used / utilisation


def period_drivers(folder: Path, first: int, last: int, base_stock_km2: float,
                   base_year: int = 2021, region: str = "China") -> PeriodDrivers:
    """The drivers of a run from ``first`` to ``last``. Wuhan's starting stock is the base
    year's less the land it released in between (``base_year − first`` years at the period's
    rate): the model's land stock rests on the assumed land per output, so only the base year's
    is known in its units. ``region``: whose land per unit of GDP (China, or Hubei where
    reported for the period)."""
    supply = core_land_supply(folder, first, last)
    return PeriodDrivers(real_growth=real_growth(folder, first, last),
                         land_intensity_decline=land_intensity_decline(folder, first, last,
                                                                                region),
                         core_land_supply_km2=supply,
                         core_land_stock_km2=base_stock_km2 - (base_year - first) * supply)
