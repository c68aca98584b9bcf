"""The DAG scheduler: jobs become stages cut at shuffles; each job is a state machine.

``DAGScheduler.run_job`` builds the final stage and its parents (shuffle map stages are
shared across jobs by shuffle id, so existing shuffle outputs are reused), then runs a
``JobRun``: a loop that takes one event at a time from its queue and handles it in
``process_event``. Executors only put ``TaskEnded`` events on that queue, so the
scheduling logic is single-threaded per job and can be driven synchronously in tests.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from rdd.base import RDD
from rdd.conf import Settings
from rdd.dependency import NarrowDependency, ShuffleDependency
from rdd.scheduler.events import (
    CancelJob,
    JobEnded,
    JobEvent,
    JobStarted,
    ListenerEvent,
    StageCompleted,
    StageSubmitted,
    TaskEnded,
    TaskFinished,
)
from rdd.scheduler.map_output import MapOutputTracker
from rdd.scheduler.stage import ResultStage, ShuffleMapStage, Stage
from rdd.scheduler.task import (
    ExecutorLost,
    ResultTask,
    ShuffleMapTask,
    Task,
    TaskFailed,
    TaskFetchFailed,
    TaskIdentity,
    TaskOutcome,
    TaskSucceeded,
    TaskWasKilled,
)
from rdd.scheduler.task_set import TaskSet
from rdd.storage import BlockLocations


class JobCancelled(Exception):
    """The job was cancelled (``cancelJobGroup``, ``cancelAllJobs``) before it finished."""


class JobAborted(Exception):
    """The job could not finish for a reason that is not the user's exception."""


class Backend(Protocol):
    def submit(self, task: Task, preferred: str | None, on_done: Callable[[TaskOutcome], None]) -> None: ...
    def kill(self, task_id: int) -> None: ...


class DAGScheduler:
    """Shared by all jobs of a Context: stage registry, map outputs, ids."""

    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        publish: Callable[[ListenerEvent], None],
        block_locations: BlockLocations,
        merge_accumulators: Callable[[dict[int, Any]], None],
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.publish = publish
        self.block_locations = block_locations
        self.merge_accumulators = merge_accumulators
        self.map_outputs = MapOutputTracker()
        self._shuffle_stages: dict[int, ShuffleMapStage] = {}
        self._lock = threading.RLock()
        self._stage_ids = itertools.count()
        self._job_ids = itertools.count()
        self._task_ids = itertools.count()
        self._active: dict[int, JobRun] = {}

    def next_task_id(self) -> int:
        return next(self._task_ids)

    # -- stage graph ------------------------------------------------------------------

    def _parent_stages(self, rdd: RDD) -> list[ShuffleMapStage]:
        parents: dict[int, ShuffleMapStage] = {}
        seen: set[int] = set()
        stack = [rdd]
        while stack:
            current = stack.pop()
            if current.id() in seen:
                continue
            seen.add(current.id())
            for dependency in current.dependencies:
                if isinstance(dependency, ShuffleDependency):
                    stage = self._shuffle_stage(dependency)
                    parents[stage.id] = stage
                elif isinstance(dependency, NarrowDependency):
                    stack.append(dependency.rdd)
        return list(parents.values())

    def _shuffle_stage(self, dependency: ShuffleDependency) -> ShuffleMapStage:
        with self._lock:
            stage = self._shuffle_stages.get(dependency.shuffle_id)
            if stage is None:
                stage = ShuffleMapStage(
                    id=next(self._stage_ids),
                    rdd=dependency.rdd,
                    parents=self._parent_stages(dependency.rdd),
                    dependency=dependency,
                )
                self.map_outputs.register_shuffle(
                    dependency.shuffle_id, dependency.rdd.getNumPartitions()
                )
                self._shuffle_stages[dependency.shuffle_id] = stage
            return stage

    # -- jobs -------------------------------------------------------------------------

    def run_job(
        self,
        rdd: RDD,
        func: Callable[[Iterator[Any]], Any],
        partitions: list[int],
        group_id: str | None = None,
    ) -> list[Any]:
        with self._lock:
            job_id = next(self._job_ids)
            final = ResultStage(
                id=next(self._stage_ids),
                rdd=rdd,
                parents=self._parent_stages(rdd),
                func=func,
                partitions=partitions,
            )
            job = JobRun(self, job_id, final, group_id)
            self._active[job_id] = job
        try:
            return job.run()
        finally:
            with self._lock:
                del self._active[job_id]

    def cancel_jobs(self, predicate: Callable[[JobRun], bool], reason: str) -> None:
        with self._lock:
            jobs = [job for job in self._active.values() if predicate(job)]
        for job in jobs:
            job.events.put(CancelJob(reason))

    def active_jobs(self) -> list[JobRun]:
        with self._lock:
            return list(self._active.values())


def _all_stages(stage: Stage) -> list[Stage]:
    found: dict[int, Stage] = {}
    stack = [stage]
    while stack:
        current = stack.pop()
        if current.id not in found:
            found[current.id] = current
            stack.extend(current.parents)
    return list(found.values())


class JobRun:
    """One job's state machine: stages waiting, running, and the results so far."""

    def __init__(self, scheduler: DAGScheduler, job_id: int, final: ResultStage, group_id: str | None):
        self.scheduler = scheduler
        self.job_id = job_id
        self.final = final
        self.group_id = group_id
        self.events: queue.Queue[JobEvent] = queue.Queue()
        self.waiting: set[Stage] = set()
        self.running: set[Stage] = set()
        self.task_sets: dict[int, TaskSet] = {}
        self.results: dict[int, Any] = {}
        self.merged_tasks: set[tuple[int, int]] = set()
        self.running_tasks: dict[int, Task] = {}
        self.stage_attempts: dict[int, int] = {}
        self.error: BaseException | None = None
        self.done = False

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> list[Any]:
        stages = _all_stages(self.final)
        self.scheduler.publish(JobStarted(self.job_id, self.group_id, tuple(s.id for s in stages)))
        if not self.final.partitions:
            self.done = True
        else:
            self.submit_stage(self.final)
        while not self.done:
            self.process_event(self.events.get())
        if self.error is not None:
            self.wait_for_killed_tasks()
            for stage in self.running | self.waiting:
                self.scheduler.publish(StageCompleted(self.job_id, stage.id))
        self.scheduler.publish(JobEnded(self.job_id, self.error is None))
        if self.error is not None:
            raise self.error
        return [self.results[i] for i in range(len(self.final.partitions))]

    def wait_for_killed_tasks(self, timeout: float = 30.0) -> None:
        """After an abort, let the killed tasks end before the caller cleans up.

        A failed write must not race with its own straggling tasks: the caller removes
        the staging directory only once nothing of the job still runs.
        """
        deadline = time.monotonic() + timeout
        while self.running_tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                self.process_event(self.events.get(timeout=remaining))
            except queue.Empty:
                return

    def process_event(self, event: JobEvent) -> None:
        match event:
            case TaskEnded(task=task, outcome=outcome):
                self.running_tasks.pop(task.identity.task_id, None)
                if not self.done:
                    self.handle_task_end(task, outcome)
                else:  # a straggler of an aborted job: listeners still see it end
                    self.scheduler.publish(TaskFinished(
                        self.job_id, task.identity.stage_id, task.identity.partition, False
                    ))
            case CancelJob(reason=reason):
                self.abort(JobCancelled(f"job {self.job_id} cancelled: {reason}"))

    # -- submitting -------------------------------------------------------------------

    def submit_stage(self, stage: Stage) -> None:
        if stage in self.waiting or stage in self.running:
            return
        tracker = self.scheduler.map_outputs
        missing = [p for p in stage.parents if not tracker.is_available(p.shuffle_id)]
        if missing:
            self.waiting.add(stage)
            for parent in missing:
                self.submit_stage(parent)
        else:
            self.submit_missing_tasks(stage)

    def submit_missing_tasks(self, stage: Stage) -> None:
        if isinstance(stage, ShuffleMapStage):
            partitions = self.scheduler.map_outputs.missing(stage.shuffle_id)
        else:
            assert isinstance(stage, ResultStage)
            partitions = [i for i in range(len(stage.partitions)) if i not in self.results]
        if not partitions:
            self.stage_finished(stage)
            return
        attempts = self.stage_attempts[stage.id] = self.stage_attempts.get(stage.id, 0) + 1
        if attempts > self.scheduler.settings.max_stage_attempts:
            self.abort(JobAborted(f"stage {stage.id} ({stage.name}) failed too many times"))
            return
        self.running.add(stage)
        task_set = self.task_sets.setdefault(
            stage.id, TaskSet(stage.id, self.scheduler.settings.max_task_failures)
        )
        task_set.pending = set(partitions)
        statuses = {p.shuffle_id: self.scheduler.map_outputs.statuses(p.shuffle_id) for p in stage.parents}
        self.scheduler.publish(
            StageSubmitted(self.job_id, stage.id, attempts - 1, stage.name, len(partitions))
        )
        for index in partitions:
            self.launch(stage, index, task_set.attempts(index), statuses)

    def launch(self, stage: Stage, index: int, attempt: int, statuses: dict[int, list[Any]]) -> None:
        task_id = self.scheduler.next_task_id()
        if isinstance(stage, ResultStage):
            assert stage.func is not None
            split_index = stage.partitions[index]
        else:
            split_index = index
        identity = TaskIdentity(
            self.job_id, stage.id, self.stage_attempts.get(stage.id, 1), index, attempt, task_id
        )
        split = stage.rdd.partitions()[split_index]
        task: Task
        if isinstance(stage, ResultStage):
            task = ResultTask(identity, stage.rdd, split, stage.func, statuses)  # type: ignore[arg-type]
        else:
            assert isinstance(stage, ShuffleMapStage) and stage.dependency is not None
            task = ShuffleMapTask(identity, stage.rdd, split, stage.dependency.write_spec, statuses)
        self.running_tasks[task_id] = task
        preferred = self.preferred_executor(stage.rdd, split_index)
        self.scheduler.backend.submit(task, preferred, lambda outcome: self.events.put(TaskEnded(task, outcome)))

    def preferred_executor(self, rdd: RDD, split_index: int, depth: int = 0) -> str | None:
        """The executor holding a cached block this task will read, if any."""
        if rdd.is_cached:
            location = self.scheduler.block_locations.location(f"rdd_{rdd.id()}_{split_index}")
            if location is not None:
                return location
        if depth > 20:
            return None
        for dependency in rdd.dependencies:
            if isinstance(dependency, NarrowDependency):
                for parent_index in dependency.get_parents(split_index)[:1]:
                    found = self.preferred_executor(dependency.rdd, parent_index, depth + 1)
                    if found is not None:
                        return found
        return None

    # -- completions ------------------------------------------------------------------

    def stage_of(self, task: Task) -> Stage:
        if task.identity.stage_id == self.final.id:
            return self.final
        for stage in _all_stages(self.final):
            if stage.id == task.identity.stage_id:
                return stage
        raise AssertionError(f"unknown stage {task.identity.stage_id}")

    def handle_task_end(self, task: Task, outcome: TaskOutcome) -> None:
        stage = self.stage_of(task)
        index = task.identity.partition
        task_set = self.task_sets[stage.id]
        self.scheduler.publish(
            TaskFinished(self.job_id, stage.id, index, isinstance(outcome, TaskSucceeded))
        )
        match outcome:
            case TaskSucceeded():
                self.task_succeeded(stage, task, outcome, task_set)
            case TaskFetchFailed(shuffle_id=shuffle_id, map_id=map_id):
                self.scheduler.map_outputs.unregister(shuffle_id, map_id)
                self.scheduler.map_outputs.unregister_lost(shuffle_id)
                self.running.discard(stage)
                task_set.pending.discard(index)
                self.submit_stage(stage)
            case TaskWasKilled():
                self.relaunch(stage, index)  # killed, but the job goes on: run it again
            case ExecutorLost(executor_id=executor_id, reason=reason):
                self.scheduler.block_locations.forget_executor(executor_id)
                if task_set.record_failure(index):
                    self.relaunch(stage, index)
                else:
                    self.abort(JobAborted(
                        f"task {index} of stage {stage.id} ({stage.name}) lost its executor "
                        f"{task_set.attempts(index)} times; last: {reason}"
                    ))
            case TaskFailed(error=error, traceback_text=text):
                if task_set.record_failure(index):
                    self.relaunch(stage, index)
                else:
                    self.abort(_user_error(error, text, stage, index, task_set.attempts(index)))

    def relaunch(self, stage: Stage, index: int) -> None:
        tracker = self.scheduler.map_outputs
        if any(not tracker.is_available(p.shuffle_id) for p in stage.parents):
            self.running.discard(stage)
            self.submit_stage(stage)
            return
        statuses = {p.shuffle_id: tracker.statuses(p.shuffle_id) for p in stage.parents}
        self.launch(stage, index, self.task_sets[stage.id].attempts(index), statuses)

    def task_succeeded(self, stage: Stage, task: Task, outcome: TaskSucceeded, task_set: TaskSet) -> None:
        index = task.identity.partition
        key = (stage.id, index)
        if key not in self.merged_tasks:
            self.merged_tasks.add(key)
            self.scheduler.merge_accumulators(outcome.accumulator_updates)
        for block_id in outcome.stored_blocks:
            self.scheduler.block_locations.record(block_id, outcome.executor_id)
        if isinstance(stage, ResultStage):
            self.results.setdefault(index, outcome.value)
        else:
            self.scheduler.map_outputs.register(outcome.value)
        task_set.pending.discard(index)
        if stage in self.running and not task_set.pending:
            self.running.discard(stage)
            self.stage_finished(stage)

    def stage_finished(self, stage: Stage) -> None:
        if isinstance(stage, ResultStage):
            if len(self.results) == len(stage.partitions):
                self.scheduler.publish(StageCompleted(self.job_id, stage.id))
                self.done = True
            else:
                self.submit_missing_tasks(stage)
            return
        if not self.scheduler.map_outputs.is_available(stage.shuffle_id):
            self.submit_stage(stage)  # an output was lost meanwhile
            return
        self.scheduler.publish(StageCompleted(self.job_id, stage.id))
        for waiting in list(self.waiting):
            if all(self.scheduler.map_outputs.is_available(p.shuffle_id) for p in waiting.parents):
                self.waiting.discard(waiting)
                self.submit_stage(waiting)

    def abort(self, error: BaseException) -> None:
        if self.done:
            return
        self.error = error
        self.done = True
        for task_id in list(self.running_tasks):
            self.scheduler.backend.kill(task_id)


def _user_error(error: BaseException, traceback_text: str, stage: Stage, index: int, attempts: int) -> BaseException:
    """The user's own exception, annotated with where it happened; its traceback kept."""
    note = (
        f"raised by task {index} of stage {stage.id} ({stage.name}) after {attempts} attempts"
    )
    if error.__traceback__ is None and traceback_text:
        note += "; executor traceback:\n" + traceback_text.rstrip()
    try:
        error.add_note(note)
    except AttributeError:
        pass
    return error
