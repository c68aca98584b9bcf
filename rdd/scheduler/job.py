"""One job as a state machine: stages waiting, running, and the results so far.

``JobRun.run`` submits the final stage (which submits its missing parents first) and
then handles one event at a time in ``process_event``: executors only put events on
the job's queue, so all scheduling decisions of a job happen on one thread, and tests
can drive it synchronously.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from rdd.base import RDD
from rdd.dependency import NarrowDependency
from rdd.executor.hybrid import wants_workers
from rdd.executor.serialization import TaskNotSerializable
from rdd.scheduler.dag import DAGScheduler, JobAborted, JobCancelled
from rdd.scheduler.events import (
    CancelJob,
    JobEnded,
    JobEvent,
    JobStarted,
    StageCompleted,
    StageReleased,
    StageSubmitted,
    TaskEnded,
    TaskFinished,
    TaskLaunched,
)
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

#: How long a cancelled job waits for its tasks to stop before returning (Spark returns
#: at once; a short grace lets cooperative tasks end before the caller cleans up).
CANCEL_GRACE = 1.0
#: How long a failed job waits for its other tasks to stop before returning, so that a
#: failed write cleans up after its own stragglers.
FAILURE_GRACE = 10.0


def _all_stages(stage: Stage) -> list[Stage]:
    found: dict[int, Stage] = {}
    stack = [stage]
    while stack:
        current = stack.pop()
        if current.id not in found:
            found[current.id] = current
            stack.extend(current.parents)
    return list(found.values())


#: A job-local property, "true" by default: a job of a single task with no shuffle runs in
#: the thread that submitted it (``ThreadBackend.run_here``), as Spark once ran ``take``
#: locally, saving two hand-overs between threads.
INLINE_PROPERTY = "lamna.task.inline"


class JobRun:
    """One job's state machine: stages waiting, running, and the results so far."""

    def __init__(self, scheduler: DAGScheduler, job_id: int, final: ResultStage,
                 group_id: str | None, interrupt_on_cancel: bool = False, pool: str = "default",
                 properties: dict[str, str] | None = None):
        self.scheduler = scheduler
        self.job_id = job_id
        self.final = final
        self.group_id = group_id
        self.interrupt_on_cancel = interrupt_on_cancel
        self.pool = pool
        self.properties = dict(properties or {})
        self.elsewhere: set[Stage] = set()  # map stages another job is running for us
        self.stages = {stage.id: stage for stage in _all_stages(final)}
        self.events: queue.Queue[JobEvent] = queue.Queue()
        self.waiting: set[Stage] = set()
        self.running: set[Stage] = set()
        self.task_sets: dict[int, TaskSet] = {}
        self.results: dict[int, Any] = {}
        self.merged_tasks: set[tuple[int, int]] = set()
        self.running_tasks: dict[int, Task] = {}
        self.stage_failures: dict[int, int] = {}
        self.error: BaseException | None = None
        self.done = False
        self.running_here: int | None = None  # the task id of a task run in this thread
        # Once ``run`` has returned nobody reads ``events``: a task that ends after that
        # (a straggler of an aborted job) is reported to listeners straight away.
        self._closed = False
        self._close_lock = threading.Lock()

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> list[Any]:
        self.scheduler.publish(JobStarted(self.job_id, self.group_id, tuple(self.stages)))
        if not self.final.partitions:
            self.done = True
        else:
            self.submit_stage(self.final)
        while not self.done:
            self.process_event(self.events.get())
        if self.error is not None:
            cancelled = isinstance(self.error, JobCancelled)
            self.wait_for_killed_tasks(CANCEL_GRACE if cancelled else FAILURE_GRACE)
            for stage in self.running | self.waiting:
                self.scheduler.publish(StageCompleted(self.job_id, stage.id))
        self.close()
        self.scheduler.publish(JobEnded(self.job_id, self.error is None))
        if self.error is not None:
            raise self.error
        return [self.results[i] for i in range(len(self.final.partitions))]

    def wait_for_killed_tasks(self, timeout: float) -> None:
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

    def close(self) -> None:
        """Stop reading events; tasks still out are reported when they end."""
        with self._close_lock:
            self._closed = True
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, TaskEnded):
                self.straggler_ended(event.task)

    def task_done(self, task: Task, outcome: TaskOutcome) -> None:
        """The backend's callback (any thread): feed the loop, or report a straggler."""
        with self._close_lock:
            if not self._closed:
                self.events.put(TaskEnded(task, outcome))
                return
        self.straggler_ended(task)

    def straggler_ended(self, task: Task) -> None:
        """A task of an aborted job ended: listeners still see it end."""
        self.running_tasks.pop(task.identity.task_id, None)
        self.scheduler.publish(TaskFinished(
            self.job_id, task.identity.stage_id, task.identity.partition, False
        ))

    def process_event(self, event: JobEvent) -> None:
        match event:
            case TaskEnded(task=task, outcome=outcome):
                if not self.done:
                    self.running_tasks.pop(task.identity.task_id, None)
                    self.handle_task_end(task, outcome)
                else:
                    self.straggler_ended(task)
            case CancelJob(reason=reason):
                self.abort(JobCancelled(f"job {self.job_id} cancelled: {reason}"))
            case StageReleased(stage_id=stage_id):
                self.stage_released(stage_id)

    # -- submitting -------------------------------------------------------------------

    def submit_stage(self, stage: Stage) -> None:
        if stage in self.waiting or stage in self.running or stage in self.elsewhere:
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
            if not self.scheduler.claim_stage(stage, self):
                self.elsewhere.add(stage)  # another job runs it; we hear when it's done
                return
            partitions = self.scheduler.map_outputs.missing(stage.shuffle_id)
        else:
            assert isinstance(stage, ResultStage)
            partitions = [i for i in range(len(stage.partitions)) if i not in self.results]
        if not partitions:
            self.stage_finished(stage)
            return
        stage.attempt += 1
        self.running.add(stage)
        task_set = self.task_sets.setdefault(
            stage.id, TaskSet(stage.id, self.scheduler.settings.max_task_failures)
        )
        task_set.pending = set(partitions)
        statuses = {p.shuffle_id: self.scheduler.map_outputs.statuses(p.shuffle_id) for p in stage.parents}
        self.scheduler.publish(
            StageSubmitted(self.job_id, stage.id, stage.attempt, stage.name, len(partitions))
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
        identity = TaskIdentity(self.job_id, stage.id, stage.attempt, index, attempt, task_id)
        split = stage.rdd.partitions()[split_index]
        task: Task
        if isinstance(stage, ResultStage):
            task = ResultTask(identity, stage.rdd, split, stage.func, statuses,  # type: ignore[arg-type]
                              self.properties)
        else:
            assert isinstance(stage, ShuffleMapStage) and stage.dependency is not None
            task = ShuffleMapTask(identity, stage.rdd, split, stage.dependency.write_spec, statuses,
                                  self.properties)
        self.running_tasks[task_id] = task
        preferred = self.preferred_executor(stage.rdd, split_index)
        self.scheduler.publish(TaskLaunched(self.job_id, stage.id, index))
        backend = self.scheduler.backend
        if self._runs_here(stage) and hasattr(backend, "run_here"):
            self.running_here = task_id
            try:
                backend.run_here(task, lambda outcome: self.task_done(task, outcome))
            finally:
                self.running_here = None
            return
        backend.submit(task, preferred, lambda outcome: self.task_done(task, outcome), self.pool)

    def kill_task_running_here(self) -> None:
        """Kill the task this job's own thread is running (any thread may call)."""
        task_id = self.running_here
        if task_id is not None:
            self.scheduler.backend.kill(task_id)

    def _runs_here(self, stage: Stage) -> bool:
        """A job of one task with no shuffle runs in the thread that submitted it, unless
        that is the main thread (where Ctrl-C lands: it must interrupt the wait for the
        job, not the user's code inside a task), the job says ``lamna.task.inline=false``
        or it asked for the worker processes (``lamna.executor=workers``)."""
        return (isinstance(stage, ResultStage) and len(self.stages) == 1 and len(stage.partitions) == 1
                and self.properties.get(INLINE_PROPERTY, "true") == "true"
                and not wants_workers(self.properties)
                and threading.current_thread() is not threading.main_thread())

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

    def handle_task_end(self, task: Task, outcome: TaskOutcome) -> None:
        stage = self.stages[task.identity.stage_id]
        index = task.identity.partition
        task_set = self.task_sets[stage.id]
        metrics = outcome.metrics if isinstance(outcome, TaskSucceeded) else None
        self.scheduler.publish(
            TaskFinished(self.job_id, stage.id, index, metrics is not None, metrics)
        )
        match outcome:
            case TaskSucceeded():
                self.task_succeeded(stage, task, outcome, task_set)
            case TaskFetchFailed(shuffle_id=shuffle_id, map_id=map_id):
                self.fetch_failed(stage, task, shuffle_id, map_id)
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
            case TaskFailed(error=TaskNotSerializable() as error):
                self.abort(error)  # retrying cannot help
            case TaskFailed(error=error, traceback_text=text):
                if task_set.record_failure(index):
                    self.relaunch(stage, index)
                else:
                    self.abort(_user_error(error, text, stage, index, task_set.attempts(index)))

    def fetch_failed(self, stage: Stage, task: Task, shuffle_id: int, map_id: int) -> None:
        """Recompute lost map outputs, then this stage: once per stage attempt.

        Every reduce task of an attempt may fail to fetch the same lost files; only the
        first failure of the current attempt resubmits, later ones (and those of older
        attempts) only unregister what is lost.
        """
        # The files decide what is lost: a late failure from an older attempt must not
        # unregister an output that has been recomputed since.
        self.scheduler.map_outputs.unregister_lost(shuffle_id)
        if task.identity.stage_attempt != stage.attempt or stage not in self.running:
            return
        self.running.discard(stage)
        self.task_sets[stage.id].pending.clear()
        failures = self.stage_failures[stage.id] = self.stage_failures.get(stage.id, 0) + 1
        if failures > self.scheduler.settings.max_stage_attempts:
            self.abort(JobAborted(
                f"stage {stage.id} ({stage.name}) lost its shuffle input {failures} times; "
                f"last: shuffle {shuffle_id} map output {map_id}"
            ))
            return
        self.submit_stage(stage)

    def stage_released(self, stage_id: int) -> None:
        """The job that ran a map stage we need is done with it: use it, or run it."""
        stage = next((s for s in self.elsewhere if s.id == stage_id), None)
        if stage is None:
            return
        self.elsewhere.discard(stage)
        assert isinstance(stage, ShuffleMapStage)
        if self.scheduler.map_outputs.is_available(stage.shuffle_id):
            self.submit_ready_stages()
        else:
            self.submit_stage(stage)

    def submit_ready_stages(self) -> None:
        tracker = self.scheduler.map_outputs
        for waiting in list(self.waiting):
            if all(tracker.is_available(p.shuffle_id) for p in waiting.parents):
                self.waiting.discard(waiting)
                self.submit_stage(waiting)

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
        self.scheduler.release_stages(self, [stage.id])
        self.submit_ready_stages()

    def abort(self, error: BaseException) -> None:
        if self.done:
            return
        self.error = error
        self.done = True
        force = self.interrupt_on_cancel and isinstance(error, JobCancelled)
        for task_id in list(self.running_tasks):
            self.scheduler.backend.kill(task_id, force)


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
