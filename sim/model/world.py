"""The base-year (2021) world built from a data folder: cities, sectors, segments and output.

Loading files happens here and nowhere else; the model receives a :class:`World` of arrays.
A data folder holds ``cities.csv``, ``sectors.csv``, ``sector_weights.csv``, ``segments.csv``,
``segment_links.csv``, ``sector_hotness.csv`` and optionally ``structure.csv`` (see
``sim/data/README.md``), so another city circle is another folder of the same form.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config.loader import data_folder
from sim.config.schema import ScenarioConfig, WorldConfig
from sim.rules.constants import SEGMENTS
from sim.rules.economy import Technology

EARTH_RADIUS_KM = 6371.0
DATA_FILES = ("cities.csv", "sectors.csv", "sector_weights.csv", "segments.csv",
              "segment_links.csv", "sector_hotness.csv", "structure.csv")


@dataclasses.dataclass(frozen=True)
class World:
    """The calibrated base-year world. Money in 亿元 per year, land in km², distance in km."""

    cities: tuple[str, ...]
    core: int                       # index of the core city (Wuhan)
    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    gdp: np.ndarray                 # 2021 GDP (target of step 0)
    primary: np.ndarray             # primary output: in GDP, never moves
    distance_km: np.ndarray         # C x C road distance, intra-city on the diagonal
    sectors: tuple[str, ...]
    manufacturing: np.ndarray       # K bool
    hotness: np.ndarray             # K, national "hotness" in [0, 1] (A)
    advantage: np.ndarray           # C x K, own comparative advantage in [0, 1]
    output: np.ndarray              # C x K x G base output of the mobile sectors
    labour_share: np.ndarray        # K x G labour cost share of value added at wage index 1 (A)
    land_per_output: np.ndarray     # K x G km² per 亿元 of annual value added (A)
    links: np.ndarray               # G x G weight of linked segments for distance costs (A)
    wage: np.ndarray                # C wage index, core city = 1
    talent: np.ndarray              # C talent (R&D capacity) index, core city = 1
    land_rent_base: np.ndarray      # C r̄_c: land rent at zero utilisation, 亿元/km²/yr
    utilisation: np.ndarray         # C base utilisation of each local park (A)
    data_hash: str

    @property
    def n_cities(self) -> int:
        return len(self.cities)

    @property
    def n_sectors(self) -> int:
        return len(self.sectors)

    def city_index(self, name: str) -> int:
        return self.cities.index(name)


def technology(world: World, config: ScenarioConfig) -> Technology:
    """What producing costs where in this world under the scenario's economy (fixed for a run):
    talent's effect ``T_c^θ_g``, distances, linkages, intensities and the rates of tax,
    distance cost and agglomeration."""
    econ = config.economy
    theta = np.array([econ.talent_elasticity[s] for s in SEGMENTS])
    return Technology(talent_factor=world.talent[:, None] ** theta[None, :],
                      distance_km=world.distance_km, links=world.links,
                      labour_share=world.labour_share, land_per_output=world.land_per_output,
                      tax_rate=econ.tax_rate, distance_cost_per_100km=econ.distance_cost_per_100km,
                      agglomeration_elasticity=econ.agglomeration_elasticity)


def hash_data(folder: Path) -> str:
    """A short hash of the data files the calibration reads."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        path = folder / name
        if path.exists():
            digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def great_circle_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Haversine distances between all pairs of points (km)."""
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    dlon = lon_r[:, None] - lon_r[None, :]
    dlat = lat_r[:, None] - lat_r[None, :]
    h = (
        np.sin(dlat / 2) ** 2
        + np.cos(lat_r[:, None]) * np.cos(lat_r[None, :]) * np.sin(dlon / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def road_distances(lon: np.ndarray, lat: np.ndarray, detour: float, intra_km: float) -> np.ndarray:
    """Road km: great-circle km times a detour factor; ``intra_km`` within a city."""
    d = great_circle_km(lon, lat) * detour
    np.fill_diagonal(d, intra_km)
    return d


def primary_shares(cities: pd.DataFrame, structure: pd.DataFrame | None) -> np.ndarray:
    """Primary-sector share of GDP: a reported recent structure where given, else the 2019 split."""
    share = np.array(cities["gdp_2019_primary"] / cities["gdp_2019"], dtype=float)
    if structure is not None:
        for _, row in structure.iterrows():
            i = cities.index[cities["city"] == row["city"]]
            if len(i):
                share[i[0]] = row["primary_pct"] / 100.0
    return share


def secondary_share_of_nonprimary(
    cities: pd.DataFrame, structure: pd.DataFrame | None
) -> np.ndarray:
    """Secondary output as a share of secondary plus tertiary output."""
    sec = cities["gdp_2019_secondary"].to_numpy(dtype=float)
    ter = cities["gdp_2019_tertiary"].to_numpy(dtype=float)
    share = np.array(sec / (sec + ter), dtype=float)
    if structure is not None:
        for _, row in structure.iterrows():
            i = cities.index[cities["city"] == row["city"]]
            if len(i):
                share[i[0]] = row["secondary_pct"] / (row["secondary_pct"] + row["tertiary_pct"])
    return share


def spread_output(nonprimary: np.ndarray, secondary_share: np.ndarray, weights: np.ndarray,
                  manufacturing: np.ndarray, segment_shares: np.ndarray) -> np.ndarray:
    """City x sector x segment output: secondary output over manufacturing sectors and tertiary
    output over service sectors, each in proportion to the city's sector weights, then over
    segments by ``segment_shares`` (C x K x G, summing to 1 over G).
    """
    w_m = weights * manufacturing[None, :]
    w_s = weights * ~manufacturing[None, :]
    by_sector = (nonprimary * secondary_share)[:, None] * w_m / w_m.sum(axis=1, keepdims=True)
    by_sector += (
        (nonprimary * (1 - secondary_share))[:, None] * w_s / w_s.sum(axis=1, keepdims=True)
    )
    return by_sector[:, :, None] * segment_shares


def _segment_tables(segments: pd.DataFrame, manufacturing: np.ndarray, core: int, n_cities: int):
    groups = np.where(manufacturing, "manufacturing", "services")
    table = segments.set_index(["group", "segment"])

    def pick(col: str) -> np.ndarray:
        cell = table[col].to_dict()            # (group, segment) -> value
        return np.array([[cell[(g, s)] for s in SEGMENTS] for g in groups], float)

    share_core, share_ring = pick("share_core_city"), pick("share_ring_city")
    shares = np.repeat(share_ring[None], n_cities, axis=0)
    shares[core] = share_core
    shares /= shares.sum(axis=2, keepdims=True)
    return shares, pick("labour_cost_share"), pick("land_per_output_km2")


def _link_matrix(links: pd.DataFrame) -> np.ndarray:
    m = np.zeros((len(SEGMENTS), len(SEGMENTS)))
    for _, row in links.iterrows():
        m[SEGMENTS.index(row["segment"]), SEGMENTS.index(row["linked_segment"])] = row["weight"]
    return m


def advantage_scores(output: np.ndarray) -> np.ndarray:
    """Own comparative advantage: each city's location quotients ranked into [0, 1]."""
    by_sector = output.sum(axis=2)
    lq = (by_sector / by_sector.sum(1, keepdims=True)) / (by_sector.sum(0) / by_sector.sum())
    ranks = lq.argsort(axis=1).argsort(axis=1)
    return ranks / max(lq.shape[1] - 1, 1)


def read_csv(folder: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    path = folder / name
    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path}: missing data file")
        return None
    return pd.read_csv(path)


#: Worlds built in this process, by data folder, its files' hash, the ``world`` parameters and
#: the GDP by city given.
_BUILT: dict[tuple, World] = {}
_KEEP_WORLDS = 8


def build_world(config: ScenarioConfig, folder: Path | None = None) -> World:
    """Build the base-year world from the data folder and the ``world`` parameters."""
    return build_world_with_gdp(config, None, folder)


def build_world_with_gdp(config: ScenarioConfig, gdp_by_city: Mapping[str, float] | None,
                         folder: Path | None = None) -> World:
    """The world of another year: its GDP by city (亿元), everything else as in the base year.

    Structure (primary share, secondary/tertiary split, sector weights), population, coordinates
    and the ``world`` parameters are the base year's; wages, talent and land rents follow the
    given GDP per capita. ``None`` gives the base-year world (``gdp_2021``).

    A process builds each world once: the world is read only by the runs, so every run whose
    folder holds the same files and whose ``world`` parameters and GDP are equal shares it (its
    arrays are read-only).
    """
    folder = folder or data_folder(config)
    gdp = None if gdp_by_city is None else tuple(sorted((str(k), float(v))
                                                        for k, v in gdp_by_city.items()))
    key = (str(Path(folder).resolve()), hash_data(folder), config.world.model_dump_json(), gdp)
    world = _BUILT.get(key)
    if world is None:
        world = _read_only(_read_world(config, gdp_by_city, folder))
        if len(_BUILT) >= _KEEP_WORLDS:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = world
    return world


def _read_only(world: World) -> World:
    for f in dataclasses.fields(world):
        value = getattr(world, f.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return world


def _read_world(config: ScenarioConfig, gdp_by_city: Mapping[str, float] | None,
                folder: Path) -> World:
    """:func:`build_world_with_gdp` from the files."""
    wc: WorldConfig = config.world
    cities = read_csv(folder, "cities.csv")
    sectors = read_csv(folder, "sectors.csv")
    sectors = sectors[sectors["default"].astype(str).str.lower() == "yes"].reset_index(drop=True)
    codes = tuple(sectors["code"])
    weights = (
        read_csv(folder, "sector_weights.csv").set_index("city").loc[cities["city"], list(codes)]
    )
    hot = read_csv(folder, "sector_hotness.csv").set_index("code").loc[list(codes), "hotness"]
    structure = read_csv(folder, "structure.csv", required=False)
    names = tuple(cities["city"])
    if wc.core_city not in names:
        raise ValueError(
            f"world.core_city {wc.core_city!r} is not a city in {folder / 'cities.csv'}"
        )
    core = names.index(wc.core_city)
    manufacturing = (sectors["group"] == "manufacturing").to_numpy()

    gdp = cities["gdp_2021"].to_numpy(dtype=float)
    if gdp_by_city is not None:
        missing = sorted(set(names) - set(gdp_by_city))
        if missing:
            raise ValueError(f"GDP by city lacks {missing} (cities of {folder / 'cities.csv'})")
        gdp = np.array([float(gdp_by_city[name]) for name in names])
    primary = gdp * primary_shares(cities, structure)
    seg_shares, labour, land = _segment_tables(read_csv(folder, "segments.csv"), manufacturing,
                                               core, len(names))
    output = spread_output(gdp - primary, secondary_share_of_nonprimary(cities, structure),
                           weights.to_numpy(dtype=float), manufacturing, seg_shares)

    population = cities["population"].to_numpy(dtype=float)
    gdppc_rel = (gdp / population) / (gdp[core] / population[core])
    utilisation = np.full(len(names), wc.utilisation_ring)
    utilisation[core] = wc.utilisation_core
    rent_at_base_core = wc.land_rent_core
    rent_base = (
        rent_at_base_core * (1 - wc.utilisation_core) ** 0.5
    ) * gdppc_rel**wc.land_rent_gdppc_elasticity
    return World(
        cities=names, core=core,
        lon=cities["lon"].to_numpy(float), lat=cities["lat"].to_numpy(float),
        population=population, gdp=gdp, primary=primary,
        distance_km=road_distances(cities["lon"].to_numpy(float), cities["lat"].to_numpy(float),
                                   wc.detour_factor, wc.intra_city_km),
        sectors=codes, manufacturing=manufacturing, hotness=hot.to_numpy(float),
        advantage=advantage_scores(output), output=output,
        labour_share=labour, land_per_output=land,
        links=_link_matrix(read_csv(folder, "segment_links.csv")),
        wage=gdppc_rel ** wc.wage_gdppc_elasticity,
        talent=gdppc_rel ** wc.talent_gdppc_elasticity,
        land_rent_base=rent_base, utilisation=utilisation, data_hash=hash_data(folder),
    )
