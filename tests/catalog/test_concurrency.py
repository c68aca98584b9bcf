"""Several processes on one warehouse: concurrent writers never lose rows, readers
never see part of a write, DDL races end in one winner and a clear error."""

import multiprocessing as mp
import os
import sys

import pyarrow as pa

from catalog import MANAGED, Catalog, Column, Table
from catalog.source import read_all

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _writer(warehouse, tag, n, overwrite_every):
    sys.path.insert(0, ROOT)
    cat = Catalog.open(warehouse)
    for i in range(n):
        batch = pa.table({"x": pa.array([tag * 1000 + i] * 10, pa.int64()), "w": pa.array([tag] * 10, pa.int32())})
        cat.write("default", "t", batch, partition=[("w", None)])
    cat.close()


def _reader(warehouse, rounds, queue):
    sys.path.insert(0, ROOT)
    cat = Catalog.open(warehouse)
    seen = []
    for _ in range(rounds):
        t = read_all(cat.scan_source("default", "t"))
        seen.append(t.num_rows)
    cat.close()
    queue.put(seen)


def _create(warehouse, queue):
    sys.path.insert(0, ROOT)
    cat = Catalog.open(warehouse)
    try:
        cat.create_table(Table("default", "race", MANAGED, (Column("a", "int"),)))
        queue.put("created")
    except Exception as e:  # noqa: BLE001 - report the class to the parent
        queue.put(type(e).__name__)
    finally:
        cat.close()


def test_two_writer_processes_and_a_reader(warehouse):
    with Catalog.open(warehouse) as cat:
        cat.create_table(Table("default", "t", MANAGED, (Column("x", "bigint"),), (Column("w", "int"),)))
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(warehouse, tag, 6, 0)) for tag in (1, 2)]
    procs.append(ctx.Process(target=_reader, args=(warehouse, 15, q)))
    for p in procs:
        p.start()
    seen = q.get(timeout=240)
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    # every snapshot holds whole writes only (10 rows each), and counts never go back
    assert all(n % 10 == 0 for n in seen)
    assert seen == sorted(seen)
    with Catalog.open(warehouse) as cat:
        t = read_all(cat.scan_source("default", "t"))
        assert t.num_rows == 120
        assert sorted(set(t.column("x").to_pylist())) == sorted([1000 + i for i in range(6)] + [2000 + i for i in range(6)])
        assert [p.spec for p in cat.list_partitions("default", "t")] == ["w=1", "w=2"]
        assert cat.statistics("default", "t") is None or cat.statistics("default", "t").row_count in (None, 120)


def test_create_table_race_has_one_winner(warehouse):
    Catalog.open(warehouse).close()
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_create, args=(warehouse, q)) for _ in range(2)]
    for p in procs:
        p.start()
    results = sorted(q.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=120)
    assert results == ["TableExists", "created"]


def _overwriter(warehouse, tag, n):
    sys.path.insert(0, ROOT)
    cat = Catalog.open(warehouse)
    for i in range(n):
        rows = pa.table({"x": pa.array([tag * 1000 + i] * 7, pa.int64())})
        # three files per write, so renames take a while and interleave with the other writer
        cat.write("default", "t", rows, overwrite=True, partition=[("w", "0")], max_rows_per_file=3)
    cat.close()


def test_concurrent_overwrites_never_mix(warehouse):
    with Catalog.open(warehouse) as cat:
        cat.create_table(Table("default", "t", MANAGED, (Column("x", "bigint"),), (Column("w", "int"),)))
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_overwriter, args=(warehouse, tag, 8)) for tag in (1, 2)]
    procs.append(ctx.Process(target=_reader, args=(warehouse, 15, q)))
    for p in procs:
        p.start()
    seen = q.get(timeout=240)
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    assert all(n in (0, 7) for n in seen), seen
    with Catalog.open(warehouse) as cat:
        t = read_all(cat.scan_source("default", "t"))
        assert t.num_rows == 7 and len(set(t.column("x").to_pylist())) == 1
