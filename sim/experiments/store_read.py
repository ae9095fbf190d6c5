"""Reading a batch's stored tables into one DataFrame per table, in little memory.

A batch of a few hundred runs holds millions of ``transfers`` and ``sectors`` rows in which the
same few names (scenario, run, city, sector, segment, channel, park) repeat on every row. Read
as one Python or Arrow string per row and then copied by a ``concat``, a 400-run batch of 20,000
units took 7.4 GB to compare; read as categoricals (one small integer code per row and each name
once) through pyarrow's dictionary encoding, each run's categories then widened to the batch's
before one ``concat``, it fits in a fraction of that. Categories are sorted, so sorting and
grouping by a name give the order plain strings give; every value is the one stored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.config.loader import ConfigError, show_path
from sim.experiments import store_guard as guard
from sim.model.tables import OPTIONAL_TABLES, TABLES

#: Tables with a row per unit event or per city-sector cell (millions of rows in a large batch):
#: their text columns, and the run and scenario names, are read as pandas categoricals.
CATEGORICAL_TABLES: tuple[str, ...] = ("sectors", "transfers", "investment_map")
#: The id columns read as categoricals in those tables (replicate and swept values keep theirs).
NAME_IDS: tuple[str, ...] = ("run", "scenario")


def damaged_run_error(out_dir: Path, run: str, exc: Exception) -> ConfigError:
    """One line naming a run whose table cannot be read, and what to do about it."""
    return ConfigError(f"{show_path(out_dir)}: damaged run {run}: {type(exc).__name__}: "
                       f"{' '.join(str(exc).split())[:200]}; rerun the batch with --resume "
                       f"to recompute it")


def table_path(out_dir: Path, run: str, name: str) -> Path | None:
    """A run's file of table ``name``, or None for an optional table the run did not store."""
    path = out_dir / "runs" / guard.encode_name(run) / f"{name}.parquet"
    return None if name in OPTIONAL_TABLES and not path.exists() else path


def read_frame(out_dir: Path, run: str, name: str) -> pd.DataFrame | None:
    """One run's table as pandas reads it (plain strings), or None when not stored."""
    path = table_path(out_dir, run, name)
    try:
        return None if path is None else pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise damaged_run_error(out_dir, run, exc) from None


def read_encoded(out_dir: Path, run: str, name: str) -> pd.DataFrame | None:
    """One run's table, its text columns read as categoricals through pyarrow's dictionary
    encoding (None when not stored)."""
    path = table_path(out_dir, run, name)
    if path is None:
        return None
    try:
        text = [field.name for field in pq.read_schema(path)
                if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)]
        return pq.read_table(path, read_dictionary=text).to_pandas()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise damaged_run_error(out_dir, run, exc) from None


def names_in(column: pd.Series) -> set:
    """The names a column holds (a categorical's categories, else its values)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return set(column.cat.categories)
    return set(column.dropna())


def as_categories(column: pd.Series, names: list[str]) -> pd.Series:
    """``column`` as a categorical with exactly these categories in this order (``astype`` would
    keep a categorical's own order: pandas deems unordered dtypes with the same names equal)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.set_categories(names)
    return column.astype(pd.CategoricalDtype(names))


def concat_categorical(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Runs' frames as one, each column categorical in any of them given the same sorted
    categories in all (a run whose column holds no name at all reads it as empty, not as text),
    so the concatenation stays categorical and sorts as the names do."""
    columns = [c for c in frames[0].columns
               if any(isinstance(f[c].dtype, pd.CategoricalDtype) for f in frames)]
    for column in columns:
        names = sorted(set().union(*(names_in(f[column]) for f in frames)))
        for frame in frames:
            frame[column] = as_categories(frame[column], names)
    whole = pd.concat(frames, ignore_index=True)
    for column in columns:
        whole[column] = observed_only(whole[column])
    return whole


def observed_only(column: pd.Series) -> pd.Series:
    """A categorical without the categories no row holds (counted, not sorted: cheap)."""
    codes = column.cat.codes.to_numpy()
    held = np.bincount(codes[codes >= 0], minlength=len(column.cat.categories)) > 0
    return column if held.all() else column.cat.remove_categories(
        column.cat.categories[~held])


def id_column(values: Sequence, lengths: np.ndarray, categorical: bool) -> pd.Series:
    """A run-level value (run, scenario, replicate, a swept key's value) repeated on every row of
    the run: a sorted categorical of names when ``categorical``, else with the dtype pandas gives
    the same value assigned to each run's frame."""
    if categorical and all(isinstance(v, str) for v in values):
        names = sorted({v for v, n in zip(values, lengths) if n})   # runs with rows only
        codes = np.array([names.index(v) if n else 0 for v, n in zip(values, lengths)],
                         dtype=np.int32)
        return pd.Series(pd.Categorical.from_codes(np.repeat(codes, lengths), names))
    like = pd.concat([pd.DataFrame({"v": [v]}) for v in values], ignore_index=True)["v"]
    return pd.Series(np.repeat(like.to_numpy(), lengths), dtype=like.dtype)


def read_table(out_dir: Path, name: str, ids: dict[str, list]) -> pd.DataFrame:
    """Table ``name`` of every run in ``ids`` (column -> one value per run: ``run``,
    ``scenario``, ``replicate`` and the swept keys) with those columns ahead of its own."""
    categorical = name in CATEGORICAL_TABLES
    read = read_encoded if categorical else read_frame
    parts = [read(out_dir, run, name) for run in ids["run"]]
    kept = [i for i, part in enumerate(parts) if part is not None]
    if not kept:
        return pd.DataFrame(columns=list(ids) + list(TABLES[name]))
    frames = [parts[i] for i in kept]
    del parts
    lengths = np.array([len(f) for f in frames])
    own = concat_categorical(frames) if categorical else pd.concat(frames, ignore_index=True)
    del frames
    for at, key in enumerate(ids):
        own.insert(at, key, id_column([ids[key][i] for i in kept], lengths,
                                      categorical and key in NAME_IDS))
    return own


def read_tables(directory: str | os.PathLike, ids: dict[str, list]) -> dict[str, pd.DataFrame]:
    """Every table of :data:`sim.model.tables.TABLES` for the runs listed in ``ids``."""
    return {name: read_table(Path(directory), name, ids) for name in TABLES}
