"""What a running task knows about itself, reachable as ``TaskContext.get()``.

The executor sets it for the thread that runs a task; RDD code, broadcasts and
accumulators find their executor's services (block manager, broadcast cache, files)
through it instead of through a process-wide singleton.
"""

from __future__ import annotations

import threading
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
