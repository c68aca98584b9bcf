"""What a running task knows about itself, reachable as ``TaskContext.get()``.

The executor sets it for the thread that runs a task; RDD code, broadcasts and
accumulators find their executor's services (block manager, broadcast cache, files)
through it instead of through a process-wide singleton.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdd.executor.environment import ExecutorEnv

_current = threading.local()


class TaskKilled(Exception):
    """Raised inside a task whose job was cancelled."""


@dataclass(slots=True)
class TaskMetrics:
    """What a task measured about its own work (Spark's ``TaskMetrics``, input side).

    Sources add to it once per chunk they read, never per element; it travels back to
    the driver with the task's result and the status tracker sums it per stage.
    """

    records_read: int = 0

    def inc_records_read(self, n: int) -> None:
        self.records_read += n


@dataclass(slots=True)
class TaskContext:
    """Identity of one task attempt, its executor, and what it reports back."""

    stage_id: int
    partition_id: int
    attempt_number: int
    task_attempt_id: int
    env: ExecutorEnv
    kill_flag: threading.Event = field(default_factory=threading.Event)
    accumulator_updates: dict[int, Any] = field(default_factory=dict)
    stored_blocks: list[str] = field(default_factory=list)
    shuffle_statuses: dict[int, list[Any]] = field(default_factory=dict)
    metrics: TaskMetrics = field(default_factory=TaskMetrics)
    #: the job's local properties (``Context.setLocalProperty``, the job group) as they
    #: were on the thread that started the job, so task code can read per-query settings
    properties: dict[str, str] = field(default_factory=dict)
    _completion_listeners: list[Callable[[TaskContext], None]] = field(default_factory=list)

    # PySpark's names.
    def stageId(self) -> int:
        return self.stage_id

    def partitionId(self) -> int:
        return self.partition_id

    def attemptNumber(self) -> int:
        return self.attempt_number

    def taskAttemptId(self) -> int:
        return self.task_attempt_id

    def taskMetrics(self) -> TaskMetrics:
        return self.metrics

    def getLocalProperty(self, key: str) -> str | None:
        """A local property of the job this task belongs to (PySpark's name)."""
        return self.properties.get(key)

    def addTaskCompletionListener(self, listener: Callable[[TaskContext], None]) -> None:
        """Call ``listener(context)`` when the task ends, however it ends (Spark's name):
        resources a task holds (memory it accounted for, say) are released there."""
        self._completion_listeners.append(listener)

    def run_completion_listeners(self) -> BaseException | None:
        """Run (once) every completion listener; the first error is returned, not raised,
        so that every listener runs and the task's own outcome is decided by the caller."""
        listeners, self._completion_listeners = self._completion_listeners, []
        first: BaseException | None = None
        for listener in reversed(listeners):
            try:
                listener(self)
            except BaseException as error:  # noqa: BLE001 - reported as the task's failure by run_task
                first = first or error
        return first

    def check_interrupted(self) -> None:
        """Stop this task if its job was cancelled; long loops call it between batches."""
        if self.kill_flag.is_set():
            raise TaskKilled(f"task {self.task_attempt_id} (stage {self.stage_id}) was killed")

    @classmethod
    def get(cls) -> TaskContext | None:
        """The context of the task running on this thread, or None on the driver."""
        return getattr(_current, "context", None)

    def __enter__(self) -> TaskContext:
        _current.context = self
        return self

    def __exit__(self, *exc: object) -> None:
        _current.context = None
