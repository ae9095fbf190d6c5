"""Posterior draws in use: draw r is fixed by the posterior and r, replicate r of every scenario
runs at it (paired), a batch with two posteriors is refused, P(better) and its interval by hand,
and the commands in a subprocess (``sim calibrate --toy``, ``sim batch --posterior``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.posterior_headline import jeffreys_interval, probability_better
from sim.config.loader import ConfigError
from sim.config.sweeps import expand_runs
from sim.estimation.assign import batch_posterior, with_posterior
from sim.estimation.posterior import load_posterior, override_sets, write_posterior

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
KEYS = ("economy.attention_base", "competition.homogenisation")


def posterior_folder(folder: Path, weights=(1.0, 1.0, 2.0), seed: int = 7) -> Path:
    frame = pd.DataFrame({KEYS[0]: [0.3, 0.6, 0.8], KEYS[1]: [0.1, 0.5, 0.9],
                          "weight": list(weights)})
    return write_posterior(folder, frame, {"draw_seed": seed})


def test_draw_r_is_fixed_by_seed_and_r_and_follows_the_weights(tmp_path: Path) -> None:
    posterior = load_posterior(posterior_folder(tmp_path / "p", weights=(0.2, 0.0, 0.8)))
    assert posterior.draw(5) == load_posterior(tmp_path / "p").draw(5)
    assert posterior.draws(3).loc[2].to_dict() == posterior.draw(2)
    picks = pd.Series([posterior.draw(r)[KEYS[0]] for r in range(2000)]).value_counts(
        normalize=True)
    assert 0.6 not in picks.index                      # weight 0 is never drawn
    assert picks[0.8] == pytest.approx(0.8, abs=0.03)
    other = load_posterior(posterior_folder(tmp_path / "q", weights=(0.2, 0.0, 0.8), seed=8))
    assert [other.draw(r) for r in range(20)] != [posterior.draw(r) for r in range(20)]
    assert override_sets(tmp_path / "p", 2)[1] == [f"{k}={v!r}" for k, v in
                                                   posterior.draw(1).items()]


def test_a_folder_that_is_not_a_posterior_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a folder written by sim calibrate"):
        load_posterior(tmp_path)
    bad = posterior_folder(tmp_path / "bad")
    pd.DataFrame({KEYS[0]: [0.3], "weight": [np.nan]}).to_parquet(bad / "posterior.parquet")
    with pytest.raises(ConfigError, match="all finite"):
        load_posterior(bad)


def test_replicate_r_of_every_scenario_runs_at_draw_r(tmp_path: Path) -> None:
    folder = posterior_folder(tmp_path / "p")
    files = [SCENARIOS / "homogenised.yaml", SCENARIOS / "coordinated.yaml"]
    plain = expand_runs(files, ["world.n_units=200"], replicates=4)
    runs = with_posterior(plain, batch_posterior(plain, folder))
    posterior = load_posterior(folder)
    for before, spec in zip(plain, runs):
        draw = posterior.draw(spec.replicate)
        assert spec.config["economy"]["attention_base"] == draw[KEYS[0]]
        assert spec.config["competition"]["homogenisation"] == draw[KEYS[1]]
        assert spec.config["posterior"] == str(folder.resolve())
        assert (spec.name, spec.seed, spec.replicate) == (before.name, before.seed,
                                                           before.replicate)
    assert with_posterior(plain, batch_posterior(plain, None)) == plain


def test_a_batch_with_two_posteriors_or_one_unnamed_is_refused(tmp_path: Path) -> None:
    posterior_folder(tmp_path / "a")
    posterior_folder(tmp_path / "b")
    for i, name in enumerate(("a", "b")):
        (tmp_path / f"s{i}.yaml").write_text(
            f"extends: {SCENARIOS / 'homogenised.yaml'}\nname: s{i}\nposterior: {name}\n")
    (tmp_path / "plain.yaml").write_text(f"extends: {SCENARIOS / 'coordinated.yaml'}\n")
    runs = expand_runs([tmp_path / "s0.yaml"], replicates=1)
    assert runs[0].config["posterior"] == str((tmp_path / "a").resolve())  # relative to the file
    assert batch_posterior(runs, None) == (tmp_path / "a").resolve()
    for other in ("s1.yaml", "plain.yaml"):
        pair = expand_runs([tmp_path / "s0.yaml", tmp_path / other], replicates=1)
        with pytest.raises(ConfigError, match="the same posterior in every scenario"):
            batch_posterior(pair, None)


def test_probability_better_and_its_jeffreys_interval_by_hand() -> None:
    pairs = pd.DataFrame({"scenario": "c", "measure": "last", "replicate": range(4),
                          "metric": "welfare", "diff": [1.0, -1.0, 2.0, 3.0]})
    lower = pairs.assign(metric="subsidy_total", measure="last")     # not a headline measure
    row = probability_better(pd.concat([pairs, lower])).iloc[0]
    assert (row["metric"], row["n"], row["better"], row["p_better"]) == ("welfare", 4, 3, 0.75)
    assert (row["p_low"], row["p_high"]) == jeffreys_interval(3, 4)
    assert jeffreys_interval(0, 10)[0] == 0.0 and jeffreys_interval(10, 10)[1] == 1.0
    low, high = jeffreys_interval(5, 10)                 # Beta(5.5, 5.5) is symmetric
    assert low + high == pytest.approx(1.0) and 0.2 < low < 0.3


def test_the_report_section_states_p_better_and_where_the_sign_flips(tmp_path: Path) -> None:
    from sim.analysis.posterior_headline import posterior_blocks

    folder = posterior_folder(tmp_path / "p", weights=(1.0, 1.0, 1.0))
    draws = load_posterior(folder).draws(8)
    rows = []
    for r in range(8):
        gain = 1.0 if draws.loc[r, KEYS[0]] > 0.5 else -1.0    # better only where attention > 0.5
        for scenario, welfare in (("homogenised", 100.0), ("coordinated", 100.0 + gain)):
            for step in (0, 1):
                rows.append({"run": f"{scenario}/r{r}", "scenario": scenario, "replicate": r,
                             "step": step, "welfare": welfare, "gdp_total": 500.0 + step})
    circle = pd.DataFrame(rows)
    configs = {"homogenised": {"posterior": str(folder)}, "coordinated": {"posterior": str(folder)}}
    blocks = posterior_blocks(circle, configs, "homogenised", ["coordinated"])
    table = blocks[2][1].set_index(["measure", "metric"])
    better = int((draws[KEYS[0]] > 0.5).sum())
    assert table.loc[("last", "welfare"), "better"] == f"{better} of 8"
    assert KEYS[0] in table.loc[("last", "welfare"), "where_not_better"]
    assert table.loc[("last", "gdp_total"), "where_not_better"].startswith("everywhere")
    assert posterior_blocks(circle, {"homogenised": {}, "coordinated": {}}, "homogenised",
                            ["coordinated"]) == []


def sim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_cli_calibrate_toy_and_batch_under_a_posterior(tmp_path: Path) -> None:
    pytest.importorskip("pyabc")
    done = sim("calibrate", "--toy", "--population", "40", "--generations", "2",
               "--predictive", "4", "--workers", "1", "--quiet", "--out", "fit", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fit = tmp_path / "fit"
    for name in ("posterior.parquet", "posterior.json", "marginals.png", "pairs.png",
                 "predictive.csv", "predictive.png", "calibration.md", "history.db"):
        assert (fit / name).is_file(), name
    record = json.loads((fit / "posterior.json").read_text())
    assert [t["name"] for t in record["fitted_to"]] == ["level", "trend"]
    table = pd.read_csv(fit / "predictive.csv").set_index("target")
    assert table.loc["held_out", "role"] == "validation" and table["draws"].eq(4).all()
    missing = sim("batch", str(SCENARIOS / "homogenised.yaml"), "--posterior", "nowhere",
                  "--out", "b", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "expected a folder written by sim calibrate" in missing.stderr
    assert not (tmp_path / "b").exists()


def test_cli_batch_runs_replicate_r_of_every_scenario_at_draw_r(tmp_path: Path) -> None:
    """``sim batch A B --posterior DIR`` in a subprocess on a tiny model: each replicate runs at
    its own draw (r0 and r1 differ here) and both scenarios' replicate r at the same one."""
    import yaml

    folder = posterior_folder(tmp_path / "p")
    draws = [load_posterior(folder).draw(r) for r in range(2)]
    assert draws[0] != draws[1]                      # else the test could not see a mix-up
    done = sim("batch", "homogenised", "coordinated", "--posterior", "p", "--replicates", "2",
               "--set", "world.n_units=300", "--set", "steps=2", "--workers", "1", "--out", "b",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for scenario in ("homogenised", "coordinated"):
        for r, draw in enumerate(draws):
            run = tmp_path / "b" / "runs" / f"{scenario}__r{r:02d}"
            config = yaml.safe_load((run / "config.yaml").read_text())
            got = {key: config[key.split(".")[0]][key.split(".")[1]] for key in KEYS}
            assert got == draw, (scenario, r)
            assert Path(config["posterior"]) == folder.resolve()
            assert len(pd.read_parquet(run / "circle.parquet")) > 0


def test_evidence_runs_replicate_r_at_draw_r(tmp_path: Path, monkeypatch) -> None:
    from sim.validation import evidence

    seen = []
    monkeypatch.setattr(evidence, "simulate_targets",
                        lambda targets, overrides, seed, r, n: seen.append((r, overrides)) or {})
    draws = override_sets(posterior_folder(tmp_path / "p"), 3)
    evidence.realise([], 3, 1, ["world.n_units=200"], None, draws=draws)
    assert seen == [(r, ["world.n_units=200", *draws[r]]) for r in range(3)]


def test_a_prior_sample_is_independent_prior_draws_a_batch_reads_and_the_report_names(
        tmp_path: Path, cli, monkeypatch) -> None:
    """``sim prior-sample``: every draw inside its prior's range, fixed by the seed, equal
    weights, the record's kind ``prior``; the report then heads its section "over the priors"."""
    from sim.analysis.posterior_headline import posterior_blocks
    from sim.config.sweeps import load_scenario
    from sim.config.uncertain import parse_uncertain
    from sim.estimation.prior_sample import write_prior_sample

    monkeypatch.chdir(tmp_path)
    code, out, err = cli("prior-sample", "--draws", "400", "--out", "prior")
    assert code == 0 and "400 draws of" in out, err
    prior = load_posterior(tmp_path / "prior")
    params = parse_uncertain(load_scenario(SCENARIOS / "base.yaml").uncertain, "base.yaml")
    assert prior.keys == [p.key for p in params] and prior.record["kind"] == "prior"
    assert np.allclose(prior.frame["weight"], 1 / 400)
    for p in params:                           # uniform priors: inside, and spread over the range
        values = prior.frame[p.key]
        assert values.between(p.low, p.high).all()
        assert values.mean() == pytest.approx((p.low + p.high) / 2, abs=0.1 * (p.high - p.low))
    again = write_prior_sample(tmp_path / "again", SCENARIOS / "base.yaml", None, 400, 1)
    assert load_posterior(again.folder).frame.equals(prior.frame)
    assert again.frame.equals(prior.frame) and again.record == prior.record
    other = write_prior_sample(tmp_path / "other", SCENARIOS / "base.yaml", [KEYS[0]], 400, 2)
    assert load_posterior(other.folder).keys == [KEYS[0]]
    assert not np.allclose(load_posterior(other.folder).frame[KEYS[0]], prior.frame[KEYS[0]])
    assert cli("prior-sample", "--draws", "0", "--out", "none")[0] == 2
    assert cli("prior-sample", "--draws", "100001", "--out", "none")[0] == 2
    assert not (tmp_path / "none").exists()
    assert cli("prior-sample", "--draws", "3", "--out", "prior")[0] == 2      # never overwritten
    rows = [{"run": f"{s}/r{r}", "scenario": s, "replicate": r, "step": 0,
             "welfare": 100.0 + (r % 2) * (s == "coordinated"), "gdp_total": 500.0}
            for r in range(6) for s in ("homogenised", "coordinated")]
    configs = {s: {"posterior": str(tmp_path / "prior")} for s in ("homogenised", "coordinated")}
    blocks = posterior_blocks(pd.DataFrame(rows), configs, "homogenised", ["coordinated"])
    assert blocks[0] == ("h2", "The comparison over the priors")
    assert "not a posterior" in blocks[1][1]
    assert "draw r of the prior sample in prior" in blocks[2][1]
