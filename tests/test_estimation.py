"""The calibration pipeline on the linear-Gaussian toy whose posterior is known: the rules worked
by hand (scales, distances, quantiles, the screen's keep rule), the identifiability check against
the exact posterior, pyabc's ABC-SMC on a Gaussian with known mean, and the hold-out of
validation targets. No model runs."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config.loader import ConfigError
from sim.config.uncertain import Parameter
from sim.estimation import toy
from sim.estimation.identifiability import coverage_study, summarise
from sim.estimation.priors import (
    from_unbounded,
    prior_interval,
    sample_prior,
    to_unbounded,
)
from sim.estimation.reference import run_reference
from sim.estimation.rejection import (
    abc_rejection,
    mad_scales,
    scaled_distances,
    weighted_quantiles,
)
from sim.estimation.screening import screen
from sim.estimation.targets import (
    TargetSimulator,
    calibration_only,
    check_held_out,
    observed,
    replicate_of,
)

TRUTH = {"toy.level": 1.0, "toy.slope": 0.5}


def toy_simulator(targets=None, **kwargs) -> TargetSimulator:
    chosen = calibration_only(toy.toy_targets(TRUTH)) if targets is None else targets
    kwargs.setdefault("simulate", toy.toy_simulate_targets)
    return TargetSimulator(tuple(chosen), seed=3, **kwargs)


# --------------------------------------------------------------------------- rules by hand


def test_mad_scales_and_scaled_distances_by_hand() -> None:
    stats = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [10.0, 5.0]])
    scales = mad_scales(stats)
    # column 0: median 2.5, |deviations| 1.5 0.5 0.5 7.5 -> median 1.0; column 1 never varies
    assert scales.tolist() == [1.0, 0.0]
    # the constant column carries no information and is left out of the distance
    assert scaled_distances(stats, np.array([2.0, 99.0]), scales).tolist() == [1, 0, 1, 8]
    two = scaled_distances(np.array([[3.0, 4.0]]), np.zeros(2), np.array([1.0, 2.0]))
    assert two.tolist() == [pytest.approx(np.sqrt(9 + 4))]


def test_weighted_quantiles_by_hand() -> None:
    values = np.array([4.0, 1.0, 3.0, 2.0])
    # equal weights: cumulative midpoints 0.125, 0.375, 0.625, 0.875 at 1, 2, 3, 4
    got = weighted_quantiles(values, np.ones(4), [0.125, 0.5, 0.875])
    assert got.tolist() == [1.0, 2.5, 4.0]
    # all weight on 3: every quantile is 3
    assert weighted_quantiles(values, np.array([0, 0, 1.0, 0]), [0.05, 0.95]).tolist() == [3, 3]


def test_prior_transforms_round_trip_and_intervals() -> None:
    params = [Parameter("a", 0, 1), Parameter("b", 0, 4, "normal"),
              Parameter("c", 0, 1, "triangular", 0.2)]
    draws = sample_prior(params, 200, np.random.default_rng(1))
    assert ((draws >= [0, 0, 0]) & (draws <= [1, 4, 1])).all()
    np.testing.assert_allclose(from_unbounded(params, to_unbounded(params, draws)), draws)
    assert prior_interval(params[0]) == pytest.approx((0.05, 0.95))
    low, high = prior_interval(params[1])  # symmetric around the midpoint 2
    assert low + high == pytest.approx(4.0)


def test_screen_keeps_by_score_and_distinctness_worked_by_hand() -> None:
    @dataclasses.dataclass
    class T:
        name: str
        band_lo: float
        band_hi: float
        role: str = "calibration"
        data: float = 0.0

    indices = pd.DataFrame({
        "output": ["a", "a", "a", "b", "b", "b"],
        "parameter": ["p1", "p2", "p3"] * 2,
        # band widths: a 2.0, b 10.0
        "mu_star": [3.0, 0.8, 5.0, 1.0, 4.0, 1.0],
        "mu_star_conf": [0.1, 0.1, 6.0, 0.1, 4.5, 0.1]})
    frame = screen(indices, [T("a", -1, 1), T("b", 0, 10)]).set_index("parameter")
    # p1: 3 / 2 = 1.5 on a (distinct) -> kept
    assert frame.loc["p1", "kept"] and frame.loc["p1", "score_distinct"] == 1.5
    # p2: 0.8 / 2 = 0.4 on a; 4 / 10 = 0.4 on b but not distinct (4 < 4.5) -> not kept
    assert not frame.loc["p2", "kept"] and frame.loc["p2", "score_distinct"] == 0.4
    # p3: 5 / 2 = 2.5 on a is noise (5 < 6); 1 / 10 = 0.1 on b -> not kept
    assert not frame.loc["p3", "kept"] and frame.loc["p3", "score"] == 2.5
    # a noise floor of 1.6 on a: p1's mu* 3 is below 2 x 1.6 -> no longer kept
    floored = screen(indices, [T("a", -1, 1), T("b", 0, 10)], {"a": 1.6, "b": 0.0})
    assert not floored.set_index("parameter").loc["p1", "kept"]
    assert screen(indices, [T("a", -1, 1), T("b", 0, 10)], {"a": 1.5}).set_index(
        "parameter").loc["p1", "kept"]                                  # 3 >= 2 x 1.5


def test_noise_floor_by_hand() -> None:
    from sim.estimation.screening import noise_floor

    # pairs |0 - 1| = 1, |0 - 3| = 3, |1 - 3| = 2: mean 2, over the Morris step 2/3 -> 3
    assert noise_floor(pd.DataFrame({"a": [0.0, 1.0, 3.0], "b": [2.0, 2.0, 2.0]})) == {
        "a": pytest.approx(3.0), "b": 0.0}


def test_replicate_is_fixed_by_the_point() -> None:
    a = replicate_of({"x": 0.1, "y": 2.0}, 1)
    assert a == replicate_of({"y": 2.0, "x": 0.1}, 1)
    assert a != replicate_of({"x": 0.1000001, "y": 2.0}, 1)
    assert 0 <= a < 100_000


def test_realisations_average_consecutive_replicates_worked_by_hand() -> None:
    """With K realisations a point's targets are the mean over replicates r, ..., r + K - 1,
    r fixed by the point; one realisation is the plain simulation."""
    calls: list[int] = []

    def by_replicate(targets, overrides, seed, replicate, n_units=None):
        calls.append(replicate)
        return {t.name: float(replicate) + (0.5 if t.name.endswith("b") else 0.0)
                for t in targets}

    targets = (dataclasses.replace(calibration_only(toy.toy_targets(TRUTH))[0], name="a"),
               dataclasses.replace(calibration_only(toy.toy_targets(TRUTH))[0], name="b"))
    point = {"toy.level": 0.3}
    r = replicate_of(point, 3)
    one = TargetSimulator(targets, seed=3, simulate=by_replicate)(point)
    assert one == {"a": float(r), "b": r + 0.5} and calls == [r]
    calls.clear()
    three = TargetSimulator(targets, seed=3, simulate=by_replicate, realisations=3)(point)
    assert calls == [r, (r + 1) % 100_000, (r + 2) % 100_000]
    mean = sum(calls) / 3
    assert three == pytest.approx({"a": mean, "b": mean + 0.5})
    fixed = TargetSimulator(targets, seed=3, replicate=7, simulate=by_replicate, realisations=2)
    assert fixed(point) == {"a": 7.5, "b": 8.0}


def test_realisations_shrink_the_toys_noise_by_their_square_root() -> None:
    """The toy's targets are linear in the parameters plus noise of sd 1/2 (four unit draws
    averaged). 400 points at the same parameter values (a key the toy ignores changes only the
    point's replicate): 4 realisations halve the sd."""
    one, four = toy_simulator(), toy_simulator(realisations=4)
    sd = {k: np.std([s({"toy.level": 1.0, "toy.noise_key": i})[
        next(iter(s.targets)).name] for i in range(400)]) for k, s in (("1", one), ("4", four))}
    assert sd["1"] == pytest.approx(0.5, rel=0.1) and sd["4"] == pytest.approx(0.25, rel=0.1)


def test_dry_run_times_new_prior_draws_not_a_repeated_point() -> None:
    """A simulation's cost varies with the parameters and a repeated point finds its base year
    cached, so the pilot is the mean over new prior draws (the midpoint timed twice was 3-5
    times too fast for a reference table on the model)."""
    import argparse

    from sim.estimation.cli import PILOT_DRAWS, _dry_run

    seen = []
    params = list(toy.PARAMETERS)
    line = _dry_run(lambda point: seen.append(tuple(sorted(point.items()))), params, 100,
                    argparse.Namespace(seed=1, workers=1, scheduler=None), "reference table")
    assert len(seen) == PILOT_DRAWS + 1 == len(set(seen))
    assert all(p.low <= dict(point)[p.key] <= p.high for point in seen for p in params)
    assert line.startswith("dry run (nothing written): reference table over 3 parameters, "
                           "100 simulation(s)")
    assert f"{PILOT_DRAWS} pilot simulations took " in line and "one pilot" not in line
    assert f"the pilots are {PILOT_DRAWS} prior draws" in line


# --------------------------------------------------------------------------- identifiability


def test_regression_adjusted_rejection_matches_the_exact_posterior() -> None:
    simulator = toy_simulator()
    params = list(toy.PARAMETERS[:2])
    theta = sample_prior(params, 4000, np.random.default_rng(5))
    stats = np.array([list(simulator(dict(zip(["toy.level", "toy.slope"], row))).values())
                      for row in theta])
    data = observed(simulator.targets)
    post = abc_rejection(theta, stats, np.array(list(data.values())), params, accept=200)
    mean, cov = toy.exact_posterior(data)
    got = np.average(post.samples, axis=0, weights=post.weights)
    sd = np.sqrt(np.average((post.samples - got) ** 2, axis=0, weights=post.weights))
    assert post.adjusted
    np.testing.assert_allclose(got, mean, atol=0.15)
    np.testing.assert_allclose(sd, np.sqrt(np.diag(cov)), rtol=0.25)


def test_identifiability_finds_the_identified_and_the_inert_parameter(tmp_path: Path,
                                                                      no_fsync: None) -> None:
    # 1,500 reference draws: without no_fsync, about 3.4 s of waiting on the disk
    params = list(toy.PARAMETERS)
    with cf.ThreadPoolExecutor(1) as pool:
        table = run_reference(params, toy_simulator(), 1500, tmp_path / "ref", seed=2,
                              executor=pool, progress=False)
    summary = summarise(coverage_study(table, params, 20, 100, seed=1)).set_index("parameter")
    assert summary["identified"].to_dict() == {"toy.level": True, "toy.slope": True,
                                               "toy.inert": False}
    # exact 90% width over the prior's 90% width (9): level 2 x 1.645 x 0.5, slope x 0.354
    assert summary.loc["toy.level", "contraction"] == pytest.approx(1 - 1.645 / 9, abs=0.06)
    assert summary.loc["toy.slope", "contraction"] == pytest.approx(1 - 1.163 / 9, abs=0.06)
    assert summary.loc["toy.inert", "contraction"] < 0.1
    assert (summary["covered"] >= 15).all()
    assert (tmp_path / "ref" / "reference.csv").is_file()


# --------------------------------------------------------------------------- pyabc


@pytest.fixture
def quiet_pyabc():
    """pyabc installed (the 'calibration' extra) and its INFO logging off."""
    pytest.importorskip("pyabc")
    from sim.estimation.smc import quiet_pyabc as quiet

    quiet()
    yield
    logging.getLogger("ABC").setLevel(logging.WARNING)


def test_the_smc_sampler_on_a_scheduler_reaches_it_through_the_batch_runners_client(
        quiet_pyabc) -> None:
    """``sim calibrate --scheduler`` asks the same bounded client as ``sim batch``: a closed port
    is its one-line error (the sampler once named a helper the runner no longer has)."""
    pytest.importorskip("distributed")
    import socket

    from sim.estimation.smc import sampler

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"), \
            sampler(None, address):
        pass


def test_abc_smc_recovers_a_gaussian_mean_and_resumes(tmp_path: Path, quiet_pyabc) -> None:
    from sim.estimation.budget import SmcSettings
    from sim.estimation.smc import final_particles, run_smc

    target = calibration_only(toy.toy_targets(TRUTH))[:1]          # level only
    simulator = toy_simulator(target)
    params = [toy.PARAMETERS[0]]
    settings = SmcSettings(population=150, generations=3, max_simulations=5000)
    history = run_smc(simulator, params, observed(target), tmp_path, settings, workers=1, seed=1)
    particles = final_particles(history)
    w = particles["weight"].to_numpy()
    mean = float(np.sum(w * particles["toy.level"]))
    sd = float(np.sqrt(np.sum(w * (particles["toy.level"] - mean) ** 2)))
    # known posterior (flat prior on [-5, 5]): N(data, 1 / REPEATS), sd 0.5
    assert mean == pytest.approx(target[0].data, abs=0.2)
    assert 0.35 < sd < 0.8
    # the watch on unsettled base years keeps the simulator's name in the history
    assert list(history.model_names()) == ["TargetSimulator"]
    more = run_smc(simulator, params, observed(target), tmp_path,
                   dataclasses.replace(settings, generations=4), workers=1, resume=True, seed=1)
    assert more.max_t == 3          # one more generation in the same database
    with pytest.raises(ConfigError, match="already has 4"):
        run_smc(simulator, params, observed(target), tmp_path, settings, workers=1, resume=True)


def test_a_seeded_fit_on_one_worker_is_the_same_fit(tmp_path: Path, quiet_pyabc) -> None:
    from sim.estimation.budget import SmcSettings
    from sim.estimation.smc import final_particles, run_smc

    target = calibration_only(toy.toy_targets(TRUTH))[:1]
    settings = SmcSettings(population=40, generations=2, max_simulations=2000)
    fits = []
    for run, seed in enumerate([5, 5, 6]):
        (tmp_path / str(run)).mkdir()
        history = run_smc(toy_simulator(target), [toy.PARAMETERS[0]], observed(target),
                          tmp_path / str(run), settings, workers=1, seed=seed)
        fits.append(final_particles(history))
    pd.testing.assert_frame_equal(fits[0], fits[1])
    assert not fits[0]["toy.level"].equals(fits[2]["toy.level"])


def test_default_sampler_is_multicore_and_one_worker_single_core(quiet_pyabc) -> None:
    import pyabc

    from sim.estimation.smc import sampler

    with sampler(2, None) as chosen:
        assert isinstance(chosen, pyabc.sampler.MulticoreEvalParallelSampler)
    with sampler(1, None) as chosen:
        assert isinstance(chosen, pyabc.sampler.SingleCoreSampler)


# --------------------------------------------------------------------------- the hold-out


def test_no_validation_target_enters_a_fit(tmp_path: Path, quiet_pyabc) -> None:
    """Screening, identifiability and ABC-SMC see only calibration targets; the validation
    target is simulated only for the posterior predictive, where it is marked."""
    from sim.estimation.budget import SmcSettings
    from sim.estimation.pipeline import calibrate, identify

    every = toy.toy_targets(TRUTH)
    fitted: set[str] = set()

    def recording(targets, overrides, seed, replicate, n_units=None):
        fitted.update(t.name for t in targets)
        return toy.toy_simulate_targets(targets, overrides, seed, replicate, n_units)

    with pytest.raises(ConfigError, match="held_out: expected only 'calibration'"):
        check_held_out(every)
    with pytest.raises(ConfigError, match="held out"):
        calibrate(toy_simulator(every), list(toy.PARAMETERS), every, tmp_path / "leak",
                  SmcSettings(population=20, generations=1))
    simulator = toy_simulator(simulate=recording)
    params = list(toy.PARAMETERS[:2])
    with cf.ThreadPoolExecutor(1) as pool:
        identify(simulator, params, 60, 10, 20, tmp_path / "ident", seed=1, executor=pool,
                 progress=False)
    posterior = calibrate(simulator, params, every, tmp_path / "fit",
                          SmcSettings(population=30, generations=2), predictive_draws=0,
                          workers=1)
    assert fitted == {"level", "trend"}
    assert {t["role"] for t in posterior.record["fitted_to"]} == {"calibration"}
    assert [t["name"] for t in posterior.record["fitted_to"]] == ["level", "trend"]


def test_sensitivity_targets_refuses_a_baseline_and_sobol(tmp_path: Path, capsys) -> None:
    from sim.cli import main

    base = str(Path(__file__).resolve().parent.parent / "scenarios" / "base.yaml")
    for extra, why in ((["--method", "morris", "--against", base], "expected no --against"),
                       (["--method", "sobol"], "expected --method morris")):
        status = main(["sensitivity", base, "--samples", "2", "--targets", *extra,
                       "--out", str(tmp_path / "s")])
        err = capsys.readouterr().err
        assert status == 2 and why in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_the_screen_simulates_the_calibration_targets_only() -> None:
    """``sim sensitivity --targets`` screens on the calibration targets: a validation target in
    the screen would choose what is estimated, so it would no longer be held out. The bundled
    targets file has both roles, so a screen on every target would fail here."""
    import argparse

    from sim.estimation.targets import load_calibration_targets
    from sim.sensitivity.cli import target_evaluator

    every = load_calibration_targets()
    calibration = [t.name for t in every if t.role == "calibration" and np.isfinite(t.data)]
    assert calibration and any(t.role == "validation" for t in every)
    args = argparse.Namespace(against=None, method="morris", units=300, targets=None,
                              overrides=[])
    evaluator, label = target_evaluator(args, seed=1)
    assert [t.name for t in evaluator.targets] == calibration == label["targets"]
    assert {t.role for t in evaluator.targets} == {"calibration"}


@pytest.mark.parametrize("command", ["calibrate", "identifiability"])
def test_a_dry_run_needs_no_output_folder_and_a_run_does(command, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(command, "--toy", "--dry-run")
    assert code == 0 and out.startswith("dry run (nothing written)") and not err
    code, out, err = cli(command, "--toy")
    assert code == 2 and err == ["error: --out: expected the output folder (only --dry-run needs "
                                 "none)"]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("which", [["--toy"], ["--params", "economy.attention_base"]])
def test_calibrate_refuses_when_the_identifiability_folder_identified_nothing(which, cli,
                                                                            tmp_path, monkeypatch):
    """``--identified DIR`` drops every parameter the check did not identify; when that is all
    of them there is nothing to estimate: one line, exit 2, no output folder (on the toy and on
    the model's priors alike; the refusal comes before any simulation)."""
    from sim.estimation.pipeline import chosen_keys

    monkeypatch.chdir(tmp_path)
    keys = ([p.key for p in toy.PARAMETERS] if which == ["--toy"] else which[1:])
    (tmp_path / "ident").mkdir()
    pd.DataFrame({"parameter": keys, "identified": False}).to_csv(
        tmp_path / "ident" / "identifiability.csv", index=False)
    code, out, err = cli("calibrate", *which, "--identified", "ident", "--out", "fit",
                         "--quiet", "--workers", "1")
    assert code == 2 and not out
    assert err == ["error: no parameter left to estimate (none kept, or none identified)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ident"]
    pd.DataFrame({"parameter": keys[:1], "identified": True}).to_csv(
        tmp_path / "ident" / "identifiability.csv", index=False)   # one identified: kept
    params = [Parameter(k, 0.0, 1.0) for k in keys]
    assert [p.key for p in chosen_keys(params, keys, None, tmp_path / "ident")] == keys[:1]


def test_identifiability_records_draws_on_a_base_year_not_at_rest(tmp_path: Path) -> None:
    import json

    from sim.estimation.pipeline import identify
    from sim.model import diagnostics

    def simulate(targets, overrides, seed, replicate, n_units=None):
        level = float(next(o for o in overrides if o.startswith("toy.level=")).split("=")[1])
        diagnostics.note_base_year(level < 0)         # "unsettled" where the level is >= 0
        return toy.toy_simulate_targets(targets, overrides, seed, replicate, n_units)

    params = list(toy.PARAMETERS[:2])
    with cf.ThreadPoolExecutor(1) as pool:
        identify(toy_simulator(simulate=simulate), params, 60, 10, 20, tmp_path / "i", seed=1,
                 executor=pool, progress=False)
    table = pd.read_csv(tmp_path / "i" / "reference.csv")
    expected = int((table["toy.level"] >= 0).sum())
    assert 0 < expected < 60
    assert json.loads((tmp_path / "i" / "run.json").read_text())["unsettled_draws"] == expected
    text = (tmp_path / "i" / "identifiability.md").read_text()
    assert f"Warning: {expected} of 60 draws ran on a base year" in text
