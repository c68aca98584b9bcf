"""The progress bar of a statement that runs longer than half a second.

It draws on standard error (a terminal only) from a thread of its own, polling the
backend's ``progress()``, and erases itself before the result prints, so results and
redirected output never contain it.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from sql.shell.backends import Progress

DELAY = 0.5
INTERVAL = 0.1


def bar_text(p: Progress, elapsed: float, width: int) -> str:
    """One line: a bar over tasks done (when known), stages, tasks, rows read by the
    scans (when known; else rows fetched), elapsed time.

    >>> bar_text(Progress(1, 2, 3, 4, 0, 1500), 2.0, 70)
    '[███████████    ]  75% stage 1/2 · tasks 3/4 · 1,500 rows read · 2.0s'
    >>> bar_text(Progress(rows=12), 3.25, 80)
    '12 rows · 3.2s'
    """
    parts = []
    if p.stages:
        parts.append(f"stage {p.stages_done or 0}/{p.stages}")
    if p.tasks:
        parts.append(f"tasks {p.tasks_done or 0}/{p.tasks}")
    if p.rows_read is None:
        parts.append(f"{p.rows:,} rows")
    else:
        parts.append(f"{p.rows_read:,} rows read")
        if p.rows:
            parts.append(f"{p.rows:,} fetched")
    parts.append(f"{elapsed:.1f}s")
    tail = " · ".join(parts)
    if p.tasks:
        frac = min(1.0, (p.tasks_done or 0) / p.tasks)
        head = f"{int(frac * 100):3d}% "
        bar_w = max(5, min(40, width - len(tail) - len(head) - 4))
        filled = int(round(frac * bar_w))
        text = "[" + "█" * filled + " " * (bar_w - filled) + "] " + head + tail
    else:
        text = tail
    return text[: max(10, width - 1)]


class ProgressBar:
    """Context manager: shows the bar after ``DELAY`` seconds, removes it on exit."""

    def __init__(self, poll: Callable[[], Progress], stream: TextIO | None = None,
                 enabled: bool = True, delay: float = DELAY) -> None:
        self.poll = poll
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.delay = delay
        self._stop = threading.Event()
        self._drawn = False
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def __enter__(self) -> ProgressBar:
        self._start = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="lamna-progress", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            try:
                p = self.poll()
            except Exception:
                p = Progress()
            width = shutil.get_terminal_size((80, 24)).columns
            self.stream.write("\r\x1b[K" + bar_text(p, time.monotonic() - self._start, width))
            self.stream.flush()
            self._drawn = True
            self._stop.wait(INTERVAL)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
