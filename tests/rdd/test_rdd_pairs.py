"""Key-value operations: aggregations, joins, cogroup, sorting, partitioning."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from operator import add

import pytest

from rdd import portable_hash
from rddtestlib import canon, ref_join

pytestmark = pytest.mark.timeout(60)


def _pairs(n=200, keys=13, seed=1):
    rng = random.Random(seed)
    ks = [None, "a", "b", "ü", (1, "x"), 0, 1, -7, 2**40, 3.5, "", "long" * 10, (None, 2)][:keys]
    return [(rng.choice(ks), rng.randint(-50, 50)) for _ in range(n)]


def _grouped(pairs):
    d = defaultdict(list)
    for k, v in pairs:
        d[k].append(v)
    return d


def test_reduce_by_key_with_none_and_mixed_keys(sc):
    data = _pairs()
    expected = {k: sum(vs) for k, vs in _grouped(data).items()}
    r = sc.parallelize(data, 4).reduceByKey(add)
    got = r.collect()
    assert len(got) == len(expected)  # each key exactly once
    assert dict(got) == expected
    assert r.getNumPartitions() == 4  # PySpark: default = parent's partition count
    assert sc.parallelize(data, 4).reduceByKey(add, 3).getNumPartitions() == 3


def test_reduce_by_key_partition_func(sc):
    data = [(i, 1) for i in range(20)] * 2
    r = sc.parallelize(data, 3).reduceByKey(add, 4, partitionFunc=lambda k: k)
    for index, part in enumerate(r.glom().collect()):
        assert all(k % 4 == index for k, _ in part)
    assert sorted(r.collect()) == [(i, 2) for i in range(20)]


def test_reduce_by_key_empty(sc):
    assert sc.parallelize([], 3).reduceByKey(add).collect() == []


def test_group_by_key(sc):
    data = _pairs()
    got = sc.parallelize(data, 3).groupByKey().collect()
    assert len(got) == len(_grouped(data))
    assert {k: sorted(v) for k, v in got} == {k: sorted(v) for k, v in _grouped(data).items()}
    # values are a ResultIterable-like: len() and re-iterable
    k, vs = got[0]
    assert len(vs) == len(list(vs)) == len(list(vs))
    assert sc.parallelize(data, 3).groupByKey(5).getNumPartitions() == 5


def test_fold_by_key(sc):
    data = _pairs()
    got = dict(sc.parallelize(data, 4).foldByKey(0, add).collect())
    assert got == {k: sum(vs) for k, vs in _grouped(data).items()}
    assert sorted(sc.parallelize([("a", 1), ("b", 1), ("a", 1)], 2).foldByKey(0, add).collect()) == [("a", 2), ("b", 1)]


def test_aggregate_by_key_copies_mutable_zero(sc):
    data = _pairs(120)

    def seq(acc, v):
        acc.append(v)  # mutates the zero value: each key must get its own copy
        return acc

    def comb(a, b):
        a.extend(b)
        return a

    got = sc.parallelize(data, 4).aggregateByKey([], seq, comb).collect()
    assert {k: sorted(v) for k, v in got} == {k: sorted(v) for k, v in _grouped(data).items()}
    sums = dict(sc.parallelize(data, 4).aggregateByKey((0, 0), lambda a, v: (a[0] + v, a[1] + 1),
                                                      lambda a, b: (a[0] + b[0], a[1] + b[1])).collect())
    assert sums == {k: (sum(vs), len(vs)) for k, vs in _grouped(data).items()}


def test_combine_by_key(sc):
    x = sc.parallelize([("a", 1), ("b", 1), ("a", 2)], 2)

    def to_list(a):
        return [a]

    def append(a, b):
        a.append(b)
        return a

    def extend(a, b):
        a.extend(b)
        return a

    assert sorted((k, sorted(v)) for k, v in x.combineByKey(to_list, append, extend).collect()) == [
        ("a", [1, 2]), ("b", [1])]
    r = x.combineByKey(to_list, append, extend, numPartitions=3)
    assert r.getNumPartitions() == 3


def test_map_side_combine_calls(sc, tmp_path):
    """PySpark combines on the map side: createCombiner once per (key, map partition) and
    mergeCombiners once per extra map partition holding the key."""
    from rddtestlib import CallLog

    creates = CallLog(tmp_path / "create.log")
    merges = CallLog(tmp_path / "merge.log")

    def create(v):
        creates.hit("c")
        return v

    def merge_value(c, v):
        return c + v

    def merge_combiners(a, b):
        merges.hit("m")
        return a + b

    data = [("k", 1)] * 50 + [("k", 1)] * 50  # two map partitions, one key
    got = sc.parallelize(data, 2).combineByKey(create, merge_value, merge_combiners, 3).collect()
    assert got == [("k", 100)]
    assert creates.count() == 2
    assert merges.count() == 1


@pytest.mark.parametrize("how, method", [("inner", "join"), ("left", "leftOuterJoin"),
                                         ("right", "rightOuterJoin"), ("full", "fullOuterJoin")])
def test_join_family(sc, how, method):
    left = _pairs(60, keys=9, seed=2) + [("only-left", 1), ("only-left", 2)]
    right = _pairs(40, keys=11, seed=3)[5:] + [("only-right", 9), (None, 99)]
    a = sc.parallelize(left, 3)
    b = sc.parallelize(right, 2)
    got = getattr(a, method)(b).collect()
    assert canon(got) == canon(ref_join(left, right, how))
    assert getattr(a, method)(b, 5).getNumPartitions() == 5


def test_join_pyspark_doc_examples(sc):
    x = sc.parallelize([("a", 1), ("b", 4)])
    y = sc.parallelize([("a", 2), ("a", 3)])
    assert sorted(x.join(y).collect()) == [("a", (1, 2)), ("a", (1, 3))]
    y2 = sc.parallelize([("a", 2)])
    assert sorted(x.leftOuterJoin(y2).collect()) == [("a", (1, 2)), ("b", (4, None))]
    assert sorted(y2.rightOuterJoin(x).collect(), key=str) == [("a", (2, 1)), ("b", (None, 4))]
    y3 = sc.parallelize([("a", 2), ("c", 8)])
    assert sorted(x.fullOuterJoin(y3).collect()) == [("a", (1, 2)), ("b", (4, None)), ("c", (None, 8))]


def test_join_with_empty_side(sc):
    a = sc.parallelize([(1, "a"), (2, "b")], 2)
    e = sc.parallelize([], 2)
    assert a.join(e).collect() == []
    assert sorted(a.leftOuterJoin(e).collect()) == [(1, ("a", None)), (2, ("b", None))]
    assert sorted(e.rightOuterJoin(a).collect()) == [(1, (None, "a")), (2, (None, "b"))]


def test_cogroup(sc):
    x = sc.parallelize([("a", 1), ("b", 4), ("a", 5), (None, 0)], 2)
    y = sc.parallelize([("a", 2), ("c", 3), (None, 1)], 3)
    got = {k: (sorted(v), sorted(w)) for k, (v, w) in x.cogroup(y).collect()}
    assert got == {"a": ([1, 5], [2]), "b": ([4], []), "c": ([], [3]), None: ([0], [1])}
    assert x.cogroup(y, 4).getNumPartitions() == 4
    z = sc.parallelize([("b", 7)], 1)
    got3 = {k: tuple(sorted(i) for i in vs) for k, vs in x.groupWith(y, z).collect()}
    assert got3["b"] == ([4], [], [7])
    assert got3["c"] == ([], [3], [])


def test_subtract_by_key(sc):
    x = sc.parallelize([("a", 1), ("b", 4), ("b", 5), ("a", 2), (None, 3)], 2)
    y = sc.parallelize([("a", 3), ("c", None), (None, 0)], 2)
    assert sorted(x.subtractByKey(y).collect()) == [("b", 4), ("b", 5)]


def test_count_by_key_and_value_collect_as_map(sc):
    data = _pairs(150)
    r = sc.parallelize(data, 3)
    assert dict(r.countByKey()) == dict(Counter(k for k, _ in data))
    assert dict(r.countByValue()) == dict(Counter(data))
    assert dict(sc.parallelize([1, 2, 1, 2, 2], 2).countByValue()) == {1: 2, 2: 3}
    uniq = {k: v for k, v in data}
    assert sc.parallelize(list(uniq.items()), 3).collectAsMap() == uniq
    assert sc.parallelize([], 2).countByKey() == {}


def test_lookup(sc):
    pairs = list(zip(range(1000), range(1000))) + [(42, "again")]
    r = sc.parallelize(pairs, 10)
    assert sorted(r.lookup(42), key=str) == [42, "again"]
    assert r.lookup(1024) == []
    s = r.sortByKey()
    assert sorted(s.lookup(42), key=str) == [42, "again"]
    assert s.lookup(1024) == []
    g = sc.parallelize([(("a", "b"), "c")]).groupByKey()
    assert list(g.lookup(("a", "b"))[0]) == ["c"]
    assert sc.parallelize([(None, 1), (None, 2)], 2).lookup(None) == [1, 2]


def test_lookup_on_partitioned_rdd_scans_one_partition(sc, log):
    from rddtestlib import counting_partitions

    p = sc.parallelize([(i, i * i) for i in range(100)], 4).partitionBy(8)
    counted = p.mapPartitionsWithIndex(counting_partitions(log.path), preservesPartitioning=True)
    assert counted.lookup(9) == [81]
    assert log.lines() == [str(portable_hash(9) % 8)]


def test_partition_by(sc):
    data = [(k, v) for k in ["a", "b", "c", None, 7, (1, 2)] for v in range(3)]
    r = sc.parallelize(data, 2).partitionBy(4)
    parts = r.glom().collect()
    assert len(parts) == 4
    for index, part in enumerate(parts):
        assert all(portable_hash(k) % 4 == index for k, _ in part)
    assert canon(x for p in parts for x in p) == canon(data)
    custom = sc.parallelize([(i, i) for i in range(10)], 2).partitionBy(3, lambda k: k)
    assert [sorted(k for k, _ in p) for p in custom.glom().collect()] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]


# -- sorting ---------------------------------------------------------------------------------------


def _check_range_partitioned(parts, key=lambda x: x, reverse=False):
    flat = [x for p in parts for x in p]
    assert [key(x) for x in flat] == sorted((key(x) for x in flat), reverse=reverse)


@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("num_partitions", [1, 3, 4])
def test_sort_by_key_global_order_and_balance(sc, ascending, num_partitions):
    rng = random.Random(5)
    keys = rng.sample(range(100000), 1000)
    data = [(k, str(k)) for k in keys]
    r = sc.parallelize(data, 5).sortByKey(ascending, num_partitions)
    assert r.getNumPartitions() == num_partitions
    parts = r.glom().collect()
    assert len(parts) == num_partitions
    _check_range_partitioned(parts, key=lambda kv: kv[0], reverse=not ascending)
    assert r.collect() == sorted(data, reverse=not ascending)
    mean = len(data) / num_partitions
    sizes = [len(p) for p in parts]
    assert all(0.3 * mean <= s <= 1.7 * mean for s in sizes), sizes


def test_sort_by_key_keyfunc_and_duplicates(sc):
    data = [("b", 1), ("A", 2), ("a", 3), ("C", 4), ("c", 5), ("B", 6)] * 3
    r = sc.parallelize(data, 3).sortByKey(True, 2, keyfunc=lambda k: k.lower())
    assert [k.lower() for k, _ in r.collect()] == sorted(k.lower() for k, _ in data)
    d = sc.parallelize(data, 3).sortByKey(False, 3, keyfunc=lambda k: k.lower())
    assert [k.lower() for k, _ in d.collect()] == sorted((k.lower() for k, _ in data), reverse=True)
    same = sc.parallelize([(1, i) for i in range(50)], 4).sortByKey(numPartitions=3)
    assert sorted(same.collect()) == [(1, i) for i in range(50)]


def test_sort_by_key_defaults_and_empty(sc):
    data = [(3, "c"), (1, "a"), (2, "b")]
    r = sc.parallelize(data, 2).sortByKey()
    assert r.collect() == sorted(data)
    assert r.getNumPartitions() == 2
    assert sc.parallelize([], 2).sortByKey().collect() == []
    assert sc.parallelize([(1, 1)], 2).sortByKey(numPartitions=4).collect() == [(1, 1)]


def test_sort_by(sc):
    tmp = [("a", 1), ("b", 2), ("1", 3), ("d", 4), ("2", 5)]
    assert sc.parallelize(tmp).sortBy(lambda x: x[0]).collect() == sorted(tmp)
    assert sc.parallelize(tmp).sortBy(lambda x: x[1]).collect() == tmp
    data = list(range(200))
    random.Random(3).shuffle(data)
    r = sc.parallelize(data, 4).sortBy(lambda x: -x, numPartitions=3)
    assert r.getNumPartitions() == 3
    assert r.collect() == sorted(data, reverse=True)
    assert sc.parallelize(data, 4).sortBy(lambda x: x, ascending=False).collect() == sorted(data, reverse=True)


# -- keys that are equal in Python must meet in one group -------------------------------------------


class Point:
    """A user key type with value equality."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self):
        return hash((self.x, self.y))

    def __repr__(self):
        return f"Point({self.x}, {self.y})"


def test_numerically_equal_keys_group_together(sc):
    data = [(1, 1), (1.0, 1), (True, 1), (2, 1), (2.0, 1), (0, 1), (False, 1), (0.0, 1)]
    got = sc.parallelize(data, 4).reduceByKey(add, 3).collect()
    assert sorted(v for _, v in got) == [2, 3, 3]
    assert {float(k) for k, _ in got} == {0.0, 1.0, 2.0}


def test_frozenset_and_user_class_keys(sc):
    data = [(frozenset(range(i % 3, 40)), 1) for i in range(30)]
    data += [(frozenset(reversed(range(i % 3, 40))), 1) for i in range(30)]
    got = sc.parallelize(data, 5).reduceByKey(add, 4).collect()
    assert sorted(v for _, v in got) == [20, 20, 20]
    pts = [(Point(i % 2, 0), 1) for i in range(20)]
    got = sc.parallelize(pts, 4).reduceByKey(add, 3).collect()
    assert sorted((k.x, v) for k, v in got) == [(0, 10), (1, 10)]


def test_partition_func_results_are_taken_modulo_like_python(sc):
    data = [(k, k) for k in range(12)]
    neg = sc.parallelize(data, 2).partitionBy(5, lambda k: -k).glom().collect()
    assert [sorted(k for k, _ in p) for p in neg] == [sorted(k for k in range(12) if (-k) % 5 == i) for i in range(5)]
    big = sc.parallelize(data, 2).partitionBy(4, lambda k: 2**70 + k).glom().collect()
    assert [sorted(k for k, _ in p) for p in big] == [sorted(k for k in range(12) if (2**70 + k) % 4 == i) for i in range(4)]


def test_keys_hashed_by_python_hash_of_strings_group_together(sc):
    """portable_hash falls back to hash() for other types, as PySpark does; hash() of a
    str is salted per process, so worker processes must share one hash seed (PySpark
    requires PYTHONHASHSEED for the same reason)."""
    words = [f"word-{i}" for i in range(12)]
    data = [(Point(words[i % 12], "tag"), 1) for i in range(240)]
    data += [(frozenset({words[i % 12], "x"}), 1) for i in range(240)]
    got = sc.parallelize(data, 8).reduceByKey(add, 5).collect()
    assert len(got) == 24, sorted(map(repr, got))
    assert sorted(v for _, v in got) == [20] * 24
