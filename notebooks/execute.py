"""Execute the notebooks headless at a named size, e.g. the rendered copies in docs/notebooks.

``python notebooks/execute.py --out docs/notebooks`` (``make notebooks``) runs each notebook at
its own default size (the values in its ``parameters`` cell) in a scratch folder, so nothing is
written into the repository but the rendered copy, ``OUT/NAME.ipynb`` with its outputs.
``--size tiny`` replaces the ``parameters`` cell by the tiny values the test suite uses. No cell has a time limit unless
``--timeout`` is given: a slow machine makes a notebook slow, not wrong.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parent
NAMES = ("01-quickstart", "02-policy-comparison", "03-enclave-sharing", "04-investment-map",
         "05-robustness")
#: A rendered copy larger than this is refused (it is kept in the repository).
MAX_BYTES = 1_000_000
#: The tiny Morris screen: a float, a share and an integer key (rounded to whole years). The test
#: suite runs this study once by the CLI (tests/conftest.py::tiny_morris) and checks it there.
_SCREEN = "economy.tax_rate,competition.homogenisation,competition.subsidy_years"
#: Values replacing each notebook's `parameters` cell; every name the cell defines needs one.
SIZES: dict[str, dict[str, dict[str, object]]] = {
    # seconds per notebook, for the test suite: a tiny world, one quarter, two replicates,
    # in the kernel's own process (under pytest-xdist the cores are already busy; the pool path
    # is tested in tests/test_explore_pool.py and tests/test_batch.py)
    "tiny": {
        "01-quickstart": {"N_UNITS": 300, "STEPS": 1, "SEED": 1, "REPLICATES": 2, "WORKERS": 1},
        # two switches ablated (the map, and sharing whose "alone" scenario is a special case):
        # six scenarios, not sixteen; every bundled scenario runs in tests/test_golden.py
        "02-policy-comparison": {"N_UNITS": 300, "REPLICATES": 2, "STEPS": 1, "SEED": 1,
                                 "WORKERS": 1, "ABLATE": ["investment_map", "gdp_tax_sharing"]},
        "03-enclave-sharing": {"N_UNITS": 300, "REPLICATES": 2, "STEPS": 1,
                               "SHARES": [0.0, 0.5, 1.0], "SEED": 1, "WORKERS": 1},
        "04-investment-map": {"N_UNITS": 300, "REPLICATES": 2, "NOISE_LEVELS": [0.3],
                              "SEED": 1, "WORKERS": 1},
        "05-robustness": {"n_units": 300, "steps": 1, "trajectories": 2, "screen": _SCREEN,
                          "sobol_samples": 0, "sobol_top": 2, "workers": 1,
                          "out": "robustness"},
    },
}


def parameters_index(notebook: nbformat.NotebookNode) -> int:
    """The index of the one cell tagged ``parameters``."""
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"a notebook needs exactly one cell tagged 'parameters' (found {len(tagged)})")
    return tagged[0]


def parameter_names(source: str) -> list[str]:
    """Names assigned at the start of a line of a parameters cell (comments ignored)."""
    lines = [line.split("#")[0] for line in source.splitlines()]
    return [line.split("=")[0].strip() for line in lines if "=" in line and line[:1].strip()]


def set_parameters(notebook: nbformat.NotebookNode, values: dict[str, object]) -> None:
    """Replace the parameters cell by ``values``, which must name exactly the cell's names."""
    cell = notebook.cells[parameters_index(notebook)]
    names = parameter_names(cell.source)
    if sorted(names) != sorted(values):
        raise ValueError(f"parameters {sorted(names)} but size values for {sorted(values)}")
    cell.source = "\n".join(f"{name} = {values[name]!r}" for name in names)


def execute(name: str, size: str, workdir: str | os.PathLike,
            timeout: int | None = None) -> nbformat.NotebookNode:
    """Run notebook ``name`` at ``size`` (``"default"``: its own values) in ``workdir``; return it.

    Raises:
        nbclient.exceptions.CellExecutionError: naming the cell, when a cell raises.
    """
    import nbclient

    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    if size != "default":
        set_parameters(notebook, SIZES[size][name])
    client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                     record_timing=False,
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return notebook


def children_cpu() -> float:
    """CPU seconds (user + system) of finished child processes: the kernel and its pool workers.

    On a shared machine the wall time grows with the load; the CPU seconds do not, and CPU / 2 is
    the wall time on 2 idle cores when the work is spread over both.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python notebooks/execute.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(NAMES), metavar="NAME")
    parser.add_argument("--size", choices=["default", *SIZES], default="default")
    parser.add_argument("--out", type=Path, default=Path("docs/notebooks"))
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default none)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        print(f"execute.py: unknown notebook {unknown[0]!r} (expected one of {', '.join(NAMES)})",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        start, cpu = time.perf_counter(), children_cpu()
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as workdir:
            notebook = execute(name, args.size, workdir, args.timeout)
        text = nbformat.writes(notebook)
        if len(text.encode()) > MAX_BYTES:
            print(f"execute.py: {name}: rendered copy is {len(text.encode()):,} bytes "
                  f"(limit {MAX_BYTES:,})", file=sys.stderr)
            return 1
        target = args.out / f"{name}.ipynb"
        partial = target.with_suffix(".ipynb.tmp")
        partial.write_text(text)
        partial.replace(target)
        print(f"{target}: {time.perf_counter() - start:.0f} s wall, "
              f"{children_cpu() - cpu:.0f} s CPU (kernel and pool workers) at size {args.size}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
