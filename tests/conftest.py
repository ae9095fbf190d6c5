"""Shared fixtures: a folder of small scenario files for config, batch and CLI tests; a folder
built once per session across pytest-xdist workers; the order of tests on the workers."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: A complete, tiny scenario that needs no other file (the lead's base.yaml may not exist yet).
MINIMAL = """\
name: tiny
steps: 2
world:
  n_units: 2000
policies:
  enclave: {gdp_share_source: 0.5, tax_share_source: 0.5, park_retained_share: 0.0}
agreements:
  - kind: enclave
    source: Wuhan
    host: Ezhou
    land_km2: 5
"""


@pytest.fixture
def scenario_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding ``tiny.yaml``; file names in messages are relative to it."""
    (tmp_path / "tiny.yaml").write_text(MINIMAL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.fsync`` a no-op for one test that writes thousands of records in this process (a
    study's points, each written atomically: temporary file, then rename). The records are still
    written and renamed in place; the flush to disk, each a wait of a millisecond or more, only
    guards against a power cut, which no test observes."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def tree_snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple]:
    """Every path under ``root`` (not under a ``skip`` folder) with its kind, size and mtime."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        info = path.lstat()  # a folder's own mtime changes with its entries, compared anyway
        found[rel] = (info.st_mode,) if path.is_dir() and not path.is_symlink() else (
            info.st_mode, info.st_size, info.st_mtime_ns)
    return found


@pytest.fixture
def cli(capsys: pytest.CaptureFixture):
    """Run ``sim`` in-process: returns (exit code, stdout, stderr lines)."""
    from sim.cli import main

    def run(*args: str) -> tuple[int, str, list[str]]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err.splitlines()

    return run


def shared_once(tmp_path_factory: pytest.TempPathFactory, name: str, build) -> Path:
    """A folder ``build(folder)`` fills once per test session, also across pytest-xdist workers
    (the first worker builds it under a file lock, the others wait and reuse it), so a session
    fixture such as a small batch is not computed once per worker."""
    from filelock import FileLock

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent  # this session's folder, shared by its workers
    folder = root / f"shared-{name}"
    with FileLock(str(root / f"shared-{name}.lock")):
        if not (folder / ".done").is_file():
            folder.mkdir(exist_ok=True)
            build(folder)
            (folder / ".done").write_text("")
    return folder


def batch_here(files: list, out_dir: Path, **kwargs):
    """``run_batch`` on one thread of this process, for a fixture's batch: no spawned worker's
    start-up (a batch's tables do not depend on its executor, which test_batch.py checks)."""
    import concurrent.futures as cf

    from sim.experiments.runner import run_batch

    with cf.ThreadPoolExecutor(1) as thread:
        return run_batch(files, out_dir=out_dir, executor=thread, progress=False, **kwargs)


def two_scenario_batch(root: Path, other: str, folder: str, overrides: list[str]) -> Path:
    """A finished batch in ``root/folder``: ``tiny.yaml`` and the scenario ``other`` (YAML text,
    written as ``other.yaml``), two replicates each, run on two threads."""
    import concurrent.futures as cf

    from sim.experiments.runner import run_batch

    (root / "tiny.yaml").write_text(MINIMAL)
    (root / "other.yaml").write_text(other)
    with cf.ThreadPoolExecutor(2) as threads:
        run_batch([root / "tiny.yaml", root / "other.yaml"], root / folder, replicates=2,
                  executor=threads, overrides=overrides, progress=False)
    return root


def copy_of_batch(made: Path, scenario_dir: Path, folder: str) -> Path:
    """A test's own copy of :func:`two_scenario_batch`'s batch (and its second scenario file) in
    its working folder."""
    import shutil

    shutil.copy(made / "other.yaml", scenario_dir / "other.yaml")
    shutil.copytree(made / folder, scenario_dir / folder, symlinks=True)
    return scenario_dir / folder


def notebook_sizes(size: str = "tiny") -> dict[str, dict[str, object]]:
    """``notebooks/execute.py``'s parameter values at ``size``, per notebook."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "execute.py"
    spec = importlib.util.spec_from_file_location("notebook_execute", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SIZES[size]


@pytest.fixture(scope="session")
def tiny_morris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose ``robustness/morris`` is notebook 05's tiny Morris screen (coordinated
    against homogenised), run once per session by ``sim sensitivity`` in a subprocess with the
    notebook's own arguments: test_sensitivity.py checks the study, and notebook 05 finds it
    and resumes it (nothing left to run) instead of running it again. Read, never written."""
    from sim.paths import SCENARIO_DIR

    size = notebook_sizes()["05-robustness"]

    def build(folder: Path) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "sim", "sensitivity", str(SCENARIO_DIR / "coordinated.yaml"),
             "--against", str(SCENARIO_DIR / "homogenised.yaml"), "--method", "morris",
             "--samples", str(size["trajectories"]), "--set", f"world.n_units={size['n_units']}",
             "--set", f"steps={size['steps']}", "--workers", str(size["workers"]),
             "--params", size["screen"], "--out", str(folder / size["out"] / "morris")],
            capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr

    return shared_once(tmp_path_factory, "tiny-morris", build)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first (a stable sort, the same on every worker), so the longest
    end-to-end checks start at once and the workers finish together, not one waiting for a long
    test handed out last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
