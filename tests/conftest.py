"""Shared fixtures: a folder of small scenario files for config, batch and CLI tests."""

from __future__ import annotations

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
