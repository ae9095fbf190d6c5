"""Every notebook executes headless at a tiny size; every plotting cell shows an image and the
closing interpretation is computed from the run (it states numbers)."""

import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (dev extra)")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
_spec = importlib.util.spec_from_file_location("notebook_execute", NOTEBOOK_DIR / "execute.py")
execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute)
NOTEBOOKS = [NOTEBOOK_DIR / f"{name}.ipynb" for name in execute.NAMES]
#: Per cell, far above a tiny cell's seconds: only a hang guard, never a pass/fail on speed.
CELL_TIMEOUT = 1200


def tagged(notebook, tag: str) -> list:
    return [c for c in notebook.cells if tag in c.metadata.get("tags", [])]


def test_notebooks_found():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(execute.NAMES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_committed_clean(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "?" in first.source.splitlines()[0], \
        "a notebook opens with the question it answers"
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in notebook.cells if c.cell_type == "code"), "commit notebooks cleared"
    execute.parameters_index(notebook)
    plots = tagged(notebook, "plot")
    assert plots and all(c.cell_type == "code" for c in plots), "tag each plotting cell 'plot'"
    last = notebook.cells[-1]
    assert last.cell_type == "code" and "interpretation" in last.metadata.get("tags", []), \
        "a notebook ends with a code cell tagged 'interpretation'"
    for size in execute.SIZES.values():  # every size names exactly the cell's parameters
        execute.set_parameters(nbformat.read(path, as_version=4), size[path.stem])


def test_set_parameters_refuses_a_size_missing_a_name():
    notebook = nbformat.read(NOTEBOOKS[0], as_version=4)
    with pytest.raises(ValueError, match="parameters"):
        execute.set_parameters(notebook, {"N_UNITS": 300})


def outputs(cell) -> list:
    shown = ("display_data", "execute_result")
    return [o for o in cell.get("outputs", []) if o.output_type in shown]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_small_and_shows_its_plots(path, tmp_path, request):
    if path.stem == "05-robustness":   # its study, run and checked once (test_sensitivity.py):
        made = request.getfixturevalue("tiny_morris")   # the notebook resumes it
        shutil.copytree(made / "robustness", tmp_path / "robustness", symlinks=True)
    notebook = execute.execute(path.stem, "tiny", tmp_path, timeout=CELL_TIMEOUT)
    for cell in tagged(notebook, "plot"):
        assert any("image/png" in o.data for o in outputs(cell)), \
            f"plotting cell shows no image:\n{cell.source}"
    for cell in notebook.cells:  # a figure that printed its repr instead of rendering
        for out in outputs(cell):
            text = out.data.get("text/plain", "")
            assert not text.startswith("<Figure") or "image/png" in out.data, \
                f"a figure did not render:\n{cell.source}"
    shown = [o.data["text/markdown"] for o in outputs(notebook.cells[-1])
             if "text/markdown" in o.data]
    assert shown and re.search(r"\d", shown[0]), "the interpretation states no numbers"
