"""A dependency-free progress display on stderr.

A redrawn bar when stderr is a terminal; otherwise one plain line per finished step, so
CI logs and pipes stay readable. Nothing here ever writes to stdout, which belongs to
results.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28


class Progress:
    """Progress over `total` units of work (queries, bytes, tables)."""

    def __init__(
        self, total: float, label: str, *, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.total = max(float(total), 1e-9)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = 0.0
        self.note = ""
        self.started = time.monotonic()
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_draw = 0.0
        self._last_line = ""

    def update(self, done: float, note: str = "", *, step_finished: bool = False) -> None:
        """Set absolute progress; `step_finished` prints a line when not on a terminal."""
        self.done = min(max(done, 0.0), self.total)
        if note:
            self.note = note
        if not self.enabled:
            return
        if self.tty:
            now = time.monotonic()
            if step_finished or now - self._last_draw > 0.1:
                self._draw()
                self._last_draw = now
        elif step_finished and self.note != self._last_line:
            # Off a terminal: one line per new step, not per statement of the same step.
            self._last_line = self.note
            pct = 100.0 * self.done / self.total
            print(f"{self.label}: {pct:5.1f}%  {self.note}", file=self.stream, flush=True)

    def advance(self, amount: float = 1.0, note: str = "") -> None:
        self.update(self.done + amount, note, step_finished=True)

    def _draw(self) -> None:
        frac = self.done / self.total
        filled = int(round(frac * WIDTH))
        bar = "#" * filled + "-" * (WIDTH - filled)
        elapsed = time.monotonic() - self.started
        line = f"\r{self.label} [{bar}] {frac * 100:5.1f}% {elapsed:6.1f}s {self.note}"
        self.stream.write(line[:119].ljust(80))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
