"""Where results go: standard output, a file (``-o``, ``\\o``), or a pager for long or wide
results on a terminal (``$PAGER``, else ``less -SFRX``: chop long lines, scroll sideways,
quit at once when it all fits)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TextIO

from sql.shell.values import display_width


class Output:
    """A text sink for results and status lines."""

    def __init__(self, stream: TextIO | None = None, pager: bool = False) -> None:
        self._file: TextIO | None = None
        self.path: str | None = None
        self.stream = stream or sys.stdout
        self.pager = pager

    @property
    def target(self) -> TextIO:
        return self._file or self.stream

    @property
    def is_terminal(self) -> bool:
        """Whether people read this output (colour, pager and box drawing depend on it)."""
        try:
            return self._file is None and self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def redirect(self, path: str | None) -> None:
        """Send results to ``path`` (truncated first, as psql's \\o does); None: back to stdout."""
        if self._file is not None:
            self._file.close()
            self._file, self.path = None, None
        if path:
            self._file = open(os.path.expanduser(path), "w", encoding="utf-8")
            self.path = path

    def write_lines(self, lines: list[str], pageable: bool = False) -> None:
        """Write ``lines``; through the pager when they do not fit the terminal."""
        if pageable and self.pager and self.is_terminal and self._too_big(lines):
            if self._page(lines):
                return
        out = self.target
        for line in lines:
            out.write(line + "\n")
        out.flush()

    def _too_big(self, lines: list[str]) -> bool:
        size = shutil.get_terminal_size((80, 24))
        return len(lines) > size.lines - 2 or any(display_width(line) > size.columns for line in lines)

    def _page(self, lines: list[str]) -> bool:
        command = os.environ.get("PAGER", "less -SFRX")
        if not command.strip():
            return False
        try:
            proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, encoding="utf-8")
        except OSError:
            return False
        assert proc.stdin is not None
        try:
            proc.stdin.write("\n".join(lines) + "\n")
            proc.stdin.close()
        except (BrokenPipeError, KeyboardInterrupt):  # the user quit the pager early
            pass
        while True:
            try:
                proc.wait()
                break
            except KeyboardInterrupt:  # Ctrl-C belongs to the pager while it runs
                continue
        return True

    def close(self) -> None:
        self.redirect(None)
