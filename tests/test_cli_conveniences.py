"""CLI conveniences: batch --steps, --set help, early checks of names and sizes, --dry-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
COORD, HOMOG = str(ROOT / "scenarios" / "coordinated.yaml"), str(ROOT / "scenarios" / "homogenised.yaml")
TINY = ("--set", "world.n_units=300")


class Done:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture
def sim(capsys, monkeypatch):
    """``sim ARGS...`` in this process (the CLI's one-line errors come back, not raised)."""
    def call(*args: str, cwd: Path) -> Done:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Done(code, out, err)
    return call


def test_every_set_option_has_help():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    with_set = {name: [a for a in parser._actions if "--set" in a.option_strings]
                for name, parser in sub.choices.items()}
    assert {"run", "validate", "batch", "sensitivity"} <= {n for n, a in with_set.items() if a}
    for name, actions in with_set.items():
        for action in actions:
            assert action.help and "dotted key" in action.help, name


@pytest.mark.parametrize("steps", ["-1", "401"])
def test_batch_steps_is_bounded_like_the_schema(sim, tmp_path, steps):
    done = sim("batch", HOMOG, "--steps", steps, "--out", "b", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: --steps: expected an integer from 0 to 400 (got {steps})\n"
    assert not (tmp_path / "b").exists()


def test_sobol_samples_not_a_power_of_two_refused_before_any_work(sim, tmp_path):
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "design.json").write_text("{}")     # a folder check would complain
    done = sim("sensitivity", COORD, "--method", "sobol", "--samples", "3", "--out", "study",
               cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert "--samples: expected a power of 2 for --method sobol (got 3; try 2 or 4)" in done.stderr
    assert "Sobol' sequence" in done.stderr


def test_compare_checks_the_baseline_name_before_the_folders(sim, tmp_path):
    batch = tmp_path / "b"
    (batch / "report").mkdir(parents=True)
    (batch / "report" / "report.md").write_text("an earlier report")
    (batch / "manifest.csv").write_text("run,scenario,replicate,status\n"
                                        "coordinated/r00,coordinated,0,ok\n"
                                        "homogenised/r00,homogenised,0,ok\n")
    done = sim("compare", "b", "--baseline", "coordinatd", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == ("sim compare: --baseline coordinatd: unknown scenario name (expected "
                           "one of the batch's scenarios: coordinated, homogenised)\n")


def test_batch_dry_run_counts_runs_and_writes_nothing(sim, tmp_path):
    done = sim("batch", HOMOG, COORD, "--replicates", "2", "--steps", "1", *TINY,
               "--workers", "2", "--dry-run", "--out", "b", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dry run (nothing written): 4 run(s); one pilot run took ")
    assert "on 2 worker(s)" in done.stdout and "pilot homogenised/r00" in done.stdout
    assert not (tmp_path / "b").exists()


def test_sensitivity_dry_run_counts_model_runs(sim, tmp_path):
    done = sim("sensitivity", COORD, "--against", HOMOG, "--method", "morris", "--samples", "2",
               "--params", "economy.tax_rate,competition.damping", *TINY, "--set", "steps=1",
               "--dry-run", "--out", "study", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # Morris: 2 trajectories x (2 parameters + 1) points, each run twice (scenario, baseline)
    assert done.stdout.startswith("dry run (nothing written): morris over 2 parameters, "
                                  "12 model runs as 6 point(s); one pilot point took ")
    assert not (tmp_path / "study").exists()
