"""Batches: identical tables on any executor, paired replicates, kill-and-resume, refusals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.config import ConfigError
from sim.experiments.runner import run_batch
from sim.experiments.store import load_results
from sim.model.tables import TABLES
from sim.paths import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
#: A tiny world: what these tests compare (tables across executors, streams, refusals) does not
#: depend on its size.
SMALL = ["steps=2", "world.n_units=300"]


@pytest.fixture
def sweep_file(scenario_dir: Path) -> Path:
    """A two-point sweep over the coordinated scenario (or the tiny one until it exists)."""
    parent = ROOT / "scenarios" / "coordinated.yaml"
    parent = parent if parent.exists() else scenario_dir / "tiny.yaml"
    path = scenario_dir / "pair.yaml"
    path.write_text(f"extends: {parent}\nname: pair\nsweep:\n  zip:\n"
                    "    policies.enclave.gdp_share_source: [0.0, 1.0]\n"
                    "    policies.enclave.tax_share_source: [0.0, 1.0]\n")
    return path


def _tables_by_run(out: Path) -> dict[str, dict[str, pd.DataFrame]]:
    results = load_results(out)
    runs = results.manifest.loc[results.manifest["status"] == "ok", "run"]
    return {run: {name: getattr(results, name).query("run == @run").reset_index(drop=True)
                  for name in TABLES} for run in runs}


def assert_same_tables(a: Path, b: Path) -> None:
    left, right = _tables_by_run(a), _tables_by_run(b)
    assert sorted(left) == sorted(right)
    for run in left:
        for name in TABLES:
            pd.testing.assert_frame_equal(left[run][name], right[run][name], check_exact=True)


@pytest.mark.slow
def test_one_worker_two_workers_and_dask_give_identical_tables(sweep_file: Path) -> None:
    distributed = pytest.importorskip("distributed")
    one = run_batch([sweep_file], "one", replicates=2, seed=3, workers=1, overrides=SMALL,
                    progress=False)
    assert (one.n_ok, one.n_failed, one.n_total) == (4, 0, 4)
    run_batch([sweep_file], "two", replicates=2, seed=3, workers=2, overrides=SMALL,
              progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        run_batch([sweep_file], "dask", replicates=2, seed=3, overrides=SMALL, progress=False,
                  scheduler=cluster.scheduler_address)
    assert_same_tables(Path("one"), Path("two"))
    assert_same_tables(Path("one"), Path("dask"))
    results = load_results("one")
    assert list(results.circle.columns[:5]) == ["run", "scenario", "replicate",
                                                "policies.enclave.gdp_share_source",
                                                "policies.enclave.tax_share_source"]
    assert sorted(results.circle["run"].unique()) == [
        "pair/enclave.gdp_share_source=0.0,enclave.tax_share_source=0.0/r00",
        "pair/enclave.gdp_share_source=0.0,enclave.tax_share_source=0.0/r01",
        "pair/enclave.gdp_share_source=1.0,enclave.tax_share_source=1.0/r00",
        "pair/enclave.gdp_share_source=1.0,enclave.tax_share_source=1.0/r01"]
    manifest = results.manifest
    assert list(manifest["status"]) == ["ok"] * 4 and list(manifest["seed"]) == [3] * 4


def test_replicate_r_draws_the_same_streams_in_differently_named_scenarios(
        scenario_dir: Path) -> None:
    off = "switches: {" + ", ".join(f"{k}: false" for k in (
        "investment_map", "subsidy_cap", "shared_platform", "enclave", "gdp_tax_sharing",
        "park_within_park", "reverse_enclave")) + "}\n"
    (scenario_dir / "first.yaml").write_text(f"extends: tiny.yaml\nname: first\n{off}")
    # Another name, and other values for the rules that are switched off: no effect on tables.
    (scenario_dir / "second.yaml").write_text(
        f"extends: tiny.yaml\nname: second\ndescription: other\n{off}"
        "policies:\n  subsidy_cap: {cap: 0.01}\n  shared_platform: {attention: 0.4}\n")
    run_batch(["first.yaml", "second.yaml"], "out", replicates=2, seed=8, workers=1,
              overrides=SMALL, progress=False)
    tables = _tables_by_run(Path("out"))
    for name in TABLES:
        for r in ("r00", "r01"):
            pd.testing.assert_frame_equal(
                tables[f"first/{r}"][name].drop(columns=["run", "scenario"]),
                tables[f"second/{r}"][name].drop(columns=["run", "scenario"]),
            )
    assert not tables["first/r00"]["cities"].equals(tables["first/r01"]["cities"])


def _sim(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.slow
def test_killed_batch_resumes_to_the_uninterrupted_result(scenario_dir: Path) -> None:
    args = ["tiny.yaml", "--replicates", "8", "--seed", "4", "--workers", "2", "--quiet",
            "--set", "steps=3", "--set", "world.n_units=2000"]
    proc = _sim("batch", *args, "--out", "killed", start_new_session=True)
    runs = scenario_dir / "killed" / "runs"
    deadline = time.monotonic() + 600
    done: list[Path] = []
    while time.monotonic() < deadline and len(done) < 2:
        time.sleep(0.02)
        done = [p for p in runs.glob("*") if ".tmp-" not in p.name] if runs.exists() else []
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= len(done) < 8, "the batch was not killed part-way"
    resumed = _sim("batch", *args, "--out", "killed", "--resume")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert " already done" in out
    assert not [p for p in runs.iterdir() if ".tmp-" in p.name]
    manifest = pd.read_csv(scenario_dir / "killed" / "manifest.csv")
    assert sorted(manifest["run"]) == [f"tiny/r{r:02d}" for r in range(8)]
    assert set(manifest["status"]) == {"ok"}
    assert len(list(runs.iterdir())) == 8
    # the uninterrupted batch in this process (tables do not depend on the executor:
    # test_local_pool_workers_write_their_own_runs), sparing two more workers' start-up
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(1) as threads:
        run_batch(["tiny.yaml"], "whole", replicates=8, seed=4, executor=threads,
                  overrides=["steps=3", "world.n_units=2000"], progress=False)
    assert_same_tables(scenario_dir / "killed", scenario_dir / "whole")


def test_resume_refuses_a_changed_config_data_version_or_model_code(scenario_dir: Path) -> None:
    shutil.copytree(DATA_DIR, scenario_dir / "data")
    (scenario_dir / "own.yaml").write_text("extends: tiny.yaml\nname: own\ndata_dir: data\n")
    run_batch(["own.yaml"], "out", replicates=1, workers=1, overrides=SMALL, progress=False)
    assert run_batch(["own.yaml"], "out", replicates=1, workers=1, overrides=SMALL,
                     resume=True, progress=False).n_skipped == 1
    with pytest.raises(ConfigError, match="^out: cannot resume: the config of scenario 'own' "
                       "changed since the batch began; start a new --out folder$"):
        run_batch(["own.yaml"], "out", overrides=[*SMALL, "economy.tax_rate=0.08"],
                  resume=True, progress=False)
    with (scenario_dir / "data" / "cities.csv").open("a") as handle:
        handle.write("\n")
    with pytest.raises(ConfigError, match="^out: cannot resume: the data of scenario 'own'"):
        run_batch(["own.yaml"], "out", overrides=SMALL, resume=True, progress=False)
    batch = json.loads((scenario_dir / "out" / "batch.json").read_text())
    (scenario_dir / "out" / "batch.json").write_text(json.dumps({**batch, "version": "0.0.1"}))
    with pytest.raises(ConfigError, match=r"^out: cannot resume: package version changed"):
        run_batch(["own.yaml"], "out", overrides=SMALL, resume=True, progress=False)
    (scenario_dir / "out" / "batch.json").write_text(json.dumps({**batch, "code_hash": "0" * 16}))
    with pytest.raises(ConfigError, match=r"^out: cannot resume: the model code changed since "
                       r"the batch began \(0{16} -> [0-9a-f]{16}\)"):
        run_batch(["own.yaml"], "out", overrides=SMALL, resume=True, progress=False)


def test_a_batch_begun_before_code_hashes_resumes_without_claiming_one(scenario_dir: Path) -> None:
    """Its finished runs' code is unknown: a resume must not stamp them with today's code."""
    run_batch(["tiny.yaml"], "out", replicates=1, workers=1, overrides=SMALL, progress=False)
    path = scenario_dir / "out" / "batch.json"
    record = json.loads(path.read_text())
    assert len(record.pop("code_hash")) == 16
    path.write_text(json.dumps(record))
    assert run_batch(["tiny.yaml"], "out", replicates=2, workers=1, overrides=SMALL,
                     resume=True, progress=False).n_skipped == 1
    assert "code_hash" not in json.loads(path.read_text())


def test_existing_output_is_never_overwritten(scenario_dir: Path) -> None:
    (scenario_dir / "out").mkdir()
    (scenario_dir / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="^out: output folder exists and is not empty"):
        run_batch(["tiny.yaml"], "out", overrides=SMALL, progress=False)
    assert [p.name for p in (scenario_dir / "out").iterdir()] == ["notes.txt"]


def test_a_failing_run_is_recorded_and_the_batch_goes_on(scenario_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures as cf

    import sim.model

    real = sim.model.run_scenario

    def fails_for_bad(config, **kwargs):
        if config.name == "bad":
            raise FileNotFoundError("broken/sector_hotness.csv: missing data file")
        return real(config, **kwargs)

    monkeypatch.setattr(sim.model, "run_scenario", fails_for_bad)
    (scenario_dir / "bad.yaml").write_text("extends: tiny.yaml\nname: bad\n")
    with cf.ThreadPoolExecutor(2) as threads:
        summary = run_batch(["tiny.yaml", "bad.yaml"], "out", replicates=2, executor=threads,
                            overrides=SMALL, progress=False)
    assert (summary.n_ok, summary.n_failed) == (2, 2)
    assert sorted(name for name, _ in summary.failed) == ["bad/r00", "bad/r01"]
    assert all("sector_hotness.csv" in message for _, message in summary.failed)
    results = load_results("out")
    assert list(results.manifest["status"]) == ["ok", "ok", "failed", "failed"]
    assert sorted(results.circle["run"].unique()) == ["tiny/r00", "tiny/r01"]
    stale = scenario_dir / "out" / "runs" / ".tiny__r00.tmp-99999"  # a killed writer's folder
    stale.mkdir()
    (stale / ".sim-run").write_text("")
    (scenario_dir / "out" / "runs" / "notes").mkdir()  # not the tool's: left alone
    with cf.ThreadPoolExecutor(1) as threads:
        again = run_batch(["tiny.yaml", "bad.yaml"], "out", replicates=2, executor=threads,
                          overrides=SMALL, resume=True, progress=False)
    assert (again.n_skipped, again.n_failed) == (2, 2)  # failed runs are run again
    assert sorted(p.name for p in (scenario_dir / "out" / "runs").iterdir()) == [
        "bad__r00", "bad__r01", "notes", "tiny__r00", "tiny__r01"]
    assert len(load_results("out").manifest) == 4


def test_local_pool_workers_write_their_own_runs(scenario_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # the parent process may write only the manifest: its run-folder writer is broken here,
    # so the batch completes only because each worker wrote its own runs (checksums and all)
    import concurrent.futures as cf

    from sim.experiments import store

    with cf.ThreadPoolExecutor(1) as threads:   # a given executor: the parent writes
        run_batch(["tiny.yaml"], "parent", replicates=2, seed=5, executor=threads,
                  overrides=SMALL, progress=False)

    def parent_writes(*args, **kwargs):
        raise AssertionError("the parent wrote a run folder")

    monkeypatch.setattr(store, "write_run_folder", parent_writes)
    summary = run_batch(["tiny.yaml"], "workers", replicates=2, seed=5, workers=2,
                        overrides=SMALL, progress=False)
    assert (summary.n_ok, summary.n_failed) == (2, 0)
    runs = scenario_dir / "workers" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["tiny__r00", "tiny__r01"]
    assert store.damaged_runs(scenario_dir / "workers") == []
    assert not (scenario_dir / "workers" / "base_years").exists()   # the workers' store is gone
    assert list(pd.read_csv(scenario_dir / "workers" / "manifest.csv")["status"]) == ["ok"] * 2
    assert_same_tables(Path("parent"), Path("workers"))
