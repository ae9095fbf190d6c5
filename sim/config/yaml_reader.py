"""Reading YAML safely: regular files only, bounded size, nesting and alias expansion.

A safe loader that refuses duplicate keys; every limit breached gives a one-line
:class:`ConfigError` naming the file, so a hostile or broken file (a "billion laughs" of nested
aliases, a FIFO, ``/dev/zero``, a link loop) is refused quickly instead of hanging the reader.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A user error in a scenario file, an override or an option; ``str()`` is the one line."""


def show_path(path: str | os.PathLike) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    path = Path(path)
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


class UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given on line {seen[key]})",
                    key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _line_map(node: yaml.Node | None, prefix: tuple = ()) -> dict[tuple, int]:
    """The 1-based line of every key path in a composed YAML document."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = prefix + (key_node.value,)
            lines[path] = key_node.start_mark.line + 1
            lines.update(_line_map(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[prefix + (i,)] = item.start_mark.line + 1
            lines.update(_line_map(item, prefix + (i,)))
    return lines


#: Limits on what a scenario file may make the reader do (each refused with one line).
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 40
MAX_NODES = 100_000
MAX_EXTENDS = 16


def read_text_file(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a regular file of at most ``limit`` bytes (no FIFO, device or folder)."""
    shown = show_path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{shown}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, socket or device"
        raise ConfigError(f"{shown}: expected a regular file (got {kind})")
    if info.st_size > limit:
        raise ConfigError(f"{shown}: expected a file of at most {limit:,} bytes "
                          f"(got {info.st_size:,})")
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.read(limit + 1)[:limit]
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read the file ({exc})") from None


def check_node_size(node: yaml.Node | None) -> None:
    """Refuse documents nested deeper than MAX_DEPTH or whose aliases expand past MAX_NODES."""
    sizes: dict[int, int] = {}

    def size(item: yaml.Node, depth: int, path: tuple) -> int:
        if id(item) in path:
            raise ValueError("an alias refers to a node that contains it (a recursive document)")
        if depth > MAX_DEPTH:
            raise ValueError(f"nesting deeper than {MAX_DEPTH} levels")
        if id(item) not in sizes:
            children = [n for pair in item.value for n in pair] \
                if isinstance(item, yaml.MappingNode) else \
                (item.value if isinstance(item, yaml.SequenceNode) else [])
            total = 1 + sum(size(child, depth + 1, path + (id(item),)) for child in children)
            sizes[id(item)] = total
        if sizes[id(item)] > MAX_NODES:
            raise ValueError(f"aliases expand to more than {MAX_NODES:,} values")
        return sizes[id(item)]

    if node is not None:
        size(node, 0, ())


def parse_yaml(text: str, shown: str) -> tuple[Any, dict[tuple, int]]:
    """Parse one YAML document with bounded nesting and alias expansion."""
    depth = deepest = 0
    for char in text:  # flow brackets, counted before the (slow on deep input) YAML scanner
        depth += (char in "[{") - (char in "]}")
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ConfigError(f"{shown}: invalid YAML: nesting deeper than {MAX_DEPTH} levels")
    loader = UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        check_node_size(node)
        data = loader.construct_document(node) if node is not None else None
        lines = _line_map(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{shown}{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{shown}: invalid YAML: nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise ConfigError(f"{shown}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, lines
