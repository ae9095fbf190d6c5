"""`sim compare` states the fit to history from the latest `sim evidence` output for the same
package version, model code and data, or says that none was run."""

import json
from pathlib import Path

import pytest

from sim.analysis.cli import register
from sim.analysis.evidence_summary import mismatch, report_blocks
from sim.validation.fingerprint import code_hash

BATCH = {"version": "0.1.0", "scenarios": {"a": {"data_hash": "D"}, "b": {"data_hash": "D"}}}


def evidence_record(**change) -> dict:
    """A `sim evidence` record (evidence.json) for this model code, with ``change`` applied."""
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
    _write(tmp_path / "evidence", evidence_record())
    kind, items = report_blocks(tmp_path / "batch", None, BATCH)[1]
    assert kind == "ul"
    assert items[0].startswith("**2 of 3 empirical targets with data are hit** "
                               "(1/1 calibration, 1/2 validation); 1 without data")
    assert items[1] == "Missed: c." and items[2] == "No data: d."


def test_the_latest_matching_record_wins_and_others_are_named_stale(tmp_path):
    _write(tmp_path / "batch" / "evidence", evidence_record(created="2026-01-01", miss=[]))
    _write(tmp_path / "evidence", evidence_record(created="2026-12-31"))
    assert "Missed: c." in report_blocks(tmp_path / "batch", None, BATCH)[1][1]
    stale = _write(tmp_path / "old", evidence_record(code_hash="0" * 16))
    kind, text = report_blocks(tmp_path / "batch", stale, BATCH)[1]
    assert kind == "warning" and "does not belong to this batch (model code 0000" in text


@pytest.mark.parametrize("change, why", [({"version": "0.0.9"}, "package version 0.0.9"),
                                         ({"data_hash": "E"}, "other data")])
def test_mismatch_names_the_reason(change, why):
    assert mismatch(evidence_record(**change), BATCH, code_hash()).startswith(why)
    assert mismatch(evidence_record(), BATCH, code_hash()) == ""


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


# The report's place for the fit to history, on a real batch with a record beside it, is tested
# on test_report.py's batch (test_compare_states_the_fit_near_the_top_of_the_report), whose
# one `sim compare` serves every report test.


def test_the_fit_is_checked_against_the_code_that_made_the_runs():
    """A batch records its model code's hash: a scoreboard of the reporting code does not
    belong to runs of other code, and one of the runs' code does even when the reporting code
    has moved on."""
    record = evidence_record()
    older_runs = {**BATCH, "code_hash": "0" * 16}
    assert mismatch(record, older_runs, code_hash()) == (
        f"model code {code_hash()} against {'0' * 16}")
    assert mismatch(evidence_record(code_hash="0" * 16), older_runs, code_hash()) == ""
    assert mismatch(record, {**BATCH, "code_hash": code_hash()}, "f" * 16) == ""


def test_a_batch_without_its_codes_hash_says_the_runs_code_is_unknown(tmp_path):
    """Batches begun before batches recorded their model code: the scoreboard of today's code is
    shown, with the warning that it may be of another model than the runs'."""
    _write(tmp_path / "evidence", evidence_record())
    items = report_blocks(tmp_path / "batch", None, BATCH)[1][1]
    assert items[-1].startswith("This batch does not record the model code") and code_hash() \
        in items[-1]
    stamped = {**BATCH, "code_hash": code_hash()}
    items = report_blocks(tmp_path / "batch", None, stamped)[1][1]
    assert not any("does not record the model code" in item for item in items)
    assert "本批次未记录" in report_blocks(tmp_path / "batch", None, BATCH, "zh")[1][1][-1]
