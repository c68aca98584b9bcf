"""saveAsTextFile / saveAsPickleFile / pickleFile, and atomic commits."""

from __future__ import annotations

import gzip
import os

import pytest

from rddtestlib import first_time

pytestmark = pytest.mark.timeout(60)


def _part_files(path):
    return sorted(f for f in os.listdir(path) if f.startswith("part-"))


def _read_back(ctx, out):
    """Lines of the part files in part order (textFile of a directory does not promise
    file order in PySpark), after checking textFile(dir) yields the same multiset."""
    in_order = [line for part in _part_files(out) for line in ctx.textFile(os.path.join(out, part)).collect()]
    assert sorted(ctx.textFile(out).collect()) == sorted(in_order)
    return in_order


def test_save_as_text_file_round_trip(sc, tmp_path):
    data = ["alpha", "", "ü€🙂", 42, None, 3.5, ("t", 1)]
    out = str(tmp_path / "out")
    sc.parallelize(data, 3).saveAsTextFile(out)
    parts = _part_files(out)
    assert parts == ["part-00000", "part-00001", "part-00002"]
    per_part = [open(os.path.join(out, p), encoding="utf-8").read() for p in parts]
    assert "".join(per_part) == "".join(f"{x}\n" for x in data)
    assert _read_back(sc, out) == [str(x) for x in data]
    assert not [f for f in os.listdir(out) if not (f.startswith("part-") or f.startswith("_") or f.startswith("."))]


def test_save_empty_partitions(sc, tmp_path):
    out = str(tmp_path / "sparse")
    sc.parallelize([1, 2], 4).saveAsTextFile(out)
    assert len(_part_files(out)) == 4
    assert _read_back(sc, out) == ["1", "2"]


def test_save_as_text_file_refuses_existing_output(sc, tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("precious\n")
    with pytest.raises(Exception) as err:
        sc.parallelize([1, 2, 3], 2).saveAsTextFile(str(out))
    assert "exists" in str(err.value).lower() or str(out) in str(err.value)
    assert os.listdir(out) == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "precious\n"


def test_save_as_text_file_gzip_codec(sc, tmp_path):
    out = str(tmp_path / "gz")
    data = [f"row {i}" for i in range(50)]
    sc.parallelize(data, 2).saveAsTextFile(out, "org.apache.hadoop.io.compress.GzipCodec")
    parts = _part_files(out)
    assert len(parts) == 2 and all(p.endswith(".gz") for p in parts)
    lines = []
    for p in parts:
        with gzip.open(os.path.join(out, p), "rt") as f:
            lines.extend(f.read().splitlines())
    assert lines == data
    assert _read_back(sc, out) == data


def test_failed_job_leaves_no_output(sc, tmp_path):
    before = sorted(os.listdir(tmp_path))
    out = str(tmp_path / "never")

    def fail_late(index, it):
        rows = list(it)
        if index == 3:
            raise ValueError("partition 3 cannot be written")
        return rows

    with pytest.raises(ValueError):
        sc.parallelize(range(100), 4).mapPartitionsWithIndex(fail_late).saveAsTextFile(out)
    assert not os.path.exists(out)
    assert sorted(os.listdir(tmp_path)) == before  # no staging directory or part file left behind
    # the same path can be written once the job succeeds
    sc.parallelize(range(10), 2).saveAsTextFile(out)
    assert sorted(sc.textFile(out).collect(), key=int) == [str(i) for i in range(10)]


def test_retried_task_writes_its_part_file_once(sc, tmp_path):
    out = str(tmp_path / "retried")
    marker = str(tmp_path / "m")

    def flaky(index, it):
        rows = list(it)
        if index == 1 and first_time(marker):
            raise RuntimeError("transient")
        return rows

    sc.parallelize(range(30), 3).mapPartitionsWithIndex(flaky).saveAsTextFile(out)
    assert _part_files(out) == ["part-00000", "part-00001", "part-00002"]
    assert _read_back(sc, out) == [str(i) for i in range(30)]


def test_pickle_file_round_trip(sc, tmp_path):
    data = [None, 1, "two", (3, [4, {"five": 5.0}]), b"six", {"seven": {7}}] * 7
    out = str(tmp_path / "pickled")
    sc.parallelize(data, 3).saveAsPickleFile(out, 4)
    assert len(_part_files(out)) == 3
    back = sc.pickleFile(out, 3)
    assert back.getNumPartitions() >= 1
    assert sorted(map(repr, back.collect())) == sorted(map(repr, data))
    with pytest.raises(Exception):
        sc.parallelize(data, 1).saveAsPickleFile(out)


def test_pickle_file_missing_path(sc, tmp_path):
    missing = str(tmp_path / "nothing-here")
    with pytest.raises(Exception) as err:
        sc.pickleFile(missing).collect()
    assert "nothing-here" in str(err.value)


def _only_committed_files(out):
    names = set(os.listdir(out))
    stray = {n for n in names if not (n.startswith("part-") or n == "_SUCCESS")}
    return stray


def test_failed_attempt_leaves_no_partial_file_in_output(sc, tmp_path):
    out = str(tmp_path / "after-retry")
    marker = str(tmp_path / "m")

    def fail_midway(index, it):
        for n, x in enumerate(it):
            if index == 1 and n == 5 and first_time(marker):
                raise RuntimeError("fails after writing five rows")
            yield x

    sc.parallelize(range(40), 2).mapPartitionsWithIndex(fail_midway).saveAsTextFile(out)
    assert _read_back(sc, out) == [str(i) for i in range(40)]
    assert not _only_committed_files(out), _only_committed_files(out)


def test_worker_dying_while_writing_leaves_no_partial_file(make_context, tmp_path):
    ctx = make_context("local-cluster[2]")
    out = str(tmp_path / "after-death")
    marker = str(tmp_path / "m")

    def die_midway(index, it):
        for n, x in enumerate(it):
            if index == 0 and n == 100 and first_time(marker):
                os._exit(1)
            yield "row-%d" % x

    ctx.parallelize(range(400), 2).mapPartitionsWithIndex(die_midway).saveAsTextFile(out)
    assert _read_back(ctx, out) == ["row-%d" % i for i in range(400)]
    assert not _only_committed_files(out), _only_committed_files(out)
