"""Fault injection: every job must still return the right answer, and each test checks
that the recovery really recomputed something (file-based call logs count computations
across threads and worker processes)."""

from __future__ import annotations

import os
import sys
import signal
import threading
import time
import traceback
from operator import add

import pytest

from rdd import StorageLevel, TaskContext
from rddtestlib import CallLog, counting_partitions, first_time, shuffle_files

pytestmark = pytest.mark.timeout(120)


class UserBoom(Exception):
    """A user-defined exception type that must reach the driver as itself."""


# -- task failures and retries -----------------------------------------------------------------


def test_task_failing_once_is_retried(sc, tmp_path):
    ctx = sc
    log = CallLog(tmp_path / "calls")
    attempts = CallLog(tmp_path / "attempts")
    marker = str(tmp_path / "failed-once")

    def flaky(index, it):
        log.hit(index)
        attempts.hit(f"{index}:{TaskContext.get().attemptNumber()}")
        if index == 1 and first_time(marker):
            raise UserBoom("transient")
        return (x * 10 for x in it)

    assert ctx.parallelize(range(12), 3).mapPartitionsWithIndex(flaky).collect() == [x * 10 for x in range(12)]
    assert log.count("1") == 2 and log.count("0") == 1 and log.count("2") == 1
    assert "1:1" in attempts.lines()  # the retry is attempt number 1


def user_failing_function(x):
    if x == 7:
        raise UserBoom(f"bad record {x}")
    return x


def test_task_always_failing_raises_user_exception_after_retries(sc, tmp_path):
    ctx = sc
    max_failures = int(ctx.getConf().get("spark.task.maxFailures", "4"))
    log = CallLog(tmp_path / "calls")

    def logged(index, it):
        log.hit(index)
        return map(user_failing_function, it)

    with pytest.raises(UserBoom) as err:
        ctx.parallelize(range(10), 2).mapPartitionsWithIndex(logged).collect()
    assert "bad record 7" in str(err.value)
    assert log.count("1") == max_failures  # spark.task.maxFailures attempts of the failing partition
    assert max_failures > 1
    text = "".join(traceback.format_exception(err.value))
    assert "user_failing_function" in text, text
    assert 'raise UserBoom(f"bad record {x}")' in text, text
    # the context survives a failed job
    assert ctx.parallelize(range(4), 2).sum() == 6


def test_failure_in_map_stage_surfaces_user_exception(sc):
    def bad(kv):
        if kv[0] == 3:
            raise KeyError("no such thing: 3")
        return kv

    with pytest.raises(KeyError) as err:
        sc.parallelize([(i, i) for i in range(10)], 3).map(bad).reduceByKey(add).collect()
    assert "no such thing" in str(err.value)
    text = "".join(traceback.format_exception(err.value))
    assert "def bad" in text or "in bad" in text, text


# -- worker process loss -----------------------------------------------------------------------


def test_worker_exits_mid_task_and_job_completes(make_context, tmp_path):
    ctx = make_context("local-cluster[2]")
    log = CallLog(tmp_path / "calls")
    marker = str(tmp_path / "died")
    pids_before = set(ctx.backend.worker_pids())

    def dies_once(index, it):
        log.hit(index)
        if index == 2 and first_time(marker):
            os._exit(1)  # the whole worker process dies, not just the task
        return (x + 1 for x in it)

    got = ctx.parallelize(range(40), 4).mapPartitionsWithIndex(dies_once).collect()
    assert got == [x + 1 for x in range(40)]
    assert os.path.exists(marker)
    assert log.count("2") == 2  # partition 2 really ran twice
    pids_after = set(ctx.backend.worker_pids())
    assert pids_after and pids_after != pids_before, "the dead worker is still listed"
    assert len(pids_after) == 2, "the dead worker was not replaced"
    assert ctx.parallelize(range(10), 4).sum() == 45


def test_worker_killed_externally_mid_stage(make_context, tmp_path):
    ctx = make_context("local-cluster[2]")
    log = CallLog(tmp_path / "calls")
    pids = list(ctx.backend.worker_pids())
    assert len(pids) == 2

    def slow(index, it):
        log.hit(index)
        time.sleep(0.4)
        return ((x % 5, x) for x in it)

    def killer():
        deadline = time.time() + 20
        while time.time() < deadline and log.count() < 3:
            time.sleep(0.02)
        time.sleep(0.1)  # both workers are inside a task now
        os.kill(pids[0], signal.SIGKILL)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    data = list(range(80))
    got = dict(ctx.parallelize(data, 8).mapPartitionsWithIndex(slow).reduceByKey(add, 2).collect())
    t.join()
    assert got == {k: sum(x for x in data if x % 5 == k) for k in range(5)}
    assert len(log.lines()) > 8, log.lines()  # the killed worker's task was run again
    assert pids[0] not in ctx.backend.worker_pids()


# -- lost shuffle output --------------------------------------------------------------------------


def test_deleted_shuffle_files_resubmit_parent_stage(sc, tmp_path):
    ctx = sc
    log = CallLog(tmp_path / "calls")
    data = [(i % 7, i) for i in range(70)]
    red = ctx.parallelize(data, 4).mapPartitionsWithIndex(counting_partitions(log.path)).reduceByKey(add, 3)
    expected = sorted((k, sum(v for kk, v in data if kk == k)) for k in range(7))
    assert sorted(red.collect()) == expected
    assert len(log.lines()) == 4
    files = shuffle_files(ctx)
    assert files, "no shuffle_* files found under ctx.local_dir"
    for path in files:
        os.unlink(path)
    assert sorted(red.collect()) == expected
    assert sorted(log.lines()) == ["0", "0", "1", "1", "2", "2", "3", "3"]


def test_one_deleted_map_output_reruns_only_that_map_task(sc, tmp_path):
    ctx = sc
    log = CallLog(tmp_path / "calls")
    data = [(i % 5, 1) for i in range(50)]
    before = set(shuffle_files(ctx))
    red = ctx.parallelize(data, 4).mapPartitionsWithIndex(counting_partitions(log.path)).reduceByKey(add, 2)
    assert sorted(red.collect()) == [(k, 10) for k in range(5)]
    files = sorted(set(shuffle_files(ctx)) - before)  # this job's map outputs only
    assert len(files) >= 4, files
    os.unlink(files[0])
    assert sorted(red.collect()) == [(k, 10) for k in range(5)]
    assert 5 <= len(log.lines()) <= 8, log.lines()


def test_shuffle_files_deleted_during_reduce_stage(make_context, tmp_path):
    """On one executor slot, the first reduce task deletes every shuffle file; the other
    reduce tasks then cannot fetch, so the map stage must be resubmitted within the job."""
    ctx = make_context("local[1]")
    log = CallLog(tmp_path / "calls")
    marker = str(tmp_path / "deleted")
    local_dir = str(ctx.local_dir)

    def wipe_once(index, it):
        rows = list(it)
        if first_time(marker):
            import glob
            for p in glob.glob(os.path.join(local_dir, "**", "shuffle_*"), recursive=True):
                if os.path.isfile(p):
                    os.unlink(p)
        return rows

    data = [(i % 9, i) for i in range(90)]
    red = (ctx.parallelize(data, 3).mapPartitionsWithIndex(counting_partitions(log.path))
           .reduceByKey(add, 3).mapPartitionsWithIndex(wipe_once))
    assert sorted(red.collect()) == sorted((k, sum(v for kk, v in data if kk == k)) for k in range(9))
    assert os.path.exists(marker)
    assert len(log.lines()) > 3, log.lines()


# -- cached partitions under memory pressure ------------------------------------------------------


def _big_rows(n_parts=4, rows=160, width=1000):
    """n_parts partitions of rows x ~1 KiB strings (160 rows: ~160 KiB, above the 128 KiB budget)."""
    return [f"{i:06d}" + "x" * width for i in range(n_parts * rows)]


def test_cached_partitions_too_big_for_the_budget_are_recomputed(small_memory_sc, tmp_path):
    ctx = small_memory_sc
    log = CallLog(tmp_path / "calls")
    data = _big_rows()
    r = ctx.parallelize(data, 4).mapPartitionsWithIndex(counting_partitions(log.path)).cache()
    assert r.count() == len(data)
    assert r.collect() == data
    assert r.map(len).sum() == sum(map(len, data))
    assert len(log.lines()) == 12  # no partition fits: every action recomputes all four
    r.unpersist()


def test_lru_eviction_under_small_budget(small_memory_sc, tmp_path):
    ctx = small_memory_sc
    log = CallLog(tmp_path / "calls")
    data = _big_rows(n_parts=8, rows=40)  # ~40 KiB per partition, ~320 KiB in all
    r = ctx.parallelize(data, 8).mapPartitionsWithIndex(counting_partitions(log.path)).cache()
    for _ in range(3):
        assert r.collect() == data
    n = len(log.lines())
    r.unpersist()
    assert n > 8, "nothing was evicted although the data exceeds the budget"


def test_memory_and_disk_spills_instead_of_recomputing(small_memory_sc, tmp_path):
    ctx = small_memory_sc
    log = CallLog(tmp_path / "calls")
    data = _big_rows()
    r = ctx.parallelize(data, 4).mapPartitionsWithIndex(counting_partitions(log.path))
    r.persist(StorageLevel.MEMORY_AND_DISK)
    assert r.count() == len(data)
    assert r.collect() == data
    assert r.collect() == data
    r.unpersist()
    assert len(log.lines()) == 4


def test_fits_in_budget_is_not_recomputed(sc, tmp_path):
    log = CallLog(tmp_path / "calls")
    data = _big_rows()
    r = sc.parallelize(data, 4).mapPartitionsWithIndex(counting_partitions(log.path)).cache()
    for _ in range(3):
        assert r.collect() == data
    r.unpersist()
    assert len(log.lines()) == 4


def test_truncated_shuffle_files_are_recomputed(sc, tmp_path):
    log = CallLog(tmp_path / "calls")
    data = [(i % 5, "v" * 50 + str(i)) for i in range(100)]
    before = set(shuffle_files(sc))
    # six map outputs, all truncated: Spark unregisters every output of the executor on a
    # fetch failure and recomputes them in one resubmission
    grouped = sc.parallelize(data, 6).mapPartitionsWithIndex(counting_partitions(log.path)).groupByKey(2)
    expected = sorted((k, sorted(v for kk, v in data if kk == k)) for k in range(5))
    assert sorted((k, sorted(v)) for k, v in grouped.collect()) == expected
    for path in sorted(set(shuffle_files(sc)) - before):
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size // 2)
    assert sorted((k, sorted(v)) for k, v in grouped.collect()) == expected
    assert len(log.lines()) > 6


def test_deleted_columnar_shuffle_files_resubmit(sc, tmp_path):
    import pyarrow as pa

    from rdd.columnar import BatchHashPartitioner

    log = CallLog(tmp_path / "calls")
    batches = [pa.record_batch({"k": pa.array([i % 7 for i in range(j * 50, (j + 1) * 50)]),
                                "v": pa.array(list(range(j * 50, (j + 1) * 50)))}) for j in range(4)]
    before = set(shuffle_files(sc))
    shuffled = (sc.parallelize(batches, 4).mapPartitionsWithIndex(counting_partitions(log.path))
                .shuffleBatches(BatchHashPartitioner(("k",), 3)))
    total = shuffled.map(lambda b: sum(b.column("v").to_pylist())).sum()
    assert total == sum(range(200))
    new = sorted(set(shuffle_files(sc)) - before)
    assert new, "the columnar shuffle wrote no shuffle_* files under ctx.local_dir"
    for path in new:
        os.unlink(path)
    assert shuffled.map(lambda b: sum(b.column("v").to_pylist())).sum() == sum(range(200))
    assert len(log.lines()) == 8, log.lines()


def test_deleted_disk_blocks_are_recomputed(sc, tmp_path):
    import glob

    log = CallLog(tmp_path / "calls")
    r = sc.parallelize(range(60), 3).mapPartitionsWithIndex(counting_partitions(log.path))
    r.persist(StorageLevel.DISK_ONLY)
    assert r.sum() == sum(range(60))
    blocks = [p for p in glob.glob(os.path.join(str(sc.local_dir), "**", f"rdd_{r.id()}_*"), recursive=True)
              if os.path.isfile(p)]
    assert len(blocks) == 3, blocks
    for p in blocks:
        os.unlink(p)
    assert r.collect() == list(range(60))
    assert len(log.lines()) == 6
    r.unpersist()


def test_memory_and_disk_spills_lru_victims(small_memory_sc, master, tmp_path):
    ctx = small_memory_sc
    log = CallLog(tmp_path / "calls")
    data = _big_rows(n_parts=8, rows=40)  # ~40 KiB partitions: the budget holds three
    r = ctx.parallelize(data, 8).mapPartitionsWithIndex(counting_partitions(log.path))
    r.persist(StorageLevel.MEMORY_AND_DISK)
    for _ in range(3):
        assert r.collect() == data
    (info,) = [i for i in ctx.storageInfo() if i.rdd_id == r.id()]
    executors = 2 if master.startswith("local-cluster") else 1
    assert info.num_cached_partitions == 8
    assert info.disk_bytes > 0
    assert info.memory_bytes <= executors * 128 * 1024  # byte accounting respects the budget
    r.unpersist()
    assert len(log.lines()) == 8, "evicted MEMORY_AND_DISK blocks were recomputed instead of read from disk"


def test_task_output_to_stdout_and_stderr_is_harmless(sc):
    def noisy(x):
        print("stdout noise " * 100, x)
        print("stderr noise " * 100, x, file=sys.stderr)
        return x

    assert sc.parallelize(range(50), 2).map(noisy).sum() == sum(range(50))


def test_status_tracker_shows_the_resubmitted_map_stage_attempt(sc, tmp_path):
    """Spark shares a shuffle's map stage between jobs; resubmitting it after a lost
    output starts a new attempt of that stage (currentAttemptId 1)."""
    group = f"resubmit-{tmp_path.name}"
    sc.setJobGroup(group, "lost shuffle output")
    before = set(shuffle_files(sc))
    red = sc.parallelize([(i % 3, i) for i in range(30)], 3).reduceByKey(add, 2)
    assert sorted(red.collect()) == [(0, 135), (1, 145), (2, 155)]
    for path in set(shuffle_files(sc)) - before:
        os.unlink(path)
    assert sorted(red.collect()) == [(0, 135), (1, 145), (2, 155)]
    st = sc.statusTracker()
    first, second = (st.getJobInfo(j) for j in st.getJobIdsForGroup(group)[-2:])
    map_stages = set(first.stageIds) & set(second.stageIds)
    assert len(map_stages) == 1, (first.stageIds, second.stageIds)
    stage = st.getStageInfo(map_stages.pop())
    assert stage.currentAttemptId >= 1, stage
    assert stage.numTasks == 3
