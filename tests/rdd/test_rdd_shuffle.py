"""Shuffle machinery: portable_hash, partitioners, stage reuse, shuffle files."""

from __future__ import annotations

import json
import sys
from operator import add

import cloudpickle
import pytest

from rdd import HashPartitioner, portable_hash
from rddtestlib import counting_partitions, run_python, shuffle_files

pytestmark = pytest.mark.timeout(90)

HASH_INPUTS = [None, 0, 1, -1, 2**62, -(2**70), 3.25, -0.0, True, "", "a", "héllo wörld", "中文",
               b"bytes", (None, 1), ("a", (1, "b")), (), (1, 2.5, None, "x")]


def test_portable_hash_pyspark_values():
    assert portable_hash(None) == 0
    assert portable_hash((None, 1)) & 0xFFFFFFFF == 219750521  # PySpark's docstring example
    assert portable_hash(12345) == 12345  # ints hash to themselves, as in CPython/PySpark


def test_portable_hash_deterministic_across_processes():
    code = (
        "import json\n"
        "from rdd import portable_hash\n"
        f"values = {HASH_INPUTS!r}\n"
        "print(json.dumps([portable_hash(v) for v in values]))\n"
    )
    here = [portable_hash(v) for v in HASH_INPUTS]
    one = json.loads(run_python(code, "1"))
    two = json.loads(run_python(code, "4242"))
    rnd = json.loads(run_python(code, "random"))
    assert one == two == rnd == here
    assert all(isinstance(h, int) for h in here)


def test_string_partitioning_identical_across_processes_and_backends(thread_sc, cluster_sc):
    """The same string keys land in the same partitions on threads and on worker processes."""
    keys = [f"key-{i}" for i in range(200)]
    layouts = []
    for ctx in (thread_sc, cluster_sc):
        parts = ctx.parallelize([(k, 1) for k in keys], 3).partitionBy(5).glom().collect()
        layouts.append([sorted(k for k, _ in p) for p in parts])
    assert layouts[0] == layouts[1]
    assert layouts[0] == [sorted(k for k in keys if portable_hash(k) % 5 == i) for i in range(5)]


def test_hash_partitioner():
    p = HashPartitioner(4)
    assert p == HashPartitioner(4)
    assert hash(p) == hash(HashPartitioner(4))
    assert p != HashPartitioner(5)
    assert p.numPartitions == 4
    for key in HASH_INPUTS:
        assert p(key) == portable_hash(key) % 4
    assert cloudpickle.loads(cloudpickle.dumps(p)) == p


def test_shuffle_output_reused_by_later_jobs(sc, log):
    src = sc.parallelize([(i % 6, i) for i in range(60)], 4).mapPartitionsWithIndex(counting_partitions(log.path))
    red = src.reduceByKey(add, 3)
    first = dict(red.collect())
    assert len(log.lines()) == 4
    # a second action on the same shuffled RDD (and on a child of it) skips the map stage
    assert dict(red.collect()) == first
    assert red.map(lambda kv: kv[1]).sum() == sum(range(60))
    assert len(log.lines()) == 4


def test_shuffle_files_live_under_local_dir(sc):
    red = sc.parallelize([(i % 3, 1) for i in range(30)], 3).reduceByKey(add, 2)
    assert sorted(red.collect()) == [(0, 10), (1, 10), (2, 10)]
    assert shuffle_files(sc), "no shuffle_* files under ctx.local_dir after a shuffle"


def test_multi_stage_job(sc):
    words = ["a", "b", "c", "a", "b", "a"] * 20
    counts = sc.parallelize(words, 4).map(lambda w: (w, 1)).reduceByKey(add, 3)
    by_count = counts.map(lambda kv: (kv[1], kv[0])).groupByKey(2).mapValues(sorted)
    result = by_count.sortByKey(False).collect()
    assert result == [(60, ["a"]), (40, ["b"]), (20, ["c"])]


def test_large_values_through_shuffle(sc):
    blob = "x" * 100_000
    data = [(i % 4, blob + str(i)) for i in range(20)]
    got = sc.parallelize(data, 3).groupByKey(2).mapValues(lambda vs: sorted(len(v) for v in vs)).collect()
    assert dict(got) == {k: sorted(len(v) for kk, v in data if kk == k) for k in range(4)}


def test_unhashable_values_and_tuple_keys(sc):
    data = [((i % 2, "x"), {"i": i}) for i in range(10)]
    got = sc.parallelize(data, 3).groupByKey().mapValues(lambda vs: sorted(v["i"] for v in vs)).collect()
    assert dict(got) == {(0, "x"): [0, 2, 4, 6, 8], (1, "x"): [1, 3, 5, 7, 9]}


def test_diamond_lineage_computes_shared_parent_once_per_job(sc, log):
    base = sc.parallelize([(i % 4, i) for i in range(40)], 4).mapPartitionsWithIndex(counting_partitions(log.path))
    sums = base.reduceByKey(add, 2)
    both = sums.join(sums)  # the same shuffle dependency on both sides
    assert sorted(both.collect()) == sorted((k, (v, v)) for k, v in
                                            ((k, sum(i for i in range(40) if i % 4 == k)) for k in range(4)))
    assert len(log.lines()) == 4, log.lines()


def test_take_on_shuffled_rdd_runs_the_map_stage_once(sc, log):
    src = sc.parallelize([(i % 3, 1) for i in range(60)], 6).mapPartitionsWithIndex(counting_partitions(log.path))
    red = src.reduceByKey(add, 12)  # most reduce partitions are empty: take() has to scan on
    got = red.take(3)
    assert sorted(got) == [(0, 20), (1, 20), (2, 20)]
    assert len(log.lines()) == 6, log.lines()


def test_union_of_two_shuffles_and_a_source(sc):
    a = sc.parallelize([(i % 3, 1) for i in range(30)], 3).reduceByKey(add)
    b = sc.parallelize([(i % 2, 2) for i in range(10)], 2).groupByKey().mapValues(sum)
    c = sc.parallelize([("x", 0)], 1)
    u = a.union(b).union(c)
    assert u.getNumPartitions() == 3 + 2 + 1
    assert sorted(u.collect(), key=str) == sorted([(0, 10), (1, 10), (2, 10), (0, 10), (1, 10), ("x", 0)], key=str)


def test_stage_ids_differ_between_map_and_result_stage(sc):
    from rdd import TaskContext

    def tag(it):
        rows = list(it)
        return [(r[0], (r[1], TaskContext.get().stageId())) for r in rows]

    pairs = sc.parallelize([(i % 2, i) for i in range(8)], 2).mapPartitions(tag)
    result = pairs.groupByKey().mapPartitions(
        lambda it: [(k, sorted({s for _, s in vs}), TaskContext.get().stageId()) for k, vs in it]).collect()
    assert len(result) == 2
    for _, map_stages, result_stage in result:
        assert len(map_stages) == 1 and map_stages[0] != result_stage
