"""Broadcast variables (shipped once per executor) and accumulators (once per successful task)."""

from __future__ import annotations

import os

import cloudpickle
import pytest

from rdd import AccumulatorParam, TaskContext
from rddtestlib import CallLog, first_time

pytestmark = pytest.mark.timeout(90)


class Tracked:
    """A broadcast payload that logs every deserialization to a file."""

    def __init__(self, log_path: str, payload: dict) -> None:
        self.log_path = log_path
        self.payload = payload

    def __getstate__(self):
        return {"log_path": self.log_path, "payload": self.payload}

    def __setstate__(self, state):
        self.__dict__.update(state)
        CallLog(state["log_path"]).hit(str(os.getpid()))


def test_broadcast_deserialized_once_per_executor(sc, master, tmp_path):
    ctx = sc
    executors = 2 if master.startswith("local-cluster") else 1
    log = CallLog(tmp_path / "setstate.log")
    b = ctx.broadcast(Tracked(log.path, {i: i * i for i in range(100)}))
    r = ctx.parallelize(range(200), 20)
    assert r.map(lambda x: b.value.payload[x % 100]).sum() == sum((x % 100) ** 2 for x in range(200))
    assert r.map(lambda x: len(b.value.payload)).distinct().collect() == [100]  # a second job
    loads = log.lines()
    # Once per executor process: a worker replaced earlier in the session is a new
    # executor, so count repeats within one process rather than a fixed total.
    assert len(loads) == len(set(loads)), loads
    assert len(loads) <= executors or master.startswith("local-cluster"), loads


def test_broadcast_is_not_shipped_inside_each_closure(sc):
    b = sc.broadcast(b"\x01" * 2_000_000)
    f = lambda x: x + len(b.value)  # noqa: E731
    assert len(cloudpickle.dumps(f)) < 50_000
    assert sc.parallelize([1, 2], 2).map(f).collect() == [2_000_001, 2_000_002]


def test_accumulator_counts_once_per_successful_task(sc, tmp_path):
    ctx = sc
    acc = ctx.accumulator(0)
    marker = str(tmp_path / "failed")

    def add_then_maybe_fail(index, it):
        rows = list(it)
        for _ in rows:
            acc.add(1)
        if index == 2 and first_time(marker):
            raise RuntimeError("fail after adding")
        return rows

    data = list(range(100))
    assert ctx.parallelize(data, 4).mapPartitionsWithIndex(add_then_maybe_fail).collect() == data
    assert acc.value == 100  # the failed attempt's 25 additions are discarded


def test_accumulator_in_foreach_and_multiple_jobs(sc):
    acc = sc.accumulator(0)
    r = sc.parallelize(range(1, 11), 3)
    r.foreach(lambda x: acc.add(x))
    assert acc.value == 55
    r.foreach(lambda x: acc.add(1))
    assert acc.value == 65
    acc.value = 0  # the driver may reset it
    r.foreach(lambda x: acc.add(2))
    assert acc.value == 20


class VectorParam(AccumulatorParam):
    def zero(self, value):
        return [0.0] * len(value)

    def addInPlace(self, v1, v2):
        for i in range(len(v1)):
            v1[i] += v2[i]
        return v1


def test_custom_accumulator_param(sc):
    acc = sc.accumulator([1.0, 2.0, 3.0], VectorParam())
    sc.parallelize(range(6), 3).foreach(lambda x: acc.add([1.0, x, 0.5]))
    assert acc.value == [7.0, 2.0 + 15.0, 6.0]


def test_accumulator_value_is_not_readable_in_tasks(sc):
    acc = sc.accumulator(0)

    def peek(x):
        return acc.value

    with pytest.raises(Exception):
        sc.parallelize([1], 1).map(peek).collect()


def test_accumulator_updates_from_cached_rdd_not_reapplied(sc):
    """Updates happen when the partition is computed; reading the cache adds nothing."""
    acc = sc.accumulator(0)

    def count(x):
        acc.add(1)
        return x

    r = sc.parallelize(range(30), 3).map(count).cache()
    r.count()
    r.count()
    assert acc.value == 30


def test_accumulator_counts_per_task_attempt_number(sc):
    acc = sc.accumulator(0)

    def seen(it):
        acc.add(TaskContext.get().attemptNumber() + 1)
        return it

    sc.parallelize(range(8), 4).mapPartitions(seen).count()
    assert acc.value == 4


def test_broadcast_unpersist_then_reuse_and_destroy(sc):
    b = sc.broadcast([1, 2, 3])
    r = sc.parallelize(range(3), 3)
    assert r.map(lambda i: b.value[i]).collect() == [1, 2, 3]
    b.unpersist()  # executors drop their copy; the next use ships it again
    assert r.map(lambda i: b.value[i] * 10).collect() == [10, 20, 30]
    b.destroy()
    with pytest.raises(Exception):
        r.map(lambda i: b.value[i]).collect()


def test_accumulator_in_skipped_map_stage_is_not_recounted(sc):
    acc = sc.accumulator(0)

    def count(kv):
        acc.add(1)
        return kv

    red = sc.parallelize([(i % 4, i) for i in range(40)], 4).map(count).reduceByKey(lambda a, b: a + b, 2)
    red.collect()
    red.collect()  # the map stage's shuffle output is reused: no new updates
    assert acc.value == 40


def test_broadcast_arrow_table(sc):
    import pyarrow as pa

    table = pa.table({"k": list(range(100)), "name": [f"n{i}" for i in range(100)]})
    b = sc.broadcast(table)
    got = sc.parallelize([3, 50, 99], 3).map(lambda k: b.value.column("name")[k].as_py()).collect()
    assert got == ["n3", "n50", "n99"]
    assert b.value.equals(table)


def test_accumulator_updates_from_concurrent_tasks_are_not_lost(sc):
    acc = sc.accumulator(0)

    def hammer(it):
        for _ in range(50_000):
            acc.add(1)
        return iter(())

    sc.parallelize(range(4), 4).mapPartitions(hammer).count()
    assert acc.value == 200_000


def test_accumulators_nobody_holds_are_not_kept_by_the_context(sc) -> None:
    """A long-lived Context (a server's, one accumulator per query) must not grow."""
    import gc

    gc.collect()
    before = set(sc._accumulators)
    kept = sc.accumulator(0)
    for _ in range(50):
        sc.accumulator(0)
    gc.collect()
    assert set(sc._accumulators) - before == {kept.aid}
    sc.parallelize(range(10), 2).foreach(lambda x: kept.add(x))
    assert kept.value == 45
