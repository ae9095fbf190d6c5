"""The schema of a data folder: every file a run reads, checked before any run starts.

Each check yields one line ``<file>: <column> row <n>: <what was expected> (got <value>)``; all
problems of a folder are reported at once. The checks cover what :mod:`sim.model.world` needs:
columns, names and codes as written (no surrounding spaces, not a word pandas reads as missing,
one of the allowed values), numbers strictly written (``16_223.21`` and ``1,000`` are refused),
finite and in range, unique keys (also after ignoring case) and coordinates, parts that add up to
their total (GDP by sector, structure shares), cities and sector codes that agree across files,
and sums that the calibration divides by (a city needs some manufacturing and some service weight).
The checks are declared per file in the tables below.
"""

from __future__ import annotations

import dataclasses
import math
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config.yaml_reader import printable, show_path

if TYPE_CHECKING:
    import pandas as pd

SEGMENTS = ("rnd", "hq", "core", "supply")
GROUPS = ("manufacturing", "services")
MAX_DATA_BYTES = 50 << 20
REQUIRED = ("cities.csv", "sectors.csv", "sector_weights.csv", "segments.csv",
            "segment_links.csv", "sector_hotness.csv")
INF = math.inf

#: file -> column -> (low, high, low is exclusive): numeric columns and their ranges.
NUMBERS: dict[str, dict[str, tuple[float, float, bool]]] = {
    "cities.csv": {"lon": (-180, 180, False), "lat": (-90, 90, False),
                   "population": (0, 1e10, True), "gdp_2019": (0, 1e8, True),
                   "gdp_2019_primary": (0, 1e8, False), "gdp_2019_secondary": (0, 1e8, False),
                   "gdp_2019_tertiary": (0, 1e8, False), "gdp_2021": (0, 1e8, True)},
    "sector_hotness.csv": {"hotness": (0, 1, False)},
    "segments.csv": {"share_core_city": (0, 1, False), "share_ring_city": (0, 1, False),
                     "labour_cost_share": (0, 1, False), "land_per_output_km2": (0, 10, True)},
    "segment_links.csv": {"weight": (0, 100, False)},
    "structure.csv": {"primary_pct": (0, 100, False), "secondary_pct": (0, 100, False),
                      "tertiary_pct": (0, 100, False)},
}
TEXT = {"cities.csv": ("city",), "sectors.csv": ("code", "group", "default"),
        "sector_weights.csv": ("city",), "segments.csv": ("group", "segment"),
        "segment_links.csv": ("segment", "linked_segment"), "sector_hotness.csv": ("code",),
        "structure.csv": ("city",)}
KEYS = {"cities.csv": ("city",), "sectors.csv": ("code",), "sector_weights.csv": ("city",),
        "segments.csv": ("group", "segment"), "segment_links.csv": ("segment", "linked_segment"),
        "sector_hotness.csv": ("code",), "structure.csv": ("city",)}
#: file -> column -> the values it may hold (``default`` in any case: the model lowers it).
CHOICES = {"sectors.csv": {"default": ("yes", "no")}}
#: file -> numeric columns whose values must differ row to row (two cities at one point).
DISTINCT_NUMBERS = {"cities.csv": (("lon", "lat"),)}
#: file -> (parts, total, tolerance): the parts add up to the total column (or number) within
#: the relative tolerance (rounding in the sources).
SUMS: dict[str, tuple[tuple[tuple[str, ...], str | float, float], ...]] = {
    "cities.csv": ((("gdp_2019_primary", "gdp_2019_secondary", "gdp_2019_tertiary"), "gdp_2019",
                    0.01),),
    "structure.csv": ((("primary_pct", "secondary_pct", "tertiary_pct"), 100.0, 0.01),),
}
#: file -> columns whose sum the calibration divides by (the secondary share of non-primary GDP).
POSITIVE_SUMS = {"cities.csv": (("gdp_2019_secondary", "gdp_2019_tertiary"),),
                 "structure.csv": (("secondary_pct", "tertiary_pct"),)}
#: Cell texts pandas reads as missing by default (``read_csv``'s ``na_values``), so a city or
#: sector of that name would silently become NaN in the model.
MISSING_WORDS = frozenset(("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                           "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                           "nan", "null"))
#: A number as the model reads it: digits, one optional point, an optional exponent.
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclasses.dataclass
class DataFolder:
    """What the scenario checks need from a valid data folder: its cities and sector codes."""

    cities: list[str]
    sectors: list[str]
    problems: list[str]


#: Checked data folders by path and the bytes of their files: checked once per process.
_CHECKED: dict[tuple, DataFolder] = {}
_KEEP_CHECKED = 16


def check_data_folder(folder: Path) -> DataFolder:
    """Every problem of a data folder (empty when it is valid), with its cities and sectors.

    A process checks a folder once as long as its files are the same (their bytes are compared,
    so an edit is seen)."""
    key = _content_key(folder)
    if key is None:
        return _check_data_folder(folder)
    if key not in _CHECKED:
        if len(_CHECKED) >= _KEEP_CHECKED:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = _check_data_folder(folder)
    found = _CHECKED[key]
    return DataFolder(list(found.cities), list(found.sectors), list(found.problems))


def _content_key(folder: Path) -> tuple | None:
    """The folder and the bytes of each file the check reads (None when one cannot be read as a
    small regular file: then the check itself says what is wrong)."""
    files = []
    for name in (*REQUIRED, "structure.csv"):
        path = folder / name
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_DATA_BYTES:
                return None
            files.append((name, path.read_bytes()))
        except FileNotFoundError:
            files.append((name, None))
        except (OSError, ValueError):  # ValueError: a NUL byte in the path
            return None
    return (str(folder), tuple(files))


def _check_data_folder(folder: Path) -> DataFolder:
    if not folder.is_dir():
        what = "" if not folder.exists() else ", a file"
        return DataFolder([], [], [f"expected a folder holding cities.csv (got "
                                   f"{show_path(folder)}{what})"])
    problems: list[str] = []
    tables = {name: _read(folder / name, name in REQUIRED, problems)
              for name in (*REQUIRED, "structure.csv", *EVIDENCE_FILES)}
    for name, frame in tables.items():
        if frame is not None:
            problems += _check_table(folder / name, frame)
    cities = _column(tables["cities.csv"], "city")
    sectors = _default_sectors(tables["sectors.csv"])
    if not problems:
        problems += _cross_checks(folder, tables, cities, sectors)
    if not problems:    # the evidence files' cities, once the core files agree
        problems += _evidence_cities(folder, tables, cities)
    return DataFolder(cities, [s for s, _ in sectors], problems)


def _read(path: Path, required: bool, problems: list[str]) -> pd.DataFrame | None:
    shown = show_path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if required:
            problems.append(f"{shown}: expected this data file (missing)")
        return None
    except OSError as exc:
        problems.append(f"{shown}: cannot read ({exc.strerror or exc})")
        return None
    if not stat.S_ISREG(info.st_mode):
        problems.append(f"{shown}: expected a regular file (got a folder, FIFO or device)")
        return None
    if info.st_size > MAX_DATA_BYTES:
        problems.append(
            f"{shown}: expected at most {MAX_DATA_BYTES:,} bytes (got {info.st_size:,})"
        )
        return None
    import pandas as pd  # lazy: pandas loads when a folder is read; `import sim.config` is cheap

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        problems.append(f"{shown}: expected a UTF-8 CSV table ({' '.join(str(exc).split())[:120]})")
        return None


def _check_table(path: Path, frame: pd.DataFrame) -> list[str]:
    name, shown = path.name, show_path(path)
    needed = [*TEXT.get(name, ()), *NUMBERS.get(name, {})]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        return [f"{shown}: expected the column(s) {', '.join(missing)} (got "
                f"{', '.join(map(str, frame.columns)) or 'none'})"]
    if frame.empty and name != "structure.csv":
        return [f"{shown}: expected at least one row (got none)"]
    problems = []
    for column in TEXT.get(name, ()):
        problems += _check_text(shown, frame, column, CHOICES.get(name, {}).get(column))
    for column, (low, high, open_low) in NUMBERS.get(name, {}).items():
        problems += _check_numbers(shown, frame, column, low, high, open_low)
    problems += _duplicates(shown, frame, KEYS[name], lambda v: v.strip().casefold())
    if not problems:  # sums and coordinates of numbers that all parsed
        for columns in DISTINCT_NUMBERS.get(name, ()):
            problems += _duplicates(shown, frame, columns, float)
        problems += _sum_problems(shown, frame, name)
    return problems


def _check_text(shown: str, frame: pd.DataFrame, column: str,
                choices: tuple[str, ...] | None) -> list[str]:
    """A name or code as written: not empty, no surrounding spaces, not a missing-value word."""
    problems = []
    for row, text in frame[column].items():
        where = f"{shown}: {column} row {row + 2}"
        if text.strip() == "":
            problems.append(f"{where}: expected a value (got an empty cell)")
        elif text != text.strip():
            problems.append(f"{where}: expected no spaces before or after the value (got "
                            f"{printable(repr(text))})")
        elif text in MISSING_WORDS:
            problems.append(f"{where}: expected a name that is not read as a missing value "
                            f"(got {text!r})")
        elif choices and text.lower() not in choices:
            problems.append(f"{where}: expected one of {', '.join(choices)} (got "
                            f"{printable(repr(text))})")
    return problems


def _duplicates(shown: str, frame: pd.DataFrame, columns: tuple[str, ...], normal) -> list[str]:
    """Rows whose values in ``columns`` repeat an earlier row's once normalised."""
    problems, seen = [], {}
    for row in frame.index:
        key = tuple(normal(frame.at[row, c]) for c in columns)
        if key in seen:
            shown_key = ", ".join(str(frame.at[row, c]) for c in columns)
            problems.append(f"{shown}: {'+'.join(columns)} row {row + 2}: expected unique values "
                            f"(got {printable(repr(shown_key))} again, as on row {seen[key]})")
        else:
            seen[key] = row + 2
    return problems


def _sum_problems(shown: str, frame: pd.DataFrame, name: str) -> list[str]:
    """Parts that do not add up to their total, and sums the calibration divides by that are 0."""
    problems = []
    for parts, total, tolerance in SUMS.get(name, ()):
        for row in frame.index:
            got = sum(float(frame.at[row, c]) for c in parts)
            want = float(frame.at[row, total]) if isinstance(total, str) else total
            if abs(got - want) > tolerance * abs(want):
                of = f"{total} ({want:g})" if isinstance(total, str) else f"{want:g}"
                problems.append(f"{shown}: {'+'.join(parts)} row {row + 2}: expected a sum within "
                                f"{tolerance:.0%} of {of} (got {got:g})")
    for parts in POSITIVE_SUMS.get(name, ()):
        for row in frame.index:
            if sum(float(frame.at[row, c]) for c in parts) <= 0:
                problems.append(f"{shown}: {'+'.join(parts)} row {row + 2}: expected a positive "
                                f"sum (the model divides by it) (got 0)")
    return problems


def _check_numbers(shown: str, frame: pd.DataFrame, column: str, low: float, high: float,
                   open_low: bool) -> list[str]:
    problems = []
    sign = ">" if open_low else ">="
    for row, text in frame[column].items():
        value = float(text) if NUMBER.fullmatch(text) else math.nan
        if not math.isfinite(value):
            problems.append(f"{shown}: {column} row {row + 2}: expected a finite number written "
                            f"with digits and a point (got {printable(repr(text))})")
        elif value < low or (open_low and value == low) or value > high:
            problems.append(f"{shown}: {column} row {row + 2}: expected a number {sign} {low:g} "
                            f"and <= {high:g} (got {text})")
    return problems


def _column(frame: pd.DataFrame | None, column: str) -> list[str]:
    if frame is None or column not in frame.columns:
        return []
    return list(dict.fromkeys(frame[column].str.strip()))


def _default_sectors(frame: pd.DataFrame | None) -> list[tuple[str, str]]:
    if frame is None or not {"code", "group", "default"} <= set(frame.columns):
        return []
    rows = frame[frame["default"].str.strip().str.lower() == "yes"]
    return list(zip(rows["code"].str.strip(), rows["group"].str.strip()))


def _cross_checks(folder: Path, tables: dict, cities: list[str],
                  sectors: list[tuple[str, str]]) -> list[str]:
    """Agreement between the files: same cities, same sector codes, usable sums."""
    def at(name: str) -> str:
        return show_path(folder / name)

    problems = [f"{at('sectors.csv')}: group row {i + 2}: expected one of {', '.join(GROUPS)} "
                f"(got {g!r})" for i, g in enumerate(tables["sectors.csv"]["group"])
                if g.strip() not in GROUPS]
    groups = {g for _, g in sectors if g in GROUPS}
    if groups != set(GROUPS):
        problems.append(f"{at('sectors.csv')}: default: expected default (yes) sectors in both "
                        f"groups {', '.join(GROUPS)} (got {', '.join(sorted(groups)) or 'none'})")
    codes = [code for code, _ in sectors]
    weights = tables["sector_weights.csv"]
    problems += _same_keys(at("sector_weights.csv"), "city", list(weights["city"]), cities)
    lacking = [c for c in codes if c not in weights.columns]
    if lacking:
        problems.append(f"{at('sector_weights.csv')}: expected a column per default sector "
                        f"(missing {', '.join(lacking)})")
    else:
        problems += _weight_problems(at("sector_weights.csv"), weights, sectors)
    hot = list(tables["sector_hotness.csv"]["code"].str.strip())
    missing = [c for c in codes if c not in hot]
    if missing:
        problems.append(f"{at('sector_hotness.csv')}: code: expected a row per default sector "
                        f"(missing {', '.join(missing)})")
    problems += _segment_problems(folder, tables, groups)
    structure = tables.get("structure.csv")
    if structure is not None:
        problems += [f"{at('structure.csv')}: city row {i + 2}: expected a city of "
                     f"cities.csv (got {c!r})" for i, c in enumerate(structure["city"])
                     if c.strip() not in cities]
    return problems


def _same_keys(shown: str, column: str, got: list[str], wanted: list[str]) -> list[str]:
    got = [g.strip() for g in got]
    missing = [w for w in wanted if w not in got]
    extra = [g for g in got if g not in wanted]
    out = [f"{shown}: {column}: expected a row for every city of cities.csv (missing "
           f"{', '.join(missing)})"] if missing else []
    return out + [f"{shown}: {column}: expected a city of cities.csv (got {e!r})" for e in extra]


def _weight_problems(
    shown: str, weights: pd.DataFrame, sectors: list[tuple[str, str]]
) -> list[str]:
    problems = []
    for code, _ in sectors:
        problems += _check_numbers(shown, weights, code, 0, 1e6, False)
    if problems:
        return problems
    for _, row in weights.iterrows():
        for group in {g for _, g in sectors}:  # a group without sectors is reported once above
            total = sum(float(row[c]) for c, g in sectors if g == group)
            if total <= 0:
                problems.append(f"{shown}: city {row['city']}: expected a positive total weight "
                                f"over the {group} sectors (got {total:g})")
    return problems


def _segment_problems(folder: Path, tables: dict, groups: set[str]) -> list[str]:
    shown = show_path(folder / "segments.csv")
    segments = tables["segments.csv"]
    have = {(g.strip(), s.strip()) for g, s in zip(segments["group"], segments["segment"])}
    missing = [f"{g}/{s}" for g in sorted(groups) for s in SEGMENTS if (g, s) not in have]
    problems = [f"{shown}: group+segment: expected a row for each of {', '.join(missing)}"] \
        if missing else []
    for i, s in enumerate(segments["segment"]):
        if s.strip() not in SEGMENTS:
            problems.append(f"{shown}: segment row {i + 2}: expected one of "
                            f"{', '.join(SEGMENTS)} (got {s!r})")
    for column in ("share_core_city", "share_ring_city"):
        for group in groups:
            total = sum(float(v) for g, v in zip(segments["group"], segments[column])
                        if g.strip() == group)
            if total <= 0:
                problems.append(f"{shown}: {column}: expected a positive sum over the {group} "
                                f"segments (got {total:g})")
    links = tables["segment_links.csv"]
    linked = show_path(folder / "segment_links.csv")
    for column in ("segment", "linked_segment"):
        problems += [
            f"{linked}: {column} row {i + 2}: expected one of {', '.join(SEGMENTS)} (got {s!r})"
            for i, s in enumerate(links[column])
            if s.strip() not in SEGMENTS
        ]
    return problems


# ---------------------------------------------------------------- evidence files (optional)
# Read by the back-test and `sim evidence` (sim/validation): the city GDP series, Hubei's real
# growth, the land figures and the targets. Columns the code reads are checked; the targets'
# numbers (which may be empty: no data) are checked when `sim evidence` loads them.
YEAR = (1949, 2100, False)
EVIDENCE_NUMBERS: dict[str, dict[str, tuple[float, float, bool]]] = {
    "gdp_series_2010_2019.csv": {"year": YEAR, "gdp_100m_yuan": (0, 1e8, True)},
    "gdp_series_2020_2024.csv": {"year": YEAR, "gdp_100m_yuan": (0, 1e8, True)},
    "hubei_gdp.csv": {"year": YEAR, "real_growth_pct": (-50, 50, False)},
    "land_evidence.csv": {"first_year": YEAR, "last_year": YEAR, "value": (-1e9, 1e9, False)},
}
EVIDENCE_TEXT = {"gdp_series_2010_2019.csv": ("city",),
                 "gdp_series_2020_2024.csv": ("city", "status", "source"),
                 "hubei_gdp.csv": (), "land_evidence.csv": ("indicator", "region", "status"),
                 "targets.csv": ("name", "run", "measure", "role")}
EVIDENCE_KEYS = {"gdp_series_2010_2019.csv": ("city", "year"),
                 "gdp_series_2020_2024.csv": ("city", "year"), "hubei_gdp.csv": ("year",),
                 "land_evidence.csv": ("indicator", "region", "first_year", "last_year"),
                 "targets.csv": ("name",)}
EVIDENCE_FILES = tuple(EVIDENCE_TEXT)
NUMBERS.update(EVIDENCE_NUMBERS)
TEXT.update(EVIDENCE_TEXT)
KEYS.update(EVIDENCE_KEYS)


def _evidence_cities(folder: Path, tables: dict, cities: list[str]) -> list[str]:
    """The GDP series name cities of cities.csv."""
    problems = []
    for name in ("gdp_series_2010_2019.csv", "gdp_series_2020_2024.csv"):
        frame = tables.get(name)
        if frame is not None:
            problems += [f"{show_path(folder / name)}: city row {i + 2}: expected a city of "
                         f"cities.csv (got {c!r})" for i, c in enumerate(frame["city"])
                         if c.strip() not in cities]
    return problems
