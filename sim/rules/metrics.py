"""Headline metrics: pure functions on numpy arrays (and a few pandas wrappers).

Called by the model every step and by the analysis on stored tables, so nothing here imports the
model or touches files. Arrays of output are ``cities x sectors`` (rows cities, columns sectors),
in any money unit: every structure metric works on shares, so units cancel. Undefined values
(a city with no output, an empty circle) are ``nan``, never an exception, so a step with an empty
city does not stop a run; malformed input (wrong shape, negative output) raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.rules.constants import STEPS_PER_YEAR

__all__ = [
    "similarity", "similarity_matrix", "similarity_ring_mean", "krugman_index",
    "specialisation_mean", "location_quotients", "theil_index", "core_share", "idle_land_share",
    "discounted_total", "gain_against_baseline", "wuhan_origin_share",
    "output_matrix", "structure_by_step",
]


def _output_array(output: np.ndarray, ndim: int) -> np.ndarray:
    """Float copy of ``output`` checked for dimension, finiteness and sign."""
    array = np.asarray(output, dtype=float)
    if array.ndim != ndim:
        raise ValueError(f"expected a {ndim}-d array of output, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError("output must be finite and >= 0")
    return array


def _row_shares(output: np.ndarray) -> np.ndarray:
    """Each row divided by its total; rows with zero total become all nan."""
    totals = output.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, output / np.where(totals > 0, totals, 1.0), np.nan)


def similarity(x: np.ndarray, y: np.ndarray) -> float:
    """Structure similarity coefficient (产业结构相似系数) of two cities.

    ``S = Σ_k x_k·y_k / sqrt(Σ_k x_k² · Σ_k y_k²)`` on sector output shares: the cosine of the two
    structure vectors. 1 means identical structures (homogenised), 0 no sector in common. Being a
    cosine, it gives the same value on raw output as on shares.

    Args:
        x: one city's output by sector (>= 0, any unit); normalised to shares here.
        y: the other city's output by the same sectors.

    Returns:
        S in [0, 1]; nan if either city has no output.
    """
    pair = _output_array(np.vstack([np.ravel(x), np.ravel(y)]), 2)
    return float(similarity_matrix(pair)[0, 1])


def similarity_matrix(output: np.ndarray) -> np.ndarray:
    """Structure similarity coefficient S_ij for every pair of cities at once.

    Args:
        output: cities x sectors output (>= 0).

    Returns:
        cities x cities S in [0, 1] with 1 on the diagonal; rows and columns of cities with no
        output are nan.
    """
    shares = _row_shares(_output_array(output, 2))
    norms = np.sqrt(np.einsum("ik,ik->i", shares, shares))
    unit = shares / norms[:, None]
    return np.clip(unit @ unit.T, 0.0, 1.0)


def similarity_ring_mean(output: np.ndarray, core_index: int = 0) -> float:
    """Mean structure similarity over all unordered pairs of ring (non-core) cities.

    The homogenisation measure: pass manufacturing sectors only. Pairs involving a ring city
    with no output are left out of the mean.

    Args:
        output: cities x sectors output (>= 0).
        core_index: row of the core city (Wuhan), excluded from the pairs.

    Returns:
        Mean S over i < j among ring cities; nan if fewer than one defined pair.
    """
    matrix = similarity_matrix(output)
    ring = np.delete(np.arange(matrix.shape[0]), core_index)
    rows, cols = np.triu_indices(ring.size, k=1)
    values = matrix[ring[rows], ring[cols]]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def krugman_index(output: np.ndarray) -> np.ndarray:
    """Krugman specialisation index of each city against the rest of the circle.

    ``K_i = Σ_k |s_ik − s_(−i)k|``: s_ik is sector k's share of city i's output, s_(−i)k its
    share of the output of all other cities pooled (summed, so weighted by size). 0 means the
    city mirrors the rest of the circle, 2 that it shares no sector with it.

    Args:
        output: cities x sectors output (>= 0).

    Returns:
        K per city in [0, 2]; nan for a city with no output or whose rest-of-circle has none.
    """
    array = _output_array(output, 2)
    own = _row_shares(array)
    rest = _row_shares(array.sum(axis=0, keepdims=True) - array)
    return np.abs(own - rest).sum(axis=1)


def specialisation_mean(output: np.ndarray) -> float:
    """Mean Krugman index over the cities where it is defined (nan if none)."""
    index = krugman_index(output)
    index = index[~np.isnan(index)]
    return float(index.mean()) if index.size else float("nan")


def location_quotients(output: np.ndarray) -> np.ndarray:
    """Location quotients ``LQ_ik = (x_ik / Σ_k x_ik) / (Σ_i x_ik / Σ_ik x_ik)``.

    LQ > 1: the city is more specialised in sector k than the circle as a whole.

    Args:
        output: cities x sectors output (>= 0).

    Returns:
        cities x sectors LQ; 0 where the city has no output or the sector has none in the circle.
    """
    array = _output_array(output, 2)
    city_shares = np.nan_to_num(_row_shares(array), nan=0.0)
    sector_totals = array.sum(axis=0)
    total = sector_totals.sum()
    circle_shares = sector_totals / total if total > 0 else np.zeros_like(sector_totals)
    with np.errstate(invalid="ignore", divide="ignore"):
        quotients = city_shares / circle_shares
    return np.where(circle_shares > 0, quotients, 0.0)


def theil_index(gdp: np.ndarray, population: np.ndarray) -> float:
    """Between-city Theil T of GDP per capita, cities as population groups.

    ``T = Σ_i s_i · ln(s_i / p_i)``, s_i city i's share of GDP and p_i of population; terms
    with s_i = 0 contribute 0. T = 0 when GDP per capita is equal everywhere and grows with
    inequality (at most ln(1 / p_min)).

    Args:
        gdp: GDP by city (>= 0, any unit).
        population: population by city (> 0, any unit).

    Returns:
        T >= 0; nan if total GDP is 0.
    """
    gdp = _output_array(gdp, 1)
    population = np.asarray(population, dtype=float)
    if population.shape != gdp.shape or not np.all(population > 0):
        raise ValueError("population must be > 0 and have one entry per city of gdp")
    if gdp.sum() <= 0:
        return float("nan")
    s = gdp / gdp.sum()
    p = population / population.sum()
    positive = s > 0
    return float(np.sum(s[positive] * np.log(s[positive] / p[positive])))


def core_share(gdp: np.ndarray, core_index: int = 0) -> float:
    """The core city's share of the circle's total (Wuhan's share of circle GDP); nan if 0."""
    gdp = _output_array(gdp, 1)
    total = gdp.sum()
    return float(gdp[core_index] / total) if total > 0 else float("nan")


def idle_land_share(land_used: np.ndarray, land_capacity: np.ndarray) -> float:
    """Share of park land left idle: ``1 − Σ used / Σ capacity`` (nan if no capacity).

    Args:
        land_used: land occupied per park (km²).
        land_capacity: land available per park (km²).
    """
    capacity = float(np.sum(land_capacity))
    return 1.0 - float(np.sum(land_used)) / capacity if capacity > 0 else float("nan")


def discounted_total(
    values: np.ndarray, rate_annual: float, steps_per_year: int = STEPS_PER_YEAR
) -> float:
    """Present value of a series of annual rates observed once per step.

    ``Σ_t values[t] / steps_per_year · (1 + rate)^(−t / steps_per_year)``, t = 0, 1, ...: each
    step contributes its share of a year, discounted to the start of step 0.

    Args:
        values: annual rates, one per step (a quarter by default).
        rate_annual: annual discount rate (> −1), e.g. 0.05.
        steps_per_year: steps in a year (4 = quarters).

    Returns:
        The discounted total (0 for an empty series).
    """
    if rate_annual <= -1 or steps_per_year < 1:
        raise ValueError("rate_annual must be > -1 and steps_per_year >= 1")
    values = np.asarray(values, dtype=float).ravel()
    years = np.arange(values.size) / steps_per_year
    return float(np.sum(values / steps_per_year * (1.0 + rate_annual) ** (-years)))


def gain_against_baseline(
    values: pd.DataFrame,
    baseline: pd.DataFrame,
    keys: list[str],
    value_columns: list[str],
) -> pd.DataFrame:
    """Paired differences against a baseline scenario, row by row on the keys.

    Rows are matched on ``keys`` (e.g. step, city, replicate: the same common random numbers);
    only keys present in both frames are kept. Each key must appear at most once per frame.

    Args:
        values: the scenario's rows.
        baseline: the baseline scenario's rows.
        keys: columns identifying a paired observation.
        value_columns: columns to difference.

    Returns:
        ``keys`` plus ``<col>_diff = values − baseline`` for each column, sorted by keys.
    """
    needed = list(keys) + list(value_columns)
    for name, frame in (("values", values), ("baseline", baseline)):
        missing = [column for column in needed if column not in frame.columns]
        if missing:
            raise ValueError(f"{name} frame lacks columns {missing}")
    merged = values[needed].merge(
        baseline[needed], on=list(keys), how="inner", suffixes=("", "__base"),
        validate="one_to_one",
    )
    result = merged[list(keys)].copy()
    for column in value_columns:
        result[f"{column}_diff"] = merged[column] - merged[f"{column}__base"]
    return result.sort_values(list(keys)).reset_index(drop=True)


def wuhan_origin_share(
    new_investment: np.ndarray, new_investment_from_wuhan: np.ndarray
) -> np.ndarray:
    """Share of each city's new investment whose capital comes from Wuhan.

    Measures 融资在武汉、投资在城市圈 (financing in Wuhan, investment in the circle).

    Args:
        new_investment: new investment (value added of new units) per city.
        new_investment_from_wuhan: the part of it with Wuhan-origin capital.

    Returns:
        Share per city; nan where a city had no new investment.
    """
    total = np.asarray(new_investment, dtype=float)
    wuhan = np.asarray(new_investment_from_wuhan, dtype=float)
    if total.shape != wuhan.shape:
        raise ValueError("new_investment and new_investment_from_wuhan differ in shape")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, wuhan / np.where(total > 0, total, 1.0), np.nan)


def output_matrix(
    sectors: pd.DataFrame,
    cities: Sequence[str],
    sector_codes: Sequence[str],
    value_column: str = "output",
) -> np.ndarray:
    """Pivot rows of the ``sectors`` table (one step) into a cities x sectors array.

    Segments are summed; cities or sectors absent from the rows get 0; rows for sectors not in
    ``sector_codes`` (e.g. services when measuring manufacturing) are dropped.

    Args:
        sectors: rows with columns ``city``, ``sector`` and ``value_column``.
        cities: row order (put the core city where ``core_index`` expects it).
        sector_codes: column order and selection.
        value_column: the column to sum.
    """
    kept = sectors[sectors["sector"].isin(list(sector_codes))]
    table = kept.pivot_table(
        index="city", columns="sector", values=value_column, aggfunc="sum", fill_value=0.0
    )
    return table.reindex(index=list(cities), columns=list(sector_codes), fill_value=0.0).to_numpy(
        dtype=float
    )


def structure_by_step(
    sectors: pd.DataFrame,
    cities: Sequence[str],
    sector_codes: Sequence[str],
    core_index: int = 0,
) -> pd.DataFrame:
    """Ring-mean similarity and mean Krugman index per step of a ``sectors`` table.

    Args:
        sectors: rows with columns ``step``, ``city``, ``sector``, ``output``.
        cities: city order, core city at ``core_index``.
        sector_codes: the sectors to measure (manufacturing for homogenisation).
        core_index: position of the core city in ``cities``.

    Returns:
        One row per step: ``step``, ``similarity_ring_mean``, ``specialisation_mean``.
    """
    rows = []
    for step, frame in sectors.groupby("step", sort=True):
        output = output_matrix(frame, cities, sector_codes)
        rows.append({
            "step": step,
            "similarity_ring_mean": similarity_ring_mean(output, core_index),
            "specialisation_mean": specialisation_mean(output),
        })
    return pd.DataFrame(rows, columns=["step", "similarity_ring_mean", "specialisation_mean"])
