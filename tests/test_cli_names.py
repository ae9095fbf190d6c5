"""What a new user types first: `sim --version`, bundled scenario names wherever a scenario file
goes, and dry runs that need no output folder (the CLI in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parents[1]
TINY = ("--set", "world.n_units=300", "--set", "steps=1")


def run_sim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_version_prints_the_package_version(tmp_path):
    done = run_sim("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"sim {sim.__version__}"


def test_bundled_names_are_accepted_wherever_a_file_is(tmp_path):
    # from a folder holding no scenario file, as after `pip install` elsewhere
    done = run_sim("validate", "coordinated", "homogenised_with_enclave_and_sharing", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": OK (") == 2
    done = run_sim("batch", "coordinated", "homogenised", "--dry-run", *TINY, cwd=tmp_path)
    assert done.returncode == 0 and "2 run(s)" in done.stdout, done.stderr
    assert not any(tmp_path.iterdir())                      # a dry run writes nothing
    done = run_sim("sensitivity", "coordinated", "--against", "homogenised", "--method",
                   "morris", "--samples", "2", "--params", "economy.tax_rate", "--dry-run",
                   *TINY, cwd=tmp_path)
    assert done.returncode == 0 and "8 model runs as 4 point(s)" in done.stdout, done.stderr
    assert not any(tmp_path.iterdir())


def test_an_unknown_name_is_one_line_naming_the_bundled_ones(tmp_path):
    done = run_sim("batch", "coordinatd", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert "coordinatd: file not found, and not a bundled scenario name" in done.stderr
    assert "coordinated, coordinated_without_enclave" in done.stderr


def test_sensitivity_without_out_is_one_line_unless_dry_run(tmp_path):
    done = run_sim("sensitivity", "coordinated", "--method", "morris", "--samples", "2",
                   cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --out: expected the study folder (only --dry-run " \
                                  "needs none)"
