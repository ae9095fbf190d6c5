"""Reading YAML safely: regular files only, bounded size, nesting and alias expansion.

A safe loader (standard YAML 1.1, merge keys ``<<:`` included) that refuses duplicate keys and
keys that are lists or mappings; every problem gives a one-line :class:`ConfigError` naming the
file and line, so a hostile or broken file (a "billion laughs" of nested aliases, a control
character, a FIFO, ``/dev/zero``, a link loop) is refused quickly instead of hanging the reader or
raising a traceback. The limits count what they name: the nesting of the parsed value (brackets
inside strings or comments do not count) and the values that aliases add to the document.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A user error in a scenario file, an override or an option; ``str()`` is the one line."""


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), so a message stays one line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
#: Characters a YAML stream may not hold (its printable set, YAML 1.1 section 5.1).
YAML_FORBIDDEN = yaml.reader.Reader.NON_PRINTABLE


def show_path(path: str | os.PathLike) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    path = Path(path)
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return printable(str(path))
    return printable(str(path) if rel.startswith("..") else rel)


def resolved_or_absolute(path: Path) -> Path:
    """``path`` with links resolved, or merely made absolute when it cannot be resolved (a link
    loop, a NUL byte): the reader of the path then reports the problem in one line."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


MERGE_TAG = "tag:yaml.org,2002:merge"
#: libyaml's parser when installed (a 1 MiB file in about a second instead of ten; it refuses
#: nesting past 1,000 levels itself), else PyYAML's own.
SAFE_BASE: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(SAFE_BASE):  # type: ignore[misc,valid-type]
    """A safe YAML loader that rejects a key given twice in one mapping (a merge key's values
    may be overridden, as the standard says) and a key that is a list or a mapping; PyYAML's
    own scanner (without libyaml) stops at the first collection nested deeper than the limit,
    so deep input costs nothing."""

    def fetch_more_tokens(self) -> None:
        super().fetch_more_tokens()
        if self.flow_level + len(self.indents) > MAX_DEPTH + 1:
            raise yaml.scanner.ScannerError(None, None, f"nesting deeper than {MAX_DEPTH} levels",
                                            self.get_mark())

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise yaml.constructor.ConstructorError(
                    None, None, f"expected a plain key (got a {kind} as a key)",
                    key_node.start_mark)
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
            lines.setdefault(path, key_node.start_mark.line + 1)
            lines.update(_line_map(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[prefix + (i,)] = item.start_mark.line + 1
            lines.update(_line_map(item, prefix + (i,)))
    return lines


#: Limits on what a scenario file may make the reader do (each refused with one line):
#: bytes, nesting of the parsed value, values added by aliases, files in an extends chain.
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
    """Refuse a document whose parsed value is nested deeper than MAX_DEPTH, or whose aliases
    add more than MAX_NODES values to it (its expanded size less its written nodes); the error
    carries the line of the node where the limit is crossed."""
    seen: dict[int, tuple[int, int]] = {}  # node -> (expanded size, height)
    open_nodes: set[int] = set()            # the nodes on the path being measured

    def refuse(item: yaml.Node, problem: str) -> None:
        raise yaml.constructor.ConstructorError(None, None, problem, item.start_mark)

    def measure(item: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(item)
        if key in open_nodes:
            refuse(item, "an alias refers to a node that contains it (a recursive document)")
        if key not in seen:
            if depth > MAX_DEPTH:
                refuse(item, f"nesting deeper than {MAX_DEPTH} levels")
            children = [n for pair in item.value for n in pair] \
                if isinstance(item, yaml.MappingNode) else \
                (item.value if isinstance(item, yaml.SequenceNode) else ())
            open_nodes.add(key)
            sizes = [measure(child, depth + 1) for child in children]
            open_nodes.discard(key)
            seen[key] = (1 + sum(s for s, _ in sizes), 1 + max((h for _, h in sizes), default=0))
        size, height = seen[key]
        if depth + height > MAX_DEPTH + 1:
            refuse(item, f"nesting deeper than {MAX_DEPTH} levels")
        if size - len(seen) > MAX_NODES:
            refuse(item, f"aliases expand to more than {MAX_NODES:,} values")
        return size, height

    if node is not None:
        measure(node, 0)


def parse_yaml(text: str, shown: str) -> tuple[Any, dict[tuple, int]]:
    """Parse one YAML document with bounded nesting and alias expansion."""
    forbidden = YAML_FORBIDDEN.search(text)
    if forbidden:
        line = text.count("\n", 0, forbidden.start()) + 1
        raise ConfigError(f"{shown}:{line}: invalid YAML: character "
                          f"U+{ord(forbidden.group()):04X} is not allowed (a control character)")
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
        if "maximum nesting depth" in problem:  # libyaml's own limit (1,000 levels)
            problem = f"nesting deeper than {MAX_DEPTH} levels"
        raise ConfigError(f"{shown}{where}: invalid YAML: {printable(problem)}") from None
    except RecursionError:
        raise ConfigError(
            f"{shown}: invalid YAML: nesting deeper than {MAX_DEPTH} levels"
        ) from None
    finally:
        loader.dispose()
    return data, lines
