"""What keeps the store from losing data: folder names, marker files, locks and checksums.

* Run names become folder names by a reversible, collision-free encoding (:func:`encode_name`):
  ``/`` becomes ``__``; ``%``, an ``_`` that touches another ``_`` or a segment's edge, a leading
  ``.`` and every character outside ``[A-Za-z0-9._=,+-]`` are percent-escaped. So a run folder
  never starts with ``.``: every name starting with ``.`` (temporary folders, markers, the lock)
  belongs to the tool and can never come from a user's scenario or sweep value.
* A folder the tool creates holds a marker file (``.sim-run`` for a run, ``.sim-batch`` for a
  batch); the tool removes or replaces only folders that hold its marker, never through a link.
* ``OUT/.lock`` (``fcntl.flock``) keeps two processes out of one batch folder.
* ``status.json`` records the size and SHA-256 of every file of a run (:func:`file_digests`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from sim.config.loader import ConfigError, show_path
from sim.config.yaml_reader import printable
from sim.paths import DATA_DIR

RUN_MARKER = ".sim-run"
BATCH_MARKER = ".sim-batch"
LOCK_FILE = ".lock"
TMP_TAG = ".tmp-"
#: Longest folder name (bytes) a run may get; most file systems allow 255.
MAX_NAME_BYTES = 200
_SAFE = re.compile(r"[A-Za-z0-9.=,+\-_]")


def _escape_char(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def _encode_segment(segment: str) -> str:
    out = []
    for i, char in enumerate(segment):
        edge = i == 0 or i == len(segment) - 1
        touching = (i > 0 and segment[i - 1] == "_") or (i + 1 < len(segment)
                                                         and segment[i + 1] == "_")
        if (not _SAFE.fullmatch(char) or (char == "_" and (edge or touching))
                or (char == "." and i == 0)):
            out.append(_escape_char(char))
        else:
            out.append(char)
    return "".join(out) or "%"  # an empty segment (never produced otherwise)


def encode_name(run: str) -> str:
    """A run name as a folder name: ``coordinated/x=1/r07`` -> ``coordinated__x=1__r07``.

    The encoding is injective (:func:`decode_name` inverts it), never yields a name starting
    with ``.``, and never contains ``__`` except between the segments of the run name.
    """
    return "__".join(_encode_segment(part) for part in run.split("/"))


def decode_name(folder: str) -> str:
    """The run name of a folder name made by :func:`encode_name`."""
    from urllib.parse import unquote

    return "/".join("" if part == "%" else unquote(part) for part in folder.split("__"))


def check_run_names(names: list[str]) -> None:
    """Refuse run names whose folders would collide or be too long (before any run starts)."""
    seen: dict[str, str] = {}
    for name in names:
        folder = encode_name(name)
        if len(folder.encode()) > MAX_NAME_BYTES:
            raise ConfigError(f"run {name!r}: expected a shorter scenario name or sweep value "
                              f"(its folder name would be {len(folder.encode())} bytes, at most "
                              f"{MAX_NAME_BYTES})")
        key = folder.lower()  # two names differing in case collide on macOS and Windows
        if key in seen:
            other = seen[key]
            what = "twice" if other == name else f"and {other!r}"
            raise ConfigError(f"run {name!r} {what}: expected distinct run names (two scenarios "
                              f"or sweep values give the same name; rename one or drop a "
                              f"duplicate sweep value)")
        seen[key] = name


# --------------------------------------------------------------------------- markers, removal


def write_marker(folder: Path, marker: str) -> None:
    (folder / marker).write_text("written by the sim tool; do not remove\n")


def is_tool_folder(path: Path, marker: str) -> bool:
    """True for a real folder (not a link) holding the tool's ``marker`` file."""
    return path.is_dir() and not path.is_symlink() and (path / marker).is_file()


def remove_tool_folder(path: Path, marker: str) -> bool:
    """Remove ``path`` only if it is a real folder holding ``marker``; True if removed."""
    if not is_tool_folder(path, marker):
        return False
    shutil.rmtree(path)
    return True


def check_replaceable(out: Path) -> None:
    """``sim run --out X --force`` may replace X only if it is a run folder made by the tool."""
    target = Path(os.path.abspath(out))
    here = Path.cwd().resolve()
    shown = show_path(out)
    if target.is_symlink():
        raise ConfigError(f"{shown}: --force: expected a run folder, got a symbolic link "
                          f"(the tool never replaces a link or what it points to)")
    real = target.resolve()
    if real == here or here.is_relative_to(real):
        raise ConfigError(f"{shown}: --force: refusing to replace the current folder or a "
                          f"parent of it; choose another --out")
    if not real.exists():
        return
    if not real.is_dir():
        raise ConfigError(f"{shown}: --force: expected a run folder, got a file")
    if any(real.iterdir()) and not is_tool_folder(real, RUN_MARKER):
        raise ConfigError(f"{shown}: --force: not a run folder written by `sim run` (no "
                          f"{RUN_MARKER} marker); the tool only replaces its own folders")
    foreign = sorted(p.name for p in real.iterdir() if p.name not in run_folder_files()
                     or p.is_symlink() or not p.is_file())
    if foreign:
        listed = ", ".join(printable(name) for name in foreign[:5])
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise ConfigError(f"{shown}: --force: the run folder holds files `sim run` did not write "
                          f"({listed}{more}); move them away or choose another --out")


def run_folder_files() -> frozenset[str]:
    """The files ``sim run --out`` writes: its tables, ``config.yaml`` and its marker."""
    # lazy: the table declarations load pandas; this module stays light for the command line's
    # start
    from sim.model.tables import TABLES

    return frozenset({RUN_MARKER, "config.yaml", *(f"{name}.parquet" for name in TABLES)})


def is_nonempty_dir(path: Path) -> bool:
    """Whether ``path`` is a folder holding anything but the tool's lock file."""
    return path.is_dir() and any(p.name != LOCK_FILE for p in path.iterdir())


def check_fresh_output(path: Path, hint: str) -> None:
    """Refuse to write into an existing non-empty folder (outputs are never overwritten).

    A lone lock file is the tool's own, left by a command that stopped before writing anything
    (an unreachable scheduler, a refused design): the folder counts as empty."""
    if path.is_symlink() and not path.exists():
        raise ConfigError(f"{show_path(path)}: output path is a broken symbolic link")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{show_path(path)}: output path exists and is not a folder")
    above = next((p for p in Path(os.path.abspath(path)).parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise ConfigError(f"{show_path(path)}: output path lies under {show_path(above)}, which "
                          f"is a file, not a folder")
    if is_nonempty_dir(path):
        raise ConfigError(f"{show_path(path)}: output folder exists and is not empty ({hint})")


def check_output(out: Path, force: bool) -> None:
    """Before a command writes ``--out``: a new or empty folder, or with ``force`` one of the
    tool's own (see :func:`check_replaceable`)."""
    if force:
        check_replaceable(out)
    else:
        check_fresh_output(out, "pass --force to replace it or choose another --out")


def temp_sibling(final: Path, marker: str = RUN_MARKER) -> Path:
    """A fresh hidden folder ``.<name>.tmp-<pid>`` beside ``final``, holding ``marker`` (a stale
    one this process left is removed first)."""
    tmp = final.with_name(f".{final.name}{TMP_TAG}{os.getpid()}")
    remove_tool_folder(tmp, marker)
    tmp.mkdir(parents=True)
    write_marker(tmp, marker)
    return tmp


def swap_into_place(tmp: Path, final: Path) -> None:
    """Rename the finished folder ``tmp`` to ``final``; an existing ``final`` is renamed aside
    first and removed last, so ``final`` is whole at every moment. Callers check that an
    existing ``final`` is the tool's own; a link is never replaced."""
    if final.is_symlink():
        raise ConfigError(f"{show_path(final)}: is a symbolic link; the tool never replaces a "
                          f"link or what it points to")
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.rename(final, old)
        try:
            os.rename(tmp, final)
        except BaseException:
            os.rename(old, final)  # the old folder back in place: nothing is lost
            raise
        shutil.rmtree(old)
    else:
        os.rename(tmp, final)


@contextlib.contextmanager
def replacing(out: Path) -> Iterator[Path]:
    """Yield a fresh hidden sibling folder of ``out`` to fill; when the block ends without an
    error it is swapped into place (:func:`swap_into_place`); if either fails it is removed."""
    final = Path(os.path.abspath(out))
    tmp = temp_sibling(final)
    try:
        yield tmp
        swap_into_place(tmp, final)
    except BaseException:  # the block or the swap failed: no temporary folder is left
        remove_tool_folder(tmp, RUN_MARKER)
        raise


def check_real_folder(path: Path, what: str) -> None:
    """Refuse a store folder that is a symbolic link (the store never follows links out)."""
    if path.is_symlink():
        raise ConfigError(f"{show_path(path)}: {what} is a symbolic link; the store does not "
                          f"follow links (replace it by a real folder or choose another --out)")


# --------------------------------------------------------------------------- lock


@contextlib.contextmanager
def batch_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``OUT/.lock`` for the block; a second process gets one line and exit 2, and so
    does a folder that cannot be made or a lock file that is a link."""
    import fcntl

    shown = show_path(out_dir)
    lock = out_dir / LOCK_FILE
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if lock.is_symlink():
            raise ConfigError(f"{show_path(lock)}: is a symbolic link; the store does not follow "
                              f"links (remove it, then run again)") from None
        raise ConfigError(f"{shown}: cannot create the batch folder and its {LOCK_FILE}: "
                          f"{exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise ConfigError(f"{show_path(out_dir)}: another sim process is using this batch "
                              f"folder ({LOCK_FILE} is held); wait for it to finish or choose "
                              f"another --out") from None
        with contextlib.suppress(OSError):  # the holder's pid, for people (a full disk may refuse)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- checksums


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digests(folder: Path, names: list[str]) -> dict[str, dict]:
    """``{file: {"bytes": size, "sha256": hex}}`` for the named files of a run folder."""
    return {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
            for name in names}


def damage(folder: Path, files: dict) -> str | None:
    """Why a run folder does not match the digests its ``status.json`` records, or None."""
    if not isinstance(files, dict):
        return "status.json records no valid file list"
    for name, want in sorted(files.items()):
        path = folder / name
        if not isinstance(want, dict) or "/" in name or name.startswith("."):
            return f"status.json: bad entry for {name!r}"
        if path.is_symlink() or not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != want.get("bytes"):
            return (
                f"{name} has {path.stat().st_size} bytes, status.json records {want.get('bytes')}"
            )
        if sha256_file(path) != want.get("sha256"):
            return f"{name} does not match its SHA-256 in status.json"
    return None


def data_hash(data_dir: str | os.PathLike | None) -> str:
    """SHA-256 over the names and bytes of the files in a data folder (default ``sim/data``)."""
    folder = Path(data_dir) if data_dir else DATA_DIR
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def data_hash_of_all(data_dirs: Iterable[str | None]) -> str:
    """The data hash of a scenario that reads one or several folders (a sweep over
    ``data_dir``): the folder's own hash, or one hash over every folder's, so a change in any
    of them is seen by ``--resume``."""
    hashes = sorted({data_hash(folder) for folder in data_dirs})
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()
