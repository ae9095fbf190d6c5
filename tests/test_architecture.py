"""The layering of docs/ARCHITECTURE.md: import-linter contracts and no import cycles."""

from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path

import pytest

importlinter = pytest.importorskip("importlinter", reason="import-linter (dev extra) not installed")
grimp = pytest.importorskip("grimp")

ROOT = Path(__file__).resolve().parents[1]


def test_layering_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _cycles(graph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative enough here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.find_modules_directly_imported_by(module) & modules):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def test_a_cycle_is_found_when_there_is_one() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="a")
    graph.add_import(importer="b", imported="c")
    assert _cycles(graph, {"a", "b", "c"}) == [["a", "b"]]


# ----------------------------------------------------------------------------- imports, read
def _modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file of every module of ``package`` under ``root`` (packages by their
    ``__init__``)."""
    base = root / package.replace(".", "/")
    out = {}
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, module: str, type_checking: bool,
             modules: set[str] | None = None) -> set[str]:
    """Every module ``module`` (in ``path``) imports, at the top, in functions and (with
    ``type_checking``) in ``if TYPE_CHECKING:`` blocks.

    ``from a import b`` names ``a.b`` when ``a.b`` is one of ``modules`` (a submodule: Python
    has loaded the package ``a`` before any of its modules, so that is no edge to ``a``'s face)
    and ``a`` otherwise (a name the face ``a`` defines); without ``modules`` it names both.
    """
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not type_checking:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            named = {f"{base}.{alias.name}" for alias in node.names}
            if modules is None:
                found.update({base} | named)
            else:
                found.update(name if name in modules else base for name in named)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(root: Path, package: str, type_checking: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports anywhere in its file (function-level
    imports included; ``if TYPE_CHECKING:`` blocks only with ``type_checking``)."""
    modules = _modules(root, package)
    names = set(modules)
    return {name: _imports(path, name, type_checking, names) & names
            for name, path in modules.items()}


class _Graph:
    """An import graph with grimp's one method the cycle search needs."""

    def __init__(self, edges: dict[str, set[str]]) -> None:
        self.edges = edges

    def find_modules_directly_imported_by(self, module: str) -> set[str]:
        return self.edges.get(module, set())


def test_no_import_cycle_anywhere_in_sim_function_level_imports_counted() -> None:
    """Every module of every sim package, the package faces (``__init__``) included: an import
    inside a function (a lazy import) closes a cycle as surely as one at the top."""
    edges = import_graph(ROOT, "sim")
    assert _cycles(_Graph(edges), set(edges)) == []


def test_no_cycle_through_the_subcommands_the_command_loads_by_name() -> None:
    """``sim.cli`` imports its plugins with importlib (no import statement shows it): counted as
    edges, they close no cycle (a plugin importing ``sim.cli`` would)."""
    from sim.cli import PLUGINS

    edges = import_graph(ROOT, "sim")
    edges["sim.cli"] = edges["sim.cli"] | set(PLUGINS)
    assert _cycles(_Graph(edges), set(edges)) == []


def test_the_cycle_check_counts_imports_inside_functions_and_not_type_hints(
        tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("VERSION = 1\n\ndef __getattr__(name):\n"
                                         "    from pkg import f\n    return f\n")
    (package / "a.py").write_text("import pkg.b\n")
    (package / "b.py").write_text("def f():\n    from pkg import a\n    return a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nimport pkg.a\n"
                                  "if TYPE_CHECKING:\n    from pkg.c import x\n")
    (package / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from pkg import e\n")
    (package / "e.py").write_text("from . import d\n")
    (package / "f.py").write_text("from pkg import VERSION\n")
    edges = import_graph(tmp_path, "pkg")
    # a submodule named in ``from pkg import a`` is an edge to it, a name of the face one to pkg
    assert edges["pkg.b"] == {"pkg.a"} and edges["pkg.e"] == {"pkg.d"}
    assert edges["pkg.f"] == {"pkg"} and edges["pkg"] == {"pkg.f"}
    assert _cycles(_Graph(edges), set(edges)) == [["pkg", "pkg.f"], ["pkg.a", "pkg.b"]]
    assert "pkg.e" in import_graph(tmp_path, "pkg", type_checking=True)["pkg.d"]


def unexplained_lazy_imports(path: Path, package: str = "sim") -> list[int]:
    """Lines of imports of ``package`` inside functions that no ``# lazy: <why>`` comment explains
    (on the import's own lines, or on the comment lines directly above its run of imports)."""
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    bad: list[int] = []

    def names(node: ast.stmt) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        if isinstance(node, ast.ImportFrom):
            return ["." if node.level else node.module or ""]
        return []

    def comments_above(node: ast.stmt) -> list[str]:
        above, row = [], node.lineno - 2
        while row >= 0 and lines[row].strip().startswith("#"):
            above.append(lines[row])
            row -= 1
        return above

    def explained(run: list[ast.stmt]) -> bool:
        node = run[-1]
        said = [lines[node.lineno - 1], *comments_above(node), *comments_above(run[0])]
        return any("# lazy:" in line for line in said)

    def check(body: list[ast.stmt]) -> None:
        run: list[ast.stmt] = []
        for node in [*body, None]:
            if node is not None and names(node):
                run.append(node)
                continue
            ours = [n for n in run if any(m == "." or m == package or
                                          m.startswith(package + ".") for m in names(n))]
            bad.extend(n.lineno for n in ours if not explained(run[:run.index(n) + 1]))
            run = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if in_function and isinstance(block, list):
                check([b for b in block if isinstance(b, ast.stmt)])
        for child in ast.iter_child_nodes(node):
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, False)
    return sorted(set(bad))


def test_every_import_inside_a_function_says_why_it_is_lazy() -> None:
    """A function-level import of sim is kept only where it keeps ``import sim`` or a command's
    start cheap (or a worker's start before its threads are pinned), and says so."""
    found = {str(path.relative_to(ROOT)): lines for path in sorted((ROOT / "sim").rglob("*.py"))
             if (lines := unexplained_lazy_imports(path))}
    assert found == {}


def test_the_lazy_import_check_reads_runs_of_imports_and_their_comments(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "import sim.a\n"
        "def f():\n"
        "    # lazy: loads the model only when f runs\n"
        "    from sim import b\n"
        "    import sim.c\n"
        "    import numpy\n"
        "    x = 1\n"
        "    import os\n"
        "    # lazy: below another import of its run\n"
        "    from sim import h\n"
        "    from sim.d import e\n"
        "    import json\n"
        "    if x:\n"
        "        from sim import f  # lazy: keeps import cheap\n"
        "    try:\n"
        "        from sim import g\n"
        "    except ImportError:\n"
        "        pass\n")
    assert unexplained_lazy_imports(path) == [11, 16]


def test_the_rules_import_nothing_from_sim_outside_the_rules_not_even_type_hints() -> None:
    for module, path in _modules(ROOT, "sim.rules").items():
        outside = {m for m in _imports(path, module, type_checking=True)
                   if (m == "sim" or m.startswith("sim.")) and not m.startswith("sim.rules")}
        assert not outside, f"{module} imports {sorted(outside)}"


def test_only_the_package_face_imports_the_model_class_and_no_type_hint_closes_a_cycle() -> None:
    for module, path in _modules(ROOT, "sim.model").items():
        if module in ("sim.model", "sim.model.circle"):
            continue
        imported = _imports(path, module, type_checking=True)
        assert "sim.model.circle" not in imported, module
        assert not {"sim.model.CircleModel", "sim.model.run_scenario"} & imported, module
        hinted = _imports(path, module, True) - _imports(path, module, False)
        assert not {m for m in hinted if m.startswith("sim.")}, (module, hinted)


# ----------------------------------------------------------------------------- small numbers
def small_number_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every number written as ``1e-N`` (any mantissa, ``e`` or ``E``) in the
    code of ``path``; comments and strings are not code."""
    with path.open("rb") as source:
        return [(token.start[0], token.string) for token in tokenize.tokenize(source.readline)
                if token.type == tokenize.NUMBER and re.search(r"[eE]-", token.string)]


def test_every_small_number_is_a_named_constant_of_the_rules_constants() -> None:
    """A tolerance, floor or slack written as ``1e-N`` lives in sim/rules/constants.py with a
    line that says what it means (issue 26: one fact, one place); nowhere else in sim/."""
    constants = ROOT / "sim" / "rules" / "constants.py"
    written = {str(path.relative_to(ROOT)): found
               for path in sorted((ROOT / "sim").rglob("*.py")) if path != constants
               and (found := small_number_literals(path))}
    assert written == {}
    assert small_number_literals(constants)


def test_the_small_number_check_reads_code_not_comments_or_strings(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text('A = 1e-9  # not 1e-3\nB = "2e-5"\nC = max(x, 1.5E-300)\nD = 1e5 + 0.001\n'
                    'def f(tol: float = 1e-6):\n    """Within 1e-12."""\n')
    assert small_number_literals(path) == [(1, "1e-9"), (3, "1.5E-300"), (5, "1e-6")]


# ----------------------------------------------------------------------------- the tree
def tree_entries(text: str) -> dict[str, dict[str, str]]:
    """Folder (``sim``, ``sim/model``, ...) -> module file -> the one line that describes it in
    docs/ARCHITECTURE.md's tree ("" when the line has none).

    A line of the tree names its files in its first column (before two spaces): ``name.py``,
    several as ``a.py, b.py`` (they share the line's description); a folder line ``model/``
    opens a folder one level below the folder of the line above it with less indentation.
    """
    block = text.split("## The tree", 1)[1].split("```", 2)[1]
    folders: list[tuple[int, str]] = []
    found: dict[str, dict[str, str]] = {}
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        first, *rest = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        while folders and folders[-1][0] >= indent:
            folders.pop()
        if first.endswith("/"):
            parent = folders[-1][1] + "/" if folders else ""
            folders.append((indent, parent + first.rstrip("/")))
            continue
        if folders:
            names = [n.strip() for n in first.split(",") if re.fullmatch(r"\w+\.py", n.strip())]
            described = rest[0].strip() if rest else ""
            found.setdefault(folders[-1][1], {}).update(dict.fromkeys(names, described))
    return found


def test_the_architecture_tree_lists_every_module_of_sim_with_its_one_line() -> None:
    listed = tree_entries((ROOT / "docs" / "ARCHITECTURE.md").read_text())
    for folder in sorted({p.parent for p in (ROOT / "sim").rglob("*.py")}):
        name = folder.relative_to(ROOT).as_posix()
        files = {p.name for p in folder.glob("*.py")}
        if name != "sim":
            files.discard("__init__.py")
        in_tree = listed.get(name, {})
        assert set(in_tree) == files, (name, sorted(files ^ set(in_tree)))
        undescribed = sorted(f for f, line in in_tree.items() if not re.search(r"\w", line))
        assert not undescribed, (name, "listed without a line that says what it holds",
                                 undescribed)


def test_the_tree_reader_finds_files_by_folder_with_their_lines() -> None:
    text = "## The tree\n\n```\nsim/\n  a.py, b.py     two\n  sub/           a folder\n" \
           "    c.py         one\n                 more words d.py\n  e.py           back\n" \
           "  f.py\n```\n"
    assert tree_entries(text) == {"sim": {"a.py": "two", "b.py": "two", "e.py": "back",
                                          "f.py": ""},
                                  "sim/sub": {"c.py": "one"}}


def headline_lists(path: Path, headline: tuple[str, ...]) -> list[int]:
    """Lines of literal tuples, lists, sets or dicts of three or more strings, all of them headline
    metrics: a headline list written out again instead of derived from the metric registry (a
    catalogue of every column or metric names others too, and is not one)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) and items:
            names = [item.value for item in items
                     if isinstance(item, ast.Constant) and isinstance(item.value, str)]
            if len(names) >= 3 and set(names) <= set(headline):
                found.append(node.lineno)
    return found


def test_the_headline_metrics_are_declared_once_and_every_list_derives_from_them() -> None:
    from sim.analysis import registry, welfare_sources
    from sim.api import OUTCOMES
    from sim.experiments import demo
    from sim.sensitivity import core

    assert registry.HEADLINE == ("welfare", "welfare_national", "gdp_total",
                                 "similarity_ring_mean", "wuhan_share", "theil", "subsidy_total")
    assert tuple(c for c in registry.HEADLINE if c != "wuhan_share") == registry.RANKED
    assert OUTCOMES == ("welfare.pv", "welfare_national.pv", "gdp_total.pv",
                        "similarity_ring_mean.last", "wuhan_share.last", "theil.last",
                        "subsidy_total.pv")
    assert core.HEADLINE_METRICS == registry.HEADLINE
    assert core.DIRECTIONS["theil"] == -1 and core.DIRECTIONS["welfare"] == +1
    assert demo.HEADLINE["similarity_ring_mean"] == "lower" and "wuhan_share" not in demo.HEADLINE
    assert sorted(welfare_sources.EXPLAINED) == sorted(registry.GAINS)
    written_out = {str(path.relative_to(ROOT)): lines
                   for path in sorted((ROOT / "sim").rglob("*.py")) if path.name != "registry.py"
                   and (lines := headline_lists(path, registry.HEADLINE))}
    assert written_out == {}


def test_the_headline_list_check_finds_a_written_out_list(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text('A = ("welfare", "theil", "gdp_total")\nB = {"welfare": 1, "theil": -1}\n'
                    'C = ["x", "welfare", "theil", "subsidy_total"]\n'
                    'D = {"welfare": 1, "theil": -1, "subsidy_total": -1}\n')
    assert headline_lists(path, ("welfare", "theil", "gdp_total", "subsidy_total")) == [1, 4]
