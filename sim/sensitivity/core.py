"""Global sensitivity analysis: uncertain ranges -> SALib design -> runs -> indices.

The same path serves the model and any test function: a *design* (SALib sample of the uncertain
parameters) is evaluated point by point by a pluggable *evaluator* (a picklable callable mapping
``{dotted key: value}`` to ``{output name: number}``) on any ``concurrent.futures.Executor``; each
point's outputs are written to ``OUT/samples/<index>.json`` so an interrupted study resumes by
running only the missing points. Morris screening (elementary effects, Morris 1991; Campolongo et
al. 2007) ranks all parameters; Sobol first-order and total indices (Saltelli 2010 estimators,
bootstrap intervals) quantify the few that matter.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import registry
from sim.config.loader import ConfigError, set_dotted, show_path
from sim.config.schema import ScenarioConfig
from sim.config.uncertain import DISTRIBUTIONS, Parameter, parse_uncertain  # noqa: F401 (re-exported for the CLI and tests)
from sim.experiments.runner import Pool, Progress, check_workers, drive, open_executor
from sim.experiments.store import write_atomic
from sim.experiments.store_guard import batch_lock, check_fresh_output
from sim.model import diagnostics
from sim.rules.metrics import discounted_total

#: Headline metrics read at the last step of ``Results.circle`` (the metric registry's).
HEADLINE_METRICS = registry.HEADLINE
#: Which way is better: -1 lower is better, +1 higher is better, 0 not ranked (descriptive only),
#: as the metric registry declares it (e.g. Wuhan's share of GDP is a distribution outcome,
#: reported but not ranked).
DIRECTIONS = registry.DIRECTIONS
#: Most Morris trajectories or Sobol base samples of one study.
MAX_SAMPLES = 100_000
METHODS = ("morris", "sobol")

Evaluator = Callable[[dict[str, float]], dict[str, float]]


def select(params: Sequence[Parameter], keys: Iterable[str] | None, where: str) -> list[Parameter]:
    """The parameters named in ``keys`` (all when None), in the order given."""
    if not keys:
        return list(params)
    by_key = {p.key: p for p in params}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ConfigError(f"--params: {unknown[0]} is not an uncertain parameter of {where} "
                          f"(expected keys of its uncertain: block)")
    return [by_key[k] for k in keys]


def salib_problem(params: Sequence[Parameter]) -> dict:
    """The SALib problem dict (names, bounds, dists) for ``params``."""
    bounds, dists = zip(*(p.salib_bounds() for p in params))
    return {"num_vars": len(params), "names": [p.key for p in params], "bounds": list(bounds),
            "dists": list(dists)}


def sample(problem: dict, method: str, n: int, seed: int) -> np.ndarray:
    """The design: Morris ``n`` trajectories of 4 levels, or Sobol' base sample ``n`` (Saltelli).

    Returns (n (D + 1)) rows for Morris, (n (D + 2)) rows for Sobol (no second order).
    """
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method == "morris":
        return morris_sample.sample(problem, n, num_levels=4, seed=seed)
    check_samples(method, n)  # SALib only warns when n is not a power of 2
    return sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)


def check_samples(method: str, n: int) -> None:
    """Refuse a design size SALib cannot use well, before any work: at least 2, and for Sobol'
    a power of 2 (SALib: the convergence properties of the Sobol' sequence hold only then)."""
    if n < 2:
        raise ConfigError(f"--samples: expected an integer >= 2 (got {n})")
    if method == "sobol" and n & (n - 1):
        low = 1 << (n.bit_length() - 1)
        raise ConfigError(f"--samples: expected a power of 2 for --method sobol (got {n}; try "
                          f"{low} or {low * 2}): the convergence properties of the Sobol' "
                          f"sequence hold only for N = 2^m (SALib)")


def design_points(X: np.ndarray, params: Sequence[Parameter],
                  integer_keys: Iterable[str] = ()) -> list[dict[str, float]]:
    """Rows of the design as ``{key: value}``; integer-valued keys rounded to the nearest one."""
    integers = set(integer_keys)
    return [{p.key: (int(round(v)) if p.key in integers else float(v))
             for p, v in zip(params, row)} for row in X]


# --------------------------------------------------------------------------- evaluators


def ishigami(point: dict[str, float], a: float = 7.0, b: float = 0.1) -> dict[str, float]:
    """Ishigami-Homma test function of x1, x2, x3 on [-pi, pi] (S1 0.314, 0.442, 0; ST 0.558,
    0.442, 0.244 for a = 7, b = 0.1)."""
    x1, x2, x3 = point["x1"], point["x2"], point["x3"]
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)}


@dataclasses.dataclass(frozen=True)
class ModelEvaluator:
    """Runs the scenario (and the baseline) at one sample point; picklable for process pools.

    The same sampled values are applied as dotted overrides to both configs and both run with the
    same seed and replicate, so their random draws are common and the difference is paired.

    Attributes:
        scenario: the resolved scenario config as plain data.
        baseline: the resolved baseline config, or None.
        seed: root seed; replicate: replicate index; metrics: circle columns read at the last step.
    """

    scenario: dict
    baseline: dict | None
    seed: int
    replicate: int = 0
    metrics: tuple[str, ...] = HEADLINE_METRICS

    def __call__(self, point: dict[str, float]) -> dict[str, float]:
        values = self._last_step(self.scenario, point)
        out = dict(values)
        if self.baseline is not None:
            base = self._last_step(self.baseline, point)
            out.update({f"{m}.baseline": base[m] for m in self.metrics})
            out.update({f"{m}.diff": values[m] - base[m] for m in self.metrics})
        return out

    def _last_step(self, config: dict, point: dict[str, float]) -> dict[str, float]:
        # lazy: the model (and Mesa) loads only where a model point is evaluated, never in
        # studies of a test function, nor in the command line before the study starts
        from sim.experiments.base_years import use_environment
        from sim.model import run_scenario

        use_environment()       # base years kept in SIM_BASE_YEARS, if it names a folder
        data = json.loads(json.dumps(config))
        for key, value in point.items():
            set_dotted(data, key, value, f"sample {key}")
        config = ScenarioConfig.model_validate(data)
        results = run_scenario(config, seed=self.seed, replicate=self.replicate)
        rate = config.economy.discount_rate_annual
        return {m: outcome_value(results.circle, m, rate) for m in self.metrics}


def outcome_value(circle: pd.DataFrame, name: str, rate: float) -> float:
    """One outcome of a run's circle table: ``metric`` or ``metric.last`` at the last step,
    ``metric.pv`` the present value of the quarterly series at the annual ``rate`` (what the
    report headlines for money flows, :func:`sim.rules.metrics.discounted_total`)."""
    metric, _, measure = name.partition(".")
    if measure == "pv":
        return float(discounted_total(circle[metric].to_numpy(dtype=float), rate))
    if measure not in ("", "last"):
        raise ConfigError(f"outcome {name}: expected a circle column, optionally with .last "
                          "(last quarter) or .pv (present value)")
    return float(circle[metric].iloc[-1])


def evaluate_point(evaluator: Evaluator, index: int, point: dict[str, float]) -> dict[str, Any]:
    """One sample point in a worker; never raises (a failure is returned as a record)."""
    start, mark = time.perf_counter(), diagnostics.unsettled_models()
    try:
        outputs, status, message = evaluator(point), "ok", ""
    except Exception as exc:  # noqa: BLE001 (a failed point is data, not a crash)
        outputs, status = {}, "failed"
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
    return {"index": index, "params": point, "outputs": outputs, "status": status,
            "message": message, "duration_s": round(time.perf_counter() - start, 4),
            "unsettled_runs": diagnostics.unsettled_since(mark)}


# --------------------------------------------------------------------------- running a design


def design_record(method: str, n: int, seed: int, params: Sequence[Parameter],
                  label: dict) -> dict:
    """What fixes a study's sample points: resuming requires the same record."""
    record = {"method": method, "samples": n, "seed": seed,
              "params": [dataclasses.asdict(p) for p in params], **label}
    text = json.dumps(record, sort_keys=True, default=str)
    record["design_hash"] = hashlib.sha256(text.encode()).hexdigest()
    return record


def open_study(out: Path, record: dict, resume: bool) -> None:
    """Create ``out`` (must be new or empty) or, with ``resume``, check it holds the same design."""
    path = out / "design.json"
    if resume and path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{show_path(path)}: --resume: expected the JSON design record the "
                              f"tool writes ({type(exc).__name__}); choose another --out") from None
        if not isinstance(old, dict) or old.get("design_hash") != record["design_hash"]:
            raise ConfigError(f"{show_path(out)}: --resume: the folder holds a different design "
                              f"(method, samples, seed, parameters or scenarios changed)")
        return
    check_fresh_output(out, "pass --resume to continue it or choose another --out")
    (out / "samples").mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(record, indent=1, default=str))


def finished_points(out: Path) -> dict[int, dict]:
    """Records of points already evaluated successfully (failed ones are redone)."""
    done = {}
    for path in (out / "samples").glob("*.json"):
        try:  # a damaged record is not trusted: the point is evaluated again
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            isinstance(record, dict)
            and record.get("status") == "ok"
            and isinstance(record.get("index"), int)
            and isinstance(record.get("outputs"), dict)
        ):
            done[record["index"]] = record
    return done


def run_design(points: Sequence[dict[str, float]], evaluator: Evaluator, out: Path,
               pool: Any, progress: bool = True) -> list[dict]:
    """Evaluate every point not yet in ``out/samples``; return all records in index order.

    ``pool`` is a :class:`sim.experiments.runner.Pool` (or any executor). Each record is written
    as it arrives, so a kill loses nothing finished; a worker that dies costs a renewed pool and
    a retry of the points in flight, and only a point that kills its worker alone fails (to be
    redone by ``--resume``).
    """
    pool = pool if isinstance(pool, Pool) else Pool(None, executor=pool)
    done = finished_points(out)
    todo = [i for i in range(len(points)) if i not in done]
    bar = Progress(len(todo), progress)

    def submit(pool: Pool, i: int) -> cf.Future:
        kwargs = {"key": f"sample-{out.name}-{i}"} if pool.dask else {}
        return pool.executor.submit(evaluate_point, evaluator, i, points[i], **kwargs)

    def record(i: int, outcome: dict) -> None:
        if "index" not in outcome:  # the driver's record of a lost worker or task
            outcome = {"index": i, "params": points[i], "outputs": {}, "status": "failed",
                       "message": outcome["message"], "duration_s": outcome["duration_s"]}
        write_atomic(out / "samples" / f"{i:06d}.json", json.dumps(outcome))
        done[i] = outcome
        bar.update(f"sample {i}", outcome["status"], outcome["duration_s"])

    try:
        drive(pool, todo, record, submit)
    finally:
        bar.close()
    return [done[i] for i in range(len(points))]


def run_points(points: Sequence[dict], evaluator: Evaluator, out: Path, record: dict,
               **options) -> list[dict[str, float]]:
    """Each point's outputs in order (:func:`run_point_records`, same options)."""
    return [r["outputs"] for r in run_point_records(points, evaluator, out, record, **options)]


def run_point_records(points: Sequence[dict], evaluator: Evaluator, out: Path, record: dict, *,
                      workers: int | None = None, scheduler: str | None = None,
                      executor: cf.Executor | None = None, resume: bool = False,
                      progress: bool = True, what: str = "points") -> list[dict]:
    """Evaluate a fixed list of points into ``out`` (resumable, under the folder's lock) and
    return each point's record in order (its ``outputs``, ``unsettled_runs``, ...); a
    ConfigError naming the first failure if any failed.

    ``record`` (:func:`design_record`) fixes the design: resuming requires the same one.
    """
    # the cluster is reached before the folder and its lock are made: a failed connection leaves
    # nothing (as `sim batch`)
    with open_executor(workers, scheduler, executor) as pool, batch_lock(out):  # one process
        open_study(out, record, resume)
        records = run_design(points, evaluator, out, pool, progress)
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        raise ConfigError(f"{len(failed)} of {len(records)} {what} failed (first: "
                          f"{failed[0]['message']}); fix and rerun with --resume")
    warn_unsettled(records, out, what)
    return records


def unsettled_points(records: Sequence[dict]) -> int:
    """Points of which at least one model started from a base year stopped at a cap (records
    written before the count was kept say nothing and count as settled)."""
    return sum(1 for r in records if r.get("unsettled_runs", 0))


def warn_unsettled(records: Sequence[dict], out: Path, what: str = "points") -> None:
    """Say on stderr how many points ran on a base year not at rest (their outputs carry its
    drift); silent when none did."""
    k = unsettled_points(records)
    if k:
        print(f"warning: {diagnostics.ran_not_at_rest(k, len(records), what)}; "
              f"{show_path(out / 'samples')}, field unsettled_runs", file=sys.stderr)


# --------------------------------------------------------------------------- analysis


def analyse(method: str, problem: dict, X: np.ndarray, Y: pd.DataFrame,
            seed: int = 1) -> pd.DataFrame:
    """Indices of every output column of ``Y`` against the design ``X``, one row per
    (output, parameter).

    Morris columns: ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu_star_norm`` (mu* over
    the output's largest mu*). Sobol columns: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (95%
    bootstrap half-widths).
    """
    from SALib.analyze import morris, sobol

    frames = []
    for output in Y.columns:
        y = Y[output].to_numpy(float)
        if method == "morris":
            res = morris.analyze(problem, X, y, num_levels=4, seed=seed)
            names = ("mu", "mu_star", "mu_star_conf", "sigma")
            cols = {k: np.asarray(res[k], float) for k in names}
            top = cols["mu_star"].max()
            cols["mu_star_norm"] = cols["mu_star"] / top if top > 0 else cols["mu_star"] * 0
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                res = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
            cols = {k: np.asarray(res[k], float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        frames.append(pd.DataFrame({"output": output, "parameter": problem["names"], **cols}))
    return pd.concat(frames, ignore_index=True)


def most_influential(indices: pd.DataFrame, output: str) -> str:
    """The parameter with the largest mu* (Morris) or total index ST (Sobol) for ``output``."""
    rows = indices[indices["output"] == output]
    column = "mu_star" if "mu_star" in rows else "ST"
    return str(rows.loc[rows[column].fillna(-np.inf).idxmax(), "parameter"])


def beats(diff: np.ndarray, direction: int) -> np.ndarray:
    """Where the scenario beats the baseline: diff < 0 when lower is better, > 0 when higher."""
    if direction == 0:
        raise ValueError("metric is not ranked (direction 0)")
    return np.sign(np.asarray(diff, float)) == direction


@dataclasses.dataclass
class Study:
    """A finished study: the design, each point's outputs and the indices of every output."""

    method: str
    problem: dict
    X: np.ndarray
    points: pd.DataFrame
    outputs: pd.DataFrame
    indices: pd.DataFrame
    failed: list[tuple[int, str]]
    wall_s: float
    unsettled: int = 0      # points with a model on a base year stopped at a cap


def run_study(params: Sequence[Parameter], evaluator: Evaluator, method: str, n: int,
              out_dir: str | os.PathLike, *, seed: int = 1, integer_keys: Iterable[str] = (),
              label: dict | None = None, executor: cf.Executor | None = None,
              workers: int | None = None, scheduler: str | None = None, resume: bool = False,
              progress: bool = True) -> Study:
    """Sample, evaluate (resumably, on any executor) and analyse one study.

    Args:
        params: the parameters to vary; others keep the evaluator's values.
        evaluator: picklable ``{key: value} -> {output: number}``.
        method: ``morris`` (n trajectories) or ``sobol`` (base sample n).
        out_dir: study folder (new or empty, or the same design with ``resume``).
        seed: sampler and bootstrap seed.
        integer_keys: keys rounded to integers before evaluation (the analysis uses the design).
        label: extra facts that fix the design (e.g. scenario hashes), checked on resume.
        executor / workers / scheduler: as :func:`sim.experiments.runner.open_executor`.

    Raises:
        ConfigError: bad method or size, or an output folder that cannot be used.
    """
    if method not in METHODS:
        raise ConfigError(f"--method: expected one of {', '.join(METHODS)} (got {method!r})")
    if not 2 <= n <= MAX_SAMPLES:
        raise ConfigError(f"--samples: expected an integer >= 2 and <= {MAX_SAMPLES:,} (got {n})")
    check_samples(method, n)
    start = time.perf_counter()
    out = Path(out_dir)
    problem = salib_problem(params)
    X = sample(problem, method, n, seed)
    points = design_points(X, params, integer_keys)
    check_workers(workers)
    if not resume:
        check_fresh_output(out, "pass --resume to continue it or choose another --out")
    with open_executor(workers, scheduler, executor) as pool, batch_lock(out):  # as run_points
        open_study(out, design_record(method, n, seed, params, label or {}), resume)
        records = run_design(points, evaluator, out, pool, progress)
    failed = [(r["index"], r["message"]) for r in records if r["status"] != "ok"]
    outputs = pd.DataFrame([r["outputs"] for r in records])
    indices = pd.DataFrame() if failed else analyse(method, problem, X, outputs, seed)
    warn_unsettled(records, out)
    return Study(method, problem, X, pd.DataFrame(points), outputs, indices, failed,
                 time.perf_counter() - start, unsettled_points(records))
