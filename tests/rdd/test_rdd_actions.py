"""Actions against plain-Python expectations, including empty RDDs and empty partitions."""

from __future__ import annotations

import math
import statistics
from operator import add

import pytest

pytestmark = pytest.mark.timeout(60)

DATA = [5, 3, 9, -2, 7, 7, 0, 11, 4]


def test_collect_count_first_take(sc):
    r = sc.parallelize(DATA, 4)
    assert r.collect() == DATA
    assert r.count() == len(DATA)
    assert r.first() == 5
    assert r.take(0) == []
    assert r.take(3) == DATA[:3]
    assert r.take(100) == DATA
    # take scans past empty partitions
    sparse = sc.parallelize([1, 2], 10)
    assert sparse.take(2) == [1, 2]
    assert sparse.filter(lambda x: x == 2).first() == 2


def test_empty_rdd_actions(sc):
    e = sc.parallelize([], 3)
    assert e.collect() == [] and e.count() == 0
    assert e.take(5) == []
    assert e.top(3) == [] and e.takeOrdered(3) == []
    assert e.sum() == 0
    assert e.fold(0, add) == 0
    assert e.aggregate(0, add, add) == 0
    assert e.takeSample(False, 5, 1) == []
    assert e.collectAsMap() == {}
    assert dict(e.countByValue()) == {}
    m = e.mean()  # PySpark's StatCounter gives 0.0 (Scala's gives NaN)
    assert m == 0.0 or math.isnan(m)
    assert e.stats().count() == 0
    with pytest.raises(ValueError):
        e.first()
    with pytest.raises(ValueError):
        e.reduce(add)
    with pytest.raises(ValueError):
        e.max()
    with pytest.raises(ValueError):
        e.min()


def test_reduce_fold_aggregate(sc):
    r = sc.parallelize(DATA, 3)
    assert r.reduce(add) == sum(DATA)
    assert r.reduce(max) == max(DATA)
    # reduce skips empty partitions
    assert sc.parallelize([1, 2, 3], 7).reduce(add) == 6
    assert r.fold(0, add) == sum(DATA)
    # PySpark: zeroValue is used once per partition and once more for the final merge
    assert sc.parallelize([1, 2, 3, 4, 5], 2).fold(1, add) == 15 + 2 + 1
    seq = lambda acc, x: (acc[0] + x, acc[1] + 1)  # noqa: E731
    comb = lambda a, b: (a[0] + b[0], a[1] + b[1])  # noqa: E731
    assert sc.parallelize([1, 2, 3, 4], 3).aggregate((0, 0), seq, comb) == (10, 4)
    assert sc.parallelize([], 2).aggregate((0, 0), seq, comb) == (0, 0)


def test_fold_with_mutable_zero_is_not_shared(sc):
    def merge(a, b):
        a.extend(b if isinstance(b, list) else [b])
        return a

    got = sc.parallelize([1, 2, 3, 4], 2).map(lambda x: [x]).fold([], merge)
    assert sorted(got) == [1, 2, 3, 4]


def test_top_and_take_ordered(sc):
    r = sc.parallelize([10, 4, 2, 12, 3], 3)
    assert r.top(1) == [12]
    assert r.top(3) == [12, 10, 4]
    assert r.top(3, key=str) == [4, 3, 2]
    assert r.top(100) == sorted([10, 4, 2, 12, 3], reverse=True)
    data = [10, 1, 2, 9, 3, 4, 5, 6, 7]
    q = sc.parallelize(data, 2)
    assert q.takeOrdered(6) == [1, 2, 3, 4, 5, 6]
    assert q.takeOrdered(6, key=lambda x: -x) == [10, 9, 7, 6, 5, 4]
    words = sc.parallelize(["bb", "a", "ccc", "dddd"], 3)
    assert words.takeOrdered(2, key=len) == ["a", "bb"]
    assert words.top(2, key=len) == ["dddd", "ccc"]


def test_take_sample(sc):
    data = list(range(100))
    r = sc.parallelize(data, 4)
    s1 = r.takeSample(False, 10, 1)
    assert s1 == r.takeSample(False, 10, 1)  # deterministic for a seed
    assert len(s1) == 10 and len(set(s1)) == 10 and set(s1) <= set(data)
    assert r.takeSample(False, 10, 2) != s1
    everything = r.takeSample(False, 150, 3)
    assert sorted(everything) == data
    with_repl = sc.parallelize(range(5), 2).takeSample(True, 20, 1)
    assert len(with_repl) == 20 and set(with_repl) <= set(range(5))
    assert r.takeSample(False, 0, 1) == []
    assert len(r.takeSample(False, 37)) == 37  # no seed


def test_foreach_and_foreach_partition(sc, log):
    r = sc.parallelize(range(12), 4)
    r.foreach(lambda x: log.hit(x))
    assert sorted(int(x) for x in log.lines()) == list(range(12))
    log.clear()
    r.foreachPartition(lambda it: log.hit(sum(it)))
    assert sorted(int(x) for x in log.lines()) == sorted([0 + 1 + 2, 3 + 4 + 5, 6 + 7 + 8, 9 + 10 + 11])


def test_numeric_actions(sc):
    r = sc.parallelize([float(x) for x in DATA], 3)
    assert r.sum() == sum(DATA)
    assert r.mean() == pytest.approx(statistics.fmean(DATA))
    assert r.max() == max(DATA) and r.min() == min(DATA)
    assert r.variance() == pytest.approx(statistics.pvariance(DATA))
    assert r.stdev() == pytest.approx(statistics.pstdev(DATA))
    assert r.sampleVariance() == pytest.approx(statistics.variance(DATA))
    assert r.sampleStdev() == pytest.approx(statistics.stdev(DATA))
    st = r.stats()
    assert st.count() == len(DATA)
    assert st.mean() == pytest.approx(statistics.fmean(DATA))
    assert st.sum() == pytest.approx(sum(DATA))
    assert st.max() == max(DATA) and st.min() == min(DATA)
    assert st.variance() == pytest.approx(statistics.pvariance(DATA))
    assert st.stdev() == pytest.approx(statistics.pstdev(DATA))
    assert st.sampleStdev() == pytest.approx(statistics.stdev(DATA))
    # stats merge across partitions, including empty ones
    assert sc.parallelize([1, 2, 3], 6).stats().mean() == pytest.approx(2.0)
    assert sc.parallelize([1, 2, 3], 6).sum() == 6


def test_max_min_with_key(sc):
    words = sc.parallelize(["apple", "fig", "banana", "kiwi"], 3)
    assert words.max() == "kiwi" and words.min() == "apple"
    assert words.max(key=len) == "banana"
    assert words.min(key=len) == "fig"
    nums = sc.parallelize([1.0, 5.0, 43.0, 10.0], 2)
    assert nums.max(key=str) == 5.0
    assert nums.min(key=str) == 1.0


def test_take_first_is_empty_scan_only_what_they_need(sc, tmp_path):
    from rddtestlib import CallLog, counting_partitions

    log = CallLog(tmp_path / "calls")
    r = sc.parallelize(range(100), 10).mapPartitionsWithIndex(counting_partitions(log.path))
    assert r.take(1) == [0]
    assert log.lines() == ["0"]  # PySpark's take tries one partition first
    log.clear()
    assert r.first() == 0
    assert not r.isEmpty()
    assert log.lines() == ["0", "0"]
    log.clear()
    assert r.take(15) == list(range(15))
    assert len(log.lines()) < 10  # grows the scan, never everything for a small take
