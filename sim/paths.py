"""Where the bundled files are, named once: the package, the repository checkout around it, the
data folder shipped inside the package and the scenario files of the checkout (``coordinated``
names ``scenarios/coordinated.yaml``).

Imports nothing from ``sim``, so every layer may read it.
"""

from __future__ import annotations

from pathlib import Path

#: The package folder (``sim/``).
PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository checkout holding the package (its git work tree when run from one).
REPOSITORY_DIR = PACKAGE_DIR.parent
#: The data folder a scenario reads when it sets no ``data_dir`` (``sim/data``).
DATA_DIR = PACKAGE_DIR / "data"
#: The scenario files bundled with the repository (``scenarios/``; ``base.yaml`` holds every
#: assumed number, the others extend it).
SCENARIO_DIR = REPOSITORY_DIR / "scenarios"


def bundled_scenarios() -> list[str]:
    """Names of the bundled scenario files (``scenarios/<name>.yaml``), ``base`` left out."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml") if p.stem != "base")
