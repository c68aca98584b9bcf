"""The DAG scheduler as a state machine, driven one event at a time with a fake backend.

No threads, no sleeps: tasks the scheduler submits are collected, and the test decides
each outcome (run it for real on this thread, fail it, lose its map output) and feeds
it back through ``process_event``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from operator import add

import pytest

from rdd import Context
from rdd.scheduler.dag import DAGScheduler
from rdd.scheduler.job import JobRun
from rdd.scheduler.events import TaskEnded
from rdd.scheduler.stage import ResultStage
from rdd.scheduler.task import (
    ResultTask,
    ShuffleMapTask,
    Task,
    TaskFailed,
    TaskFetchFailed,
    TaskOutcome,
    run_task,
)
from rdd.storage import BlockLocations
from rdd.task_context import TaskContext


class FakeBackend:
    def __init__(self) -> None:
        self.submitted: list[Task] = []
        self.killed: list[int] = []

    def submit(self, task: Task, preferred: str | None, on_done: Callable[[TaskOutcome], None],
               pool: str = "default") -> None:
        self.submitted.append(task)

    def kill(self, task_id: int, force: bool = False) -> None:
        self.killed.append(task_id)


@pytest.fixture
def sc():
    with Context("local[1]") as context:
        yield context


def make_job(sc: Context, rdd, backend: FakeBackend, events: list) -> JobRun:
    scheduler = DAGScheduler(backend, sc.settings, events.append, BlockLocations(), lambda updates: None)
    final = ResultStage(id=99, rdd=rdd, parents=scheduler.parent_stages(rdd), func=list,
                        partitions=list(range(rdd.getNumPartitions())))
    return JobRun(scheduler, 0, final, None)


def run_for_real(sc: Context, task: Task) -> TaskOutcome:
    identity = task.identity
    context = TaskContext(identity.stage_id, task.split.index, identity.attempt, identity.task_id,
                          sc.env, shuffle_statuses=task.shuffle_statuses)
    return run_task(task, context)


def drain(sc: Context, job: JobRun, backend: FakeBackend,
          decide: Callable[[Task], TaskOutcome | None] = lambda task: None) -> None:
    """Run submitted tasks one by one until the job is done; ``decide`` may override."""
    while not job.done:
        assert backend.submitted, "the scheduler stalled with nothing submitted"
        task = backend.submitted.pop(0)
        outcome = decide(task) or run_for_real(sc, task)
        job.process_event(TaskEnded(task, outcome))


def test_a_shuffle_cuts_the_job_into_a_map_stage_then_a_result_stage(sc):
    rdd = sc.parallelize(range(12), 3).map(lambda x: (x % 3, x)).reduceByKey(add)
    backend, events = FakeBackend(), []
    job = make_job(sc, rdd, backend, events)
    job.submit_stage(job.final)
    assert [type(t) for t in backend.submitted] == [ShuffleMapTask] * 3
    assert job.final in job.waiting
    drain(sc, job, backend)
    assert sorted(x for part in job.results.values() for x in part) == [(0, 18), (1, 22), (2, 26)]


def test_narrow_transformations_are_pipelined_into_one_stage(sc):
    rdd = sc.parallelize(range(8), 2).map(lambda x: x + 1).filter(lambda x: x % 2).map(str)
    backend, events = FakeBackend(), []
    job = make_job(sc, rdd, backend, events)
    job.submit_stage(job.final)
    assert [type(t) for t in backend.submitted] == [ResultTask, ResultTask]
    drain(sc, job, backend)
    assert [job.results[i] for i in range(2)] == [["1", "3"], ["5", "7"]]


def test_a_lost_map_output_resubmits_only_that_map_task(sc):
    rdd = sc.parallelize(range(12), 3).map(lambda x: (x % 2, 1)).reduceByKey(add)
    backend, events = FakeBackend(), []
    job = make_job(sc, rdd, backend, events)
    job.submit_stage(job.final)
    lost = []

    def lose_map_1_once(task: Task) -> TaskOutcome | None:
        if isinstance(task, ResultTask) and not lost:
            lost.append(task)
            os.unlink(job.scheduler.map_outputs.statuses(task.rdd.shuffle_id)[1].path)
            return TaskFetchFailed(shuffle_id=task.rdd.shuffle_id, map_id=1, message="gone", executor_id="x")
        return None

    reruns = []
    original = backend.submit

    def recording_submit(task, preferred, on_done, pool="default"):
        if lost and isinstance(task, ShuffleMapTask):
            reruns.append(task.identity.partition)
        original(task, preferred, on_done, pool)

    backend.submit = recording_submit
    drain(sc, job, backend, lose_map_1_once)
    assert reruns == [1], "only the lost map output is recomputed"
    assert sorted(x for part in job.results.values() for x in part) == [(0, 6), (1, 6)]


def test_a_failing_task_is_retried_then_the_job_aborts_with_the_users_exception(sc):
    rdd = sc.parallelize(range(4), 2)
    backend, events = FakeBackend(), []
    job = make_job(sc, rdd, backend, events)
    job.submit_stage(job.final)
    failures = []

    def always_fail_partition_0(task: Task) -> TaskOutcome | None:
        if task.identity.partition == 0:
            failures.append(task.identity.attempt)
            return TaskFailed(KeyError("boom"), "Traceback: user code", "x")
        return None

    drain(sc, job, backend, always_fail_partition_0)
    assert failures == [0, 1, 2, 3]  # spark.task.maxFailures = 4 attempts
    assert isinstance(job.error, KeyError)
    assert "after 4 attempts" in job.error.__notes__[0]


def test_a_task_failing_once_succeeds_on_retry(sc):
    rdd = sc.parallelize(range(4), 2)
    backend, events = FakeBackend(), []
    job = make_job(sc, rdd, backend, events)
    job.submit_stage(job.final)
    seen = set()

    def fail_first_attempt(task: Task) -> TaskOutcome | None:
        if task.identity.partition not in seen:
            seen.add(task.identity.partition)
            return TaskFailed(RuntimeError("transient"), "", "x")
        return None

    drain(sc, job, backend, fail_first_attempt)
    assert job.error is None
    assert [job.results[i] for i in range(2)] == [[0, 1], [2, 3]]


def test_a_cancelled_job_leaves_no_stage_looking_active():
    import threading
    import time

    from rdd import JobCancelled

    with Context("local[2]") as sc:
        started = threading.Event()

        def slow(iterator):
            started.set()
            for x in iterator:
                TaskContext.get().check_interrupted()
                time.sleep(0.005)
                yield x

        def cancel_when_running():
            started.wait(10)
            sc.cancelJobGroup("g")

        threading.Thread(target=cancel_when_running).start()
        sc.setJobGroup("g", "cancel me")
        with pytest.raises(JobCancelled):
            sc.parallelize(range(10_000), 4).mapPartitions(slow).count()
        tracker = sc.statusTracker()
        assert tracker.getActiveStageIds() == []
        assert tracker.getActiveJobsIds() == []
        for job_id in tracker.getJobIdsForGroup("g"):
            for stage_id in tracker.getJobInfo(job_id).stageIds:
                info = tracker.getStageInfo(stage_id)
                assert info is None or info.numActiveTasks == 0


def test_a_short_job_is_not_queued_behind_a_long_jobs_tasks():
    """Fair pools: with both threads busy and a long job's tasks queued, a job in another
    pool gets the next free thread instead of waiting for the whole long job."""
    import threading
    import time

    with Context("local[2]") as sc:
        order: list[str] = []
        lock = threading.Lock()

        def long_task(iterator):
            time.sleep(0.2)
            with lock:
                order.append("long")
            return iterator

        def run_long():
            sc.setLocalProperty("spark.scheduler.pool", "etl")
            sc.parallelize(range(12), 12).mapPartitions(long_task).count()

        worker = threading.Thread(target=run_long)
        worker.start()
        time.sleep(0.1)  # the long job's 12 tasks are queued, 2 running
        sc.setLocalProperty("spark.scheduler.pool", "interactive")
        sc.parallelize([1], 1).map(lambda x: x).collect()
        with lock:
            order.append("short")
            finished_before_short = order.count("long")
        worker.join()
        assert finished_before_short <= 4, order  # not after all 12 long tasks
