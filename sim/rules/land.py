"""Serviced park land over time: how much output a city's parks can hold as years pass.

Land is measured in km² at the base year's land intensity (``land_per_output_km2`` of
``segments.csv``), so a park's capacity is the output it can hold. Two published facts move it:

- Land per unit of real output falls. China's construction land per unit of GDP (单位GDP建设用地
  使用面积) fell by 24.2% in 2011-2015 (5.4% a year; 李树枝 et al. 2019, Ministry of Natural
  Resources Information Centre), by 10.1% in 2016-2017, and by 15.97% nationally and 21.99% in
  Hubei in 2021-2024 (6.0% a year; Ministry of Natural Resources via Xinhua, 2025-08-12). A km² of
  serviced land therefore holds ``(1 − d)^(−τ)`` times the base year's output after τ years.
- The core city releases new serviced land as a quantity, not as a share of growth: Wuhan
  transacted 17,375 mu of industrial and commercial land in 2022 and 12,661 mu in 2023 (8.8 km² a
  year of new construction land) and 29,193 mu a year in 2012-2022 (17.1 km²).
"""

from __future__ import annotations


def intensity_factor(years: float, decline: float) -> float:
    """Output a km² of serviced land holds after ``years``, relative to the base year, when land
    per unit of real output falls by ``decline`` a year: ``(1 − decline)^(−years)``."""
    if not 0.0 <= decline < 1.0:
        raise ValueError(f"land intensity decline: expected a rate in [0, 1) (got {decline})")
    return (1.0 - decline) ** (-years)


def core_land_factor(years: float, supply_km2_per_year: float, stock_km2: float,
                     decline: float) -> float:
    """The core city's serviced park land after ``years``, relative to its start, in base-year
    intensity units: its physical land grows by a quantity a year (new land released, km²) on
    its starting stock (km²), and every km² holds more output as land intensity falls.

    ``(1 + supply · years / stock) · (1 − decline)^(−years)``; 1 at year 0, and 1 throughout
    when no land is released and intensity does not fall (the world at rest).
    """
    if stock_km2 <= 0.0:
        raise ValueError(f"core land stock: expected km² > 0 (got {stock_km2})")
    physical = 1.0 + supply_km2_per_year * years / stock_km2
    return physical * intensity_factor(years, decline)
