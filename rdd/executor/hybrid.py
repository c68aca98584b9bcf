"""Threads in the driver for most jobs, worker processes for the jobs that ask for them.

A long-running driver (the query server) serves two kinds of work at once: short
queries over data the driver already holds in memory, and long scans, joins and
aggregations over files. On threads the long ones keep the interpreter lock busy, and
every short query waits for it; on worker processes they cannot touch the driver's
lock, and run at a lower operating-system priority (``lamna.workers.nice``), so the
short queries' Python gets the cores first. A job goes to the workers when its local
property ``lamna.executor`` is ``workers``; everything else (and every job of one task
with no shuffle, run in the submitting thread) stays on the threads.

Each side is a whole executor backend with its own block manager: a cached block a
worker's task needs is computed there from lineage (its split), so a cached table may
be held by the driver and by a worker. Shuffle files are on the shared local disk and
broadcasts are files, so a job may read what a job of the other side wrote. The workers
are started in the background when the backend is made, and a job sent to them waits
for the start; if they could not start, the error is logged and every job runs on the
threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rdd.executor.processes import ProcessBackend
from rdd.executor.threads import ThreadBackend
from rdd.scheduler.task import Task, TaskFailed, TaskOutcome

#: The job-local property that sends a job's tasks to the worker processes.
EXECUTOR_PROPERTY = "lamna.executor"
WORKERS = "workers"

log = logging.getLogger(__name__)


def wants_workers(properties: dict[str, str]) -> bool:
    return properties.get(EXECUTOR_PROPERTY) == WORKERS


class HybridBackend:
    """``local[N]`` threads plus ``lamna.workers`` worker processes, chosen per job."""

    def __init__(self, threads: ThreadBackend, start_workers: Callable[[], ProcessBackend]) -> None:
        self.threads = threads
        self.env = threads.env
        self.default_parallelism = threads.default_parallelism
        self._workers: ProcessBackend | None = None
        self._started = threading.Event()
        self._stopped = False
        self._lock = threading.Lock()
        threading.Thread(target=self._start, args=(start_workers,), name="lamna-workers-start",
                         daemon=True).start()

    def _start(self, start_workers: Callable[[], ProcessBackend]) -> None:
        try:
            workers = start_workers()
        except BaseException:  # their jobs run on the threads (see ``submit``)
            log.exception("the worker processes could not start")
        else:
            with self._lock:
                stopped = self._stopped
                self._workers = workers
            if stopped:  # stop() ran while they were starting
                workers.stop()
        finally:
            self._started.set()

    def workers(self) -> ProcessBackend | None:
        """The worker processes, once started (waits for the start); None if it failed."""
        self._started.wait()
        return self._workers

    # -- the ExecutorBackend interface ------------------------------------------------

    def submit(self, task: Task, preferred: str | None, on_done: Callable[[TaskOutcome], None],
               pool: str = "default") -> None:
        if not wants_workers(task.properties):
            self.threads.submit(task, preferred, on_done, pool)
            return
        workers = self.workers()
        if self._stopped:
            on_done(TaskFailed(RuntimeError("the Context was stopped"), "", "driver"))
        elif workers is None:  # they could not start (logged once): the threads still work
            self.threads.submit(task, preferred, on_done, pool)
        else:
            workers.submit(task, preferred, on_done, pool)

    def run_here(self, task: Task, on_done: Callable[[TaskOutcome], None]) -> None:
        self.threads.run_here(task, on_done)

    def kill(self, task_id: int, force: bool = False) -> None:
        # Task ids are unique in the Context: the side that does not know the id ignores it.
        self.threads.kill(task_id, force)
        if self._workers is not None:
            self._workers.kill(task_id, force)

    def remove_rdd(self, rdd_id: int) -> None:
        self.threads.remove_rdd(rdd_id)
        if self._workers is not None:
            self._workers.remove_rdd(rdd_id)

    def block_summary(self) -> dict[str, tuple[int, int]]:
        summary = dict(self.threads.block_summary())
        for block_id, (memory, disk) in self.worker_block_summary().items():
            held_memory, held_disk = summary.get(block_id, (0, 0))
            summary[block_id] = (held_memory + memory, held_disk + disk)
        return summary

    def worker_block_summary(self) -> dict[str, tuple[int, int]]:
        """The blocks held outside the driver process (what its own manager cannot see)."""
        return self._workers.block_summary() if self._workers is not None else {}

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            workers = self._workers
        self.threads.stop()
        if workers is not None:
            workers.stop()
