"""Tasks on a pool of threads in the driver: the default (Arrow kernels release the GIL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from rdd.executor.environment import ExecutorEnv
from rdd.scheduler.task import Task, TaskFailed, TaskOutcome, run_task
from rdd.task_context import TaskContext


class ThreadBackend:
    """``local[N]``: one executor (the driver process) running N tasks at a time."""

    def __init__(self, threads: int, env: ExecutorEnv) -> None:
        self.default_parallelism = threads
        self.env = env
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lamna-task")
        self._kill_flags: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def submit(self, task: Task, preferred: str | None, on_done: Callable[[TaskOutcome], None]) -> None:
        if self._stopped:
            on_done(TaskFailed(RuntimeError("the Context was stopped"), "", self.env.executor_id))
            return
        flag = threading.Event()
        with self._lock:
            self._kill_flags[task.identity.task_id] = flag
        self._pool.submit(self._run, task, flag, on_done)

    def _run(self, task: Task, flag: threading.Event, on_done: Callable[[TaskOutcome], None]) -> None:
        identity = task.identity
        context = TaskContext(
            stage_id=identity.stage_id,
            partition_id=task.split.index,
            attempt_number=identity.attempt,
            task_attempt_id=identity.task_id,
            env=self.env,
            kill_flag=flag,
            shuffle_statuses=task.shuffle_statuses,
        )
        try:
            outcome = run_task(task, context)
        finally:
            with self._lock:
                self._kill_flags.pop(identity.task_id, None)
        on_done(outcome)

    def kill(self, task_id: int, force: bool = False) -> None:
        """Threads cannot be stopped from outside: the task stops at its next check."""
        with self._lock:
            flag = self._kill_flags.get(task_id)
        if flag is not None:
            flag.set()

    def remove_rdd(self, rdd_id: int) -> None:
        self.env.block_manager.remove_rdd(rdd_id)

    def block_summary(self) -> dict[str, tuple[int, int]]:
        manager = self.env.block_manager
        return {block_id: manager.block_sizes(block_id) for block_id in manager.block_ids()}

    def stop(self) -> None:
        self._stopped = True
        with self._lock:
            for flag in self._kill_flags.values():
                flag.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
