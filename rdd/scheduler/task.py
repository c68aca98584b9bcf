"""Tasks: the self-contained unit an executor runs, and what comes back from it.

A task carries its stage's RDD chain (narrow dependencies only, down to the sources or
to shuffled RDDs that read blocks by id), one partition, a function or a shuffle write
spec, and the map statuses of the shuffles it reads — never the Context or scheduler.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from rdd.base import RDD, Partition
from rdd.dependency import ShuffleWriteSpec
from rdd.shuffle import FetchFailed, MapStatus, write_map_output
from rdd.task_context import TaskContext, TaskKilled, TaskMetrics

#: How many elements a task consumes between checks for cancellation.
_CHECK_EVERY = 1024
#: Elements that are each a whole batch of rows: checked one by one.
_BATCHES = (pa.RecordBatch, pa.Table)
_END = object()


def interruptible(iterator: Iterator[Any], context: TaskContext) -> Iterator[Any]:
    """Pass elements through, stopping with ``TaskKilled`` soon after a cancel.

    Plain elements move in chunks so the per-element cost is C's, not a Python loop's.
    Arrow batches are checked one at a time: each is already many rows of work, and a
    chunk of 1024 of them would hold a whole partition here before passing it on.
    """
    flag = context.kill_flag
    source = iter(iterator)
    first = next(source, _END)
    if first is _END:
        context.check_interrupted()
        return
    if isinstance(first, _BATCHES):
        for element in itertools.chain((first,), source):
            if flag.is_set():
                context.check_interrupted()
            yield element
    else:
        source = itertools.chain((first,), source)
        while chunk := list(itertools.islice(source, _CHECK_EVERY)):
            if flag.is_set():
                context.check_interrupted()
            yield from chunk
    context.check_interrupted()


@dataclass(frozen=True, slots=True)
class TaskIdentity:
    job_id: int
    stage_id: int
    stage_attempt: int
    partition: int
    attempt: int
    task_id: int


@dataclass(frozen=True, slots=True)
class ResultTask:
    """Computes one partition of the job's final RDD and applies the job's function to it."""

    identity: TaskIdentity
    rdd: RDD
    split: Partition
    func: Callable[[Iterator[Any]], Any]
    shuffle_statuses: dict[int, list[MapStatus]] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)  # the job's local properties

    def run(self, context: TaskContext) -> Any:
        return self.func(interruptible(self.rdd.iterator(self.split, context), context))


@dataclass(frozen=True, slots=True)
class ShuffleMapTask:
    """Computes one partition of a shuffle's parent RDD and writes it as shuffle blocks."""

    identity: TaskIdentity
    rdd: RDD
    split: Partition
    spec: ShuffleWriteSpec
    shuffle_statuses: dict[int, list[MapStatus]] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)  # the job's local properties

    def run(self, context: TaskContext) -> MapStatus:
        records = interruptible(self.rdd.iterator(self.split, context), context)
        return write_map_output(
            self.spec,
            records,
            self.identity.partition,
            self.identity.task_id,
            context.env.shuffle_dir,
            context.env.executor_id,
        )


Task = ResultTask | ShuffleMapTask


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    value: Any
    accumulator_updates: dict[int, Any]
    stored_blocks: tuple[str, ...]
    executor_id: str
    metrics: TaskMetrics = field(default_factory=TaskMetrics)


@dataclass(frozen=True, slots=True)
class TaskFailed:
    """The user's exception (or a system failure) with the traceback text from the executor."""

    error: BaseException
    traceback_text: str
    executor_id: str


@dataclass(frozen=True, slots=True)
class TaskFetchFailed:
    shuffle_id: int
    map_id: int
    message: str
    executor_id: str


@dataclass(frozen=True, slots=True)
class TaskWasKilled:
    executor_id: str


@dataclass(frozen=True, slots=True)
class ExecutorLost:
    executor_id: str
    reason: str


TaskOutcome = TaskSucceeded | TaskFailed | TaskFetchFailed | TaskWasKilled | ExecutorLost


def run_task(task: Task, context: TaskContext) -> TaskOutcome:
    """Run ``task`` on this thread with ``context`` current; never raises.

    The task's completion listeners run however it ends; one that fails turns a
    success into a failure (what it was releasing may be in a bad state).
    """
    with context:
        try:
            outcome = _attempt(task, context)
        finally:
            error = context.run_completion_listeners()
    if error is not None and isinstance(outcome, TaskSucceeded):
        text = "".join(traceback.format_exception(error))
        return TaskFailed(error, text, context.env.executor_id)
    return outcome


def _attempt(task: Task, context: TaskContext) -> TaskOutcome:
    executor_id = context.env.executor_id
    try:
        value = task.run(context)
        return TaskSucceeded(
            value, context.accumulator_updates, tuple(context.stored_blocks), executor_id,
            context.metrics,
        )
    except FetchFailed as failure:
        return TaskFetchFailed(failure.shuffle_id, failure.map_id, str(failure), executor_id)
    except TaskKilled:
        return TaskWasKilled(executor_id)
    except BaseException as error:  # the user's code: reported to the driver, never lost
        return TaskFailed(error, traceback.format_exc(), executor_id)
