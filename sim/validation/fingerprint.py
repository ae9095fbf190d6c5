"""What a `sim evidence` result was computed from: the model's code and the data, as hashes.

Light on purpose (no model import), so the analysis can tell whether an evidence file belongs to
the model and data of a batch it compares.
"""

from __future__ import annotations

import hashlib

from sim.paths import PACKAGE_DIR, SCENARIO_DIR

PACKAGE = PACKAGE_DIR
#: The code and files that decide a run's results (rules, model, scenario schema, the targets'
#: runs) and the bundled scenario files.
MODEL_PARTS = ("rules", "model", "config", "validation")
SCENARIOS = SCENARIO_DIR


def code_hash() -> str:
    """SHA-256 (first 16 hex digits) over the model's source files and the bundled scenarios."""
    digest = hashlib.sha256()
    files = [p for part in MODEL_PARTS for p in sorted((PACKAGE / part).glob("*.py"))]
    files += sorted(SCENARIOS.glob("*.yaml")) if SCENARIOS.is_dir() else []
    for path in files:
        digest.update(path.relative_to(PACKAGE.parent).as_posix().encode() + b"\0"
                      + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
