"""Columnar extensions: vectorized hashing, batch partitioners, shuffleBatches, zipPartitions."""

from __future__ import annotations

import json
import random

import cloudpickle
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from rdd.columnar import BatchHashPartitioner, hash_partition_ids
from rddtestlib import canon, run_python

pytestmark = pytest.mark.timeout(90)


def _batch(n=300, seed=0, offset=0):
    rng = random.Random(seed)
    ids = [offset + i for i in range(n)]
    names = [None if i % 17 == 0 else f"name-{rng.randint(0, 40)}" for i in range(n)]
    grp = [None if i % 11 == 0 else rng.randint(-3, 3) for i in range(n)]
    vals = [rng.random() for _ in range(n)]
    return pa.record_batch({"id": pa.array(ids, pa.int64()), "name": pa.array(names, pa.string()),
                            "grp": pa.array(grp, pa.int64()), "val": pa.array(vals, pa.float64())})


def _rows(batches, columns=None):
    out = []
    for b in batches:
        cols = columns or b.schema.names
        d = b.to_pydict()
        out.extend(zip(*(d[c] for c in cols)))
    return out


def _ids_by_key(batch, keys, n):
    ids = hash_partition_ids(batch, keys, n)
    d = batch.to_pydict()
    return {tuple(d[k][i] for k in keys): int(ids[i]) for i in range(batch.num_rows)}


# -- hash_partition_ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [("id",), ("name",), ("grp",), ("name", "grp"), ("grp", "id", "name")])
def test_hash_partition_ids_shape_and_range(keys):
    b = _batch()
    ids = hash_partition_ids(b, keys, 7)
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int64
    assert ids.shape == (b.num_rows,)
    assert ids.min() >= 0 and ids.max() < 7


@pytest.mark.parametrize("keys", [("id",), ("name",), ("grp",), ("name", "grp")])
def test_equal_keys_get_equal_ids_across_batches(keys):
    b1 = _batch(400, seed=1)
    b2 = _batch(400, seed=2)  # same key space, different rows and positions
    rows = b1.num_rows
    perm = list(range(rows))
    random.Random(9).shuffle(perm)
    b3 = b1.take(pa.array(perm))  # same rows, shuffled
    sliced = b1.slice(123, 200)  # a slice: non-zero buffer offsets
    maps = [_ids_by_key(b, keys, 8) for b in (b1, b2, b3, sliced)]
    merged = {}
    for m in maps:
        for k, v in m.items():
            assert merged.setdefault(k, v) == v, (k, merged[k], v)


def test_null_keys_all_land_together():
    b = _batch(500)
    ids = hash_partition_ids(b, ("name",), 16)
    nulls = [int(i) for i, v in zip(ids, b.column("name").to_pylist()) if v is None]
    assert len(nulls) > 10 and len(set(nulls)) == 1
    single_null = pa.record_batch({"name": pa.array([None, "x", None], pa.string())})
    assert int(hash_partition_ids(single_null, ("name",), 16)[0]) == nulls[0]


def test_multi_column_key_uses_all_columns():
    b = pa.record_batch({"a": pa.array([1] * 200, pa.int64()), "b": pa.array(list(range(200)), pa.int64())})
    assert len(set(hash_partition_ids(b, ("a",), 8).tolist())) == 1
    assert len(set(hash_partition_ids(b, ("a", "b"), 8).tolist())) == 8
    # equal (a, b) pairs in another batch with other columns around them
    c = pa.record_batch({"x": pa.array(["junk"] * 3), "b": pa.array([5, 7, 9], pa.int64()),
                         "a": pa.array([1, 1, 1], pa.int64())})
    want = hash_partition_ids(b, ("a", "b"), 8)
    assert hash_partition_ids(c, ("a", "b"), 8).tolist() == [want[5], want[7], want[9]]


@pytest.mark.parametrize("column", ["id", "name"])
def test_hash_partition_ids_balanced(column):
    n = 10_000
    if column == "id":
        arr = pa.array(range(n), pa.int64())
    else:
        arr = pa.array([f"customer#{i:09d}" for i in range(n)], pa.string())
    b = pa.record_batch({column: arr})
    counts = np.bincount(hash_partition_ids(b, (column,), 8), minlength=8)
    assert counts.min() > 0.8 * n / 8 and counts.max() < 1.2 * n / 8, counts.tolist()


def test_hash_partition_ids_empty_batch():
    b = _batch(0)
    ids = hash_partition_ids(b, ("id",), 4)
    assert len(ids) == 0


def test_hash_partition_ids_deterministic_across_processes():
    code = (
        "import json, pyarrow as pa\n"
        "from rdd.columnar import hash_partition_ids\n"
        "b = pa.record_batch({'i': pa.array([1, 2, None, -5, 2**40], pa.int64()),\n"
        "                     's': pa.array(['a', None, 'héllo', '', 'zz'], pa.string()),\n"
        "                     'f': pa.array([0.5, -1.0, None, 3.0, 2.0], pa.float64())})\n"
        "print(json.dumps([hash_partition_ids(b, k, 13).tolist() for k in (('i',), ('s',), ('f',), ('s', 'i'))]))\n"
    )
    b = pa.record_batch({"i": pa.array([1, 2, None, -5, 2**40], pa.int64()),
                         "s": pa.array(["a", None, "héllo", "", "zz"], pa.string()),
                         "f": pa.array([0.5, -1.0, None, 3.0, 2.0], pa.float64())})
    here = [hash_partition_ids(b, k, 13).tolist() for k in (("i",), ("s",), ("f",), ("s", "i"))]
    assert json.loads(run_python(code, "1")) == json.loads(run_python(code, "77")) == here


# -- BatchHashPartitioner -------------------------------------------------------------------------


def test_batch_hash_partitioner_value_semantics():
    p = BatchHashPartitioner(("name", "grp"), 6)
    assert p.num_partitions == 6
    assert p == BatchHashPartitioner(("name", "grp"), 6)
    assert hash(p) == hash(BatchHashPartitioner(("name", "grp"), 6))
    assert p != BatchHashPartitioner(("name", "grp"), 5)
    assert p != BatchHashPartitioner(("name",), 6)
    q = cloudpickle.loads(cloudpickle.dumps(p))
    assert q == p
    b = _batch()
    assert p.partition_ids(b).tolist() == hash_partition_ids(b, ("name", "grp"), 6).tolist()


# -- shuffleBatches -----------------------------------------------------------------------------------


def _batch_rdd(sc, n_batches=6, rows=200, slices_=3):
    batches = [_batch(rows, seed=i, offset=i * rows) for i in range(n_batches)]
    batches.append(_batch(0))  # an empty batch travels too
    return sc.parallelize(batches, slices_), batches


@pytest.mark.parametrize("keys", [("id",), ("name",), ("name", "grp")])
def test_shuffle_batches_places_every_row_by_hash(sc, keys):
    r, batches = _batch_rdd(sc)
    p = BatchHashPartitioner(keys, 4)
    shuffled = r.shuffleBatches(p)
    assert shuffled.getNumPartitions() == 4
    assert shuffled.partitioner == p

    def check(index, it):
        from rdd.columnar import hash_partition_ids as h
        out = []
        for batch in it:
            assert isinstance(batch, pa.RecordBatch), type(batch)
            ids = h(batch, keys, 4)
            out.append((index, batch.num_rows, int((ids != index).sum()), batch.schema.names))
        return out

    report = shuffled.mapPartitionsWithIndex(check).collect()
    assert all(bad == 0 for _, _, bad, _ in report), report
    assert all(names == batches[0].schema.names for *_, names in report)
    assert sum(n for _, n, _, _ in report) == sum(b.num_rows for b in batches)
    got = _rows(shuffled.collect())
    assert canon(got) == canon(_rows(batches))


class ModRangePartitioner:
    """A planner-style batch partitioner: any object with num_partitions and partition_ids."""

    def __init__(self, bounds):
        self.bounds = list(bounds)
        self.num_partitions = len(self.bounds) + 1

    def partition_ids(self, batch):
        return np.searchsorted(np.asarray(self.bounds), batch.column("id").to_numpy(), side="right").astype(np.int64)

    def __eq__(self, other):
        return isinstance(other, ModRangePartitioner) and other.bounds == self.bounds

    def __hash__(self):
        return hash(tuple(self.bounds))


def test_shuffle_batches_with_custom_range_partitioner(sc):
    r, batches = _batch_rdd(sc)
    p = ModRangePartitioner([300, 600, 900])
    shuffled = r.shuffleBatches(p)
    assert shuffled.getNumPartitions() == 4
    parts = shuffled.glom().collect()
    for index, part in enumerate(parts):
        ids = [i for b in part for i in b.column("id").to_pylist()]
        lo = [0, 300, 600, 900][index]
        hi = [300, 600, 900, 10**9][index]
        assert all(lo <= i < hi for i in ids)
    assert sorted(i for b in shuffled.collect() for i in b.column("id").to_pylist()) == list(range(1200))


def test_co_partitioned_rdds_and_zip_partitions_join(sc):
    left_batches = [pa.record_batch({"k": pa.array([i % 50 for i in range(j * 100, (j + 1) * 100)], pa.int64()),
                                     "lv": pa.array(list(range(j * 100, (j + 1) * 100)), pa.int64())})
                    for j in range(4)]
    right_batches = [pa.record_batch({"k": pa.array(list(range(0, 60, 3)), pa.int64()),
                                      "rv": pa.array([f"r{i}" for i in range(0, 60, 3)], pa.string())})]
    p1 = BatchHashPartitioner(("k",), 5)
    p2 = BatchHashPartitioner(("k",), 5)
    left = sc.parallelize(left_batches, 2).shuffleBatches(p1)
    right = sc.parallelize(right_batches, 1).shuffleBatches(p2)
    assert left.partitioner == right.partitioner

    def join(li, ri):
        lt = pa.Table.from_batches(list(li), schema=left_batches[0].schema)
        rt = pa.Table.from_batches(list(ri), schema=right_batches[0].schema)
        joined = lt.join(rt, "k", join_type="inner")
        return joined.select(["k", "lv", "rv"]).to_batches()

    got = _rows(left.zipPartitions(right, join).collect(), ["k", "lv", "rv"])
    expected = [(lk, lv, f"r{lk}") for b in left_batches for lk, lv in zip(b.column("k").to_pylist(), b.column("lv").to_pylist())
                if lk % 3 == 0 and lk < 60]
    assert canon(got) == canon(expected)
    assert left.zipPartitions(right, join).getNumPartitions() == 5


def test_zip_partitions_plain_rdds_and_mismatch(sc):
    a = sc.parallelize(range(10), 3)
    b = sc.parallelize("abcdefg", 3)
    got = a.zipPartitions(b, lambda x, y: [(sum(x), "".join(y))]).collect()
    assert got == [(0 + 1 + 2, "ab"), (3 + 4 + 5, "cd"), (6 + 7 + 8 + 9, "efg")]
    with pytest.raises(Exception):
        a.zipPartitions(sc.parallelize(range(4), 2), lambda x, y: x).collect()


def test_cache_batches(sc):
    r, batches = _batch_rdd(sc)
    cached = r.map(lambda b: b).cache()
    assert cached.map(lambda b: b.num_rows).sum() == sum(b.num_rows for b in batches)
    assert canon(_rows(cached.collect())) == canon(_rows(batches))


def test_to_local_iterator_streams_partitions(sc, log):
    from rddtestlib import counting_partitions

    r = sc.parallelize(range(40), 4).mapPartitionsWithIndex(counting_partitions(log.path))
    it = iter(r.toLocalIterator())
    first = next(it)
    assert first == 0
    assert len(log.lines()) < 4, log.lines()  # not everything was computed up front
    assert [first] + list(it) == list(range(40))
    assert list(r.toLocalIterator()) == list(range(40))


# -- equal SQL values in different physical encodings ------------------------------------------------


def test_string_encodings_hash_alike():
    """A join key read as dictionary<string> on one side and string on the other must meet."""
    values = ["a", "bb", None, "héllo", "", "a", "zz" * 20]
    plain = pa.record_batch({"k": pa.array(values, pa.string())})
    large = pa.record_batch({"k": pa.array(values, pa.large_string())})
    dictionary = pa.record_batch({"k": pa.array(values, pa.string()).dictionary_encode()})
    want = hash_partition_ids(plain, ("k",), 16).tolist()
    assert hash_partition_ids(large, ("k",), 16).tolist() == want
    assert hash_partition_ids(dictionary, ("k",), 16).tolist() == want


def test_negative_zero_and_zero_hash_alike():
    """SQL: -0.0 = 0.0, so GROUP BY / JOIN on a double column must put them together."""
    b = pa.record_batch({"d": pa.array([0.0, -0.0, 1.5, -1.5], pa.float64())})
    ids = hash_partition_ids(b, ("d",), 32).tolist()
    assert ids[0] == ids[1]


def test_hash_partition_ids_accepts_table_and_chunks():
    b1 = _batch(100, seed=1)
    b2 = _batch(100, seed=2, offset=100)
    table = pa.Table.from_batches([b1, b2])
    whole = pa.Table.from_batches([table.combine_chunks().to_batches()[0]]).to_batches()[0]
    assert hash_partition_ids(table, ("name", "id"), 8).tolist() == hash_partition_ids(whole, ("name", "id"), 8).tolist()


RICH = pa.schema([
    ("k", pa.int32()),
    ("dec", pa.decimal128(12, 3)),
    ("ts", pa.timestamp("us", tz="UTC")),
    ("day", pa.date32()),
    ("tags", pa.list_(pa.string())),
    ("pt", pa.struct([("x", pa.float64()), ("y", pa.float64())])),
    ("flag", pa.bool_()),
    ("cat", pa.dictionary(pa.int32(), pa.string())),
    ("blob", pa.binary()),
], metadata={b"origin": b"lamna-test"})


def _rich_batch(offset, n=50):
    import datetime
    import decimal
    rows = range(offset, offset + n)
    return pa.record_batch([
        pa.array([i % 7 for i in rows], pa.int32()),
        pa.array([decimal.Decimal(i) / 1000 for i in rows], pa.decimal128(12, 3)),
        pa.array([datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=i) for i in rows],
                 pa.timestamp("us", tz="UTC")),
        pa.array([datetime.date(2020, 1, 1) + datetime.timedelta(days=i) for i in rows], pa.date32()),
        pa.array([[str(i)] * (i % 3) if i % 5 else None for i in rows], pa.list_(pa.string())),
        pa.array([{"x": float(i), "y": -float(i)} for i in rows], RICH.field("pt").type),
        pa.array([i % 2 == 0 for i in rows], pa.bool_()),
        pa.array([f"c{i % 3}" for i in rows], pa.string()).dictionary_encode().cast(pa.dictionary(pa.int32(), pa.string())),
        pa.array([bytes([i % 256]) * 3 for i in rows], pa.binary()),
    ], schema=RICH)


def test_shuffle_batches_preserves_rich_types_and_metadata(sc):
    batches = [_rich_batch(i * 50) for i in range(4)]
    out = sc.parallelize(batches, 2).shuffleBatches(BatchHashPartitioner(("k",), 3)).collect()
    assert out, "no batches came back"
    for b in out:
        assert b.schema.equals(RICH, check_metadata=True), b.schema
    got = pa.Table.from_batches(out).sort_by("dec").to_pylist()
    want = pa.Table.from_batches(batches).sort_by("dec").to_pylist()
    assert got == want


def test_cached_batches_are_evicted_by_byte_size(small_memory_sc, master, tmp_path):
    from rddtestlib import CallLog, counting_partitions

    ctx = small_memory_sc  # 128 KiB per executor
    log = CallLog(tmp_path / "calls")
    # 6 partitions of ~200 KiB of Arrow data each: none fits
    batches = [pa.record_batch({"v": pa.array(np.arange(i * 25_000, (i + 1) * 25_000, dtype=np.int64))})
               for i in range(6)]
    r = ctx.parallelize(batches, 6).mapPartitionsWithIndex(counting_partitions(log.path)).cache()
    for _ in range(2):
        assert r.map(lambda b: int(pc.sum(b.column("v")).as_py())).sum() == sum(range(150_000))
    assert len(log.lines()) > 6, "all 1.2 MB of batches stayed cached under a 256 KiB budget"
    executors = 2 if master.startswith("local-cluster") else 1
    (info,) = [i for i in ctx.storageInfo() if i.rdd_id == r.id()]  # Lamna's hook
    assert info.memory_bytes <= executors * 128 * 1024
    assert info.num_cached_partitions < 6
    r.unpersist()


def test_cache_byte_accounting_of_batches(sc):
    ctx = sc
    batches = [pa.record_batch({"v": pa.array(np.arange(i * 25_000, (i + 1) * 25_000, dtype=np.int64)),
                                "s": pa.array([f"row-{j}" for j in range(25_000)])})
               for i in range(4)]
    nbytes = sum(b.nbytes for b in batches)
    r = ctx.parallelize(batches, 4).map(lambda b: b).cache()
    assert r.count() == 4
    (info,) = [i for i in ctx.storageInfo() if i.rdd_id == r.id()]
    assert info.num_cached_partitions == 4
    assert 0.5 * nbytes <= info.memory_bytes <= 3 * nbytes, (info.memory_bytes, nbytes)
    r.unpersist()
    assert all(i.memory_bytes == 0 for i in ctx.storageInfo() if i.rdd_id == r.id())


def _typed_columns(n=60):
    import datetime
    import decimal
    return {
        "date": pa.array([None if i % 9 == 0 else datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 13) for i in range(n)]),
        "ts": pa.array([datetime.datetime(2021, 5, 1) + datetime.timedelta(seconds=i % 11) for i in range(n)], pa.timestamp("us")),
        "dec": pa.array([None if i % 7 == 0 else decimal.Decimal(i % 10) / 4 for i in range(n)], pa.decimal128(12, 2)),
        "bool": pa.array([None if i % 5 == 0 else i % 2 == 0 for i in range(n)]),
        "i8": pa.array([i % 6 - 3 for i in range(n)], pa.int8()),
        "i32": pa.array([None if i % 4 == 0 else i % 9 for i in range(n)], pa.int32()),
        "f32": pa.array([(i % 5) / 2 for i in range(n)], pa.float32()),
        "bin": pa.array([None if i % 6 == 0 else bytes([65 + i % 8]) * (i % 3) for i in range(n)]),
        "lstr": pa.array([f"s{i % 8}" for i in range(n)], pa.large_string()),
    }


@pytest.mark.parametrize("column", list(_typed_columns()))
def test_hash_of_typed_columns_respects_slices_and_equal_values(column):
    b = pa.record_batch(_typed_columns())
    full = hash_partition_ids(b, (column,), 9).tolist()
    assert all(0 <= i < 9 for i in full)
    sliced = b.slice(17, 30)
    assert hash_partition_ids(sliced, (column,), 9).tolist() == full[17:47]
    values = b.column(column).to_pylist()
    seen = {}
    for v, pid in zip(values, full):
        assert seen.setdefault(v, pid) == pid, (column, v)


def test_shuffle_batches_of_an_empty_rdd(sc):
    out = sc.emptyRDD().shuffleBatches(BatchHashPartitioner(("k",), 3))
    assert out.getNumPartitions() == 3
    assert out.collect() == []
    none = sc.parallelize([], 2).shuffleBatches(BatchHashPartitioner(("k",), 4))
    assert none.glom().map(len).collect() == [0, 0, 0, 0]
