"""`sim compare` states the fit to history from the latest `sim evidence` output for the same
package version, model code and data, or says that none was run."""

import json
from pathlib import Path

import pytest

from sim.analysis.cli import register
from sim.analysis.evidence_summary import mismatch, report_blocks
from sim.validation.fingerprint import code_hash

BATCH = {"version": "0.1.0", "scenarios": {"a": {"data_hash": "D"}, "b": {"data_hash": "D"}}}


def _record(**change) -> dict:
    return {"version": "0.1.0", "code_hash": code_hash(), "data_hash": "D",
            "created": "2026-12-06 05:47:23", "n_units": 20000, "replicates": 40,
            "hit": ["a", "b"], "miss": ["c"], "no_data": ["d"],
            "by_role": {"calibration": {"hit": 1, "miss": 0, "no data": 0},
                        "validation": {"hit": 1, "miss": 1, "no data": 1}}, **change}


def _write(folder: Path, record: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evidence.json").write_text(json.dumps(record))
    return folder


def test_no_evidence_says_that_none_was_run(tmp_path):
    blocks = report_blocks(tmp_path / "batch", None, BATCH)
    assert blocks[0] == ("h2", "Fit to history (sim evidence)")
    assert blocks[1][0] == "warning" and "No `sim evidence` output was found" in blocks[1][1]


def test_matching_evidence_beside_the_batch_is_summarised(tmp_path):
    _write(tmp_path / "evidence", _record())
    kind, items = report_blocks(tmp_path / "batch", None, BATCH)[1]
    assert kind == "ul"
    assert items[0].startswith("**2 of 3 empirical targets with data are hit** "
                               "(1/1 calibration, 1/2 validation); 1 without data")
    assert items[1] == "Missed: c." and items[2] == "No data: d."


def test_the_latest_matching_record_wins_and_others_are_named_stale(tmp_path):
    _write(tmp_path / "batch" / "evidence", _record(created="2026-01-01", miss=[]))
    _write(tmp_path / "evidence", _record(created="2026-12-31"))
    assert "Missed: c." in report_blocks(tmp_path / "batch", None, BATCH)[1][1]
    stale = _write(tmp_path / "old", _record(code_hash="0" * 16))
    kind, text = report_blocks(tmp_path / "batch", stale, BATCH)[1]
    assert kind == "warning" and "does not belong to this batch (model code 0000" in text


@pytest.mark.parametrize("change, why", [({"version": "0.0.9"}, "package version 0.0.9"),
                                         ({"data_hash": "E"}, "other data")])
def test_mismatch_names_the_reason(change, why):
    assert mismatch(_record(**change), BATCH, code_hash()).startswith(why)
    assert mismatch(_record(), BATCH, code_hash()) == ""


def test_cli_evidence_folder_without_a_record_is_one_line_exit_2(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register(sub)
    (tmp_path / "runs").mkdir()
    args = parser.parse_args(["compare", str(tmp_path), "--evidence", str(tmp_path / "none")])
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--evidence folder has no evidence.json" in err


@pytest.mark.slow
def test_compare_states_the_fit_near_the_top_of_the_report(tmp_path):
    """A tiny batch compared with an evidence record for this code and data beside it: the report
    gives the count before the executive summary (without a record the same place holds the
    warning of test_no_evidence_says_that_none_was_run)."""
    import argparse

    from sim.analysis.cli import run_compare
    from sim.experiments.runner import run_batch
    from sim.experiments.store import data_hash

    root = Path(__file__).resolve().parents[1]
    files = [root / "scenarios" / f"{n}.yaml" for n in ("homogenised", "coordinated")]
    run_batch(files, out_dir=tmp_path / "batch", replicates=2, workers=1, progress=False,
              overrides=["steps=2", "world.n_units=300"])
    _write(tmp_path / "evidence", _record(data_hash=data_hash(None)))
    args = argparse.Namespace(dir=tmp_path / "batch", baseline="homogenised",
                              out=tmp_path / "report", lang="en", boundaries=None,
                              discount_rate=0.05, sensitivity=None, evidence=None,
                              force=False)
    assert run_compare(args) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "**2 of 3 empirical targets with data are hit**" in text
    assert text.index("## Fit to history") < text.index("## Executive summary")
