"""Every bundled scenario, rule, metric and uncertain parameter has a display name in English
and in Chinese, and the table names nothing that no longer exists (so a Chinese report never
falls back to English code names)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sim.analysis import i18n, registry, stats
from sim.config import load_scenario
from sim.config.schema import Switches
from sim.paths import SCENARIO_DIR, bundled_scenarios

TABLE = pd.read_csv(i18n.DATA_DIR / "display_names.csv", dtype=str, keep_default_na=False)
HAN = re.compile(r"[\u4e00-\u9fff]")


def names(kind: str) -> dict[str, tuple[str, str]]:
    rows = TABLE[TABLE["kind"] == kind]
    return {r.code: (r.en, r.zh) for r in rows.itertuples()}


def test_codes_are_unique_and_both_languages_are_filled():
    assert not TABLE.duplicated(["kind", "code"]).any()
    assert (TABLE["en"].str.strip() != "").all() and (TABLE["zh"].str.strip() != "").all()
    assert TABLE["zh"].map(lambda z: bool(HAN.search(z))).all()        # really Chinese
    assert not TABLE["en"].map(lambda e: bool(HAN.search(e))).any()


def test_every_bundled_scenario_has_both_languages_and_no_stale_row_remains():
    scenarios = names("scenario")
    assert set(bundled_scenarios()) == set(scenarios)      # none missing, none stale
    for name in bundled_scenarios():
        assert i18n.scenario_label(name, "zh") == scenarios[name][1]
        assert HAN.search(i18n.scenario_description(name, "", "zh"))


def test_every_rule_has_both_languages():
    rules = set(Switches.model_fields)                      # the seven switches
    rules |= {switch for _, _, switch, _ in stats.ablation_pairs(bundled_scenarios())}
    assert "enclave_and_sharing" in rules                   # an ablation's rule, not a switch
    switches = names("switch")
    assert rules == set(switches)
    for rule in rules:
        assert HAN.search(i18n.switch_label(rule, "zh")) and i18n.switch_label(rule) != rule


def test_every_metric_has_both_languages():
    for metric in registry.CIRCLE + registry.CITY:
        assert metric.en and HAN.search(metric.zh)


def test_every_uncertain_parameter_has_both_languages():
    uncertain = load_scenario(SCENARIO_DIR / "base.yaml").uncertain
    parameters = names("parameter")
    assert set(uncertain) == set(parameters)                # none missing, none stale
    for key in uncertain:
        assert HAN.search(i18n.display_name("parameter", key, "zh"))


def test_a_report_modules_text_is_looked_up_strictly() -> None:
    table = {"title": ("Who paid whom", "谁付给谁")}
    assert i18n.text_of(table, "title", "en") == "Who paid whom"
    assert i18n.text_of(table, "title", "zh") == "谁付给谁"
    with pytest.raises(KeyError):
        i18n.text_of(table, "missing", "en")
    with pytest.raises(ValueError, match="language must be one of"):
        i18n.text_of(table, "title", "fr")
