"""What task code can rely on for cancellation and per-query accounting: local
properties travel with the job's tasks, completion listeners run however a task ends,
a columnar task is checked for a cancel after every batch, and the status tracker
counts a cancelled job's tasks as active until each has really ended."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from rdd import JobCancelled, TaskContext


def _properties(_iterator):
    tc = TaskContext.get()
    yield (tc.getLocalProperty("lamna.test.key"), tc.getLocalProperty("spark.jobGroup.id"),
           tc.getLocalProperty("absent"))


def test_local_properties_and_job_group_reach_the_tasks(sc) -> None:
    sc.setLocalProperty("lamna.test.key", "v1")
    sc.setJobGroup("group-p", "properties")
    try:
        seen = set(sc.parallelize(range(4), 2).mapPartitions(_properties).collect())
    finally:
        sc.setLocalProperty("lamna.test.key", None)
        sc.setJobGroup("", "")
    assert seen == {("v1", "group-p", None)}


def test_completion_listeners_run_when_a_task_succeeds_or_fails(thread_sc) -> None:
    ended: list[int] = []

    def record(iterator):
        TaskContext.get().addTaskCompletionListener(lambda c: ended.append(c.partitionId()))
        yield from iterator

    assert thread_sc.parallelize(range(6), 3).mapPartitions(record).count() == 6
    assert sorted(ended) == [0, 1, 2]
    ended.clear()

    def record_then_fail(iterator):
        TaskContext.get().addTaskCompletionListener(lambda c: ended.append(c.partitionId()))
        yield from iterator
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        thread_sc.parallelize(range(2), 1).mapPartitions(record_then_fail).count()
    assert ended and set(ended) == {0}  # once per attempt


def test_a_failing_completion_listener_fails_the_task(thread_sc) -> None:
    def bad_listener(iterator):
        def fail(_context):
            raise RuntimeError("release failed")

        TaskContext.get().addTaskCompletionListener(fail)
        yield from iterator

    with pytest.raises(RuntimeError, match="release failed"):
        thread_sc.parallelize(range(2), 1).mapPartitions(bad_listener).count()


def test_a_columnar_task_is_checked_after_every_batch(thread_sc) -> None:
    """Batches pass one by one: after the cancel, at most the batch in hand goes on
    (elements in chunks of 1024 would have drained the whole partition first)."""
    produced: list[int] = []
    cancelled_seen = threading.Event()

    def batches(_iterator):
        tc = TaskContext.get()
        for i in range(200):
            if i == 3:
                cancelled_seen.set()
                assert tc.kill_flag.wait(30), "the cancel never reached the task"
            produced.append(i)
            yield pa.record_batch({"x": pa.array([i] * 10)})

    def cancel_when_running():
        cancelled_seen.wait(30)
        thread_sc.cancelJobGroup("hooks-batches")

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    thread_sc.setJobGroup("hooks-batches", "cancel me")
    try:
        with pytest.raises(JobCancelled):
            thread_sc.parallelize([0], 1).mapPartitions(batches).count()
    finally:
        thread_sc.setJobGroup("", "")
        canceller.join(30)
    assert len(produced) <= 4, produced


def test_the_tracker_counts_a_cancelled_task_until_it_has_ended(thread_sc) -> None:
    """A task that ignores the cancel for a while stays active in its stage (and the
    stage stays active) after the job has returned; it leaves when it really ends."""
    started, release = threading.Event(), threading.Event()

    def stubborn(iterator):
        started.set()
        release.wait(30)  # does not check for interruption meanwhile
        yield from iterator

    def cancel_when_running():
        started.wait(30)
        thread_sc.cancelJobGroup("hooks-stubborn")

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    thread_sc.setJobGroup("hooks-stubborn", "cancel me")
    try:
        with pytest.raises(JobCancelled):
            thread_sc.parallelize(range(4), 1).mapPartitions(stubborn).count()
    finally:
        thread_sc.setJobGroup("", "")
        canceller.join(30)
    tracker = thread_sc.statusTracker()
    (job_id,) = tracker.getJobIdsForGroup("hooks-stubborn")
    stages = tracker.getJobInfo(job_id).stageIds

    def active() -> int:
        return sum(tracker.getStageInfo(s).numActiveTasks for s in stages if tracker.getStageInfo(s))

    assert active() == 1 and set(stages) & set(tracker.getActiveStageIds())
    release.set()
    done = threading.Event()
    for _ in range(300):
        if active() == 0:
            done.set()
            break
        done.wait(0.1)
    assert active() == 0 and not set(stages) & set(tracker.getActiveStageIds())


def test_a_pool_with_nothing_running_gets_a_thread_when_all_are_busy(make_context) -> None:
    """Threads cannot be preempted: while another pool's long tasks hold every thread,
    a short job of a pool with nothing running still runs (on an extra thread), not
    after the long tasks end."""
    sc = make_context("local[2]")
    holding, release = threading.Event(), threading.Event()
    started = []

    def hold(iterator):
        started.append(1)
        if len(started) >= 2:
            holding.set()
        while not release.wait(0.05):
            TaskContext.get().check_interrupted()
        yield from iterator

    def run_long() -> None:
        sc.setLocalProperty("spark.scheduler.pool", "long")
        sc.parallelize(range(4), 4).mapPartitions(hold).count()

    long_job = threading.Thread(target=run_long)
    long_job.start()
    try:
        assert holding.wait(30), "the long job's tasks never held both threads"
        answer: list[int] = []
        short_job = threading.Thread(target=lambda: (
            sc.setLocalProperty("spark.scheduler.pool", "short"),
            answer.append(sc.parallelize(range(10), 1).sum())))
        short_job.start()
        short_job.join(30)  # a backstop, not a timing bound: without a thread it never ends
        assert answer == [45] and long_job.is_alive()
    finally:
        release.set()
        long_job.join(30)


def test_the_tracker_keeps_only_the_last_finished_jobs(make_context) -> None:
    """A long-running server runs millions of jobs: the tracker keeps the last ones."""
    sc = make_context("local[2]")
    tracker = sc.statusTracker()
    tracker.retained_jobs = 5
    sc.setJobGroup("retained", "many jobs")
    for i in range(20):
        assert sc.parallelize(range(i + 1), 2).count() == i + 1
    jobs = tracker.getJobIdsForGroup("retained")
    assert len(jobs) == 5 and jobs == sorted(jobs)[-5:]
    assert tracker.getJobInfo(min(jobs) - 1) is None
    for job in jobs:
        assert all(tracker.getStageInfo(s) is not None for s in tracker.getJobInfo(job).stageIds)
    assert len(tracker._stages) <= 5 * 2  # the forgotten jobs' stages went with them


def _rebuild_only_on_the_driver(pid: int):
    import os

    if os.getpid() != pid:
        raise AttributeError("no such attribute on this executor")
    return _Picky(pid)


class _Picky:
    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __reduce__(self):
        return (_rebuild_only_on_the_driver, (self.pid,))


def test_a_task_a_worker_cannot_unpickle_fails_the_job_not_the_worker(cluster_sc) -> None:
    """The worker reports the failure (the job ends with it) and keeps serving tasks,
    instead of losing its task loop and leaving the job waiting for ever."""
    import os

    picky = _Picky(os.getpid())
    with pytest.raises(RuntimeError, match="could not be unpickled.*no such attribute"):
        cluster_sc.parallelize([1], 1).map(lambda x: (picky, x)[1]).collect()
    assert cluster_sc.parallelize(range(4), 2).count() == 4
