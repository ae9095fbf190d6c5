"""The executive summary names the assumptions that flip the sign of the headline difference,
read from a sensitivity study's ``sign_ranges.csv`` (a tiny synthetic study)."""

import numpy as np
import pandas as pd
import pytest

from sim.analysis import executive
from sim.sensitivity.where_beats import sign_ranges_table


@pytest.fixture
def study(tmp_path):
    """Ten points of one parameter: welfare's difference changes sign at 0.5, the national one
    is positive everywhere; written as ``sim sensitivity`` writes it."""
    a = np.linspace(0.0, 0.9, 10)
    points = pd.DataFrame({"economy.attention_base": a})
    outputs = pd.DataFrame({"welfare.diff": a - 0.5, "welfare_national.diff": a + 1.0})
    sign_ranges_table(points, outputs).to_csv(tmp_path / "sign_ranges.csv", index=False)
    return tmp_path


def test_sign_sentence_names_the_flipping_assumption_and_its_ranges(study):
    ranges = executive.read_sign_ranges(study)
    text = executive.sign_sentence(ranges, "en")
    # 5 equal-count bins of 2 points (0–0.1, ..., 0.8–0.9): centres 0.05, 0.25, 0.45, 0.65, 0.85;
    # bin means of a − 0.5 are −0.45, −0.25, −0.05, +0.15, +0.35: the sign changes between 0.45
    # and 0.65, at 0.45 + 0.2 x 0.05 / 0.2 = 0.5
    assert ("Welfare: Attention to an unpromoted park (positive over 0.6–0.9, negative over 0–0.5, "
            "changes near 0.5)") in text
    assert "National welfare: no single assumption changes its sign over its range" in text
    assert "0.5" in executive.sign_sentence(ranges, "zh")


def test_items_gain_the_sign_bullet_only_when_the_study_has_the_file(study, tmp_path_factory):
    empty = tmp_path_factory.mktemp("old_study")
    assert executive.read_sign_ranges(empty) is None
    assert executive.read_sign_ranges(None) is None
    assert executive.sign_sentence(None, "en") == ""
    table = pd.DataFrame(columns=["section", "scenario", "metric", "measure"])
    without = executive.executive_items(table, "homogenised", [], 10, None, "en")
    with_ = executive.executive_items(table, "homogenised", [], 10, None, "en",
                                      executive.read_sign_ranges(study))
    assert len(with_) == len(without) + 1 and "Attention to an unpromoted park" in with_[-1]


def test_a_malformed_sign_ranges_file_is_named(tmp_path):
    (tmp_path / "sign_ranges.csv").write_text("metric,parameter\nwelfare,x\n")
    with pytest.raises(ValueError, match="sign_ranges.csv: expected columns"):
        executive.read_sign_ranges(tmp_path)
