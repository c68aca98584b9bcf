"""Narrow and set transformations against plain-Python expectations."""

from __future__ import annotations

import pytest

from rddtestlib import canon, slices

pytestmark = pytest.mark.timeout(60)


def test_transformations_are_lazy(sc, log):
    r = sc.parallelize(range(10), 2).map(lambda x: (log.hit(x), x)[1])
    r2 = r.filter(lambda x: x % 2).flatMap(lambda x: [x, x])
    assert log.count() == 0
    assert r2.collect() == [1, 1, 3, 3, 5, 5, 7, 7, 9, 9]
    assert log.count() == 10


def test_map_filter_flatmap(sc):
    data = list(range(-5, 20))
    r = sc.parallelize(data, 4)
    assert r.map(lambda x: x * 3).collect() == [x * 3 for x in data]
    assert r.filter(lambda x: x % 3 == 0).collect() == [x for x in data if x % 3 == 0]
    assert r.flatMap(lambda x: range(x % 3)).collect() == [y for x in data for y in range(x % 3)]
    assert r.flatMap(lambda x: []).collect() == []
    assert r.map(lambda x: None).collect() == [None] * len(data)
    assert r.map(lambda x: x).getNumPartitions() == 4


def test_map_partitions_and_with_index(sc):
    data = list(range(11))
    r = sc.parallelize(data, 3)
    assert r.mapPartitions(lambda it: [sum(it)]).collect() == [sum(s) for s in slices(data, 3)]
    got = r.mapPartitionsWithIndex(lambda i, it: ((i, x) for x in it)).collect()
    assert got == [(i, x) for i, s in enumerate(slices(data, 3)) for x in s]
    # a function that returns a generator, a list, or an empty iterator
    assert r.mapPartitions(lambda it: iter(())).collect() == []


def test_glom(sc):
    data = list("abcdefg")
    assert sc.parallelize(data, 3).glom().collect() == slices(data, 3)
    assert sc.parallelize(data, 3).glom().map(len).collect() == [2, 2, 3]


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_sample_without_replacement(sc, fraction):
    data = list(range(400))
    r = sc.parallelize(data, 4)
    s1 = r.sample(False, fraction, 42).collect()
    s2 = r.sample(False, fraction, 42).collect()
    assert s1 == s2  # deterministic for a seed
    assert len(set(s1)) == len(s1) and set(s1) <= set(data)
    if fraction == 0.0:
        assert s1 == []
    elif fraction == 1.0:
        assert s1 == data
    else:
        assert 60 <= len(s1) <= 180
        assert s1 == sorted(s1)  # sampling keeps the order of elements
        assert r.sample(False, fraction, 43).collect() != s1


def test_sample_with_replacement(sc):
    data = list(range(300))
    r = sc.parallelize(data, 3)
    s1 = r.sample(True, 2.0, 7).collect()
    assert s1 == r.sample(True, 2.0, 7).collect()
    assert set(s1) <= set(data)
    assert 450 <= len(s1) <= 750
    assert len(set(s1)) < len(s1)  # some elements drawn more than once


def test_union_method(sc):
    a = sc.parallelize([1, 2, 3], 2)
    b = sc.parallelize([3, 4], 3)
    u = a.union(b)
    assert u.collect() == [1, 2, 3, 3, 4]
    assert u.getNumPartitions() == 5
    assert a.union(a).collect() == [1, 2, 3, 1, 2, 3]
    assert a.union(sc.emptyRDD()).collect() == [1, 2, 3]


def test_intersection(sc):
    a = sc.parallelize([1, 10, 2, 3, 4, 5, 2, None, "s"], 3)
    b = sc.parallelize([1, 6, 2, 3, 7, 8, 2, 2, None], 2)
    assert canon(a.intersection(b).collect()) == canon([1, 2, 3, None])
    assert a.intersection(sc.parallelize([], 2)).collect() == []


def test_subtract_keeps_duplicates_of_self(sc):
    x = sc.parallelize([("a", 1), ("b", 4), ("b", 5), ("a", 3), ("b", 4)], 2)
    y = sc.parallelize([("a", 3), ("c", None)], 2)
    assert sorted(x.subtract(y).collect()) == [("a", 1), ("b", 4), ("b", 4), ("b", 5)]
    assert sorted(sc.parallelize([1, 1, 2, 3], 2).subtract(sc.parallelize([2]), 3).collect()) == [1, 1, 3]


def test_distinct(sc):
    data = [1, 1, 2, None, None, "a", "a", (1, 2), (1, 2), 2.5]
    r = sc.parallelize(data, 3)
    assert canon(r.distinct().collect()) == canon(set(data))
    assert r.distinct(5).getNumPartitions() == 5
    assert canon(r.distinct(5).collect()) == canon(set(data))
    assert sc.parallelize([], 2).distinct().collect() == []


def test_cartesian(sc):
    a = sc.parallelize([1, 2, 3], 2)
    b = sc.parallelize(["x", "y"], 2)
    c = a.cartesian(b)
    assert c.getNumPartitions() == 4
    assert sorted(c.collect()) == sorted((i, j) for i in [1, 2, 3] for j in ["x", "y"])
    assert a.cartesian(sc.parallelize([], 2)).collect() == []


def test_zip(sc):
    x = sc.parallelize(range(0, 7), 3)
    y = sc.parallelize(range(1000, 1007), 3)
    assert x.zip(y).collect() == list(zip(range(7), range(1000, 1007)))
    assert x.zip(x.map(str)).collect() == [(i, str(i)) for i in range(7)]


def test_zip_mismatch_is_an_error(sc):
    with pytest.raises(Exception):
        sc.parallelize(range(4), 2).zip(sc.parallelize(range(4), 3)).collect()
    with pytest.raises(Exception):  # same partition count, different sizes
        sc.parallelize(range(4), 2).zip(sc.parallelize(range(6), 2)).collect()


def test_zip_with_index(sc):
    assert sc.parallelize(["a", "b", "c", "d"], 3).zipWithIndex().collect() == [
        ("a", 0), ("b", 1), ("c", 2), ("d", 3)]
    # empty partitions in between and at the ends
    data = list(range(5))
    r = sc.parallelize(data, 9)
    assert r.zipWithIndex().collect() == [(x, i) for i, x in enumerate(data)]
    assert sc.parallelize([], 3).zipWithIndex().collect() == []


def test_key_value_helpers(sc):
    r = sc.parallelize(range(0, 3), 2)
    assert r.keyBy(lambda x: x * x).collect() == [(0, 0), (1, 1), (4, 2)]
    kv = sc.parallelize([("a", ["x", "y", "z"]), ("b", ["p", "r"]), ("c", [])], 2)
    assert kv.flatMapValues(lambda v: v).collect() == [
        ("a", "x"), ("a", "y"), ("a", "z"), ("b", "p"), ("b", "r")]
    assert kv.mapValues(len).collect() == [("a", 3), ("b", 2), ("c", 0)]
    assert kv.keys().collect() == ["a", "b", "c"]
    assert kv.values().collect() == [["x", "y", "z"], ["p", "r"], []]


def test_group_by(sc):
    r = sc.parallelize([1, 1, 2, 3, 5, 8], 3)
    got = sorted((k, sorted(v)) for k, v in r.groupBy(lambda x: x % 2).collect())
    assert got == [(0, [2, 8]), (1, [1, 1, 3, 5])]
    g = r.groupBy(lambda x: x % 3, 4)
    assert g.getNumPartitions() == 4
    assert sorted((k, len(v)) for k, v in g.collect()) == [(0, 1), (1, 2), (2, 3)]


def test_pipe(sc):
    assert sc.parallelize(["1", "2", "", "3"], 2).pipe("cat").collect() == ["1", "2", "", "3"]
    assert sc.parallelize([1, 22, 333], 2).pipe("cat").collect() == ["1", "22", "333"]
    assert sc.parallelize(["ab", "cd"], 2).pipe("tr a-z A-Z").collect() == ["AB", "CD"]
    assert sc.parallelize(["b", "a", "c"], 1).pipe("sort").collect() == ["a", "b", "c"]
    got = sc.parallelize(["x", "y"], 2).pipe("/bin/sh -c 'echo $LAMNA_PIPE_VAR'", env={"LAMNA_PIPE_VAR": "val"})
    assert got.collect() == ["val", "val"]


def test_pipe_check_code(sc):
    assert sc.parallelize(["a"], 1).pipe("/bin/sh -c 'cat; exit 3'").collect() == ["a"]
    with pytest.raises(Exception) as err:
        sc.parallelize(["a"], 1).pipe("/bin/sh -c 'cat >/dev/null; exit 3'", checkCode=True).collect()
    assert "3" in str(err.value)


def test_repartition(sc):
    data = list(range(400))
    r = sc.parallelize(data, 1).repartition(4)
    assert r.getNumPartitions() == 4
    parts = r.glom().collect()
    assert sorted(x for p in parts for x in p) == data
    assert all(len(p) > 0 for p in parts), [len(p) for p in parts]
    assert sorted(sc.parallelize(data, 5).repartition(2).collect()) == data


def test_coalesce(sc):
    data = list(range(30))
    r = sc.parallelize(data, 6)
    c = r.coalesce(2)
    assert c.getNumPartitions() == 2
    assert c.collect() == data  # adjacent partitions merged, order kept
    assert [len(p) for p in c.glom().collect()] == [15, 15]
    assert r.coalesce(10).getNumPartitions() == 6  # no shuffle: cannot grow
    grown = r.coalesce(10, shuffle=True)
    assert grown.getNumPartitions() == 10
    assert sorted(grown.collect()) == data
    assert r.coalesce(1).glom().collect() == [data]


def test_partitioner_propagation(sc):
    pairs = sc.parallelize([(i % 5, i) for i in range(20)], 3)
    assert pairs.partitioner is None
    p = pairs.partitionBy(4)
    assert p.partitioner is not None
    assert p.partitioner == pairs.partitionBy(4).partitioner
    assert p.partitioner != pairs.partitionBy(3).partitioner
    assert p.mapValues(lambda v: v + 1).partitioner == p.partitioner
    assert p.flatMapValues(lambda v: [v]).partitioner == p.partitioner
    assert p.filter(lambda kv: True).partitioner == p.partitioner
    assert p.mapPartitions(lambda it: it, preservesPartitioning=True).partitioner == p.partitioner
    assert p.map(lambda kv: kv).partitioner is None
    assert p.mapPartitions(lambda it: it).partitioner is None
    assert pairs.reduceByKey(lambda a, b: a + b, 4).partitioner == p.partitioner
