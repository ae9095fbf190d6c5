"""Every notebook executes headless at a tiny size without a cell raising."""

from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (dev extra)")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01-quickstart", "02-policy-comparison", "03-enclave-sharing", "04-investment-map",
         "05-robustness")
NOTEBOOKS = [NOTEBOOK_DIR / f"{name}.ipynb" for name in NAMES]
#: Tiny sizes replacing each notebook's `parameters` cell (only names the notebook defines).
TINY = {"N_UNITS": 300, "REPLICATES": 2, "STEPS": 2, "SEED": 1, "SHARES": [0.0, 0.5, 1.0],
        "NOISE_LEVELS": [0.3],
        # 05-robustness: a two-trajectory Morris screen of a tiny world, no Sobol step
        "n_units": 300, "steps": 1, "trajectories": 2, "sobol_samples": 0, "sobol_top": 2,
        "workers": 1, "out": "robustness"}


def parameters_cell(notebook) -> int:
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "a notebook needs exactly one cell tagged 'parameters'"
    return tagged[0]


def tiny_source(source: str) -> str:
    names = [line.split("=")[0].strip() for line in source.splitlines() if "=" in line]
    unknown = [n for n in names if n not in TINY]
    assert not unknown, f"no tiny value for parameters {unknown}"
    return "\n".join(f"{name} = {TINY[name]!r}" for name in names)


def test_notebooks_found():
    missing = [p.name for p in NOTEBOOKS if not p.exists()]
    assert not missing, f"notebooks missing: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_committed_clean(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "?" in first.source.splitlines()[0], \
        "a notebook opens with the question it answers"
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in notebook.cells if c.cell_type == "code"), "commit notebooks cleared"
    parameters_cell(notebook)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_small(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    cell = notebook.cells[parameters_cell(notebook)]
    cell.source = tiny_source(cell.source)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell when any cell raises
