"""Where a report is written: never half-written, never over someone else's files.

The report is built in a hidden sibling folder (``.NAME.tmp-PID``) and moved into place only
when every file is written, so a failure leaves the target as it was. A new or empty target is
replaced by that folder in one rename; a target that holds other things (``make demo`` keeps its
batch in ``store/`` beside the report) receives the report's files one rename each,
``report.html`` last. The folder's marker file ``.sim-report`` says ``sim compare`` wrote the
report there: ``--force`` replaces the report's own files only where the marker is, and never
touches anything else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from sim.config.loader import ConfigError, show_path
from sim.experiments.store_guard import remove_tool_folder, temp_sibling

REPORT_MARKER = ".sim-report"
#: The report's own files, in the order they are moved into place (the page last).
OUTPUTS = ("figures", "summary.csv", "summary.xlsx", "report.md", "report.html", "plan_pairs.csv",
           "welfare_sources.csv")


class ReportExistsError(ConfigError, FileExistsError):
    """The target already holds a report and ``--force`` was not given."""


def check_target(out: Path, force: bool = False) -> None:
    """Refuse a target that would lose data: a link, a file, an earlier report without
    ``force``, or with ``force`` a report folder not marked as written by ``sim compare``.

    Raises:
        ConfigError: one line naming the folder and what to do.
    """
    shown = show_path(out)
    if out.is_symlink():
        raise ConfigError(f"{shown}: --out is a symbolic link; the report is never written "
                          "through a link (choose another --out)")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{shown}: --out is a file; expected a folder for the report")
    existing = [name for name in OUTPUTS if (out / name).exists() or (out / name).is_symlink()]
    if not existing:
        return
    if not force:
        raise ReportExistsError(f"{shown}: already holds {', '.join(existing)}; pass --force to "
                          "replace that report (only its own files) or choose another --out")
    if not (out / REPORT_MARKER).is_file():
        raise ConfigError(f"{shown}: --force: holds {', '.join(existing)} but no "
                          f"{REPORT_MARKER} marker, so `sim compare` did not write them; it "
                          "replaces only its own files (remove them or choose another --out)")


@contextlib.contextmanager
def report_folder(out: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a fresh hidden folder to write the report into; when the block ends without an
    error its files are moved into ``out`` (:func:`install`), otherwise it is removed and
    ``out`` is untouched."""
    final = Path(os.path.abspath(out))
    check_target(final, force)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(final, REPORT_MARKER)
    try:
        yield tmp
        check_target(final, force)   # again: the folder may have changed meanwhile
    except BaseException:
        remove_tool_folder(tmp, REPORT_MARKER)
        raise
    install(tmp, final)


def install(tmp: Path, final: Path) -> None:
    """Move the finished report from ``tmp`` into ``final``: one rename for a new or empty
    folder, else one per file (the page last), the earlier report's own files set aside first
    and removed at the end."""
    if not final.exists() or (final.is_dir() and not any(final.iterdir())):
        if final.exists():
            final.rmdir()
        os.rename(tmp, final)
        return
    aside = final / f"{REPORT_MARKER}.old-{os.getpid()}"
    aside.mkdir()
    for name in OUTPUTS:
        if (final / name).exists() or (final / name).is_symlink():
            os.rename(final / name, aside / name)
    os.replace(tmp / REPORT_MARKER, final / REPORT_MARKER)
    for name in OUTPUTS:
        if (tmp / name).exists():
            os.rename(tmp / name, final / name)
    shutil.rmtree(aside)
    shutil.rmtree(tmp)
