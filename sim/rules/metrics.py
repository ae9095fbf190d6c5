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

from sim.rules.constants import SEGMENTS, STEPS_PER_YEAR, TOLERANCE

__all__ = [
    "similarity", "similarity_matrix", "similarity_ring_mean", "krugman_index",
    "specialisation_mean", "location_quotients", "theil_index", "core_share", "idle_land_share",
    "discounted_total", "gain_against_baseline", "wuhan_origin_share",
    "output_matrix", "structure_by_step", "similarity_ring_mean_segments", "core_share_gap",
    "segment_pairs", "capital_pair", "lead_sectors", "chain_coverage", "chain_completeness_ring",
]

#: The plan's pairs read off the value chain: (column, segments that belong in the core city,
#: segments that belong in the ring): 研发在武汉、制造在城市圈 (R&D / manufacturing),
#: 头部在武汉、链条在城市圈 (head offices / the chain), 主链在武汉、配套在城市圈 (main chain /
#: suppliers). Manufacturing and the chain are both the chain's production: core and supply.
SEGMENT_PAIRS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("pair_rnd_vs_manufacturing", ("rnd",), ("core", "supply")),
    ("pair_hq_vs_chain", ("hq",), ("core", "supply")),
    ("pair_core_vs_supply", ("core",), ("supply",)),
)
#: Chain completeness: a segment counts when the cities within this road distance of a ring city
#: (itself included) hold it (an hour by road; the distance cost's unit is 100 km).
CHAIN_REACH_KM = 100.0
#: Chain completeness is measured on each ring city's lead sectors: its top sectors by base-year
#: location quotient (as many as the cities' targeting promotes).
LEAD_SECTORS = 3


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


# --- the plan's four pairs and chain completeness --------------------------------------------

def similarity_ring_mean_segments(cube: np.ndarray, core_index: int = 0) -> float:
    """Ring-mean structure similarity over sector-segments instead of sectors.

    The same coefficient on ``cities x (sectors x segments)`` output: two cities making the same
    sector's main chain and its suppliers count as different here, alike at the sector level.
    Equals :func:`similarity_ring_mean` on sector totals when every ring city splits every sector
    over segments in the same proportions.

    Args:
        cube: cities x sectors x segments output (>= 0).
        core_index: row of the core city, excluded from the pairs.
    """
    cube = _output_array(cube, 3)
    return similarity_ring_mean(cube.reshape(cube.shape[0], -1), core_index)


def core_share_gap(first: np.ndarray, second: np.ndarray, core_index: int = 0) -> float:
    """The core city's share of the circle's ``first`` output minus its share of ``second``.

    +1: all of ``first`` in the core city and none of ``second`` (the plan's pattern, e.g. R&D in
    Wuhan, manufacturing in the circle); 0: both spread alike between core and ring; −1 reversed.
    With the circle split into core and ring it is the signed Duncan dissimilarity index of the two
    distributions, directed toward the pattern.

    Args:
        first, second: output by city (>= 0).

    Returns:
        The gap in [−1, 1]; nan if either has no output in the circle.
    """
    return core_share(first, core_index) - core_share(second, core_index)


def segment_pairs(cube: np.ndarray, core_index: int = 0,
                  segments: tuple[str, ...] = SEGMENTS) -> dict[str, float]:
    """The three segment pairs of :data:`SEGMENT_PAIRS`, each a :func:`core_share_gap`.

    Args:
        cube: cities x sectors x segments output (pass the manufacturing sectors).
        segments: the cube's segment order.
    """
    by_segment = _output_array(cube, 3).sum(axis=1)
    column = {g: by_segment[:, segments.index(g)] for g in segments}
    return {name: core_share_gap(sum(column[g] for g in first), sum(column[g] for g in second),
                                 core_index)
            for name, first, second in SEGMENT_PAIRS}


def capital_pair(invested: np.ndarray, from_core: np.ndarray,
                 core_index: int = 0) -> tuple[float, float]:
    """融资在武汉、投资在城市圈: the core's capital invested in the ring, seen from both ends.

    Args:
        invested: new investment placed in each city (value added of new units, any period).
        from_core: the part of it whose investor is based in the core city.

    Returns:
        (share of the core's new investment in the circle placed in ring cities, share of the
        ring's new investment funded from the core); nan where the denominator is 0.
    """
    invested, from_core = _output_array(invested, 1), _output_array(from_core, 1)
    if invested.shape != from_core.shape or np.any(from_core > invested * (1 + TOLERANCE)):
        raise ValueError("from_core must have invested's shape and not exceed it")
    ring = np.arange(invested.size) != core_index
    core_total, ring_total = from_core.sum(), invested[ring].sum()
    placed_out = from_core[ring].sum()
    return (placed_out / core_total if core_total > 0 else float("nan"),
            placed_out / ring_total if ring_total > 0 else float("nan"))


def lead_sectors(output: np.ndarray, n_lead: int = LEAD_SECTORS) -> np.ndarray:
    """Each city's lead sectors: its ``n_lead`` highest location quotients (ties: first sector).

    Args:
        output: cities x sectors output (pass the base year's, so every scenario of a world
            measures the same sectors).

    Returns:
        cities x sectors bool.
    """
    quotients = location_quotients(output)
    order = np.argsort(-quotients, axis=1, kind="stable")[:, :n_lead]
    lead = np.zeros(quotients.shape, dtype=bool)
    np.put_along_axis(lead, order, True, axis=1)
    return lead & (quotients > 0)


def chain_coverage(cube: np.ndarray, distance_km: np.ndarray,
                   reach_km: float = CHAIN_REACH_KM) -> np.ndarray:
    """How many of its sectors' four segments each city finds within reach, from 0 to 4.

    A city's chain in sector k needs segment g in the circle's proportions: ``need = x_ck · s_kg``
    (x_ck the city's output of the sector, s_kg the segment's share of the circle's output of the
    sector). The segment counts in proportion to what the cities within ``reach_km`` hold,
    ``min(1, Σ_{d(c,c') <= reach} x_c'kg / need)``: 1 when the neighbourhood (the city included)
    holds at least that much; a segment the circle does not hold counts 0.

    Args:
        cube: cities x sectors x segments output (>= 0).
        distance_km: cities x cities road distance (the diagonal the intra-city distance).

    Returns:
        cities x sectors completeness in [0, 4]; nan where the city has none of the sector.
    """
    cube = _output_array(cube, 3)
    near = (np.asarray(distance_km, dtype=float) <= reach_km).astype(float)
    if near.shape != (cube.shape[0],) * 2:
        raise ValueError("distance_km must be cities x cities")
    held = np.einsum("cd,dkg->ckg", near, cube)
    sector = cube.sum(axis=2)
    circle = cube.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        segment_share = np.where(circle.sum(axis=1, keepdims=True) > 0,
                                 circle / circle.sum(axis=1, keepdims=True), 0.0)
        need = sector[:, :, None] * segment_share[None]
        covered = np.where(need > 0, np.minimum(1.0, held / np.where(need > 0, need, 1.0)), 0.0)
    return np.where(sector > 0, covered.sum(axis=2), np.nan)


def chain_completeness_ring(cube: np.ndarray, distance_km: np.ndarray, lead: np.ndarray,
                            core_index: int = 0, reach_km: float = CHAIN_REACH_KM) -> float:
    """Mean :func:`chain_coverage` over the ring cities' lead sectors (nan if none is defined).

    Args:
        lead: cities x sectors bool, e.g. :func:`lead_sectors` of the base year.
    """
    coverage = chain_coverage(cube, distance_km, reach_km)
    ring = np.arange(coverage.shape[0]) != core_index
    values = coverage[ring][np.asarray(lead, dtype=bool)[ring]]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")
