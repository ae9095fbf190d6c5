"""A batch's large tables load as sorted categoricals, with every stored value, and what the
report computes from them equals what it computes from plain strings (the loader before)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import batch_here, shared_once

from sim.analysis import similarity_sources, stats
from sim.experiments.store import load_results, run_folder_name
from sim.experiments.store_read import CATEGORICAL_TABLES
from sim.model.tables import TABLES

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("homogenised", "coordinated")


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    def build(folder: Path) -> None:
        done = batch_here([ROOT / "scenarios" / f"{n}.yaml" for n in NAMES], folder / "store",
                          replicates=2, overrides=["steps=3", "world.n_units=1000"])
        assert done.n_failed == 0, done.failed

    return shared_once(tmp_path_factory, "store_read", build) / "store"


@pytest.fixture(scope="module")
def loaded(batch_dir):
    return load_results(batch_dir)


@pytest.fixture(scope="module")
def plain(loaded):
    """The same batch with every categorical column as plain strings."""
    return dataclasses.replace(loaded, **{n: as_plain(getattr(loaded, n)) for n in TABLES})


def run_by_run(batch_dir: Path, manifest: pd.DataFrame, name: str) -> pd.DataFrame:
    """Each run's file read by pandas, with run, scenario and replicate in front, concatenated."""
    parts = [pd.read_parquet(batch_dir / "runs" / run_folder_name(r.run) / f"{name}.parquet")
             .assign(run=r.run, scenario=r.scenario, replicate=int(r.replicate))
             for r in manifest.itertuples()]
    frame = pd.concat(parts, ignore_index=True)
    return frame[["run", "scenario", "replicate", *TABLES[name]]]


def test_large_tables_hold_sorted_categoricals_and_the_rest_plain_strings(loaded):
    for name in TABLES:
        frame = getattr(loaded, name)
        text = [c for c in frame.columns if c not in ("replicate", "step")
                and not pd.api.types.is_numeric_dtype(frame[c])
                and not pd.api.types.is_bool_dtype(frame[c])]
        cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
        assert frame["replicate"].dtype == np.int64, name
        if name in CATEGORICAL_TABLES:
            assert len(frame) and cats == text and {"run", "scenario"} <= set(cats), name
            for column in cats:
                categories = list(frame[column].cat.categories)
                assert categories == sorted(categories), (name, column)
                assert set(categories) == set(frame[column].dropna()), (name, column)
        else:
            assert cats == [], name


@pytest.mark.parametrize("name", list(TABLES))
def test_every_value_is_the_one_each_run_stored(batch_dir, loaded, name):
    frame = getattr(loaded, name)
    expected = run_by_run(batch_dir, loaded.manifest, name)
    pd.testing.assert_frame_equal(frame.astype(expected.dtypes.to_dict()), expected)


def test_sorting_and_grouping_follow_the_names_as_strings(loaded, plain):
    columns = ["scenario", "to_city", "channel", "step", "unit_id"]
    sort = loaded.transfers.sort_values(columns, kind="stable", ignore_index=True)[columns]
    expected = plain.transfers.sort_values(columns, kind="stable", ignore_index=True)[columns]
    pd.testing.assert_frame_equal(sort.astype({c: "str" for c in columns[:3]}), expected)
    one = loaded.transfers[loaded.transfers["scenario"] == "coordinated"]
    counts = one.groupby(["scenario", "channel"], observed=True).size()
    assert set(counts.index.get_level_values(0)) == {"coordinated"}   # no empty category rows
    assert as_plain(stats.moved_out_of_wuhan(one, "coordinated")).equals(
        stats.moved_out_of_wuhan(plain.transfers[plain.transfers["scenario"] == "coordinated"],
                                 "coordinated"))


def as_plain(frame: pd.DataFrame) -> pd.DataFrame:
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return frame.astype({c: "str" for c in cats})


def same_matrix(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.index) == list(b.index) and list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_statistics_and_figure_tables_equal_those_from_plain_strings(loaded, plain):
    for name in ("levels", "differences", "city_gains", "city_levels", "over_time"):
        pd.testing.assert_frame_equal(getattr(stats.summarise(loaded), name),
                                      getattr(stats.summarise(plain), name))
    for scenario in NAMES:
        same_matrix(stats.investment_matrix(loaded.sectors, scenario),
                    stats.investment_matrix(plain.sectors, scenario))
        same_matrix(stats.arrivals_matrix(loaded.transfers, scenario),
                    stats.arrivals_matrix(plain.transfers, scenario))
        pd.testing.assert_frame_equal(as_plain(stats.moved_out_of_wuhan(loaded.transfers,
                                                                        scenario)),
                                      stats.moved_out_of_wuhan(plain.transfers, scenario))
    if len(loaded.investment_map):
        scenario = loaded.investment_map["scenario"].iloc[0]
        same_matrix(stats.map_matrix(loaded.investment_map, scenario, 2),
                    stats.map_matrix(plain.investment_map, scenario, 2))
    manufacturing = similarity_sources.manufacturing_sectors()
    for level in ("sector", "segment"):
        pd.testing.assert_frame_equal(
            similarity_sources.decompose(loaded, "coordinated", "homogenised", manufacturing,
                                         level),
            similarity_sources.decompose(plain, "coordinated", "homogenised", manufacturing,
                                         level))
