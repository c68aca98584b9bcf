"""Tasks on threads in the driver: the default (Arrow kernels release the GIL).

N worker threads take tasks from a ``FairQueue``, so concurrent jobs of different
pools (sessions of the server, say) share the threads fairly.

Threads cannot be preempted, and one task may run for minutes (a join over a big
partition): when every thread is busy and a task arrives for a pool with nothing
running, an extra thread is started for that pool (at most N extra at a time), so a
short query never waits for another query's long tasks to end. The operating system
then shares the cores between them, as it would between processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from rdd.executor.environment import ExecutorEnv
from rdd.executor.fair_queue import FairQueue
from rdd.scheduler.task import Task, TaskFailed, TaskOutcome, TaskWasKilled, run_task
from rdd.task_context import TaskContext


@dataclass(eq=False, slots=True)
class _Queued:
    task: Task
    on_done: Callable[[TaskOutcome], None]
    flag: threading.Event = field(default_factory=threading.Event)


class ThreadBackend:
    """``local[N]``: one executor (the driver process) running N tasks at a time."""

    def __init__(self, threads: int, env: ExecutorEnv) -> None:
        self.default_parallelism = threads
        self.env = env
        self._queue: FairQueue[_Queued] = FairQueue()
        self._running: dict[int, _Queued] = {}
        self._condition = threading.Condition()
        self._stopped = False
        self._idle = 0  # worker threads waiting for a task
        self._extra = 0  # extra threads serving pools that had nothing running
        self._max_extra = threads
        self._threads = [
            threading.Thread(target=self._work, name=f"lamna-task-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Task, preferred: str | None, on_done: Callable[[TaskOutcome], None],
               pool: str = "default") -> None:
        with self._condition:
            if not self._stopped:
                self._queue.put(pool, _Queued(task, on_done))
                self._condition.notify()
                if not self._idle and self._extra < self._max_extra and self._queue.starving():
                    self._extra += 1
                    threading.Thread(target=self._work_extra, name="lamna-task-extra", daemon=True).start()
                return
        on_done(TaskFailed(RuntimeError("the Context was stopped"), "", self.env.executor_id))

    def run_here(self, task: Task, on_done: Callable[[TaskOutcome], None]) -> None:
        """Run ``task`` in the calling thread, outside the N task threads.

        For a job of one small task (a point query on a cached table), handing it to a
        task thread and its result back costs more than running it, and under load each
        hand-over waits for the interpreter lock again. The task can still be killed.
        """
        item = _Queued(task, on_done)
        with self._condition:
            if self._stopped:
                on_done(TaskFailed(RuntimeError("the Context was stopped"), "", self.env.executor_id))
                return
            self._running[task.identity.task_id] = item
        try:
            outcome = self._run(item)
        finally:
            with self._condition:
                self._running.pop(task.identity.task_id, None)
        on_done(outcome)

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and not len(self._queue):
                    self._idle += 1
                    self._condition.wait()
                    self._idle -= 1
                if self._stopped:
                    return
                pool, item = next(self._queue.in_fair_order())
                self._take(pool, item)
            self._run_taken(pool, item)

    def _work_extra(self) -> None:
        """An extra thread: runs tasks of pools that have nothing running, then ends."""
        while True:
            with self._condition:
                found = None if self._stopped else self._queue.starving()
                if found is None:
                    self._extra -= 1
                    return
                pool, item = found
                self._take(pool, item)
            self._run_taken(pool, item)

    def _take(self, pool: str, item: _Queued) -> None:
        """Under the lock: ``item`` leaves the queue and counts as running in ``pool``."""
        self._queue.remove(pool, item)
        self._queue.started(pool)
        self._running[item.task.identity.task_id] = item

    def _run_taken(self, pool: str, item: _Queued) -> None:
        try:
            item.on_done(self._run(item))
        finally:
            with self._condition:
                self._queue.finished(pool)
                self._running.pop(item.task.identity.task_id, None)

    def _run(self, item: _Queued) -> TaskOutcome:
        task, identity = item.task, item.task.identity
        context = TaskContext(
            stage_id=identity.stage_id,
            partition_id=task.split.index,
            attempt_number=identity.attempt,
            task_attempt_id=identity.task_id,
            env=self.env,
            kill_flag=item.flag,
            shuffle_statuses=task.shuffle_statuses,
            properties=task.properties,
        )
        return run_task(task, context)

    def kill(self, task_id: int, force: bool = False) -> None:
        """A queued task is dropped; a running one stops at its next check (threads
        cannot be stopped from outside)."""
        with self._condition:
            running = self._running.get(task_id)
            queued = self._queue.remove_where(lambda item: item.task.identity.task_id == task_id)
        if running is not None:
            running.flag.set()
        for item in queued:
            item.on_done(TaskWasKilled(self.env.executor_id))

    def remove_rdd(self, rdd_id: int) -> None:
        self.env.block_manager.remove_rdd(rdd_id)

    def block_summary(self) -> dict[str, tuple[int, int]]:
        manager = self.env.block_manager
        return {block_id: manager.block_sizes(block_id) for block_id in manager.block_ids()}

    def worker_block_summary(self) -> dict[str, tuple[int, int]]:
        return {}  # every block is in the driver's own manager

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            orphans = self._queue.drain()
            for item in self._running.values():
                item.flag.set()
            self._condition.notify_all()
        for item in orphans:
            item.on_done(TaskFailed(RuntimeError("the Context was stopped"), "", self.env.executor_id))
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)
