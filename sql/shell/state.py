"""The shell's settings that meta-commands change while it runs, and the lazily opened
backend (connected in a background thread so the prompt appears at once)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sql.shell.backends import Backend
from sql.shell.variables import Variables


@dataclass
class Settings:
    """What ``\\format``, ``\\x``, ``\\timing`` and friends toggle; options set the start values."""

    fmt: str = "table"
    header: bool = True
    types: bool = False
    expanded: str = "off"  # off | on | auto (vertical when a table is wider than the terminal)
    timing: bool = False
    quiet: bool = False
    unicode: bool = True
    progress: bool = True
    continue_on_error: bool = False
    debug: bool = False
    variables: Variables = field(default_factory=Variables)


class BackendHandle:
    """Opens the backend once, possibly ahead of time, and hands it out when needed."""

    def __init__(self, factory: Callable[[], Backend]) -> None:
        self._factory = factory
        self._backend: Backend | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Begin connecting in the background (the interactive shell calls this before its prompt)."""
        with self._lock:
            if self._thread is None and self._backend is None:
                self._thread = threading.Thread(target=self._open, name="lamna-connect", daemon=True)
                self._thread.start()

    def _open(self) -> None:
        try:
            self._backend = self._factory()
        except BaseException as ex:  # reported to the user at first use
            self._error = ex
        finally:
            self._done.set()

    def get(self) -> Backend:
        """The backend; raises the connection error if it could not be opened."""
        self.start()
        # an Event, not Thread.join: Ctrl-C inside join can leave is_alive() wrong
        while not self._done.wait(0.05):
            pass
        if self._error is not None:
            raise self._error
        assert self._backend is not None
        return self._backend

    @property
    def ready(self) -> Backend | None:
        """The backend if already open, without waiting (completion must never block typing)."""
        return self._backend

    def close(self) -> None:
        if self._done.is_set() and self._backend is not None:
            self._backend.close()
