"""``sim calibrate`` and ``sim identifiability`` as functions: choose the parameters, build the
simulator of the calibration targets, run, and write every output file of the folder."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import resource
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.loader import ConfigError, show_path
from sim.config.uncertain import Parameter
from sim.estimation import identifiability, predictive
from sim.estimation.budget import PREDICTIVE_DRAWS, SmcSettings
from sim.estimation.figures import plot_marginals, plot_pairs
from sim.estimation.posterior import Posterior, weighted_summary, write_posterior
from sim.estimation.reference import run_reference
from sim.estimation.smc import final_particles, generations_table, run_smc, single_core
from sim.estimation.targets import TargetLike, TargetSimulator, check_held_out, observed
from sim.model import diagnostics
from sim.paths import REPOSITORY_DIR
from sim.version import __version__

#: Below this share of the population, the last generation's effective sample size is flagged:
#: a few particles carry the posterior (a weight collapse; run more particles or generations).
LOW_ESS_SHARE = 0.1


def chosen_keys(params: Sequence[Parameter], keys: Sequence[str] | None,
                screening: Path | None, identified: Path | None) -> list[Parameter]:
    """The parameters to estimate: ``keys``, or those a screen kept, less any an
    identifiability check found not identified; in the ``uncertain:`` block's order."""
    by_key = {p.key: p for p in params}
    if keys:
        unknown = [k for k in keys if k not in by_key]
        if unknown:
            raise ConfigError(f"--params: {unknown[0]}: expected a key of the uncertain: block")
        wanted = list(keys)
    elif screening is not None:
        wanted = _verdicts(screening / "screening.csv", "kept")
    else:
        raise ConfigError("expected --params KEYS or --screening DIR (a `sim sensitivity "
                          "--targets` study) to say which parameters to estimate")
    if identified is not None:
        ok = set(_verdicts(identified / "identifiability.csv", "identified"))
        wanted = [k for k in wanted if k in ok]
    if not wanted:
        raise ConfigError("no parameter left to estimate (none kept, or none identified)")
    missing = [k for k in wanted if k not in by_key]
    if missing:
        raise ConfigError(f"{missing[0]}: expected a key of the scenario's uncertain: block")
    return [by_key[k] for k in wanted]


def _verdicts(path: Path, column: str) -> list[str]:
    try:
        frame = pd.read_csv(path)
        return [str(k) for k in frame.loc[frame[column].astype(bool), "parameter"]]
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"{show_path(path)}: expected a table with columns parameter and "
                          f"{column} ({type(exc).__name__})") from None


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished child processes."""
    own, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def model_version() -> dict[str, str]:
    """The package version and, in a git checkout, the commit it was run at."""
    root = REPOSITORY_DIR
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "sim"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown", ""
    return {"version": __version__, "commit": commit, "modified": str(bool(dirty))}


def target_rows(targets: Sequence[TargetLike]) -> list[dict[str, Any]]:
    return [{"name": t.name, "role": t.role, "data": float(t.data), "band_lo": float(t.band_lo),
             "band_hi": float(t.band_hi), "source": str(getattr(t, "source", ""))}
            for t in targets]


def calibrate(simulator: TargetSimulator, params: Sequence[Parameter],
              all_targets: Sequence[TargetLike], out: Path, settings: SmcSettings, *,
              predictive_draws: int = PREDICTIVE_DRAWS, workers: int | None = None,
              scheduler: str | None = None, resume: bool = False,
              progress: bool = True) -> Posterior:
    """Fit, write the posterior folder with its figures, then the posterior predictive."""
    check_held_out(simulator.targets)
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    start_cpu, start = cpu_seconds(), time.perf_counter()
    try:
        history = run_smc(simulator, params, observed(simulator.targets), out, settings,
                          workers=workers, scheduler=scheduler, resume=resume,
                          seed=simulator.seed)
    except ConfigError:  # e.g. an unreachable scheduler: a folder made here and left empty goes
        if made and not any(out.iterdir()):
            out.rmdir()
        raise
    generations = generations_table(history)
    generations.to_csv(out / "generations.csv", index=False)
    record = {"fitted_to": target_rows(simulator.targets),
              "priors": [dataclasses.asdict(p) for p in params],
              "settings": {**dataclasses.asdict(settings), "n_units": simulator.n_units,
                           "realisations": simulator.realisations,
                           "seed": simulator.seed, "overrides": list(simulator.overrides),
                           "workers": workers, "scheduler": scheduler,
                           "repeatable": single_core(workers, scheduler)},
              "simulations": int(generations["simulations"].sum()),
              "generations": len(generations), "model": model_version(),
              "cpu_s": round(cpu_seconds() - start_cpu, 1),
              "wall_s": round(time.perf_counter() - start, 1), "draw_seed": simulator.seed}
    ess = float(generations["effective_sample_size"].iloc[-1])
    if ess < LOW_ESS_SHARE * settings.population:
        record["warning"] = (f"the last generation's effective sample size is {ess:.0f} of "
                             f"{settings.population} particles: a few particles carry the "
                             f"posterior; rerun with more particles or generations")
    frame = final_particles(history)[[p.key for p in params] + ["weight"]]
    record["fingerprint"] = hashlib.sha256(frame.to_csv().encode()).hexdigest()[:16]
    posterior = Posterior(frame, record, out)
    write_posterior(out, frame, record)
    write_figures(posterior, params, out)
    if predictive_draws > 0:
        write_predictive(posterior, simulator, all_targets, predictive_draws, out,
                         workers=workers, scheduler=scheduler, resume=resume, progress=progress)
    (out / "calibration.md").write_text(summary_markdown(posterior, generations),
                                        encoding="utf-8")
    return posterior


def write_figures(posterior: Posterior, params: Sequence[Parameter], out: Path) -> None:
    weighted_summary(posterior).to_csv(out / "posterior_summary.csv", index=False)
    plot_marginals(posterior, params).savefig(out / "marginals.png")
    plot_pairs(posterior, params).savefig(out / "pairs.png")


def write_predictive(posterior: Posterior, simulator: TargetSimulator,
                     all_targets: Sequence[TargetLike], n_draws: int, out: Path,
                     **run: Any) -> pd.DataFrame:
    """Simulate every target (both roles) at draws 0..n_draws-1; write csv, png and md. One
    realisation a draw, whatever the fit averaged: the predictive is what a batch run at the
    posterior's draws gives (``sim batch --posterior``), the model's noise included."""
    every = dataclasses.replace(simulator, targets=tuple(all_targets), realisations=1)
    draws = predictive.simulate_predictive(posterior, every, n_draws, out / "predictive", **run)
    table = predictive.predictive_table(draws, all_targets)
    table.to_csv(out / "predictive.csv", index=False)
    predictive.plot_predictive(table).savefig(out / "predictive.png")
    (out / "predictive.md").write_text(
        predictive.markdown(table, f"Posterior predictive, {n_draws} draws"), encoding="utf-8")
    return table


def summary_markdown(posterior: Posterior, generations: pd.DataFrame) -> str:
    """What was fitted, how long it ran and the posterior's marginal summaries."""
    r = posterior.record
    s = r["settings"]
    lines = ["## Calibration (ABC-SMC, pyabc)", "",
             f"Fitted to {len(r['fitted_to'])} calibration target(s): "
             f"{', '.join(t['name'] for t in r['fitted_to'])}.",
             f"Population {s['population']}, {r['generations']} generation(s) (at most "
             f"{s['generations']}), {r['simulations']} simulations (cap {s['max_simulations']}), "
             f"{s['n_units'] or 'default'} units, {s.get('realisations', 1)} realisation(s) "
             f"averaged per point, seed {s['seed']}; CPU {r['cpu_s']} s, wall "
             f"{r['wall_s']} s. Model {r['model']['version']} at {r['model']['commit'][:12]}.",
             *(["", f"**Warning: {r['warning']}.**"] if r.get("warning") else []),
             "", "| parameter | mean | sd | 5% | 95% |", "|---|---|---|---|---|"]
    for row in weighted_summary(posterior).itertuples():
        lines.append(f"| `{row.parameter}` | {row.mean:.4g} | {row.sd:.3g} | {row.q05:.4g} | "
                     f"{row.q95:.4g} |")
    lines += ["", "| generation | tolerance | simulations | effective sample size |",
              "|---|---|---|---|"]
    lines += [f"| {g.generation} | {g.epsilon:.4g} | {g.simulations} | "
              f"{g.effective_sample_size:.0f} |" for g in generations.itertuples()]
    return "\n".join(lines) + "\n"


def identify(simulator: TargetSimulator, params: Sequence[Parameter], n_draws: int,
             n_truths: int, accept: int, out: Path, *, seed: int, **run: Any) -> pd.DataFrame:
    """Reference table, coverage over held-out truths, and the per-parameter verdicts."""
    check_held_out(simulator.targets)
    if n_truths < identifiability.MIN_TRUTHS or n_truths >= n_draws:
        raise ConfigError(f"--truths: expected at least {identifiability.MIN_TRUTHS} and fewer "
                          f"than --draws ({n_draws}) (got {n_truths})")
    if not 2 <= accept <= n_draws - n_truths:
        raise ConfigError(f"--accept: expected 2 to {n_draws - n_truths} (got {accept})")
    label = {"targets": [t.name for t in simulator.targets], "n_units": simulator.n_units,
             "overrides": list(simulator.overrides)}
    if simulator.realisations != 1:     # a reference table of one realisation keeps its label
        label["realisations"] = simulator.realisations
    table = run_reference(params, simulator, n_draws, out, seed=seed, label=label, **run)
    per_truth = identifiability.coverage_study(table, params, n_truths, accept, seed=seed)
    per_truth.to_csv(out / "truths.csv", index=False)
    summary = identifiability.summarise(per_truth)
    summary.to_csv(out / "identifiability.csv", index=False)
    text = identifiability.markdown(summary, n_draws, accept, "Identifiability",
                                    bool(per_truth["adjusted"].all()))
    if table.unsettled:
        ran = diagnostics.ran_not_at_rest(table.unsettled, n_draws, "draws")
        text += f"\nWarning: {ran} (`samples/*.json`, field `unsettled_runs`).\n"
    (out / "identifiability.md").write_text(text, encoding="utf-8")
    (out / "run.json").write_text(json.dumps({"model": model_version(), **label,
                                              "unsettled_draws": table.unsettled}, indent=1),
                                  encoding="utf-8")
    return summary
