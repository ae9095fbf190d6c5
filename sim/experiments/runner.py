"""Running a batch of scenario runs on any ``concurrent.futures.Executor``.

By default a local process pool (one process per core, numeric libraries pinned to one thread per
worker); with ``scheduler="tcp://host:8786"`` a ``dask.distributed`` cluster, each run a keyed
task. Runs that raise are recorded as failed and the batch goes on. On the local pool each worker
writes its own run folder through :mod:`sim.experiments.store` (temporary name, then rename) and
the parent writes only the manifest, so throughput grows with workers; so do the workers of a
Dask cluster whose workers all run on this machine (a ``LocalCluster``). On any other cluster or
a given executor the parent writes every result, so workers need no shared file system. Workers
that write their runs share the base years they compute through the batch folder
(``base_years/``, removed when the batch ends; :mod:`sim.experiments.base_years`), so scenarios
that start from one base year build it once; elsewhere each worker keeps its own, or the folder
``SIM_BASE_YEARS`` names.

This module imports only the standard library and ``sim.config`` at the top, so that a worker
process pins its thread counts before numpy is first imported. Reaching a Dask scheduler is
:mod:`sim.experiments.cluster`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from sim.config.loader import ConfigError, show_path
from sim.config.sweeps import RunSpec, plan_batch, point_label
from sim.experiments.cluster import scheduler_client
from sim.experiments.progress import Progress
from sim.version import __version__

#: The batch folder's store of base years while the batch runs (removed when it ends).
BASE_YEARS = "base_years"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclasses.dataclass
class BatchSummary:
    """What a batch did: runs finished ok, runs failed (name, message), wall time in seconds."""

    out_dir: Path
    n_ok: int
    n_failed: int
    failed: list[tuple[str, str]]
    wall_s: float
    n_skipped: int = 0
    n_total: int = 0


def pin_threads(batch_pid: int | None = None) -> None:
    """Process-pool initializer: one BLAS/OpenMP thread per worker (workers are the parallelism);
    a worker also dies with the batch's process (``batch_pid``), so none writes into a batch
    folder after the process holding its lock is gone. On Linux the kernel kills it when the
    batch dies (parent-death signal); the batch may have died before that was set, while the
    worker was starting, so the worker then checks that its parent is still the batch and
    exits at once if not."""
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if batch_pid is not None and os.getppid() != batch_pid:
        os._exit(0)  # orphaned during start-up: the batch is gone, so is this worker


def execute_run(spec: RunSpec) -> dict[str, Any]:
    """Run one :class:`RunSpec` in a worker; never raises (a failure is returned as a record)."""
    start = time.perf_counter()
    try:
        # lazy: a worker imports this module before it pins its threads; the model and numpy load
        # after (see the module's docstring)
        from sim.config.schema import ScenarioConfig
        from sim.experiments import base_years
        from sim.model import run_scenario

        base_years.use_environment()
        config = ScenarioConfig.model_validate(spec.config)
        results = run_scenario(config, seed=spec.seed, replicate=spec.replicate)
        outcome = {"status": "ok", "message": "", "tables": results.tables(),
                   "base_year_settled": results.diagnostics["base_year_settled"]}
    except Exception as exc:  # noqa: BLE001 (a failed run is data, not a crash)
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        outcome = {"status": "failed", "message": message, "tables": None}
    outcome["duration_s"] = round(time.perf_counter() - start, 4)
    return outcome


def execute_and_store(spec: RunSpec, out_dir: str, scenario: dict,
                      batch_pid: int | None = None,
                      owner_pid: int | None = None) -> dict[str, Any]:
    """Run one :class:`RunSpec` in a worker and write its run folder there (temporary name, then
    rename); return the outcome without its tables and, under ``stored``, the status record
    written (with the files' checksums) for the parent's manifest. A worker whose batch is gone
    writes nothing: a local pool's worker (``batch_pid``, its parent) dies, a Dask worker on this
    machine (``owner_pid``, the batch's process) returns without writing; one that cannot write
    (a full disk) returns the error under ``store_error`` and leaves no half-written folder."""
    # lazy: the store and the base years load pandas, pyarrow and the model; a worker pins its
    # threads before they load (see the module's docstring)
    from sim.experiments import base_years, store

    if not os.environ.get(base_years.ENVIRONMENT):    # the workers share the batch's base years
        base_years.use_folder(Path(out_dir) / BASE_YEARS)
    outcome = execute_run(spec)
    if batch_pid is not None and os.getppid() != batch_pid:
        os._exit(0)  # the batch died while this run ran: never write after it
    if owner_pid is not None and not _alive(owner_pid):
        return {**outcome, "tables": None}           # nobody to report to: nothing written
    status = _status_record(spec, outcome, scenario)
    try:
        stored = store.write_run_folder(Path(out_dir), status, outcome["tables"], spec.config)
    except OSError as exc:
        return {**outcome, "tables": None, "store_error": exc}
    return {**outcome, "tables": None, "stored": stored}


def _alive(pid: int) -> bool:
    """Whether a process of this machine is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_hash(spec: RunSpec) -> str:
    """SHA-256 of a run's resolved config (seed included, replicate count excluded)."""
    data = {k: v for k, v in spec.config.items() if k != "replicates"}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def scenario_hashes(runs: Sequence[RunSpec]) -> dict[str, dict]:
    """Per scenario: a hash over its sweep points' configs, the hash of its data folder (of all
    of them, for a sweep over ``data_dir``), its point labels and its replicate count."""
    # lazy: the store loads pandas and pyarrow; a worker pins its threads before they load (see the
    # module's docstring)
    from sim.experiments.store import data_hash_of_all

    points: dict[str, set[str]] = {}
    folders: dict[str, set[str | None]] = {}
    info: dict[str, dict] = {}
    for spec in runs:
        points.setdefault(spec.scenario, set()).add(run_hash(spec))
        folders.setdefault(spec.scenario, set()).add(spec.config.get("data_dir"))
        info.setdefault(spec.scenario, {"file": spec.file, "points": [], "replicates": 0})
        if spec.replicate == 0:
            info[spec.scenario]["points"].append(point_label(spec.sweep))
        info[spec.scenario]["replicates"] = max(info[spec.scenario]["replicates"],
                                                spec.replicate + 1)
    for name, hashes in points.items():
        joined = "\n".join(sorted(hashes)).encode()
        info[name]["config_hash"] = hashlib.sha256(joined).hexdigest()
        info[name]["data_hash"] = data_hash_of_all(folders[name])  # every swept data folder
    return info


# --------------------------------------------------------------------------- executors

#: Most local worker processes (each holds a model; more would only exhaust memory).
MAX_WORKERS = 256
#: Seconds between liveness checks of a Dask cluster while no run finishes.
DASK_POLL_S = 10.0
WORKER_DIED = ("worker process died while running it (killed by a signal, for example by the "
               "out-of-memory killer)")


def check_workers(workers: int | None) -> None:
    """The --workers flag: between 1 and MAX_WORKERS."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        bound = ">= 1" if workers < 1 else f"<= {MAX_WORKERS}"
        raise ConfigError(f"--workers: expected an integer {bound} (got {workers})")


class BatchAborted(ConfigError):  # noqa: N818 (a ConfigError named for what happened)
    """The executor itself is gone (a Dask scheduler or its last worker); finished runs are kept."""


class Pool:
    """The executor of a batch: the one given, a Dask cluster's, or a renewable process pool."""

    def __init__(self, workers: int | None, executor: cf.Executor | None = None,
                 client: Any = None, address: str = "", batch_pid: int | None = None) -> None:
        check_workers(workers)
        self.workers, self.client, self.address = workers, client, address
        self.batch_pid = batch_pid  # a local pool's workers die with this process
        self.renewable = executor is None and client is None
        # a local pool's workers share our file system, and so do the workers of a Dask
        # cluster that all run on this machine (a LocalCluster): they write their own runs
        self.workers_write = self.renewable or (client is not None and _workers_here(client))
        self.executor = executor or (client.get_executor() if client else self._local())
        self.dask = client is not None or type(self.executor).__module__.startswith("distributed")
        # a local pool keeps few runs in flight, so a dead worker costs few retries; a cluster
        # or a given executor gets every run at once (it schedules them itself)
        self.slots = 2 * (workers or os.cpu_count() or 1) if self.renewable else sys.maxsize
        self._quiet_polls = 0

    def _local(self) -> cf.Executor:
        return cf.ProcessPoolExecutor(max_workers=self.workers or os.cpu_count() or 1,
                                      mp_context=multiprocessing.get_context("spawn"),
                                      initializer=pin_threads, initargs=(self.batch_pid,))

    def renew(self) -> None:
        """Replace a broken local pool by a fresh one (the batch goes on)."""
        if not self.renewable:
            raise BatchAborted("the executor lost a worker and cannot be restarted; finished "
                               "runs are kept: rerun with --resume")
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._local()

    def check_alive(self, now: bool = False) -> None:
        """On Dask, end the batch with one line when the scheduler or every worker is gone
        (at once when ``now``, else after two quiet polls: a slow cluster is not a dead one)."""
        if self.client is None:
            return
        try:
            alive = self.client.status == "running" and bool(
                self.client.scheduler_info().get("workers"))
        except Exception:  # noqa: BLE001 (a lost connection raises many kinds of error)
            alive = False
        self._quiet_polls = 0 if alive else self._quiet_polls + 1
        if self._quiet_polls >= (1 if now else 2):
            raise BatchAborted(f"--scheduler {self.address}: the Dask scheduler or its last "
                               f"worker is gone; finished runs are kept: rerun with --resume")

    def shutdown(self) -> None:
        if self.renewable:
            self.executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def open_executor(workers: int | None, scheduler: str | None, executor: cf.Executor | None,
                  client: Any = None) -> Iterator[Pool]:
    """The batch's :class:`Pool`: the executor given, a Dask cluster's (``client``, already
    connected, or connected here to ``scheduler``), or a process pool."""
    if executor is not None:
        yield Pool(workers, executor=executor)
    elif client is not None:
        yield Pool(workers, client=client, address=scheduler or "")
    elif scheduler:
        with scheduler_client(scheduler) as connected:
            yield Pool(workers, client=connected, address=scheduler)
    else:
        pool = Pool(workers, batch_pid=os.getpid())
        try:
            yield pool
        finally:
            pool.shutdown()


def _workers_here(client: Any) -> bool:
    """Whether every worker of a Dask cluster runs on this machine (its address is loopback)."""
    try:
        workers = client.scheduler_info().get("workers", {})
    except Exception:  # noqa: BLE001 (an unreachable scheduler is reported elsewhere)
        return False
    hosts = {address.split("://")[-1].rsplit(":", 1)[0].strip("[]") for address in workers}
    return bool(hosts) and all(h == "localhost" or h.startswith("127.") or h == "::1"
                               for h in hosts)


def _submit(pool: Pool, spec: RunSpec, target: tuple[str, dict] | None = None) -> cf.Future:
    """Submit one run; on Dask the task key is the run name (plus its config hash). With
    ``target`` (batch folder, scenario record), workers that share our file system (a local
    pool, a Dask cluster on this machine) write the run themselves."""
    if pool.dask:
        key = f"{spec.name}@{run_hash(spec)[:12]}"
        if target is not None and pool.workers_write:
            return pool.executor.submit(execute_and_store, spec, *target, None, os.getpid(),
                                        key=key)
        return pool.executor.submit(execute_run, spec, key=key)
    if target is not None and pool.workers_write:
        return pool.executor.submit(execute_and_store, spec, *target, pool.batch_pid)
    return pool.executor.submit(execute_run, spec)


# --------------------------------------------------------------------------- the batch


def run_batch(scenario_files: Sequence[str | os.PathLike], out_dir: str | os.PathLike,
              replicates: int | None = None, seed: int | None = None,
              workers: int | None = None, scheduler: str | None = None,
              executor: cf.Executor | None = None, overrides: Sequence[str] = (),
              resume: bool = False, progress: bool = True,
              posterior: str | os.PathLike | None = None) -> BatchSummary:
    """Run every sweep point and replicate of the scenario files and store the tables.

    Args:
        scenario_files: scenario YAML files.
        out_dir: the batch folder; must not exist (or be empty) unless ``resume``.
        replicates: replicates per sweep point (default each file's ``replicates:``).
        seed: root seed (default each file's ``seed:``); replicate r uses (seed, r).
        workers: local worker processes (default all cores).
        scheduler: a Dask scheduler address, e.g. ``tcp://host:8786``.
        executor: any ``concurrent.futures.Executor`` (overrides workers and scheduler).
        overrides: ``key.path=value`` strings applied to every file.
        resume: continue ``out_dir``: skip finished runs, redo missing, failed or damaged ones.
        progress: report progress on stderr.
        posterior: a posterior folder (else the scenarios' ``posterior:``): replicate r of
            every scenario runs at its draw r (:mod:`sim.estimation.assign`).

    Raises:
        ConfigError: bad input, an existing output folder, a folder locked by another process,
            or a resume whose config, data or package version changed.
        BatchAborted: a Dask scheduler or its last worker died (finished runs are kept).
    """
    # lazy: the store loads pandas and pyarrow; a worker pins its threads before they load (see the
    # module's docstring)
    from sim.experiments import store, store_guard

    start = time.perf_counter()
    check_workers(workers)
    plans = plan_batch(scenario_files, overrides, replicates, seed)  # every point checked
    store_guard.check_run_names([name for plan in plans for name in plan.point_names()])
    runs = posterior_runs([spec for plan in plans for spec in plan.runs()], posterior)
    out = Path(out_dir)
    if resume and not (out / "batch.json").is_file():
        raise ConfigError(f"{show_path(out)}: cannot resume: no batch.json (not a batch folder)")
    if not resume:  # a lone lock file is the tool's own, left by a batch that never began
        store.check_fresh_output(out, "use --resume to continue that batch or choose another --out")
    hashes = scenario_hashes(runs)
    order = [spec.name for spec in runs]
    # the cluster is reached before the batch folder is made: a failed connection leaves nothing
    with scheduler_client(None if executor else scheduler) as client, \
            store_guard.batch_lock(out):
        try:
            todo = _open_batch(out, runs, order, hashes, resume)
        except OSError as exc:  # the batch folder cannot be written: one line
            raise store.store_error(out, exc) from None
        tidy = True
        try:
            with open_executor(workers, scheduler, executor, client) as pool:
                failed = _run_all(pool, out, todo, hashes, progress)
            store.remove_temporary_runs(out)  # left by a worker killed while writing
            store.rebuild_manifest(out, order)
            tidy = False
        except OSError as exc:  # the batch folder cannot be written: one line, runs kept
            raise store.store_error(out, exc) from None
        finally:  # after the pool is shut down (no worker writes any more), as far as it goes
            shutil.rmtree(out / BASE_YEARS, ignore_errors=True)   # the workers' base years
            if tidy:
                with contextlib.suppress(OSError):
                    store.remove_temporary_runs(out)
                    store.rebuild_manifest(out, order)
    return BatchSummary(out_dir=out, n_ok=len(todo) - len(failed), n_failed=len(failed),
                        failed=failed, wall_s=time.perf_counter() - start,
                        n_skipped=len(runs) - len(todo), n_total=len(runs))


def _open_batch(out: Path, runs: list[RunSpec], order: list[str], hashes: dict[str, dict],
                resume: bool) -> list[RunSpec]:
    """Create the batch folder (or check the one to resume) and return the runs still to do."""
    # lazy: the store loads pandas and pyarrow; a worker pins its threads before they load (see the
    # module's docstring)
    from sim.experiments import store

    record = store.open_batch(out, store.batch_record(hashes), resume)
    finished = store.scan_runs(out, order) if resume else set()
    if resume:
        store.update_batch_record(out, record)
    store.rebuild_manifest(out, order)
    return [spec for spec in runs if spec.name not in finished]


def _run_all(pool: Pool, out: Path, todo: list[RunSpec], hashes: dict[str, dict],
             progress: bool) -> list[tuple[str, str]]:
    """Run ``todo`` and record each outcome; return the failed runs as (name, message)."""
    # lazy: the store loads pandas and pyarrow; a worker pins its threads before they load (see the
    # module's docstring)
    from sim.experiments import store

    bar = Progress(len(todo), progress)
    failed: list[tuple[str, str]] = []

    def record(spec: RunSpec, outcome: dict) -> None:
        if "store_error" in outcome:       # a worker could not write its run folder
            raise outcome["store_error"]
        if "stored" in outcome:            # a worker wrote the run folder
            store.append_manifest(out, outcome["stored"])
        else:
            status = _status_record(spec, outcome, hashes[spec.scenario])
            store.write_run(out, status, outcome["tables"], spec.config)
        if outcome["status"] != "ok":
            failed.append((spec.name, outcome["message"]))
        bar.update(spec.name, outcome["status"], outcome["duration_s"])

    try:
        # on the local pool each worker writes its own run folder; the parent, the manifest
        drive(pool, todo, record,
              lambda pool, spec: _submit(pool, spec, (str(out), hashes[spec.scenario])))
    finally:
        bar.close()
    return failed


def posterior_runs(runs: list[RunSpec], posterior: str | os.PathLike | None) -> list[RunSpec]:
    """The runs at their replicate's posterior draw when the batch has a posterior."""
    # lazy: the posterior (pandas) loads only for a batch run under one, after the workers pinned
    # their threads
    from sim.estimation.assign import batch_posterior, with_posterior

    return with_posterior(runs, batch_posterior(runs, posterior))


def drive(pool: Pool, todo: Sequence[Any], record: Callable[[Any, dict], None],
          submit: Callable[[Pool, Any], cf.Future] = _submit) -> None:
    """Keep at most ``pool.slots`` tasks in flight; when a worker dies (BrokenProcessPool), renew
    the pool and retry each task that was in flight alone, so only the task that kills its worker
    fails.

    Args:
        todo: the tasks (run specs, or whatever ``submit`` takes), in order.
        record: called once per task with its outcome, or with a failure record
            (``status``, ``message``, ``tables``, ``duration_s``) for a task that was lost.
        submit: starts one task on the pool and returns its future.
    """
    pending, suspects = list(reversed(todo)), []
    flight: dict[cf.Future, Any] = {}
    solo = False  # a suspect runs alone, so its death names it
    while pending or suspects or flight:
        if suspects and not flight:
            solo = _start(pool, submit, suspects, flight)
        while pending and not solo and len(flight) < pool.slots:
            if not _start(pool, submit, pending, flight):
                break
        if not flight:  # the pool broke with nothing in flight (a worker died idle)
            pool.renew()
            continue
        done, _ = cf.wait(flight, timeout=DASK_POLL_S if pool.dask else None,
                          return_when=cf.FIRST_COMPLETED)
        if not done:
            pool.check_alive()
            continue
        broken = []
        for future in done:
            spec = flight.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool:
                broken.append(spec)
                continue
            except Exception as exc:  # noqa: BLE001 (a lost task fails its run, not the batch)
                pool.check_alive(now=True)  # unless the whole cluster is gone
                outcome = _failure(f"{type(exc).__name__}: {exc}")
            record(spec, outcome)
        if broken:
            # only a task started alone names itself by dying: one alone in flight now may have
            # shared its worker's life with tasks already finished, or have found the pool broken
            # by a death that came before it, so it is retried alone first
            if solo:
                record(broken[0], _failure(WORKER_DIED))
            else:
                suspects.extend(broken + list(flight.values()))
            flight.clear()
            pool.renew()
        solo = solo and bool(flight)


def _start(pool: Pool, submit: Callable[[Pool, Any], cf.Future], queue: list,
           flight: dict[cf.Future, Any]) -> bool:
    """Submit the last task of ``queue`` and move it into ``flight``; False, leaving it queued,
    when the local pool is already broken (a worker died: the futures in flight will say so)."""
    try:
        future = submit(pool, queue[-1])
    except BrokenProcessPool:
        return False
    flight[future] = queue.pop()
    return True


def _failure(message: str) -> dict[str, Any]:
    return {"status": "failed", "message": " ".join(message.split()), "tables": None,
            "duration_s": 0.0}


def _status_record(spec: RunSpec, outcome: dict, scenario: dict) -> dict[str, Any]:
    return {"run": spec.name, "scenario": spec.scenario, "sweep": spec.sweep,
            "replicate": spec.replicate, "seed": spec.seed, "status": outcome["status"],
            "duration_s": outcome["duration_s"], "message": outcome["message"],
            "version": __version__, "config_hash": scenario["config_hash"],
            "data_hash": scenario["data_hash"],
            "base_year_settled": outcome.get("base_year_settled", "")}
