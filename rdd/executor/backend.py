"""The one interface every executor backend offers the schedulers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rdd.scheduler.task import Task, TaskOutcome


class ExecutorBackend(Protocol):
    """Runs tasks somewhere and reports each outcome through ``on_done`` exactly once.

    ``preferred`` names the executor holding a cached block the task reads; a backend
    may honour it. Backends: ``ThreadBackend`` (threads in the driver, ``local[N]``),
    ``ProcessBackend`` (worker processes, ``local-cluster[N]``), ``HybridBackend`` (both,
    chosen per job: ``local[N]`` with ``lamna.workers``); a backend on a cluster engine
    implements the same methods.
    """

    default_parallelism: int

    def submit(self, task: Task, preferred: str | None, on_done: Callable[[TaskOutcome], None],
               pool: str = "default") -> None:
        """Queue ``task``; free slots are shared fairly between ``pool``s."""
        ...

    def kill(self, task_id: int, force: bool = False) -> None:
        """Ask the task to stop; with ``force``, stop it even if it never checks."""
        ...

    def remove_rdd(self, rdd_id: int) -> None: ...

    def block_summary(self) -> dict[str, tuple[int, int]]:
        """Every cached block of every executor: block id -> (memory bytes, disk bytes)."""
        ...

    def worker_block_summary(self) -> dict[str, tuple[int, int]]:
        """The part of ``block_summary`` held outside the driver process, whose own block
        manager the driver reads directly."""
        ...

    def stop(self) -> None: ...
