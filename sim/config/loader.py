"""Reading scenario files: safe YAML, ``extends:`` chains, ``--set`` overrides, one-line errors.

A scenario file is YAML read by :mod:`sim.config.yaml_reader` (a safe loader that refuses
duplicate keys, with bounded size, nesting and alias expansion). ``extends: base.yaml``
(relative to the file; a bare name such as ``homogenised`` that names no file there is the
bundled scenario, as on the command line) names a parent whose mappings the child deep-merges
over (lists replace).
Dotted overrides ``key.path=value`` (the value read as a YAML scalar) are applied last. The merged
mapping is validated by :class:`~sim.config.schema.ScenarioConfig` (:func:`validate_mapping`).
:func:`sim.config.load_scenario` (in :mod:`sim.config.sweeps`, which this module's checks serve)
then checks agreements against the data folder (cities and sector codes,
:mod:`sim.config.constraints`) and sweep and uncertain keys against the schema.

Every problem raises :class:`ConfigError` whose message is one line:
``<file>[:<line>]: <dotted.key.path>: <what was expected> (got <value>)``, naming the file (or the
``--set`` override) that supplied the offending value.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.config.schema import Flag, ScenarioConfig
from sim.config.yaml_reader import (
    MAX_EXTENDS,
    YAML_FORBIDDEN,
    ConfigError,
    parse_yaml,
    printable,
    read_text_file,
    resolved_or_absolute,
    show_path,
)
from sim.paths import DATA_DIR, SCENARIO_DIR, bundled_scenarios

Origins = dict[tuple, tuple[str, int | None]]


# --------------------------------------------------------------------------- YAML


#: Parsed scenario files by (shown path, text): a process that loads one file many times (a
#: calibration, a sweep) parses it once; the text is read every time, so an edit is seen.
_PARSED: dict[tuple[str, str], tuple[Any, dict[tuple, int]]] = {}
_KEEP_PARSED = 64


def _parsed(text: str, shown: str) -> tuple[Any, dict[tuple, int]]:
    """:func:`parse_yaml` of ``text``, once per process; each caller gets its own copy."""
    key = (shown, text)
    if key not in _PARSED:
        if len(_PARSED) >= _KEEP_PARSED:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = parse_yaml(text, shown)
    data, lines = _PARSED[key]
    return copy.deepcopy(data), lines


def read_yaml(path: Path) -> tuple[dict, Origins]:
    """One scenario file as a mapping, plus the (file, line) of every key path in it."""
    shown = show_path(path)
    data, lines = _parsed(read_text_file(path), shown)
    if data is None:
        raise ConfigError(f"{shown}: the file is empty (expected a mapping of scenario keys)")
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}:1: expected a mapping of scenario keys "
                          f"(got {type(data).__name__} {_show_value(data)})")
    for folder in ("data_dir", "posterior"):  # relative to the file that names it
        if isinstance(data.get(folder), str):
            data[folder] = str(resolved_or_absolute(path.parent / data[folder]))
    return data, {key: (shown, line) for key, line in lines.items()}


# --------------------------------------------------------------------------- extends


def deep_merge(base: dict, child: dict) -> dict:
    """``child`` over ``base``: mappings merge key by key, anything else (lists too) replaces."""
    merged = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_chain(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict, Origins]:
    """A file merged over its ``extends:`` ancestors, with the origin of every key path."""
    try:
        path = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic-link loop
        raise ConfigError(f"{show_path(path)}: cannot read the file ({exc})") from None
    data, origins = read_yaml(path)
    if len(seen) >= MAX_EXTENDS:
        raise ConfigError(f"{show_path(path)}: extends: expected a chain of at most {MAX_EXTENDS} "
                          f"files (got a longer one, from {show_path(seen[0])})")
    parent = data.pop("extends", None)
    if parent is None:
        return data, origins
    shown, line = origins[("extends",)]
    where = f"{shown}:{line}: extends"
    if not isinstance(parent, str) or not parent:
        raise ConfigError(
            f"{where}: expected the path of a scenario file (got {_show_value(parent)})"
        )
    target = _parent_file(path, parent, where)
    chain = seen + (path,)
    if target in chain:
        cycle = " -> ".join(p.name for p in chain[chain.index(target):] + (target,))
        raise ConfigError(f"{where}: extends cycle ({cycle})")
    base, base_origins = load_chain(target, chain)
    return deep_merge(base, data), {**base_origins, **origins}


def _parent_file(path: Path, parent: str, where: str) -> Path:
    """The file ``extends: parent`` names: the path relative to the extending file when it
    exists, else a bundled scenario by bare name (as on the command line)."""
    try:
        target = (path.parent / parent).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a link loop, a NUL byte
        why = "a symbolic-link loop" if isinstance(exc, RuntimeError) else \
            printable(getattr(exc, "strerror", None) or str(exc))
        raise ConfigError(f"{where}: cannot read {printable(repr(parent))} ({why})") from None
    if target.exists() and not _folder_shadowing_bundled(target, Path(parent)):
        return target
    bundled = _bundled_file(Path(parent))
    if bundled is not None:
        return bundled.resolve()
    tail = (f", and not a bundled scenario name (one of {', '.join(bundled_scenarios())})"
            if _bare(Path(parent)) else "")
    raise ConfigError(f"{where}: file not found (got {printable(repr(parent))}, looked for "
                      f"{show_path(target)}){tail}")


def _bare(path: Path) -> bool:
    """A bare scenario name: one part, no YAML suffix (``coordinated``)."""
    return path.suffix not in (".yaml", ".yml") and len(path.parts) == 1


def _folder_shadowing_bundled(found: Path, name: Path) -> bool:
    """A folder named like a bundled scenario (an output folder ``coordinated/``, say): the
    bare name then means the scenario, not the folder."""
    return found.is_dir() and _bundled_file(name) is not None


def _bundled_file(path: Path) -> Path | None:
    """The bundled scenario a bare name names (``coordinated`` -> scenarios/coordinated.yaml)."""
    bundled = SCENARIO_DIR / f"{path.name}.yaml"
    return bundled if _bare(path) and bundled.is_file() else None


# --------------------------------------------------------------------------- schema keys


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def schema_key_error(dotted: str, model: type[BaseModel] = ScenarioConfig) -> str | None:
    """Why ``dotted`` is not a key path of the schema, or None if it is one."""
    node: Any = model
    done: list[str] = []
    for segment in dotted.split("."):
        where = f" in '{'.'.join(done)}'" if done else ""
        if isinstance(node, type) and issubclass(node, BaseModel):
            fields = list(node.model_fields)
            if segment not in fields:
                close = difflib.get_close_matches(segment, fields, n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"expected one of: {', '.join(fields)}"
                )
                return f"unknown key '{printable(segment)}'{where} ({hint})"
            node = _unwrap(node.model_fields[segment].annotation)
        elif typing.get_origin(node) is dict:
            key_type = typing.get_args(node)[0] if typing.get_args(node) else str
            allowed = (
                typing.get_args(key_type) if typing.get_origin(key_type) is typing.Literal else ()
            )
            if allowed and segment not in allowed:
                return (f"unknown key '{printable(segment)}'{where} (expected one of: "
                        f"{', '.join(allowed)})")
            node = _unwrap(typing.get_args(node)[1]) if typing.get_args(node) else Any
        elif typing.get_origin(node) is list:
            if not (segment.isascii() and segment.isdigit()):
                return (f"'{'.'.join(done)}' is a list: expected an index, got "
                        f"'{printable(segment)}'")
            node = _unwrap(typing.get_args(node)[0])
        elif node is dict:
            node = Any
        else:
            return (f"'{'.'.join(done)}' is a value, not a mapping (no key "
                    f"'{printable(segment)}')")
        done.append(segment)
    return None


# --------------------------------------------------------------------------- overrides


def override_label(text: str) -> str:
    """``--set key=value`` as shown in messages: one line, at most about 80 characters."""
    shown = printable(text)
    return f"--set {shown if len(shown) <= 80 else shown[:77] + '...'}"


def parse_override(text: str) -> tuple[str, Any]:
    """``"key.path=value"`` -> ``("key.path", value)``, the value read as a YAML scalar."""
    label = override_label(text)
    if len(text) > 2000:
        raise ConfigError(f"{label}: expected at most 2,000 characters")
    forbidden = YAML_FORBIDDEN.search(text)
    if forbidden:
        raise ConfigError(f"{label}: expected printable text (got the control character "
                          f"U+{ord(forbidden.group()):04X})")
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"{label}: expected key.path=value")
    problem = schema_key_error(key)
    if problem:
        raise ConfigError(f"{label}: {problem}")
    try:
        value = parse_yaml(raw, label)[0] if raw.strip() else raw
    except ConfigError:
        value = raw
    return key, value


def set_dotted(data: dict, dotted: str, value: Any, label: str) -> None:
    """Set ``data[a][b]...`` for ``dotted = "a.b..."``, creating mappings on the way."""
    node: Any = data
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = int(part)
            if index >= len(node):
                raise ConfigError(f"{label}: {'.'.join(parts[:i])} has {len(node)} items "
                                  f"(got index {index})")
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            elif not isinstance(node.get(part), (dict, list)):
                node[part] = {}
            node = node[part]
        else:
            raise ConfigError(f"{label}: {'.'.join(parts[:i])} is not a mapping")


def apply_overrides(data: dict, overrides: Iterable[str], origins: Origins) -> dict:
    """Apply ``--set`` overrides in order; each becomes the origin of its key path."""
    data = copy.deepcopy(data)
    for text in overrides:
        key, value = parse_override(text)
        set_dotted(data, key, value, override_label(text))
        path = _path_tuple(key)
        for below in [k for k in origins if k[:len(path)] == path]:  # the file's, now replaced
            del origins[below]
        origins[path] = (override_label(text), None)
    return data


def _path_tuple(dotted: str) -> tuple:
    return tuple(int(p) if p.isascii() and p.isdigit() else p for p in dotted.split("."))


# --------------------------------------------------------------------------- validation

_EXPECTED = {
    "int_parsing": "expected an integer", "int_type": "expected an integer",
    "int_from_float": "expected a whole number", "float_parsing": "expected a number",
    "float_type": "expected a number", "bool_parsing": "expected true or false",
    "bool_type": "expected true or false", "string_type": "expected a string",
    "dict_type": "expected a mapping", "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping", "list_type": "expected a list",
    "missing": "required key is missing", "finite_number": "expected a finite number",
}
_BOUNDS = {"less_than_equal": ("<=", "le"), "less_than": ("<", "lt"),
           "greater_than_equal": (">=", "ge"), "greater_than": (">", "gt")}


def _show_value(value: Any) -> str:
    if isinstance(value, Flag):
        return str(value)
    text = printable(repr(value)) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(loc: Iterable) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return printable(out)


def origin_of(loc: tuple, origins: Origins, default: str) -> str:
    """``file:line`` (or ``--set ...``) that supplied the longest prefix of ``loc``."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in origins:
            shown, line = origins[loc[:n]]
            return f"{shown}:{line}" if line else shown
    return default


def _expectation(error: dict, loc: tuple) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind in _BOUNDS:
        sign, name = _BOUNDS[kind]
        bound = ctx.get(name)
        return f"expected a number {sign} {bound:g}" if isinstance(bound, (int, float)) \
            else f"expected a value {sign} {bound}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}"
    if kind == "extra_forbidden":
        return schema_key_error(".".join(str(p) for p in loc)) or "unknown key"
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def describe_validation_error(exc: ValidationError, origins: Origins, default: str) -> str:
    """Every pydantic error, one per line: ``<file>: <key.path>: <expected> (got <value>)``."""
    return "\n".join(_describe(error, origins, default) for error in exc.errors())


def _describe(error: Any, origins: Origins, default: str) -> str:
    loc = tuple(error["loc"])
    where = origin_of(loc, origins, default)
    expected = _expectation(error, loc)
    got = error.get("input")
    shown_got = "" if error["type"] in ("missing", "value_error") and isinstance(got, dict) \
        else f" (got {_show_value(got)})"
    if error["type"] == "extra_forbidden":
        shown_got = ""
    key = f" {_dotted(loc)}:" if loc else ""
    return f"{where}:{key} {expected}{shown_got}"


def validate_mapping(data: dict, origins: Origins, default: str) -> ScenarioConfig:
    """A merged mapping as a :class:`ScenarioConfig`, or one-line :class:`ConfigError`."""
    try:
        return ScenarioConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origins, default)) from None


def data_folder(config: ScenarioConfig, base_dir: Path | None = None) -> Path:
    """The data folder a scenario reads: its ``data_dir`` (relative to ``base_dir`` when given
    and the path is relative) or the bundled ``sim/data``."""
    if not config.data_dir:
        return DATA_DIR
    path = Path(config.data_dir)
    return path if path.is_absolute() or base_dir is None else base_dir / path


# --------------------------------------------------------------------------- entry points


def scenario_file(path: str | os.PathLike) -> Path:
    """The file a scenario argument names: the path itself when it exists, else a bundled
    scenario's file by bare name (``coordinated`` -> ``scenarios/coordinated.yaml``).

    Raises:
        ConfigError: a bare name that is neither a file nor a bundled scenario (known ones
            listed).
    """
    path = Path(path)
    if (path.exists() and not _folder_shadowing_bundled(path, path)) or not _bare(path):
        return path
    bundled = _bundled_file(path)
    if bundled is not None:
        return bundled
    known = bundled_scenarios()
    raise ConfigError(f"{path}: file not found, and not a bundled scenario name (expected a "
                      f"scenario file or one of {', '.join(known)})")


def load_raw(path: str | os.PathLike, overrides: Iterable[str] = ()) -> tuple[dict, Origins]:
    """The merged, overridden mapping of a scenario file or bundled scenario name (not yet
    validated)."""
    path = scenario_file(path)
    if path.is_dir():
        raise ConfigError(f"{show_path(path)}: expected a scenario file, got a folder")
    data, origins = load_chain(path)
    data.setdefault("name", path.stem)
    data = apply_overrides(data, overrides, origins)
    for folder in ("data_dir", "posterior"):
        if isinstance(data.get(folder), str):
            data[folder] = str(resolved_or_absolute(Path(data[folder])))
    return data, origins


def resolved_dict(config: ScenarioConfig) -> dict:
    """The fully resolved scenario as plain data, for ``config.yaml`` beside the outputs."""
    return config.model_dump(mode="json")


def with_values(config: ScenarioConfig, values: Mapping[str, Any], name: str | None = None,
                label: str | None = None) -> ScenarioConfig:
    """A copy of ``config`` with dotted keys set (:func:`set_dotted`) and validated again,
    optionally renamed.

    Raises:
        ConfigError: one line naming the key that is not a key of the schema, or every value
            the schema refuses (``label`` names the source, default the scenario's name).
    """
    label = label or f"scenario {config.name}"
    data = config.model_dump()
    for dotted, value in values.items():
        problem = schema_key_error(dotted)
        if problem:
            raise ConfigError(f"{label}: {printable(dotted)}: expected a dotted key of the "
                              f"scenario schema: {problem}")
        set_dotted(data, dotted, value, label)
    if name is not None:
        data["name"] = name
    return validate_mapping(data, {}, label)
