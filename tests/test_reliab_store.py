"""Nothing lost, round two: the store, the cluster connection, the workers and the schema's
extremes, tried as a careless or hostile user (or a full disk, a stalled port) would.

Each case asserts the exit status (or the one-line error), that no traceback is printed, and
that nothing outside the tool's own output changed; after a failed write the store verifies (no
temporary file or folder left, no damaged run, ``--resume`` completes it). Ports are local
sockets served by a thread; time limits are short and only bound a hang.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MINIMAL, copy_of_batch, tree_snapshot, two_scenario_batch

from sim.config import ConfigError
from sim.experiments import cluster, store
from sim.experiments.runner import run_batch

SMALL = ["steps=1", "world.n_units=300"]
OTHER = "extends: tiny.yaml\nname: other\nswitches: {shared_platform: true}\n"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished batch (two scenarios x two replicates), copied by each test."""
    return two_scenario_batch(tmp_path_factory.mktemp("made2"), OTHER, "b", SMALL)


@pytest.fixture
def batch(made: Path, scenario_dir: Path) -> Path:
    return copy_of_batch(made, scenario_dir, "b")


def leftovers(root: Path) -> list[str]:
    """The tool's temporary files and folders anywhere under ``root``."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if ".tmp-" in p.name or ".old-" in p.name)


def one_error(code: int, out: str, err: list[str]) -> str:
    assert "Traceback" not in out + "\n".join(err)
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), (code, err)
    return err[0]


# --------------------------------------------------------------------------- sim run --force


def _foreign_file(run: Path) -> None:
    (run / "notes.txt").write_text("mine")


def _foreign_folder(run: Path) -> None:
    (run / "figures").mkdir()


def _linked_table(run: Path) -> None:
    (run / "circle.parquet").unlink()
    (run / "circle.parquet").symlink_to(run.parent / "tiny.yaml")


def _hidden_file(run: Path) -> None:
    (run / ".notes").write_text("mine")


FORCE = {"foreign_file": (_foreign_file, "notes.txt"),
         "foreign_folder": (_foreign_folder, "figures"),
         "linked_table": (_linked_table, "circle.parquet"),
         "hidden_file": (_hidden_file, ".notes")}


@pytest.mark.parametrize("change, named", list(FORCE.values()), ids=list(FORCE))
def test_force_refuses_a_run_folder_holding_what_sim_run_did_not_write(
        scenario_dir: Path, cli, change, named: str) -> None:
    assert cli("run", "tiny.yaml", "--out", "r", "--set=steps=1", "--set=world.n_units=300")[0] == 0
    change(scenario_dir / "r")
    before = tree_snapshot(scenario_dir)
    line = one_error(*cli("run", "tiny.yaml", "--out", "r", "--force", "--set=steps=1",
                          "--set=world.n_units=300"))
    assert line.startswith("error: r: --force: the run folder holds files `sim run` did not "
                           "write (") and named in line
    assert tree_snapshot(scenario_dir) == before


# --------------------------------------------------------------------------- OS errors


def _raise(number: int, path: object) -> OSError:
    return OSError(number, os.strerror(number), str(path))


def test_a_read_only_output_path_is_one_line(scenario_dir: Path, cli,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    mkdir = Path.mkdir

    def read_only(self: Path, *args, **kwargs) -> None:
        if scenario_dir in Path(os.path.abspath(self)).parents:
            raise _raise(errno.EROFS, self)
        mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    before = tree_snapshot(scenario_dir)
    line = one_error(*cli("batch", "tiny.yaml", "--out", "b", "--quiet", "--workers", "1",
                          *[f"--set={s}" for s in SMALL]))
    assert line == "error: b: cannot create the batch folder and its .lock: Read-only file system"
    line = one_error(*cli("run", "tiny.yaml", "--out", "r", *[f"--set={s}" for s in SMALL]))
    assert line.startswith("error: r: cannot write the run folder: Read-only file system")
    assert tree_snapshot(scenario_dir) == before


@pytest.mark.parametrize("which", ["first", "second"])
def test_a_busy_folder_on_force_is_one_line_and_the_old_run_stays(
        scenario_dir: Path, cli, monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    """A mount point cannot be renamed (EBUSY): neither moving the old run aside nor moving the
    new one in may lose the old run folder."""
    args = ["--set=steps=1", "--set=world.n_units=300"]
    assert cli("run", "tiny.yaml", "--out", "r", *args)[0] == 0
    before = tree_snapshot(scenario_dir)
    rename = os.rename
    final = str(scenario_dir / "r")

    def busy(src, dst, *rest) -> None:
        if (which == "first" and str(src) == final) or (which == "second" and str(dst) == final
                                                        and ".tmp-" in str(src)):
            raise _raise(errno.EBUSY, src)
        rename(src, dst, *rest)

    monkeypatch.setattr(os, "rename", busy)
    line = one_error(*cli("run", "tiny.yaml", "--out", "r", "--force", *args))
    assert "cannot write the run folder: Device or resource busy" in line
    assert tree_snapshot(scenario_dir) == before and leftovers(scenario_dir) == []


@pytest.mark.parametrize("at", ["parquet", "status", "manifest"])
def test_a_disk_that_fills_during_a_batch_stops_it_in_one_line_and_the_store_verifies(
        scenario_dir: Path, monkeypatch: pytest.MonkeyPatch, at: str) -> None:
    """The disk fills while the second run is written (or the manifest at the end): one line,
    nothing half-written left (no ``manifest.csv.tmp-*``, no ``.run.tmp-*``), the runs written
    so far verify and ``--resume`` completes the batch once there is space again."""
    calls = {"n": 0, "full": True}
    fail_at = {"parquet": 10, "status": 2, "manifest": 2}[at]  # the 2nd run's first table, its
    # status record, the manifest rebuilt at the end

    def filling() -> bool:
        calls["n"] += 1
        return calls["full"] and calls["n"] >= fail_at

    if at == "parquet":
        import pandas as pd
        to_parquet = pd.DataFrame.to_parquet

        def full(self, path, *args, **kwargs):
            if filling():
                raise _raise(errno.ENOSPC, path)
            return to_parquet(self, path, *args, **kwargs)
        monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    else:
        write_file = store._write_file
        wanted = "status.json" if at == "status" else f"manifest.csv.tmp-{os.getpid()}"

        def full(path: Path, text: str) -> None:
            if path.name == wanted and filling():
                path.write_text(text[: len(text) // 2])  # half written, as on a full disk
                raise _raise(errno.ENOSPC, path)
            write_file(path, text)
        monkeypatch.setattr(store, "_write_file", full)
    with pytest.raises(ConfigError) as caught, cf.ThreadPoolExecutor(1) as threads:
        run_batch(["tiny.yaml"], "b", replicates=3, executor=threads, overrides=SMALL,
                  progress=False)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("b: cannot write the batch folder: No "
                                                      "space left on device")
    assert message.endswith("finished runs are kept: fix this, then rerun with --resume")
    assert leftovers(scenario_dir) == []
    assert store.damaged_runs(scenario_dir / "b") == []
    calls["full"] = False  # space again
    with cf.ThreadPoolExecutor(1) as threads:
        summary = run_batch(["tiny.yaml"], "b", replicates=3, executor=threads, overrides=SMALL,
                            resume=True, progress=False)
    assert summary.n_failed == 0 and summary.n_ok + summary.n_skipped == 3
    assert len(store.load_results(scenario_dir / "b").manifest) == 3


def test_a_worker_that_cannot_write_returns_the_error_and_leaves_nothing(
        scenario_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from sim.config import expand_runs
    from sim.experiments.runner import execute_and_store, scenario_hashes

    spec = expand_runs(["tiny.yaml"], SMALL, replicates=1)[0]
    (scenario_dir / "b" / "runs").mkdir(parents=True)
    monkeypatch.setattr(pd.DataFrame, "to_parquet",
                        lambda self, path, *a, **k: (_ for _ in ()).throw(
                            _raise(errno.ENOSPC, path)))
    outcome = execute_and_store(spec, "b", scenario_hashes([spec])["tiny"], os.getppid())
    assert isinstance(outcome["store_error"], OSError) and "stored" not in outcome
    assert list((scenario_dir / "b" / "runs").iterdir()) == []


def test_a_linked_lock_file_is_one_line(batch: Path, cli) -> None:
    (batch / ".lock").unlink()
    (batch / ".lock").symlink_to(batch.parent / "elsewhere")
    before = tree_snapshot(batch.parent)
    line = one_error(*cli("batch", "tiny.yaml", "other.yaml", "--out", "b", "--resume",
                          "--replicates", "2", "--quiet", *[f"--set={s}" for s in SMALL]))
    assert line == ("error: b/.lock: is a symbolic link; the store does not follow links "
                    "(remove it, then run again)")
    assert tree_snapshot(batch.parent) == before and not (batch.parent / "elsewhere").exists()


def test_compare_never_reads_through_a_linked_runs_folder(batch: Path, cli) -> None:
    (batch / "runs").rename(batch.parent / "real_runs")
    (batch / "runs").symlink_to(batch.parent / "real_runs")
    before = tree_snapshot(batch.parent)
    code, out, err = cli("compare", "b", "--baseline", "tiny", "--out", "report")
    assert code == 2 and len(err) == 1 and "runs/ is a symbolic link" in err[0], err
    with pytest.raises(ConfigError, match="runs/ is a symbolic link"):
        store.load_results(batch)
    assert tree_snapshot(batch.parent) == before


def test_compare_names_every_replicate_missing_from_every_scenario(batch: Path) -> None:
    """Replicate r01 deleted from both scenarios leaves nothing unpaired: only the batch record
    tells that runs are gone (``sim compare`` prints these notes as warnings and in the report;
    the audit alone is run here, the report costs seconds)."""
    from sim.experiments.store_audit import audit_batch

    for run in ("tiny__r01", "other__r01"):
        shutil.rmtree(batch / "runs" / run)
    before = tree_snapshot(batch.parent)
    assert audit_batch(batch, "tiny") == [
        "scenario other has no run folder for 1 of its 2 run(s): other/r01; those runs are "
        "left out (rerun the batch with --resume)",
        "scenario tiny has no run folder for 1 of its 2 run(s): tiny/r01; those runs are left "
        "out (rerun the batch with --resume)"]
    assert tree_snapshot(batch.parent) == before


def test_resume_sees_a_change_in_any_swept_data_folder(scenario_dir: Path) -> None:
    from sim.paths import DATA_DIR

    for name in ("d1", "d2"):
        shutil.copytree(DATA_DIR, scenario_dir / name)
    (scenario_dir / "s.yaml").write_text(MINIMAL.replace("name: tiny", "name: s")
                                         + "sweep:\n  grid:\n    data_dir: [d1, d2]\n")
    with cf.ThreadPoolExecutor(1) as threads:
        run_batch(["s.yaml"], "b", replicates=1, executor=threads, overrides=SMALL,
                  progress=False)
    with (scenario_dir / "d2" / "sector_hotness.csv").open("a") as handle:
        handle.write("\n")  # the second folder only
    before = tree_snapshot(scenario_dir)
    with pytest.raises(ConfigError, match="^b: cannot resume: the data of scenario 's' changed"):
        run_batch(["s.yaml"], "b", replicates=1, overrides=SMALL, resume=True, progress=False)
    assert tree_snapshot(scenario_dir, skip=("b/.lock",)) == {
        k: v for k, v in before.items() if k != "b/.lock"}


def test_a_lone_lock_file_left_by_an_old_version_does_not_block_the_folder(
        scenario_dir: Path) -> None:
    (scenario_dir / "b").mkdir()
    (scenario_dir / "b" / ".lock").write_text("12345\n")
    with cf.ThreadPoolExecutor(1) as threads:
        summary = run_batch(["tiny.yaml"], "b", replicates=1, executor=threads, overrides=SMALL,
                            progress=False)
    assert summary.n_ok == 1


# --------------------------------------------------------------------------- the cluster


@contextlib.contextmanager
def port(answer: bytes | None, close: bool = False) -> Iterator[int]:
    """A local port that accepts and then sends ``answer`` (None: nothing), or closes at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    stop, held = threading.Event(), []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            if close:
                conn.close()
                continue
            held.append(conn)
            if answer:
                with contextlib.suppress(OSError):
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVERS = {
    "accepts_and_never_answers": (None, False, "it accepted the connection but sent nothing in "
                                               "0.3 s"),
    "closes_at_once": (None, True, "it closed the connection without answering"),
    "answers_http": (b"HTTP/1.1 400 Bad Request\r\n\r\n" * 4, False, "cannot reach the Dask "
                                                                      "scheduler ("),
    "announces_3_exbibytes": (struct.pack("<QQ", 1, 3 << 60) + b"x" * 64, False,
                              "cannot reach the Dask scheduler ("),
    "one_byte_then_silence": (b"\x01", False, "cannot reach the Dask scheduler ("),
}


@pytest.mark.parametrize("answer, close, needle", list(SERVERS.values()), ids=list(SERVERS))
def test_a_port_that_is_not_a_scheduler_is_one_line_in_bounded_time_and_leaves_no_folder(
        scenario_dir: Path, cli, monkeypatch: pytest.MonkeyPatch, answer, close, needle) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 0.3)
    before = tree_snapshot(scenario_dir)
    with port(answer, close) as number, cf.ThreadPoolExecutor(1) as guard:
        address = f"tcp://127.0.0.1:{number}"
        result = guard.submit(cli, "batch", "tiny.yaml", "--scheduler", address, "--out", "b",
                              "--quiet").result(timeout=60)  # a hang guard only
    line = one_error(*result)
    assert line.startswith(f"error: --scheduler {address}: ") and needle in line
    assert tree_snapshot(scenario_dir) == before  # no batch folder: it stays free to use


def test_a_closed_port_is_one_line_and_the_folder_stays_free(scenario_dir: Path, cli) -> None:
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{closed_port()}"
    line = one_error(*cli("batch", "tiny.yaml", "--scheduler", address, "--out", "b", "--quiet"))
    assert line.startswith(f"error: --scheduler {address}: cannot reach the Dask scheduler (")
    assert not (scenario_dir / "b").exists()


@pytest.mark.parametrize("argv", [
    ("sensitivity", "swept.yaml", "--method", "morris", "--samples", "2"),
    ("identifiability", "--toy", "--draws", "20", "--truths", "10", "--accept", "5"),
    ("calibrate", "--toy", "--params", "toy.level"),
], ids=["sensitivity", "identifiability", "calibrate"])
def test_the_long_commands_reach_the_scheduler_before_making_their_folder(
        scenario_dir: Path, cli, argv: tuple[str, ...]) -> None:
    """An unreachable cluster is one line and leaves no folder (a stale lock once made the
    rerun refuse a folder holding only ``.lock``); a lone lock file counts as empty."""
    pytest.importorskip("distributed")
    if argv[0] == "calibrate":
        pytest.importorskip("pyabc")
    (scenario_dir / "swept.yaml").write_text(MINIMAL + "uncertain:\n  economy.mcpf: [1.1, 1.4]\n")
    address = f"tcp://127.0.0.1:{closed_port()}"
    line = one_error(*cli(*argv, "--scheduler", address, "--out", "s", "--quiet"))
    assert line.startswith(f"error: --scheduler {address}: cannot reach the Dask scheduler (")
    assert not (scenario_dir / "s").exists()
    (scenario_dir / "s").mkdir()
    (scenario_dir / "s" / ".lock").write_text("123\n")
    store.check_fresh_output(scenario_dir / "s", "hint")     # the tool's own lock: empty
    (scenario_dir / "s" / "mine.txt").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        store.check_fresh_output(scenario_dir / "s", "hint")


# --------------------------------------------------------------------------- workers


def test_a_worker_whose_batch_died_during_start_up_exits_before_any_run(tmp_path: Path) -> None:
    """The pool's initializer, in a process whose parent is not the batch: it exits at once."""
    code = ("from sim.experiments.runner import pin_threads\n"
            f"pin_threads({os.getpid() + 10**6})\nprint('survived')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.slow
def test_a_batch_killed_during_start_up_leaves_no_worker_and_no_later_write(
        scenario_dir: Path) -> None:
    """kill -9 of the batch as soon as its first pool process exists (still starting up):
    every process it started is gone within a bound and no run folder is written after."""
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen([sys.executable, "-m", "sim", "batch", "tiny.yaml", "--out", "b",
                             "--workers", "2", "--replicates", "6", "--quiet",
                             *[f"--set={s}" for s in SMALL]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, children = time.monotonic() + 120, []
    while not children and time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.005)
    assert children, "the batch started no process"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    killed_at = time.time()
    gone_by = time.monotonic() + 60
    while time.monotonic() < gone_by and any(c.is_running() and c.status() != "zombie"
                                             for c in children):
        time.sleep(0.1)
    assert not any(c.is_running() and c.status() != "zombie" for c in children)
    runs = scenario_dir / "b" / "runs"
    written = [p for p in runs.iterdir() if p.stat().st_mtime > killed_at] if runs.is_dir() else []
    assert written == []


# --------------------------------------------------------------------------- extremes


#: (scenario, key, value): the extremes that once crashed, at the schema's new minimum (or,
#: for growth, the negative rates that must run) on the tiny model of ``tests/extremes.py``.
EXTREMES = [
    ("coordinated", "world.intra_city_km", 1.0),
    ("coordinated", "world.wage_core_yuan", 1000.0),
    ("homogenised", "world.wage_core_yuan", 1000.0),
    ("coordinated", "world.utilisation_core", 0.01),
    ("homogenised", "world.utilisation_ring", 0.01),
    ("coordinated", "world.core_land_stock_km2", 1.0),
    ("homogenised", "world.core_land_stock_km2", 1.0),
    ("coordinated", "economy.outside_share_arrivals", 0.001),
    ("coordinated", "economy.leave_share_reviewers", 0.001),
    ("coordinated", "economy.nest_parameter", 0.01),
    ("coordinated", "economy.attention_base", 0.001),
    ("homogenised", "economy.growth_rate_annual", -0.1),
    ("coordinated", "economy.growth_rate_annual", -0.5),
]


#: Those whose failure could wait past two quarters (a shrinking economy, idle land) also over
#: the full plan period, 20 quarters, at the tiny size: 0.9, 1.5 and 0.3 CPU s beyond the
#: import (``sim run``, 300 units, measured after a warm-up).
FULL_HORIZON = [
    ("coordinated", "economy.growth_rate_annual", -0.5),
    ("coordinated", "world.utilisation_core", 0.01),
    ("homogenised", "world.utilisation_ring", 0.01),
]
CASES = ([(*case, 2) for case in EXTREMES] + [(*case, 20) for case in FULL_HORIZON])


@pytest.mark.parametrize("scenario, key, value, steps", CASES,
                         ids=[f"{s}-{k.split('.')[-1]}={v:g}-{n}q" for s, k, v, n in CASES])
def test_an_extreme_that_once_crashed_runs_to_finite_tables(scenario_dir: Path, cli,
                                                            scenario: str, key: str,
                                                            value: float, steps: int) -> None:
    """``sim run`` with the key at its extreme for ``steps`` quarters: exit 0, nothing on stderr
    (no traceback, no error line), no runtime warning (an overflow that a later step happens to
    absorb), every written table finite and ``steps`` + 1 quarters long, and nothing outside
    ``--out`` changed."""
    import pandas as pd
    from extremes import ROOT, TINY

    from sim.model.tables import first_non_finite

    size = [s for s in TINY if not s.startswith("steps=")] + [f"steps={steps}"]
    before = tree_snapshot(scenario_dir)
    with warnings.catch_warnings(record=True) as caught:  # numpy's overflow warnings included
        warnings.simplefilter("always")
        code, out, err = cli("run", ROOT / "scenarios" / f"{scenario}.yaml",
                             f"--set={key}={value!r}", *(f"--set={s}" for s in size),
                             "--out=out")
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
    assert "Traceback" not in out + "\n".join(err)
    assert (code, err) == (0, []), (code, err)
    assert "tables written to out" in out
    tables = {path.stem: pd.read_parquet(path) for path in (scenario_dir / "out").glob("*.parquet")}
    assert "circle" in tables and first_non_finite(tables) is None
    assert sorted(tables["circle"]["step"]) == list(range(steps + 1))
    assert tree_snapshot(scenario_dir, skip=("out",)) == before


def test_every_numeric_key_of_the_schema_is_listed_with_both_ends() -> None:
    from extremes import extremes

    cases = extremes()
    keys = {c.key for c in cases}
    assert {"world.intra_city_km", "economy.growth_rate_annual", "agreements.0.land_km2",
            "economy.talent_elasticity.rnd", "policies.investment_map.replan_years"} <= keys
    assert not keys & {"steps", "seed", "replicates", "world.n_units"}
    assert len(cases) == 2 * len(keys) - sum(1 for k in keys if _one_sided(k, cases))


def _one_sided(key: str, cases) -> bool:
    return sum(c.key == key for c in cases) == 1


#: Tests of this file that check the listing of cases, not an input: not counted as cases.
NOT_CASES = ("test_every_numeric_key_of_the_schema_is_listed_with_both_ends",)


def store_cases() -> int:
    """Cases of this file in the corpus, counted from its tests: each parameter set of a
    parametrized test is one case, a test without parameters one (the listing checks aside)."""
    count = 0
    for name, test in globals().items():
        if not name.startswith("test_") or name in NOT_CASES:
            continue
        sets = [len(mark.args[1]) for mark in getattr(test, "pytestmark", [])
                if mark.name == "parametrize"]
        count += math.prod(sets)   # 1 without parameters
    return count


STORE_CASES = store_cases()
