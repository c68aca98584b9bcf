"""Further PySpark RDD methods that ported programs commonly use, and path forms."""

from __future__ import annotations

import os
from operator import add

import pytest

from rdd import StorageLevel
from rddtestlib import slices

pytestmark = pytest.mark.timeout(60)


def test_text_file_and_save_accept_file_uris(sc, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("u1\nu2\n")
    assert sc.textFile("file://" + str(src)).collect() == ["u1", "u2"]
    out = tmp_path / "out"
    sc.parallelize(["a", "b"], 2).saveAsTextFile("file://" + str(out))
    assert sorted(sc.textFile(str(out)).collect()) == ["a", "b"]


def test_text_file_lone_cr_is_a_line_break_like_hadoop(thread_sc, tmp_path):
    p = tmp_path / "cr.txt"
    p.write_bytes(b"one\rtwo\r\nthree\n")
    assert thread_sc.textFile(str(p)).collect() == ["one", "two", "three"]


def test_text_file_many_small_files_one_split_each(sc, tmp_path):
    for i in range(7):
        (tmp_path / f"f{i}.txt").write_text(f"line{i}\n")
    r = sc.textFile(str(tmp_path), 2)
    assert r.getNumPartitions() >= 7
    assert sorted(r.collect()) == [f"line{i}" for i in range(7)]


def test_is_empty(sc):
    assert sc.parallelize([], 3).isEmpty()
    assert sc.emptyRDD().isEmpty()
    assert not sc.parallelize([None], 3).isEmpty()
    assert sc.parallelize(range(10), 3).filter(lambda x: x > 100).isEmpty()


def test_zip_with_unique_id(sc):
    data = ["a", "b", "c", "d", "e"]
    got = sc.parallelize(data, 3).zipWithUniqueId().collect()
    # PySpark: items in the k-th partition get ids k, n+k, 2*n+k, ...
    n = 3
    expected = [(x, i * n + k) for k, part in enumerate(slices(data, n)) for i, x in enumerate(part)]
    assert got == expected


def test_tree_reduce_and_tree_aggregate(sc):
    r = sc.parallelize([-5, -4, -3, -2, -1, 1, 2, 3, 4], 10)
    assert r.treeReduce(add) == -5
    assert r.treeReduce(add, 1) == -5
    assert r.treeReduce(add, 3) == -5
    assert r.treeAggregate(0, add, add) == -5
    assert r.treeAggregate(0, add, add, 3) == -5
    with pytest.raises(ValueError):
        sc.parallelize([], 2).treeReduce(add)


def test_histogram(sc):
    r = sc.parallelize(range(51), 4)
    assert r.histogram(2) == ([0, 25, 50], [25, 26])
    assert r.histogram([0, 5, 25, 50]) == ([0, 5, 25, 50], [5, 20, 26])
    assert r.histogram([0, 15, 30, 45, 60]) == ([0, 15, 30, 45, 60], [15, 15, 15, 6])
    words = sc.parallelize(["ab", "ac", "b", "bd", "ef"])
    buckets, counts = words.histogram(("a", "b", "c"))
    assert list(buckets) == ["a", "b", "c"] and counts == [2, 2]


def test_random_split(sc):
    r = sc.parallelize(range(500), 2)
    a, b = r.randomSplit([2, 3], 17)
    la, lb = a.collect(), b.collect()
    assert sorted(la + lb) == list(range(500))
    assert 140 <= len(la) <= 260
    assert a.randomSplit  # the splits are RDDs
    a2, _ = r.randomSplit([2, 3], 17)
    assert a2.collect() == la


def test_reduce_by_key_locally(sc):
    data = [("a", 1), ("b", 1), ("a", 1), (None, 5)]
    assert sc.parallelize(data, 2).reduceByKeyLocally(add) == {"a": 2, "b": 1, None: 5}


def test_repartition_and_sort_within_partitions(sc):
    data = [(0, 5), (3, 8), (2, 6), (0, 8), (3, 8), (1, 3)]
    r = sc.parallelize(data).repartitionAndSortWithinPartitions(2, lambda x: x % 2, True)
    assert r.glom().collect() == [[(0, 5), (0, 8), (2, 6)], [(1, 3), (3, 8), (3, 8)]]
    d = sc.parallelize(data).repartitionAndSortWithinPartitions(2, lambda x: x % 2, False)
    assert [[k for k, _ in p] for p in d.glom().collect()] == [[2, 0, 0], [3, 3, 1]]


def test_names_ids_and_context(sc):
    r = sc.parallelize([1, 2])
    s = sc.parallelize([1, 2])
    assert isinstance(r.id(), int) and r.id() != s.id()
    assert r.setName("my-numbers") is r
    assert r.name() == "my-numbers"
    text = r.toDebugString()
    text = text.decode() if isinstance(text, bytes) else text
    assert "my-numbers" in text
    assert r.context is sc


def test_persist_cannot_change_level(sc):
    r = sc.parallelize([1, 2]).persist(StorageLevel.MEMORY_ONLY)
    with pytest.raises(Exception):
        r.persist(StorageLevel.DISK_ONLY)
    r.persist(StorageLevel.MEMORY_ONLY)  # the same level again is fine
    r.unpersist()
    r.persist(StorageLevel.DISK_ONLY)  # after unpersist a new level is allowed
    assert r.getStorageLevel() == StorageLevel.DISK_ONLY
    assert r.collect() == [1, 2]
    r.unpersist()


def test_aggregate_with_mutable_zero_is_not_shared(sc):
    def seq(acc, x):
        acc.append(x)
        return acc

    def comb(a, b):
        a.extend(b)
        return a

    got = sc.parallelize(range(8), 4).aggregate([], seq, comb)
    assert sorted(got) == list(range(8))


def test_group_by_key_then_map_values_len(sc):
    r = sc.parallelize([(i % 3, i) for i in range(30)], 3).groupByKey().mapValues(len)
    assert sorted(r.collect()) == [(0, 10), (1, 10), (2, 10)]


def test_sparkfiles_directory_add(sc, tmp_path):
    d = tmp_path / "bundle"
    d.mkdir()
    (d / "a.txt").write_text("A")
    (d / "b.txt").write_text("B")
    sc.addFile(str(d), recursive=True)

    def read(name):
        from rdd import SparkFiles
        with open(os.path.join(SparkFiles.get("bundle"), name)) as f:
            return f.read()

    assert sc.parallelize(["a.txt", "b.txt"], 2).map(read).collect() == ["A", "B"]
