"""``local[N]`` with ``lamna.workers``: jobs run on the driver's threads unless their
local property ``lamna.executor`` is ``workers``, and then on worker processes at the
configured lower priority; both sides share shuffle files, broadcasts, cancellation,
cached-block accounting and shutdown."""

from __future__ import annotations

import os
import threading
import time

import pytest

from rdd import EXECUTOR_PROPERTY, EXECUTOR_WORKERS, Context, JobCancelled


@pytest.fixture(scope="module")
def hybrid():
    ctx = Context("local[2]", "hybrid-tests", {"lamna.workers": "2", "lamna.workers.nice": "7"})
    yield ctx
    ctx.stop()


@pytest.fixture
def on_workers(hybrid):
    hybrid.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
    yield hybrid
    hybrid.setLocalProperty(EXECUTOR_PROPERTY, None)


def _where(_x):
    return os.getpid(), os.nice(0)


def test_jobs_run_on_threads_unless_they_ask_for_workers(hybrid):
    assert set(hybrid.parallelize(range(8), 4).map(_where).collect()) == {(os.getpid(), os.nice(0))}
    hybrid.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
    try:
        places = set(hybrid.parallelize(range(40), 8).map(_where).collect())
    finally:
        hybrid.setLocalProperty(EXECUTOR_PROPERTY, None)
    pids = {pid for pid, _ in places}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert {nice for _, nice in places} == {min(19, os.nice(0) + 7)}


def test_a_one_task_job_for_the_workers_is_not_run_in_the_submitting_thread(hybrid):
    out: dict[str, object] = {}

    def submit() -> None:  # local properties belong to the thread that sets them
        hybrid.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
        out["v"] = hybrid.parallelize([1], 1).map(_where).collect()

    t = threading.Thread(target=submit)
    t.start()
    t.join(60)
    [(pid, _)] = out["v"]
    assert pid != os.getpid()


def test_shuffles_and_broadcasts_work_on_the_workers(on_workers):
    lookup = on_workers.broadcast({k: k * 10 for k in range(5)})
    pairs = on_workers.parallelize(range(1000), 6).map(lambda x: (x % 5, 1))
    counts = pairs.reduceByKey(lambda a, b: a + b).map(lambda kv: (kv[0], kv[1] + lookup.value[kv[0]]))
    assert sorted(counts.collect()) == [(k, 200 + k * 10) for k in range(5)]


def test_shuffle_output_of_one_side_is_read_by_the_other(hybrid):
    """A shuffle stage computed by a job on the workers is reused, not recomputed, by a
    job on the threads: its map outputs are files on the shared local disk."""
    mapped = hybrid.accumulator(0)

    def key(x):
        mapped.add(1)
        return x % 7, x

    shuffled = hybrid.parallelize(range(200), 4).map(key).groupByKey(3)
    hybrid.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
    try:
        on_workers = sorted((k, sorted(v)) for k, v in shuffled.collect())
    finally:
        hybrid.setLocalProperty(EXECUTOR_PROPERTY, None)
    assert mapped.value == 200
    on_threads = sorted((k, sorted(v)) for k, v in shuffled.collect())
    assert mapped.value == 200
    assert on_threads == on_workers == [(k, [x for x in range(200) if x % 7 == k]) for k in range(7)]


def test_cached_blocks_are_counted_on_both_sides(hybrid):
    data = hybrid.parallelize(range(1000), 4).cache()
    assert data.sum() == sum(range(1000))  # on the threads: blocks in the driver
    hybrid.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
    try:
        assert data.sum() == sum(range(1000))  # the workers compute their own copies
    finally:
        hybrid.setLocalProperty(EXECUTOR_PROPERTY, None)
    driver = hybrid.backend.threads.block_summary()
    workers = hybrid.backend.worker_block_summary()
    prefix = f"rdd_{data.id()}_"
    assert sum(1 for b in driver if b.startswith(prefix)) == 4
    assert sum(1 for b in workers if b.startswith(prefix)) == 4
    [info] = [i for i in hybrid.storageInfo() if i.rdd_id == data.id()]
    held = [m for summary in (driver, workers) for b, (m, _) in summary.items() if b.startswith(prefix)]
    assert info.num_cached_partitions == 4 and info.memory_bytes == sum(held) > 0
    data.unpersist()
    assert not any(b.startswith(prefix) for b in hybrid.backend.block_summary())


def _sleep_forever(it):
    for x in it:
        while True:
            time.sleep(0.05)
            yield x


def test_a_job_on_the_workers_is_cancelled_by_its_group(hybrid):
    errors: list[BaseException] = []

    def run() -> None:
        hybrid.setJobGroup("hybrid-cancel", "cancel me", interruptOnCancel=True)
        hybrid.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
        try:
            hybrid.parallelize(range(4), 2).mapPartitions(_sleep_forever).collect()
        except BaseException as error:
            errors.append(error)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 30
    while not hybrid.statusTracker().getActiveStageIds() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    started = time.monotonic()
    hybrid.cancelJobGroup("hybrid-cancel")
    t.join(30)
    assert not t.is_alive() and isinstance(errors[0], JobCancelled)
    assert time.monotonic() - started < 10
    # the workers are free again
    hybrid.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
    try:
        assert hybrid.parallelize(range(10), 2).count() == 10
    finally:
        hybrid.setLocalProperty(EXECUTOR_PROPERTY, None)


@pytest.mark.parametrize(("key", "value"), [("lamna.workers", "two"), ("lamna.workers", "-1"),
                                            ("lamna.workers.nice", "20")])
def test_bad_settings_are_refused_with_their_name(key, value):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        Context("local[2]", "bad", {key: value})


def test_stop_ends_the_worker_processes():
    ctx = Context("local[1]", "hybrid-stop", {"lamna.workers": "1"})
    ctx.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
    [(pid, _)] = ctx.parallelize([1], 1).map(_where).collect()
    assert pid != os.getpid()
    ctx.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_pool_with_nothing_running_gets_an_extra_worker_when_all_are_busy(tmp_path):
    """Worker processes run one task each and cannot be preempted: while another pool's
    long tasks hold every worker, a short job of a pool with nothing running still runs
    (on an extra worker), not after the long tasks end."""
    ctx = Context("local-cluster[2]", "extra-workers")
    release = tmp_path / "release"

    def hold(iterator, started=str(tmp_path), release=str(release)):
        from rdd import TaskContext

        open(os.path.join(started, f"started-{TaskContext.get().partitionId()}"), "w").close()
        while not os.path.exists(release):
            TaskContext.get().check_interrupted()
            time.sleep(0.05)
        yield from iterator

    def run_long() -> None:
        ctx.setLocalProperty("spark.scheduler.pool", "long")
        ctx.parallelize(range(4), 4).mapPartitions(hold).count()

    long_job = threading.Thread(target=run_long)
    long_job.start()
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("started-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(list(tmp_path.glob("started-*"))) == 2, "the long job's tasks never held both workers"
        answer: list[int] = []
        short_job = threading.Thread(target=lambda: (
            ctx.setLocalProperty("spark.scheduler.pool", "short"),
            answer.append(ctx.parallelize(range(10), 1).sum())))
        short_job.start()
        short_job.join(60)  # a backstop, not a timing bound: without a worker it never ends
        assert answer == [45] and long_job.is_alive()
        assert len(list(tmp_path.glob("started-*"))) == 2  # the extra worker ran no long task
    finally:
        release.touch()
        long_job.join(60)
        ctx.stop()


class _CountsPickling:
    """Counts how often the driver pickles it (each pickling runs ``__reduce__``)."""

    times = 0

    def __reduce__(self):
        type(self).times += 1
        return (_CountsPickling, ())


def test_a_stage_is_pickled_once_however_many_tasks_it_has():
    """Tasks of one stage share their RDD chain: it is pickled once (Spark's task
    binary), each task adding only its own partition and identity."""
    ctx = Context("local-cluster[2]", "stage-pickling")
    try:
        marker = _CountsPickling()
        _CountsPickling.times = 0
        assert ctx.parallelize(range(80), 8).map(lambda x, m=marker: x + 1).sum() == sum(range(1, 81))
        assert _CountsPickling.times == 1
        pairs = ctx.parallelize(range(80), 8).map(lambda x, m=marker: (x % 4, 1))
        assert sorted(pairs.reduceByKey(lambda a, b: a + b, 4).collect()) == [(k, 20) for k in range(4)]
        assert _CountsPickling.times == 2  # the map stage once; the reduce stage holds no marker
    finally:
        ctx.stop()


def test_jobs_for_workers_that_could_not_start_run_on_the_threads(monkeypatch, caplog):
    import rdd.context

    def cannot_start(*args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(rdd.context, "ProcessBackend", cannot_start)
    ctx = Context("local[1]", "no-workers", {"lamna.workers": "1"})
    try:
        ctx.setLocalProperty(EXECUTOR_PROPERTY, EXECUTOR_WORKERS)
        assert set(ctx.parallelize(range(6), 3).map(_where).collect()) == {(os.getpid(), os.nice(0))}
        assert "worker processes could not start" in caplog.text
    finally:
        ctx.stop()
