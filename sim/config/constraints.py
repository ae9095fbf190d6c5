"""Cross-field constraints of a scenario: what the schema's per-key ranges cannot see.

Each check names the key, what was expected and the value, so a scenario that would divide by
zero, look up an unknown city or ask the coordinator for an impossible investment map is refused
before any run starts (one line per problem).
"""

from __future__ import annotations

from typing import Any

from sim.config.data_schema import DataFolder, check_data_folder
from sim.config.loader import ConfigError, Origins, data_folder, origin_of, show_path
from sim.config.schema import ScenarioConfig


def check_references(config: ScenarioConfig, origins: Origins, default: str,
                     folders: dict[str, Any] | None = None) -> None:
    """The data folder must pass its schema, and the scenario its cross-field constraints
    (known core city and agreement cities and sectors, non-zero denominators, a feasible map).

    Args:
        folders: checked data folders by path, reused across calls (sweep points share them).
    """
    folder = data_folder(config)
    folders = {} if folders is None else folders
    if str(folder) not in folders:
        folders[str(folder)] = check_data_folder(folder)
    data = folders[str(folder)]
    problems = data.problems
    if problems:
        where = origin_of(("data_dir",), origins, default)
        problems = [f"{where}: data_dir: {problem}" for problem in problems]
    else:
        problems = config_problems(config, data, show_path(folder), origins, default)
    if problems:
        raise ConfigError("\n".join(problems))


def config_problems(config: ScenarioConfig, data: DataFolder, folder_shown: str,
                    origins: Origins, default: str) -> list[str]:
    """Every cross-field problem of a validated scenario against its (valid) data folder."""
    def line(loc: tuple, expected: str, got: object) -> str:
        dotted = ".".join(str(p) for p in loc)
        return f"{origin_of(loc, origins, default)}: {dotted}: expected {expected} (got {got!r})"

    econ, comp = config.economy, config.competition
    problems = []
    if config.world.core_city not in data.cities:
        problems.append(line(("world", "core_city"), f"a city of {folder_shown}/cities.csv "
                             f"({', '.join(data.cities)})", config.world.core_city))
    if econ.discount_rate_annual + econ.exit_rate_annual <= 0:
        problems.append(line(("economy", "discount_rate_annual"), "a positive sum with "
                             "economy.exit_rate_annual (units' lifetime value divides by it)",
                             econ.discount_rate_annual))
    if comp.promotion_weight_gdp + econ.tax_rate <= 0:
        problems.append(line(("competition", "promotion_weight_gdp"), "a positive sum with "
                             "economy.tax_rate (cities weigh GDP and tax by these weights)",
                             comp.promotion_weight_gdp))
    if config.switches.investment_map and comp.lead_sectors * len(data.cities) < len(data.sectors):
        need = -(-len(data.sectors) // max(len(data.cities), 1))
        problems.append(line(("competition", "lead_sectors"), f"at least {need} with the "
                             f"investment map on ({len(data.sectors)} sectors must each go to "
                             f"a city of {len(data.cities)})", comp.lead_sectors))
    problems += agreement_problems(config, data, folder_shown, origins, default)
    return problems


def agreement_problems(config: ScenarioConfig, data: DataFolder, folder_shown: str,
                       origins: Origins, default: str) -> list[str]:
    """Agreements must name cities and sector codes of the scenario's data folder."""
    problems = []
    for i, agreement in enumerate(config.agreements):
        for role in ("source", "host"):
            city = getattr(agreement, role)
            if city not in data.cities:
                at = origin_of(("agreements", i, role), origins, default)
                problems.append(f"{at}: agreements[{i}].{role}: expected a city of "
                                f"{folder_shown}/cities.csv ({', '.join(data.cities)}) "
                                f"(got {city!r})")
        for j, sector in enumerate(agreement.sectors or []):
            if sector not in data.sectors:
                at = origin_of(("agreements", i, "sectors", j), origins, default)
                problems.append(f"{at}: agreements[{i}].sectors[{j}]: expected a sector code of "
                                f"{folder_shown}/sectors.csv ({', '.join(data.sectors)}) "
                                f"(got {sector!r})")
    return problems
