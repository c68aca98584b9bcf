"""Events: what moves a job forward (internal), and what listeners are told (public)."""

from __future__ import annotations

from dataclasses import dataclass

from rdd.scheduler.task import Task, TaskOutcome
from rdd.task_context import TaskMetrics

# -- the job state machine's inputs ------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TaskEnded:
    task: Task
    outcome: TaskOutcome


@dataclass(frozen=True, slots=True)
class CancelJob:
    reason: str


@dataclass(frozen=True, slots=True)
class StageReleased:
    """Another job finished (or gave up) running a map stage this job waits for."""

    stage_id: int


JobEvent = TaskEnded | CancelJob | StageReleased


# -- what listeners (progress bars, status tracker) are told -------------------------------

@dataclass(frozen=True, slots=True)
class JobStarted:
    job_id: int
    group_id: str | None
    stage_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StageSubmitted:
    job_id: int
    stage_id: int
    attempt: int
    name: str
    num_tasks: int


@dataclass(frozen=True, slots=True)
class TaskLaunched:
    """A task was handed to the backend (queued or running until its TaskFinished)."""

    job_id: int
    stage_id: int
    partition: int


@dataclass(frozen=True, slots=True)
class TaskFinished:
    job_id: int
    stage_id: int
    partition: int
    succeeded: bool
    metrics: TaskMetrics | None = None  # what a succeeded task measured (records read, …)


@dataclass(frozen=True, slots=True)
class StageCompleted:
    job_id: int
    stage_id: int


@dataclass(frozen=True, slots=True)
class JobEnded:
    job_id: int
    succeeded: bool


ListenerEvent = JobStarted | StageSubmitted | TaskLaunched | TaskFinished | StageCompleted | JobEnded
