"""The ``sim`` command in a subprocess: run, validate, batch; reproducing a batch run."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.model.tables import TABLES


def sim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_validate_reports_ok_per_file(scenario_dir: Path) -> None:
    (scenario_dir / "sw.yaml").write_text("extends: tiny.yaml\nname: sw\nreplicates: 3\nsweep:\n"
                                          "  grid: {competition.homogenisation: [0, 0.5, 1]}\n")
    done = sim("validate", "tiny.yaml", "sw.yaml", cwd=scenario_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "tiny.yaml: OK (tiny; 1 sweep point(s), 1 replicate(s))",
        "sw.yaml: OK (sw; 3 sweep point(s), 3 replicate(s))"]


@pytest.mark.slow
def test_run_writes_tables_and_config_and_refuses_to_overwrite(scenario_dir: Path) -> None:
    done = sim("run", "tiny.yaml", "--seed", "2", "--out", "one", cwd=scenario_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "tiny: seed 2, replicate 0, step 2"
    assert "Wuhan share of GDP" in done.stdout and "welfare" in done.stdout
    for name, columns in TABLES.items():
        assert list(pd.read_parquet(scenario_dir / "one" / f"{name}.parquet").columns) == \
            list(columns)
    config = yaml.safe_load((scenario_dir / "one" / "config.yaml").read_text())
    assert config["world"]["n_units"] == 2000 and config["steps"] == 2
    again = sim("run", "tiny.yaml", "--out", "one", cwd=scenario_dir)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert again.stderr.strip() == ("error: one: output folder exists and is not empty (pass "
                                    "--force to replace it or choose another --out)")
    forced = sim("run", "tiny.yaml", "--out", "one", "--force", "--steps", "1", cwd=scenario_dir)
    assert forced.returncode == 0, forced.stderr
    assert pd.read_parquet(scenario_dir / "one" / "circle.parquet")["step"].max() == 1
    assert sorted(p.name for p in scenario_dir.iterdir()) == ["one", "tiny.yaml"]


@pytest.mark.slow
def test_sim_run_reproduces_a_batch_run(scenario_dir: Path) -> None:
    (scenario_dir / "sw.yaml").write_text("extends: tiny.yaml\nname: sw\nsweep:\n"
                                          "  grid: {competition.homogenisation: [0.1, 0.9]}\n")
    batch = sim("batch", "sw.yaml", "--replicates", "3", "--seed", "6", "--workers", "1",
                "--out", "b", cwd=scenario_dir)
    assert batch.returncode == 0, batch.stderr
    assert "6 ok, 0 failed, 0 already done (of 6)" in batch.stdout
    single = sim("run", "sw.yaml", "--seed", "6", "--replicate", "2", "--set",
                 "competition.homogenisation=0.9", "--out", "single", cwd=scenario_dir)
    assert single.returncode == 0, single.stderr
    stored = scenario_dir / "b" / "runs" / "sw__competition.homogenisation=0.9__r02"
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(stored / f"{name}.parquet"),
                                      pd.read_parquet(scenario_dir / "single" / f"{name}.parquet"))


def test_batch_with_a_broken_data_folder_stops_before_any_run(scenario_dir: Path) -> None:
    (scenario_dir / "nodata").mkdir()
    for name in ("cities.csv", "sectors.csv"):
        source = Path(__file__).resolve().parent.parent / "sim" / "data" / name
        (scenario_dir / "nodata" / name).write_bytes(source.read_bytes())
    (scenario_dir / "bad.yaml").write_text("extends: tiny.yaml\nname: bad\ndata_dir: nodata\n")
    done = sim("batch", "bad.yaml", "--workers", "1", "--out", "b", cwd=scenario_dir)
    assert done.returncode == 2
    missing = ["sector_weights.csv", "segments.csv", "segment_links.csv", "sector_hotness.csv"]
    assert done.stderr.splitlines() == [f"error: bad.yaml:3: data_dir: nodata/{name}: expected "
                                        f"this data file (missing)" for name in missing]
    assert not (scenario_dir / "b").exists()


def test_batch_with_failed_runs_exits_1_and_lists_them(scenario_dir: Path, capsys,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.experiments.runner as runner
    from sim.cli import main

    summary = runner.BatchSummary(out_dir=Path("b"), n_ok=0, n_failed=1, wall_s=1.0,
                                failed=[("bad/r00", "FileNotFoundError: gone")], n_total=1)
    monkeypatch.setattr(runner, "run_batch", lambda *a, **k: summary)
    assert main(["batch", "tiny.yaml", "--out", "b"]) == 1
    out = capsys.readouterr().out
    assert "0 ok, 1 failed" in out
    assert "  FAILED bad/r00: FileNotFoundError: gone" in out
    lines = io.StringIO()
    runner.Progress(1, stream=lines).update("bad/r00", "failed", 0.1)
    assert lines.getvalue().startswith("bad/r00: failed")  # plain progress lines off a terminal
