"""How many queries run at once, per place they run (``--max-queries`` each).

The server runs queries over its cache (and anything naming session state) on its own
threads, and hands whole file-reading queries to its query processes
(``server.detached``). Each place has its own cap and its own queue: long file-reading
queries queue among themselves, and a short query over the cache never waits behind
them for a slot (with one shared cap, sixteen TPC-H clients held every slot and point
queries waited half a second at 64 clients).

A session asks for a slot on its worker thread once it knows where its statement runs,
and gives it back when the statement ends. Waiting is cancellable: a statement
cancelled or timed out in the queue ends there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum

#: How often a queued statement looks whether it was cancelled (seconds).
CANCEL_POLL = 0.05


class Place(Enum):
    SERVER = "the server's threads"
    QUERY_PROCESSES = "the query processes"


class Slot:
    """One running query's place in its cap; ``release`` once (later calls do nothing)."""

    def __init__(self, place: Place, semaphore: threading.Semaphore) -> None:
        self.place = place
        self._semaphore: threading.Semaphore | None = semaphore

    def release(self) -> None:
        semaphore, self._semaphore = self._semaphore, None
        if semaphore is not None:
            semaphore.release()


class Admission:
    def __init__(self, slots: int) -> None:
        """``slots`` per place (at least 1: the server's configuration checks it)."""
        self._semaphores = {place: threading.Semaphore(slots) for place in Place}

    def enter(self, place: Place, check_cancel: Callable[[], None]) -> Slot:
        """A slot at ``place``, once one is free; ``check_cancel`` raises to stop waiting."""
        semaphore = self._semaphores[place]
        while not semaphore.acquire(timeout=CANCEL_POLL):
            check_cancel()
        return Slot(place, semaphore)
