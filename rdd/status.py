"""PySpark's ``StatusTracker``: jobs and stages as listeners see them, for progress bars."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import NamedTuple

from rdd.scheduler.events import (
    JobEnded,
    JobStarted,
    ListenerEvent,
    StageCompleted,
    StageSubmitted,
    TaskFinished,
    TaskLaunched,
)


class JobInfo(NamedTuple):
    """PySpark's ``SparkJobInfo`` (a named tuple there too; the group is ours)."""

    jobId: int
    stageIds: tuple[int, ...]
    status: str  # RUNNING | SUCCEEDED | FAILED
    groupId: str | None = None


class StageInfo(NamedTuple):
    """PySpark's ``SparkStageInfo``, plus whether it completed and the records it read.
    Named tuples, as PySpark's are: every task's start and end replaces one."""

    stageId: int
    currentAttemptId: int
    name: str
    numTasks: int
    numActiveTasks: int  # launched and not yet ended (queued or running), stragglers included
    numCompletedTasks: int
    numFailedTasks: int
    completed: bool = False
    #: records the stage's succeeded tasks read from their sources (Spark's ``inputRecords``)
    inputRecords: int = 0


#: Finished jobs kept (Spark's ``spark.ui.retainedJobs``): a long-running server must not
#: keep every job it ever ran.
RETAINED_JOBS = 1000


@dataclass
class StatusTracker:
    """Keeps the latest state of running jobs, of the last ``retained_jobs`` finished
    ones, and of their stages; fed by the Context's listener bus."""

    _jobs: dict[int, JobInfo] = field(default_factory=dict)
    _stages: dict[int, StageInfo] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    retained_jobs: int = RETAINED_JOBS
    _finished: deque[int] = field(default_factory=deque)
    _stage_jobs: Counter[int] = field(default_factory=Counter)  # retained jobs listing each stage

    def on_event(self, event: ListenerEvent) -> None:
        with self._lock:
            match event:
                case JobStarted(job_id=job_id, group_id=group_id, stage_ids=stage_ids):
                    self._jobs[job_id] = JobInfo(job_id, stage_ids, "RUNNING", group_id)
                    self._stage_jobs.update(stage_ids)
                case StageSubmitted(stage_id=stage_id, attempt=attempt, name=name, num_tasks=n):
                    # tasks of an earlier attempt may still be out: they stay counted
                    old = self._stages.get(stage_id)
                    self._stages[stage_id] = StageInfo(stage_id, attempt, name, n,
                                                       old.numActiveTasks if old else 0, 0, 0)
                case TaskLaunched(stage_id=stage_id):
                    stage = self._stages.get(stage_id)
                    if stage is not None:
                        self._stages[stage_id] = stage._replace(numActiveTasks=stage.numActiveTasks + 1)
                case TaskFinished(stage_id=stage_id, succeeded=succeeded, metrics=metrics):
                    stage = self._stages.get(stage_id)
                    if stage is not None:
                        self._stages[stage_id] = stage._replace(
                            numActiveTasks=max(0, stage.numActiveTasks - 1),
                            numCompletedTasks=stage.numCompletedTasks + succeeded,
                            numFailedTasks=stage.numFailedTasks + (not succeeded),
                            inputRecords=stage.inputRecords + (metrics.records_read if metrics else 0),
                        )
                        self._forget_stage_if_done(stage_id)
                case StageCompleted(stage_id=stage_id):
                    stage = self._stages.get(stage_id)
                    if stage is not None:
                        # an aborted stage's tasks may still be ending: they count until then
                        self._stages[stage_id] = stage._replace(completed=True)
                case JobEnded(job_id=job_id, succeeded=succeeded):
                    job = self._jobs.get(job_id)
                    if job is not None:
                        self._jobs[job_id] = job._replace(status="SUCCEEDED" if succeeded else "FAILED")
                        self._finished.append(job_id)
                        while len(self._finished) > self.retained_jobs:
                            self._forget_job(self._finished.popleft())

    def _forget_job(self, job_id: int) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        self._stage_jobs.subtract(job.stageIds)
        for stage_id in job.stageIds:
            self._forget_stage_if_done(stage_id)

    def _forget_stage_if_done(self, stage_id: int) -> None:
        """Drop a stage no retained job lists, once its last task has ended."""
        if self._stage_jobs[stage_id] > 0:
            return
        stage = self._stages.get(stage_id)
        if stage is None or not stage.numActiveTasks:
            self._stages.pop(stage_id, None)
            del self._stage_jobs[stage_id]

    def getJobIdsForGroup(self, jobGroup: str | None = None) -> list[int]:
        with self._lock:
            return [j.jobId for j in self._jobs.values() if j.groupId == jobGroup]

    def getActiveJobsIds(self) -> list[int]:
        with self._lock:
            return [j.jobId for j in self._jobs.values() if j.status == "RUNNING"]

    def getActiveStageIds(self) -> list[int]:
        with self._lock:
            # an aborted stage stays active until its last killed task has ended
            return [s.stageId for s in self._stages.values() if not s.completed or s.numActiveTasks]

    def getJobInfo(self, jobId: int) -> JobInfo | None:
        with self._lock:
            return self._jobs.get(jobId)

    def getStageInfo(self, stageId: int) -> StageInfo | None:
        with self._lock:
            return self._stages.get(stageId)
