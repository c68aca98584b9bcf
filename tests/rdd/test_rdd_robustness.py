"""Harder cases: concurrent jobs, failures of workers holding state, odd exceptions,
deep lineage, iterative algorithms, resource cleanup."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from operator import add

import pytest

from rdd import TaskContext
from rddtestlib import CallLog, counting_partitions, first_time

pytestmark = pytest.mark.timeout(120)


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrent_jobs_from_several_threads(sc):
    results, errors = {}, []

    def job(n):
        try:
            data = [(i % n, i) for i in range(200 + n)]
            got = dict(sc.parallelize(data, 3).reduceByKey(add, 2).collect())
            results[n] = got == {k: sum(v for kk, v in data if kk == k) for k in range(n)}
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(n,), daemon=True) for n in (3, 4, 5, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert results == {3: True, 4: True, 5: True, 6: True}


def test_job_group_is_per_thread_and_cancel_all(sc, tmp_path):
    started = str(tmp_path / "started")
    outcome = {}

    def slow(it):
        open(started, "a").close()
        tc = TaskContext.get()
        for _ in range(300):
            tc.check_interrupted()
            time.sleep(0.05)
        yield 1

    def run_grouped():
        sc.setJobGroup("only-this-thread", "cancellable")
        try:
            sc.parallelize(range(2), 2).mapPartitions(slow).collect()
            outcome["grouped"] = "finished"
        except Exception as exc:  # noqa: BLE001
            outcome["grouped"] = exc

    t = threading.Thread(target=run_grouped, daemon=True)
    t.start()
    deadline = time.time() + 10
    while not os.path.exists(started) and time.time() < deadline:
        time.sleep(0.02)
    # the main thread's jobs do not belong to the other thread's group
    assert sc.getLocalProperty("spark.jobGroup.id") != "only-this-thread"
    sc.cancelAllJobs()
    t.join(20)
    assert not t.is_alive()
    assert isinstance(outcome["grouped"], Exception)
    assert sc.parallelize(range(3), 3).count() == 3


# -- workers that hold state die --------------------------------------------------------------------


def test_broadcast_reaches_a_replacement_worker(make_context, tmp_path):
    ctx = make_context("local-cluster[2]")
    b = ctx.broadcast({"offset": 1000})
    marker = str(tmp_path / "died")
    log = CallLog(tmp_path / "calls")

    def f(index, it):
        log.hit(index)
        rows = [x + b.value["offset"] for x in it]
        if index == 1 and first_time(marker):
            os._exit(1)
        return rows

    assert ctx.parallelize(range(20), 4).mapPartitionsWithIndex(f).collect() == [x + 1000 for x in range(20)]
    assert log.count("1") == 2
    # every worker (including the replacement) can read it in a later job
    assert sorted(set(ctx.parallelize(range(8), 8).map(lambda x: b.value["offset"]).collect())) == [1000]


def test_cached_partitions_of_a_dead_worker_are_recomputed(make_context, tmp_path):
    ctx = make_context("local-cluster[2]")
    log = CallLog(tmp_path / "calls")
    r = ctx.parallelize(range(80), 8).mapPartitionsWithIndex(counting_partitions(log.path)).cache()
    assert r.sum() == sum(range(80))
    assert len(log.lines()) == 8
    victim = ctx.backend.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.3)
    assert r.sum() == sum(range(80))
    assert r.collect() == list(range(80))
    assert 8 < len(log.lines()) < 16 + 1, log.lines()


def test_shuffle_output_of_a_dead_worker(make_context, tmp_path):
    ctx = make_context("local-cluster[2]")
    data = [(i % 6, i) for i in range(120)]
    expected = sorted((k, sum(v for kk, v in data if kk == k)) for k in range(6))
    red = ctx.parallelize(data, 6).reduceByKey(add, 3)
    assert sorted(red.collect()) == expected
    os.kill(ctx.backend.worker_pids()[1], signal.SIGKILL)
    time.sleep(0.3)
    assert sorted(red.collect()) == expected
    assert sorted(red.mapValues(lambda v: -v).collect()) == [(k, -v) for k, v in expected]


def test_worker_dying_on_every_attempt_aborts_the_job(make_context):
    ctx = make_context("local-cluster[2]", conf={"spark.task.maxFailures": "2"})

    def always_dies(index, it):
        if index == 0:
            os._exit(7)
        return it

    t0 = time.time()
    with pytest.raises(Exception) as err:
        ctx.parallelize(range(4), 2).mapPartitionsWithIndex(always_dies).collect()
    assert time.time() - t0 < 60
    msg = str(err.value).lower()
    assert "exit" in msg or "lost" in msg or "died" in msg or "worker" in msg, msg
    assert ctx.parallelize(range(4), 2).sum() == 6


# -- odd exceptions and results ----------------------------------------------------------------------


class TwoArgError(Exception):
    """Pickles but cannot be unpickled with the default reduce (needs two arguments)."""

    def __init__(self, a, b):
        super().__init__(a)
        self.b = b


def test_exception_that_cannot_round_trip_pickle(sc):
    def boom(x):
        raise TwoArgError("two-arg failure", 2)

    with pytest.raises(Exception) as err:
        sc.parallelize([1], 1).map(boom).collect()
    assert "two-arg failure" in str(err.value) or "TwoArgError" in str(err.value), repr(err.value)
    assert sc.parallelize([1, 2], 2).sum() == 3


def test_unpicklable_task_result_on_processes(cluster_sc):
    with pytest.raises(Exception) as err:
        cluster_sc.parallelize([1], 1).map(lambda x: threading.Lock()).collect()
    assert "lock" in str(err.value).lower() or "pickl" in str(err.value).lower(), str(err.value)
    assert cluster_sc.parallelize([1, 2], 2).sum() == 3


def test_sys_exit_in_a_task_does_not_kill_the_driver(sc):
    with pytest.raises(BaseException) as err:
        sc.parallelize([1, 2], 2).map(lambda x: sys.exit(3)).collect()
    assert not isinstance(err.value, KeyboardInterrupt)
    assert sc.parallelize([1, 2, 3], 2).sum() == 6


def test_generator_failing_midway(sc):
    def gen(it):
        for x in it:
            if x == 5:
                raise IndexError("midway")
            yield x

    with pytest.raises(IndexError):
        sc.parallelize(range(10), 2).mapPartitions(gen).collect()
    it = sc.parallelize(range(10), 2).mapPartitions(gen).toLocalIterator()
    with pytest.raises(IndexError):
        list(it)


# -- lineage depth and iterative programs ---------------------------------------------------------------


def test_deep_narrow_lineage(sc):
    # PySpark itself cannot pickle ~150 chained maps (cloudpickle recursion); Lamna should
    # do at least a little better since its tasks ship lineage, not one nested closure.
    r = sc.parallelize(range(10), 2)
    for _ in range(250):
        r = r.map(lambda x: x + 1)
    assert r.collect() == [x + 250 for x in range(10)]
    assert "(2)" in str(r.toDebugString())


def test_deep_shuffle_lineage(sc):
    r = sc.parallelize([(i % 4, 1) for i in range(40)], 2)
    for _ in range(25):
        r = r.reduceByKey(add, 2).mapValues(lambda v: v)
    assert sorted(r.collect()) == [(k, 10) for k in range(4)]


def test_pagerank_iterations(sc):
    links_list = [("a", ["b", "c"]), ("b", ["c"]), ("c", ["a"]), ("d", ["a", "c"])]
    links = sc.parallelize(links_list, 2).partitionBy(2).cache()
    ranks = links.mapValues(lambda _: 1.0)

    def contribs(kv):
        _, (urls, rank) = kv
        return [(u, rank / len(urls)) for u in urls]

    for _ in range(8):
        ranks = links.join(ranks).flatMap(contribs).reduceByKey(add).mapValues(lambda r: 0.15 + 0.85 * r)

    ref = {k: 1.0 for k, _ in links_list}
    for _ in range(8):
        acc = {}
        for k, urls in links_list:
            if k in ref:
                for u in urls:
                    acc[u] = acc.get(u, 0.0) + ref[k] / len(urls)
        ref = {u: 0.15 + 0.85 * v for u, v in acc.items()}
    got = dict(ranks.collect())
    assert got.keys() == ref.keys()
    for k in ref:
        assert got[k] == pytest.approx(ref[k])


def test_iterative_cache_with_unpersist(sc, log):
    points = sc.parallelize([float(i) for i in range(100)], 4).mapPartitionsWithIndex(
        counting_partitions(log.path)).cache()
    w = 0.0
    for _ in range(5):
        grad = points.map(lambda p: p - w).mean()
        w += 0.5 * grad
    assert w == pytest.approx(49.5 * (1 - 0.5 ** 5))
    assert len(log.lines()) == 4
    points.unpersist()


# -- checkpoint + cache, resource cleanup ---------------------------------------------------------------


def test_checkpoint_of_cached_rdd_computes_once(sc, tmp_path, log):
    sc.setCheckpointDir(str(tmp_path / "ck"))
    r = sc.parallelize(range(30), 3).mapPartitionsWithIndex(counting_partitions(log.path)).cache()
    r.checkpoint()
    assert r.count() == 30
    assert r.isCheckpointed()
    assert r.collect() == list(range(30))
    assert len(log.lines()) == 3


def test_local_dir_removed_on_stop(master, make_context):
    ctx = make_context(master)
    assert sorted(ctx.parallelize([(i % 3, i) for i in range(30)], 3).reduceByKey(add).keys().collect()) == [0, 1, 2]
    local_dir = str(ctx.local_dir)
    assert os.path.isdir(local_dir)
    ctx.stop()
    assert not os.path.exists(local_dir), os.listdir(local_dir)


def test_sample_is_identical_on_threads_and_processes(thread_sc, cluster_sc):
    got = []
    for ctx in (thread_sc, cluster_sc):
        r = ctx.parallelize(range(500), 5)
        got.append((r.sample(False, 0.2, 11).collect(), r.sample(True, 0.5, 11).collect(),
                    r.takeSample(False, 7, 11)))
    assert got[0] == got[1]


def test_concurrent_jobs_share_a_running_map_stage(sc, tmp_path):
    log = CallLog(tmp_path / "calls")

    def slow_count(index, it):
        log.hit(index)
        time.sleep(0.3)
        return it

    red = sc.parallelize([(i % 5, 1) for i in range(50)], 4).mapPartitionsWithIndex(slow_count).reduceByKey(add, 2)
    results, errors = [], []

    def run():
        try:
            results.append(sorted(red.collect()))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert results == [[(k, 10) for k in range(5)]] * 3
    assert len(log.lines()) == 4, log.lines()  # the map stage ran once for all three jobs


def test_cancel_returns_promptly_even_if_a_task_never_checks(sc):
    """Spark fails a cancelled job at once; tasks that never call check_interrupted may
    finish in the background (or be killed with interruptOnCancel), but the caller of the
    action does not wait for them (the server's query cancellation relies on this)."""
    outcome = {}

    def stubborn(it):
        t0 = time.time()
        while time.time() - t0 < 6:
            time.sleep(0.01)
        yield 1

    def run():
        sc.setJobGroup("stubborn", "never checks", interruptOnCancel=True)
        try:
            sc.parallelize(range(2), 2).mapPartitions(stubborn).collect()
            outcome["result"] = "finished"
        except Exception as exc:  # noqa: BLE001
            outcome["result"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.8)
    t0 = time.time()
    sc.cancelJobGroup("stubborn")
    t.join(20)
    latency = time.time() - t0
    assert isinstance(outcome.get("result"), Exception), outcome
    assert latency < 3, f"the cancelled action returned {latency:.1f}s after cancelJobGroup"


@pytest.mark.parametrize("backend", ["local[2]", "local-cluster[2]"])
def test_stop_while_a_job_runs_fails_the_job(make_context, backend):
    ctx = make_context(backend)
    outcome = {}

    def slow(it):
        tc = TaskContext.get()
        for _ in range(200):
            tc.check_interrupted()
            time.sleep(0.05)
        yield 1

    def run():
        try:
            ctx.parallelize(range(2), 2).mapPartitions(slow).collect()
            outcome["result"] = "finished"
        except BaseException as exc:  # noqa: BLE001
            outcome["result"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.8)
    t0 = time.time()
    ctx.stop()
    t.join(15)
    assert not t.is_alive(), "the action never returned after Context.stop()"
    assert isinstance(outcome["result"], Exception), outcome
    assert time.time() - t0 < 8
