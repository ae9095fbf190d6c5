"""`sim compare` on any batch shape: one line and exit 2 or a whole report, never half of one;
the report states its settings; agreements' uptake and ablations that changed nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import batch_here, shared_once

from sim.analysis import output, report
from sim.cli import main
from sim.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TINY = ["world.n_units=300", "steps=2"]


def batch(tmp_path_factory, name: str, scenarios: list[str], replicates: int) -> Path:
    files = [ROOT / "scenarios" / f"{s}.yaml" for s in scenarios]

    def build(folder: Path) -> None:
        done = batch_here(files, folder / "store", replicates=replicates, overrides=TINY)
        assert done.n_failed == 0, done.failed

    return shared_once(tmp_path_factory, name, build) / "store"


@pytest.fixture(scope="session")
def one_replicate(tmp_path_factory):
    return batch(tmp_path_factory, "one-replicate", ["homogenised", "coordinated",
                                                     "coordinated_without_park_within_park"], 1)


def test_a_batch_of_the_baseline_alone_is_one_line_and_exit_2(tmp_path_factory, tmp_path):
    store = batch(tmp_path_factory, "baseline-only", ["homogenised"], 1)
    done = subprocess.run([sys.executable, "-m", "sim", "compare", str(store), "--out",
                           str(tmp_path / "rep")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "sim compare: the batch holds only the baseline homogenised; a comparison needs at "
        "least one other scenario (add one to `sim batch`)"]
    assert not any(tmp_path.iterdir())                  # nothing written, not even a folder


def test_a_failure_while_writing_leaves_no_half_written_report(one_replicate, tmp_path,
                                                               monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("figure drawing failed")

    monkeypatch.setattr(report, "make_figures", broken)
    out = tmp_path / "rep"
    assert main(["compare", str(one_replicate), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError: figure drawing failed" in err[0]
    assert "nothing was written" in err[0]
    assert not out.exists() and not any(tmp_path.iterdir())     # no temporary folder left


def test_one_replicate_cannot_be_judged_and_a_do_nothing_ablation_is_flagged(one_replicate,
                                                                             tmp_path):
    out = tmp_path / "rep"
    report.build_report(one_replicate, out)
    text = (out / "report.md").read_text()
    lines = text.splitlines()
    assert lines[2].startswith("> **This batch is smaller or shorter than the model's default "
                               "(20,000 units, 20 quarters)")
    assert lines[4].startswith("> **Warning: one replicate per scenario. No difference can be "
                               "judged")
    assert "| Model size | 300 production units (default 20,000) |" in text
    assert "| Horizon | 2 quarters (0.5 years) from 2021Q1 (default 20) |" in text
    assert "| Replicates | 1 paired per scenario" in text and "| Root seed | 1 |" in text
    assert "[n/a, n/a]" not in text and "not distinguishable from zero (p" not in text
    assert "Cannot be judged (one replicate) on: Welfare (present value)" in text
    assert "(no interval)" in text
    # the only new branch is offered at step 4, after the horizon: the ablation is a copy (the
    # branches in force are the status quo of both)
    assert ("**Coordinated without park-within-park** is identical to **Coordinated "
            "co-construction** (up to rounding)") in text
    assert ("no park-within-park branch was offered under Coordinated co-construction within the "
            "horizon") in text
    assert "## Agreements offered, signed and declined" in text
    assert "| Homogenised competition: park-within-park branch (in force) | 2 | 0 | 0 | 0 |" in text
    assert "| Coordinated co-construction: enclave park (hypothetical) | 0 | 3 |" in text
    assert "### Who paid whom under the agreements" in text
    assert (out / output.REPORT_MARKER).is_file()


def fake_report(folder: Path, text: str) -> None:
    (folder / "figures").mkdir()
    for name in (n for n in output.OUTPUTS if n != "figures"):
        (folder / name).write_text(text)


def test_force_replaces_only_what_sim_compare_wrote(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "store").mkdir()                                 # a batch beside the report
    (out / "store" / "keep.txt").write_text("batch")
    with output.report_folder(out) as tmp:                  # into a non-empty folder
        fake_report(tmp, "first")
    assert (out / "report.html").read_text() == "first" and (out / output.REPORT_MARKER).exists()
    with pytest.raises(FileExistsError, match="already holds figures, summary.csv"):
        output.check_target(out)
    with output.report_folder(out, force=True) as tmp:
        fake_report(tmp, "second")
    assert (out / "report.md").read_text() == "second"
    assert (out / "store" / "keep.txt").read_text() == "batch"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [output.REPORT_MARKER, "store", *output.OUTPUTS])
    assert not [p for p in tmp_path.iterdir() if p.name != "demo"]   # no temporary folders


def test_force_refuses_a_report_it_did_not_write(tmp_path):
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "report.html").write_text("someone else's")
    with pytest.raises(ConfigError, match="no .sim-report marker"):
        output.check_target(out, force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        output.check_target(tmp_path / "file", force=True)
    os.symlink(out, tmp_path / "link")
    with pytest.raises(ConfigError, match="symbolic link"):
        output.check_target(tmp_path / "link", force=True)
    assert (out / "report.html").read_text() == "someone else's"
