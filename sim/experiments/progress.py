"""A batch's progress on stderr: runs done of all, failures and time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Runs done/total, failures and time left: one redrawn line on a terminal, else lines."""

    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total, self.enabled = total, enabled
        self.stream = stream or sys.stderr
        self.tty = self.enabled and self.stream.isatty()
        self.done = self.failed = 0
        self.start = time.perf_counter()
        if self.tty:
            self._draw("ETA -")

    def _draw(self, eta: str) -> None:
        filled = int(30 * self.done / max(self.total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                          f"runs, {self.failed} failed, {eta}   ")
        self.stream.flush()

    def update(self, name: str, status: str, duration_s: float) -> None:
        self.done += 1
        self.failed += status != "ok"
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        eta = f"ETA {_clock(elapsed / self.done * (self.total - self.done))}"
        if self.tty:
            self._draw(eta)
        else:
            self.stream.write(f"{name}: {status} ({duration_s:.1f} s); {self.done}/{self.total} "
                              f"runs, {self.failed} failed, {eta}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
