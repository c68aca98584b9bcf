"""The per-query memory cap: bytes of Arrow data a query holds materialized.

Whoever runs a query (the server, for one) sets two local properties on the thread
that starts its jobs: ``lamna.query.memory``, the cap in bytes, and the job group
(``spark.jobGroup.id``), which names the query. The places that materialize whole
tables reserve the bytes of their Arrow buffers against the query's budget: a task's
input collected into one table for a join, an aggregation, a sort or a window; a
join's and a sort's output; on the driver, the collected side of a broadcast join. A
task gives its bytes back when it ends (a completion listener), the driver when the
query's result has been consumed. A reservation that would go over the cap raises
``QueryMemoryExceeded`` (SQLSTATE 53200): the query fails, everything else carries on.

Budgets are per process, like the memory they stand for: with threads (``local[N]``)
one budget sees every task of a query; with worker processes each process holds the
query to the cap on its own. Not counted: memory inside one Arrow kernel (Acero's hash
tables, sort indices), the block manager's cache (it has its own budget), shuffle
files, and batches that only stream through.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from rdd import TaskContext

#: Local property: the cap in bytes (a positive integer; absent, empty or 0: no cap).
LIMIT_PROPERTY = "lamna.query.memory"
#: Local property naming the query: its job group.
QUERY_PROPERTY = "spark.jobGroup.id"


class QueryMemoryExceeded(RuntimeError):
    """The query would hold more materialized data than its cap allows."""

    sqlstate = "53200"  # out_of_memory: what a PostgreSQL client sees


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


@dataclass
class _Budget:
    used: int = 0


class Budgets:
    """Bytes reserved per query in this process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: dict[str, _Budget] = {}

    def reserve(self, query: str, cap: int, nbytes: int, what: str) -> None:
        with self._lock:
            budget = self._budgets.setdefault(query, _Budget())
            if budget.used + nbytes > cap:
                used = budget.used
                if not used:
                    del self._budgets[query]
                raise QueryMemoryExceeded(
                    f"query memory cap exceeded: {what} needs {format_bytes(nbytes)} more while the "
                    f"query already holds {format_bytes(used)} of its {format_bytes(cap)} "
                    f"(SET lamna.query.memory to raise the cap)")
            budget.used += nbytes

    def release(self, query: str, nbytes: int) -> None:
        with self._lock:
            budget = self._budgets.get(query)
            if budget is None:
                return
            budget.used -= nbytes
            if budget.used <= 0:  # nothing held: forget the query
                del self._budgets[query]

    def used(self, query: str) -> int:
        with self._lock:
            budget = self._budgets.get(query)
            return budget.used if budget is not None else 0


#: One per process, as the memory it accounts for is.
BUDGETS = Budgets()


class Reservation:
    """Bytes one holder (a task's operator, or the driver for one query) has reserved."""

    __slots__ = ("cap", "held", "query", "what")

    def __init__(self, query: str, cap: int, what: str) -> None:
        self.query, self.cap, self.what = query, cap, what
        self.held = 0

    def add(self, nbytes: int, what: str | None = None) -> None:
        if nbytes > 0:
            BUDGETS.reserve(self.query, self.cap, nbytes, what or self.what)
            self.held += nbytes

    def release(self) -> None:
        held, self.held = self.held, 0
        if held:
            BUDGETS.release(self.query, held)


def _cap(value: str | None) -> int:
    try:
        return int(value) if value else 0
    except ValueError:
        raise ValueError(f"{LIMIT_PROPERTY} must be a number of bytes, got {value!r}") from None


def for_task(context: TaskContext | None, what: str) -> Reservation | None:
    """A reservation released when the running task ends; None when no cap applies."""
    if context is None:
        return None
    cap = _cap(context.getLocalProperty(LIMIT_PROPERTY))
    if cap <= 0:
        return None
    query = context.getLocalProperty(QUERY_PROPERTY) or f"task-{context.task_attempt_id}"
    reservation = Reservation(query, cap, what)
    context.addTaskCompletionListener(lambda _context: reservation.release())
    return reservation


def hold(data: Any, what: str) -> None:
    """Count ``data`` (a table or batch) against the running task's query until the task ends."""
    reservation = for_task(TaskContext.get(), what)
    if reservation is not None:
        reservation.add(data.nbytes)


def for_driver(ctx: Any) -> Reservation | None:
    """A reservation for what the driver materializes for the query that the calling
    thread is planning (``ctx`` is the RDD Context); the caller releases it."""
    get = getattr(ctx, "getLocalProperty", None)
    if get is None:
        return None
    cap = _cap(get(LIMIT_PROPERTY))
    query = get(QUERY_PROPERTY)
    if cap <= 0 or not query:
        return None
    return Reservation(query, cap, "the driver's tables")
