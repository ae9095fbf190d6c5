"""The layering of docs/ARCHITECTURE.md, as import-linter contracts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

importlinter = pytest.importorskip("importlinter", reason="import-linter (dev extra) not installed")

ROOT = Path(__file__).resolve().parents[1]


def test_layering_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
