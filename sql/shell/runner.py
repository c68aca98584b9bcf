"""Runs input: each statement or meta-command, its output, its errors, and Ctrl-C.

The same runner serves the prompt, ``-e``, ``-f`` and standard input; only the error
policy differs (a script stops at the first error unless ``--continue-on-error``, as
psql's ``ON_ERROR_STOP``; the prompt always goes on).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TextIO

from sql.shell import errors as shell_errors
from sql.shell.backends import Backend, Cancelled, Outcome
from sql.shell.formatting import HUMAN_FORMATS, ResultSet, Style, render
from sql.shell.output import Output
from sql.shell.progress import ProgressBar
from sql.shell.splitter import Piece, split_pieces
from sql.shell.state import BackendHandle, Settings

#: How long to wait for a cancelled statement to stop before giving the prompt back anyway.
CANCEL_WAIT = 15.0
#: Statements after which table and column names may have changed (completion refreshes).
_CATALOG_CHANGES = ("CREATE", "DROP", "ALTER", "USE", "MSCK", "TRUNCATE")


class QuitShell(Exception):
    """``\\q``: leave the shell (from a script: stop reading it)."""


class StopScript(Exception):
    """A script statement failed and ``--continue-on-error`` is off."""


class Runner:
    """Executes pieces of input against the backend and prints what they produce."""

    def __init__(self, settings: Settings, backend: BackendHandle, output: Output,
                 errors: TextIO | None = None, interactive: bool = False) -> None:
        self.settings = settings
        self.backend = backend
        self.output = output
        self.errors = errors or sys.stderr
        self.interactive = interactive
        self.failures = 0
        self.catalog_changed: Callable[[], None] = lambda: None
        self.include_depth = 0

    # -- entry points
    def run_text(self, text: str, source: str | None = None) -> None:
        """Run every statement in ``text``; ``source`` names it in error messages."""
        for piece in split_pieces(text):
            self.run_piece(piece, source)

    def run_file(self, path: str) -> None:
        """Run a script file (``-f`` and ``\\i``); a missing file is an error like any other."""
        import os

        try:
            with open(os.path.expanduser(path), encoding="utf-8") as f:
                text = f.read()
        except OSError as ex:
            self.fail([f"Error: cannot read {path}: {ex.strerror or ex}"])
            return
        if self.include_depth > 16:
            self.fail([f"Error: \\i nested too deeply at {path}"])
            return
        self.include_depth += 1
        try:
            self.run_text(text, path)
        finally:
            self.include_depth -= 1

    def run_piece(self, piece: Piece, source: str | None) -> None:
        where = f"{source}:{piece.line}: " if source else ""
        if piece.kind == "meta":
            from sql.shell.meta import run_meta

            text = self.settings.variables.substitute(piece.text)
            run_meta(self, text, where)
            return
        self.run_sql(piece.text, source, piece.line)

    # -- SQL
    def run_sql(self, text: str, source: str | None = None, first_line: int = 1,
                capture: bool = False) -> ResultSet | None:
        """Run one statement and print its outcome; with ``capture``, return its rows
        instead (for meta-commands), printing only errors."""
        statement = self.settings.variables.substitute(text)
        words = statement.split()
        if [w.lower() for w in words] in (["quit"], ["exit"]):  # Hive CLI's way out
            raise QuitShell()
        if len(words) == 2 and words[0].lower() == "source":  # Hive CLI's \i
            self.run_file(words[1].strip("'\""))
            return None
        handled, shown = self.settings.variables.handle_set(statement)
        if handled:
            if shown is not None:
                self.output.write_lines([shown])
            return None
        try:
            backend = self.backend.get()
        except KeyboardInterrupt:
            raise
        except Exception as ex:
            self.fail([f"Error: cannot connect: {_one_line(ex)}"], fatal=True)
            return None
        started = time.monotonic()
        try:
            outcome = self._execute(backend, statement)
        except Cancelled:
            self.errors.write("Cancelled.\n")
            self.errors.flush()
            if not self.interactive:
                raise KeyboardInterrupt from None
            return None
        except Exception as ex:
            report = shell_errors.classify(ex, statement)
            where = ""
            if source:
                line = first_line + (report.line - 1 if report.line else 0)
                where = f"{source}:{line}: "
            lines = shell_errors.render(report, statement, where)
            if report.internal:
                if self.settings.debug:
                    lines.insert(0, "".join(traceback.format_exception(ex)).rstrip())
                else:
                    lines.append("(run with --debug to see the traceback)")
            self.fail(lines)
            return None
        if capture:
            return outcome.result
        elapsed = time.monotonic() - started
        self._show(outcome, elapsed)
        if statement.lstrip().split(None, 1)[0].upper() in _CATALOG_CHANGES:
            self.catalog_changed()
        return None

    def _execute(self, backend: Backend, statement: str) -> Outcome:
        """Run ``statement`` on a worker thread so Ctrl-C here can cancel it there.

        Completion is signalled with an Event, not ``Thread.join``: a KeyboardInterrupt
        landing inside ``join`` can leave the thread marked as stopped while it still runs.
        """
        box: dict[str, object] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["outcome"] = backend.execute(statement)
            except BaseException as ex:  # handed back to the main thread
                box["error"] = ex
            finally:
                done.set()

        worker = threading.Thread(target=work, name="lamna-statement", daemon=True)
        show_bar = self.settings.progress and _is_tty(self.errors)
        try:
            with ProgressBar(backend.progress, self.errors, enabled=show_bar):
                worker.start()
                while not done.wait(0.05):
                    pass
        except KeyboardInterrupt:
            self._cancel(backend, done)
            raise Cancelled() from None
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["outcome"]  # type: ignore[return-value]

    def _cancel(self, backend: Backend, done: threading.Event) -> None:
        """Cancel until the statement stops: a query may start one more job between
        partitions after the first cancel, so the request is repeated."""
        deadline = time.monotonic() + CANCEL_WAIT
        try:
            while not done.is_set() and time.monotonic() < deadline:
                backend.cancel()
                done.wait(0.1)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting, the statement winds down on its own
        if not done.is_set():
            self.errors.write("(the statement is still stopping in the background)\n")

    # -- printing
    def style(self) -> Style:
        return Style(header=self.settings.header, types=self.settings.types,
                     unicode=self.settings.unicode and _utf8(self.output.target),
                     color=self.output.is_terminal)

    def show_result(self, result: ResultSet) -> None:
        """Render ``result`` in the current format (\\x on/auto may turn a table vertical)."""
        fmt = self.settings.fmt
        if fmt == "table" and self.settings.expanded == "on":
            fmt = "vertical"
        lines = render(result, fmt, self.style())
        if fmt == "table" and self.settings.expanded == "auto" and self.output.is_terminal:
            import shutil

            width = shutil.get_terminal_size((80, 24)).columns
            if lines and len(lines[0]) > width:
                fmt, lines = "vertical", render(result, "vertical", self.style())
        if fmt in HUMAN_FORMATS and not self.settings.quiet:
            n = len(result.rows)
            lines.append(f"({n} row{'' if n == 1 else 's'})")
        self.output.write_lines(lines, pageable=True)

    def _show(self, outcome: Outcome, elapsed: float) -> None:
        human = self.settings.fmt in HUMAN_FORMATS and not self.settings.quiet
        if outcome.result is not None:
            self.show_result(outcome.result)
        elif human:
            n = outcome.rowcount
            self.output.write_lines([f"OK, {n} row{'' if n == 1 else 's'} affected" if n >= 0 else "OK"])
        for warning in outcome.warnings:
            self.errors.write(f"WARNING: {warning}\n")
        self.errors.flush()
        if self.settings.timing:
            self.output.write_lines([f"Time: {elapsed:.3f} s"])

    def message(self, lines: list[str]) -> None:
        """Confirmations of meta-commands: for people at the prompt, not in script output."""
        if self.interactive and not self.settings.quiet:
            self.output.write_lines(lines)

    def fail(self, lines: list[str], fatal: bool = False) -> None:
        """Report an error; in a script, stop unless told to go on."""
        self.failures += 1
        for line in lines:
            self.errors.write(line + "\n")
        self.errors.flush()
        if fatal or (not self.interactive and not self.settings.continue_on_error):
            raise StopScript()


def _one_line(ex: BaseException) -> str:
    text = str(ex).strip() or type(ex).__name__
    return text.split("\n", 1)[0]


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _utf8(stream: TextIO) -> bool:
    return "utf" in (getattr(stream, "encoding", None) or "").lower()
