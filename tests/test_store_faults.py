"""Store faults: damaged runs, malformed records, links, foreign folders, a held lock, --force
aimed at the wrong folder, and dead workers. Each is refused with one line (exit 2) or repaired
by ``--resume``, and nothing outside the tool's own folders changes.
"""

from __future__ import annotations

import concurrent.futures as cf
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
from conftest import copy_of_batch, tree_snapshot, two_scenario_batch

from sim.config import ConfigError
from sim.experiments.runner import WORKER_DIED, BatchAborted, Pool, drive, run_batch
from sim.experiments.store import load_results
from sim.experiments.store_audit import audit_batch
from sim.experiments.store_guard import batch_lock, check_run_names, decode_name, encode_name
from sim.model.tables import TABLES

SMALL = ["steps=1", "world.n_units=2000"]
#: The second scenario's name looks like one of the tool's temporary folders (it must not be
#: taken for one) and it differs from ``tiny`` in one rule only.
OTHER = "extends: tiny.yaml\nname: x.tmp-1\nswitches: {shared_platform: true}\n"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished batch (two scenarios x two replicates), copied by each test."""
    return two_scenario_batch(tmp_path_factory.mktemp("made"), OTHER, "out", SMALL)


@pytest.fixture
def batch(made: Path, scenario_dir: Path) -> Path:
    return copy_of_batch(made, scenario_dir, "out")


def snap(root: Path) -> dict:
    """The tree under ``root`` except the batch's lock file (the tool's own)."""
    return tree_snapshot(root, skip=("out/.lock",))


def resume(out: Path) -> object:
    with cf.ThreadPoolExecutor(2) as threads:
        return run_batch(["tiny.yaml", "other.yaml"], out, replicates=2, executor=threads,
                         overrides=SMALL, resume=True, progress=False)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def flip_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


DAMAGE = [
    ("truncated_parquet", "tiny__r00/circle.parquet", truncate, "circle.parquet has 100 bytes"),
    ("bit_flip", "tiny__r01/cities.parquet", flip_bit, "does not match its SHA-256"),
    ("missing_parquet", "tiny__r00/flows.parquet", Path.unlink, "flows.parquet is missing"),
    ("status_list", "tiny__r00/status.json", lambda p: p.write_text("[]"),
     "status.json missing or malformed"),
    ("status_empty", "tiny__r01/status.json", lambda p: p.write_text("{}"),
     "status.json missing or malformed"),
    ("status_garbage", "tiny__r00/status.json", lambda p: p.write_bytes(b"\x00\xff{"),
     "status.json missing or malformed"),
    ("config_edited", "x.tmp-1__r00/config.yaml", lambda p: p.write_text("steps: 9\n"),
     "config.yaml has 9 bytes"),
]


@pytest.mark.parametrize("target, damage, why", [c[1:] for c in DAMAGE], ids=[c[0] for c in DAMAGE])
def test_compare_names_a_damaged_run_and_exits_2(batch: Path, cli, target: str, damage,
                                                 why: str) -> None:
    damage(batch / "runs" / target)
    before = snap(batch.parent)
    code, _, err = cli("compare", "out", "--baseline", "tiny")
    assert code == 2 and len(err) == 1, err
    assert decode_name(target.split("/")[0]) in err[0] and why in err[0], err
    assert snap(batch.parent) == before
    with pytest.raises(ConfigError, match="damaged run"):
        load_results(batch)


def test_resume_recomputes_exactly_the_damaged_runs(batch: Path, made: Path) -> None:
    truncate(batch / "runs" / "tiny__r00" / "circle.parquet")
    flip_bit(batch / "runs" / "tiny__r01" / "cities.parquet")
    (batch / "runs" / "x.tmp-1__r00" / "status.json").write_text("[]")
    summary = resume(batch)
    assert (summary.n_skipped, summary.n_ok, summary.n_failed) == (1, 3, 0)
    again, first = load_results(batch), load_results(made / "out")
    assert sorted(again.manifest["run"]) == ["tiny/r00", "tiny/r01", "x.tmp-1/r00", "x.tmp-1/r01"]
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(first, name))


BATCH_FAULTS = [
    ("batch_json_garbage", lambda out: (out / "batch.json").write_text("garbage{"),
     "batch.json: cannot resume: expected the JSON the tool writes"),
    ("batch_json_list", lambda out: (out / "batch.json").write_text("[]"),
     "batch.json: cannot resume: expected a mapping"),
    ("batch_json_folder", lambda out: ((out / "batch.json").unlink(), (out / "batch.json").mkdir()),
     "cannot resume: no batch.json"),
]


@pytest.mark.parametrize("fault, needle", [c[1:] for c in BATCH_FAULTS],
                         ids=[c[0] for c in BATCH_FAULTS])
def test_resume_refuses_a_malformed_batch_record(batch: Path, cli, fault, needle: str) -> None:
    fault(batch)
    before = snap(batch.parent)
    code, _, err = cli("batch", "tiny.yaml", "other.yaml", "--out", "out", "--resume", "--quiet",
                       "--replicates", "2", *[f"--set={s}" for s in SMALL])
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert snap(batch.parent) == before


def test_resume_never_follows_a_linked_runs_folder(batch: Path, cli) -> None:
    shared = batch.parent / "shared"
    shutil.move(batch / "runs", shared)
    (shared / "unrelated").mkdir()
    (shared / "unrelated" / "keep.txt").write_text("not the tool's")
    (batch / "runs").symlink_to(shared)
    before = snap(batch.parent)
    code, _, err = cli("batch", "tiny.yaml", "other.yaml", "--out", "out", "--resume", "--quiet",
                       "--replicates", "2", *[f"--set={s}" for s in SMALL])
    assert code == 2 and len(err) == 1 and "runs/ is a symbolic link" in err[0], err
    assert snap(batch.parent) == before


@pytest.mark.parametrize("kind", ["symlink", "foreign"])
def test_resume_refuses_a_linked_or_foreign_run_folder(batch: Path, kind: str) -> None:
    elsewhere = batch.parent / "elsewhere"
    shutil.move(batch / "runs" / "tiny__r00", elsewhere)
    if kind == "symlink":
        (batch / "runs" / "tiny__r00").symlink_to(elsewhere)
    else:
        (batch / "runs" / "tiny__r00").mkdir()
        (batch / "runs" / "tiny__r00" / "mine.txt").write_text("a user's file")
    before = snap(batch.parent)
    with pytest.raises(ConfigError, match="symbolic link|not written by the tool"):
        resume(batch)
    assert snap(batch.parent) == before


def test_a_second_process_is_kept_out_by_the_lock(batch: Path, cli) -> None:
    before = snap(batch.parent)
    with batch_lock(batch):  # another process's batch holds the folder
        code, _, err = cli("batch", "tiny.yaml", "other.yaml", "--out", "out", "--resume",
                           "--quiet", "--replicates", "2", *[f"--set={s}" for s in SMALL])
    assert code == 2 and len(err) == 1, err
    assert "another sim process is using this batch folder" in err[0]
    assert snap(batch.parent) == before


FORCE = [("current_folder", "."), ("parent_folder", ".."), ("foreign_folder", "notes"),
         ("link_to_a_run_folder", "link"), ("batch_folder", "out")]


@pytest.mark.parametrize("out", [c[1] for c in FORCE], ids=[c[0] for c in FORCE])
def test_force_replaces_only_a_run_folder_the_tool_wrote(batch: Path, cli, out: str) -> None:
    (batch.parent / "notes").mkdir()
    (batch.parent / "notes" / "thesis.txt").write_text("months of work")
    (batch.parent / "link").symlink_to(batch / "runs" / "tiny__r00")
    root = batch.parent
    before = snap(root)
    code, _, err = cli("run", "tiny.yaml", "--out", out, "--force", "--set", "steps=1")
    assert code == 2 and len(err) == 1 and "--force" in err[0], err
    assert snap(root) == before and root.is_dir()


def test_force_replaces_its_own_run_folder(scenario_dir: Path, cli) -> None:
    assert cli("run", "tiny.yaml", "--out", "one", "--set", "steps=1")[0] == 0
    assert (scenario_dir / "one" / ".sim-run").is_file()
    assert cli("run", "tiny.yaml", "--out", "one", "--force", "--set", "steps=1")[0] == 0
    assert sorted(p.name for p in scenario_dir.iterdir()) == ["one", "tiny.yaml"]


def test_config_yaml_records_the_steps_and_seed_that_ran(scenario_dir: Path, cli) -> None:
    assert cli("run", "tiny.yaml", "--out", "one", "--steps", "1", "--seed", "7")[0] == 0
    written = (scenario_dir / "one" / "config.yaml").read_text()
    assert "\nsteps: 1\n" in written and "\nseed: 7\n" in written
    assert pd.read_parquet(scenario_dir / "one" / "circle.parquet")["step"].max() == 1


def test_sensitivity_refuses_a_garbage_design_record(scenario_dir: Path, cli) -> None:
    (scenario_dir / "u.yaml").write_text("extends: tiny.yaml\nuncertain:\n"
                                         "  economy.tax_rate: [0.06, 0.09]\n")
    (scenario_dir / "s").mkdir()
    (scenario_dir / "s" / "design.json").write_text("{garbage")
    before = tree_snapshot(scenario_dir, skip=("s/.lock",))
    code, _, err = cli("sensitivity", "u.yaml", "--method", "morris", "--samples", "2",
                       "--out", "s", "--resume", "--quiet")
    assert code == 2 and len(err) == 1 and "design.json: --resume: expected the JSON" in err[0]
    assert tree_snapshot(scenario_dir, skip=("s/.lock",)) == before


# --------------------------------------------------------------------------- compare


def _edit_config(out: Path, run_folder: str, key: str, value: int) -> None:
    """Change a stored config and refresh its digest (as a differently sized run would be)."""
    import yaml

    from sim.experiments.store_guard import file_digests

    folder = out / "runs" / run_folder
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["world" if key == "n_units" else key] = (
        {**config["world"], "n_units": value} if key == "n_units" else value)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    status = json.loads((folder / "status.json").read_text())
    status["files"].update(file_digests(folder, ["config.yaml"]))
    (folder / "status.json").write_text(json.dumps(status))


def _fail_runs(out: Path, folders: list[str]) -> None:
    for name in folders:
        path = out / "runs" / name / "status.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "status": "failed",
                                    "message": "ValueError: boom"}))


COMPARE = [
    ("different_n_units", lambda out: _edit_config(out, "x.tmp-1__r00", "n_units", 3000),
     "differ in world.n_units (2000 vs 3000)"),
    ("different_steps", lambda out: _edit_config(out, "x.tmp-1__r01", "steps", 2),
     "differ in steps (1 vs 2)"),
    ("every_run_failed", lambda out: _fail_runs(out, ["x.tmp-1__r00", "x.tmp-1__r01"]),
     "scenario(s) with no successful run: x.tmp-1"),
    ("no_common_replicate", lambda out: (shutil.rmtree(out / "runs" / "tiny__r01"),
                                         shutil.rmtree(out / "runs" / "x.tmp-1__r00")),
     "shares no replicate with the baseline tiny"),
]


@pytest.mark.parametrize("fault, needle", [c[1:] for c in COMPARE], ids=[c[0] for c in COMPARE])
def test_compare_refuses_runs_it_cannot_pair(batch: Path, cli, fault, needle: str) -> None:
    fault(batch)
    before = snap(batch.parent)
    code, _, err = cli("compare", "out", "--baseline", "tiny")
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert snap(batch.parent) == before


def test_audit_states_failed_and_missing_runs(batch: Path) -> None:
    _fail_runs(batch, ["x.tmp-1__r01"])
    assert audit_batch(batch, "tiny") == [
        "run x.tmp-1/r01 failed: ValueError: boom",
        "scenario x.tmp-1 has no successful run for replicate(s) 1: those pairs are left out"]


# --------------------------------------------------------------------------- names


def test_run_names_map_to_distinct_reversible_folders() -> None:
    names = ["a/b", "a__b", "a_/b", "a/_b", "x.tmp-1", ".hidden", "..", "a b/é", "", "_", "%41"]
    folders = [encode_name(n) for n in names]
    assert len(set(folders)) == len(names)
    assert [decode_name(f) for f in folders] == names
    assert not any(f.startswith(".") or "/" in f for f in folders)
    with pytest.raises(ConfigError, match="expected distinct run names"):
        check_run_names(["s/x=0.5/r00", "s/x=0.5/r00"])
    with pytest.raises(ConfigError, match="expected distinct run names"):
        check_run_names(["Tiny/r00", "tiny/r00"])


def test_a_tool_looking_scenario_name_is_an_ordinary_run(batch: Path) -> None:
    assert sorted(load_results(batch).circle["scenario"].unique()) == ["tiny", "x.tmp-1"]
    assert resume(batch).n_skipped == 4


# --------------------------------------------------------------------------- dead workers


class _Broken(cf.Executor):
    """A pool whose worker dies whenever the run named ``poison`` is in flight."""

    def __init__(self, poison: str) -> None:
        self.poison, self.flight = poison, []

    def submit(self, fn, spec, **_):
        future = cf.Future()
        self.flight.append(future)
        if spec.name == self.poison:
            for f in self.flight:
                if not f.done():
                    f.set_exception(cf.process.BrokenProcessPool("a worker died"))
        else:
            future.set_result({"status": "ok", "message": "", "tables": None, "duration_s": 0})
        return future


def test_a_worker_that_dies_fails_only_its_own_run() -> None:
    from sim.config.sweeps import RunSpec

    specs = [RunSpec(f"s/r{i}", "s", {}, i, 1, {}, "f") for i in range(6)]
    pool = Pool(workers=2, executor=_Broken("s/r2"))
    pool.renewable, pool.renewals, pool.slots = True, 0, 4
    pool.renew = lambda: setattr(pool, "renewals", pool.renewals + 1)
    outcomes = {}
    drive(pool, specs, lambda spec, outcome: outcomes.__setitem__(spec.name, outcome))
    assert sorted(outcomes) == [s.name for s in specs]
    assert {n: o["status"] for n, o in outcomes.items() if o["status"] != "ok"} == {
        "s/r2": "failed"}
    assert outcomes["s/r2"]["message"] == WORKER_DIED
    assert pool.renewals == 2  # once with others in flight, once when it died alone


class _BrokenAtSubmit(cf.Executor):
    """A pool found broken when the run named ``at`` is submitted (a worker died idle, or between
    two submissions): that submit raises, as ProcessPoolExecutor's does, until a renewal."""

    def __init__(self, at: str) -> None:
        self.at, self.broken = at, True

    def submit(self, fn, spec, **_):
        if spec.name == self.at and self.broken:
            raise cf.process.BrokenProcessPool("a worker died")
        future = cf.Future()
        future.set_result({"status": "ok", "message": "", "tables": None, "duration_s": 0})
        return future


def _drive_renewing(executor: cf.Executor, n_runs: int) -> tuple[Pool, dict, list]:
    """Drive ``n_runs`` runs on one worker with two slots; a renewal heals ``executor``."""
    from sim.config.sweeps import RunSpec

    specs = [RunSpec(f"s/r{i}", "s", {}, i, 1, {}, "f") for i in range(n_runs)]
    pool = Pool(workers=1, executor=executor)
    pool.renewable, pool.renewals, pool.slots = True, 0, 2

    def renew() -> None:
        pool.renewals += 1
        executor.broken = False

    pool.renew = renew
    outcomes = {}
    drive(pool, specs, lambda spec, outcome: outcomes.__setitem__(spec.name, outcome))
    return pool, outcomes, specs


def test_a_pool_broken_between_submissions_is_renewed_and_no_run_fails() -> None:
    pool, outcomes, specs = _drive_renewing(_BrokenAtSubmit("s/r3"), 6)
    assert {name: o["status"] for name, o in outcomes.items()} == {s.name: "ok" for s in specs}
    assert pool.renewals == 1


def test_a_dask_cluster_without_workers_ends_the_batch() -> None:
    class Gone:
        status = "closed"

        def get_executor(self):
            return cf.ThreadPoolExecutor(1)

    pool = Pool(None, client=Gone(), address="tcp://x:8786")
    pool.check_alive()  # one quiet poll may be a slow cluster
    with pytest.raises(BatchAborted, match="the Dask scheduler or its last worker is gone"):
        pool.check_alive()


@pytest.mark.slow
def test_a_killed_worker_process_does_not_fail_the_batch(scenario_dir: Path) -> None:
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen([sys.executable, "-m", "sim", "batch", "tiny.yaml", "--out", "b",
                             "--workers", "2", "--replicates", "4", "--quiet",
                             *[f"--set={s}" for s in SMALL]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.monotonic() + 120, False
    while not killed and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        workers = [c for c in psutil.Process(proc.pid).children()
                   if "spawn_main" in " ".join(c.cmdline())]
        if workers and (scenario_dir / "b" / "runs").is_dir():
            os.kill(workers[0].pid, signal.SIGKILL)  # as the out-of-memory killer would
            killed = True
    out, err = proc.communicate(timeout=300)
    assert killed, "no worker was seen"
    assert proc.returncode == 0, err
    assert out.startswith("4 ok, 0 failed"), out


class _DiesBeforeNextSubmit(cf.Executor):
    """The worker running ``victim`` dies once, just before the next run is submitted: that submit
    finds the pool broken, so the victim is left alone in flight though it did not run alone."""

    def __init__(self, victim: str) -> None:
        self.victim, self.held, self.broken, self.submits = victim, None, False, []

    def submit(self, fn, spec, **_):
        if self.broken:
            raise cf.process.BrokenProcessPool("a worker died")
        self.submits.append(spec.name)
        future = cf.Future()
        if spec.name == self.victim and self.held is None:
            self.held = future  # still running
            return future
        if self.held is not None and not self.held.done():
            self.held.set_exception(cf.process.BrokenProcessPool("a worker died"))
            self.broken = True
            raise cf.process.BrokenProcessPool("a worker died")
        future.set_result({"status": "ok", "message": "", "tables": None, "duration_s": 0})
        return future


def test_a_run_left_alone_by_a_broken_submit_is_retried_not_failed() -> None:
    executor = _DiesBeforeNextSubmit("s/r1")
    pool, outcomes, specs = _drive_renewing(executor, 4)
    assert {name: o["status"] for name, o in outcomes.items()} == {s.name: "ok" for s in specs}
    assert executor.submits.count("s/r1") == 2 and pool.renewals == 1
