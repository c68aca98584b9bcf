"""Every write is all or nothing: injected task failures, killed writers (before and
after the commit point, and half way through the renames), stale staging."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pytest

from catalog import MANAGED, Catalog, Column, Table
from catalog.source import read_all

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _visible(warehouse, table):
    """Every non-hidden file under the table directory (what a Hive reader would see)."""
    out = []
    for dirpath, dirnames, files in os.walk(os.path.join(warehouse, "default.db", table)):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        out += [os.path.join(dirpath, f) for f in files if not f.startswith((".", "_"))]
    return sorted(out)


def _hidden(warehouse, table):
    """Staging directories left under the table (trash of replaced files is expected)."""
    root = os.path.join(warehouse, "default.db", table)
    return sorted(n for n in os.listdir(root) if n.startswith(".lamna-staging")) if os.path.isdir(root) else []


def _make(cat, partitioned=False):
    cat.create_table(Table("default", "t", MANAGED, (Column("x", "bigint"),),
                           (Column("p", "int"),) if partitioned else ()))


def _old_contents(cat, partitioned=False):
    data = {"x": pa.array(range(10), pa.int64())}
    if partitioned:
        data["p"] = pa.array([i % 2 for i in range(10)], pa.int32())
    cat.write("default", "t", pa.table(data))
    return read_all(cat.scan_source("default", "t")).sort_by("x")


def _failing_partition(index, it):
    """A task body that writes real batches and then fails (for index 3)."""
    for batch in it:
        yield batch
    if index == 3:
        raise RuntimeError("injected failure after some files were written")


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("partitioned", [False, True])
def test_failed_task_leaves_old_contents(cat, warehouse, overwrite, partitioned):
    from rdd import Context

    _make(cat, partitioned)
    before = _old_contents(cat, partitioned)
    files_before = _visible(warehouse, "t")
    ctx = Context("local[2]")
    try:
        batches = [pa.record_batch({"x": pa.array([100 + i] * 5, pa.int64()), **(
            {"p": pa.array([i % 3] * 5, pa.int32())} if partitioned else {})}) for i in range(8)]
        rdd = ctx.parallelize(batches, 4).mapPartitionsWithIndex(_failing_partition)
        with pytest.raises(Exception, match="injected failure"):
            cat.write("default", "t", rdd, overwrite=overwrite)
    finally:
        ctx.stop()
    assert _visible(warehouse, "t") == files_before
    assert _hidden(warehouse, "t") == []  # staging removed
    assert read_all(cat.scan_source("default", "t")).sort_by("x").equals(before)
    assert cat.metastore.list_writes() == []


def test_parallel_write_through_rdd(cat, warehouse):
    from rdd import Context

    _make(cat, partitioned=True)
    ctx = Context("local[2]")
    try:
        batches = [pa.record_batch({"x": pa.array(range(i * 10, i * 10 + 10), pa.int64()),
                                    "p": pa.array([i % 3] * 10, pa.int32())}) for i in range(6)]
        result = cat.write("default", "t", ctx.parallelize(batches, 3))
    finally:
        ctx.stop()
    assert result.rows == 60 and result.partitions == ("p=0", "p=1", "p=2")
    files = _visible(warehouse, "t")
    assert len({f.split("-")[-2] for f in files}) == 3  # one writer task per RDD partition
    assert sorted(read_all(cat.scan_source("default", "t")).column("x").to_pylist()) == list(range(60))


def _run(script, warehouse, wait=True):
    code = textwrap.dedent(f"""
        import sys, os, time
        sys.path.insert(0, {ROOT!r})
        import pyarrow as pa
        from catalog import Catalog
        cat = Catalog.open({warehouse!r})
    """) + textwrap.dedent(script)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        out, err = proc.communicate(timeout=120)
        return proc.returncode, out.decode(), err.decode()
    return proc


def test_killed_writer_before_commit_leaves_old_contents(warehouse):
    with Catalog.open(warehouse) as cat:
        _make(cat)
        before = _old_contents(cat)
    proc = _run("""
        def slow():
            for i in range(1000):
                yield pa.record_batch({"x": pa.array([i] * 10, pa.int64())})
                print("batch", i, flush=True)
                time.sleep(0.02)
        cat.write("default", "t", slow(), overwrite=True, max_rows_per_file=20)
    """, warehouse, wait=False)
    # wait until the writer has put files in its staging directory, then kill -9 it
    deadline = time.time() + 200  # generous: the machine may be busy
    while time.time() < deadline:
        hidden = _hidden(warehouse, "t")
        if hidden and any(os.scandir(os.path.join(warehouse, "default.db", "t", hidden[0]))):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _hidden(warehouse, "t"), "the writer should have died with staged files"
    with Catalog.open(warehouse) as cat:  # the next open cleans up
        assert _hidden(warehouse, "t") == []
        assert cat.metastore.list_writes() == []
        assert read_all(cat.scan_source("default", "t")).sort_by("x").equals(before)


@pytest.mark.parametrize("renames_done", [0, 1])
def test_killed_writer_after_commit_point_is_rolled_forward(warehouse, renames_done):
    with Catalog.open(warehouse) as cat:
        _make(cat)
        _old_contents(cat)
    code, out, err = _run(f"""
        from catalog.writer import execute_plan
        from catalog.files import resolve
        pending = cat.start_write("default", "t", overwrite=True, max_rows_per_file=3)
        files = pending.run_task(0, [pa.record_batch({{"x": pa.array([7, 8, 9, 10, 11], pa.int64())}})])
        plan, _ = pending.prepare(files)
        # the first {renames_done} rename(s), as the real commit would do them, then die
        for src, dst in plan["moves"][:{renames_done}]:
            fs, s = resolve(src)
            fs.move(s, resolve(dst)[1])
        os._exit(9)
    """, warehouse)
    assert code == 9, err
    with Catalog.open(warehouse) as cat:
        assert cat.metastore.list_writes() == []
        assert sorted(read_all(cat.scan_source("default", "t")).column("x").to_pylist()) == [7, 8, 9, 10, 11]
        assert _hidden(warehouse, "t") == []
        assert len(_visible(warehouse, "t")) == 2


def test_reader_waits_for_commit_in_flight_and_sees_all_of_it(warehouse):
    with Catalog.open(warehouse) as cat:
        _make(cat)
        _old_contents(cat)
        pending = cat.start_write("default", "t", overwrite=True)
        files = pending.run_task(0, [pa.record_batch({"x": pa.array([42], pa.int64())})])
        plan, _ = pending.prepare(files)
        # a commit is in flight (owner alive): a snapshot cannot be taken until it ends
        with Catalog.open(warehouse) as other:
            from catalog.errors import MetastoreLocked

            with pytest.raises(MetastoreLocked, match="being written"):
                other.scan_source("default", "t", wait_seconds=0.3)
        pending.finish(plan)
        assert read_all(cat.scan_source("default", "t")).column("x").to_pylist() == [42]


def test_insert_overwrite_of_one_partition_keeps_the_others(cat):
    _make(cat, partitioned=True)
    _old_contents(cat, partitioned=True)
    cat.write("default", "t", pa.table({"x": pa.array([99], pa.int64())}), overwrite=True, partition=[("p", "1")])
    rows = read_all(cat.scan_source("default", "t")).sort_by("x").to_pylist()
    assert rows == [{"x": x, "p": 0} for x in (0, 2, 4, 6, 8)] + [{"x": 99, "p": 1}]


def test_rename_of_managed_table_is_journaled(warehouse):
    import dataclasses

    with Catalog.open(warehouse) as cat:
        _make(cat)
        before = _old_contents(cat)
        t = cat.get_table("default", "t")
        cat.alter_table("default", "t", dataclasses.replace(t, name="u"))
        assert not os.path.exists(os.path.join(warehouse, "default.db", "t"))
        assert read_all(cat.scan_source("default", "u")).sort_by("x").equals(before)


def test_ctas_killed_before_commit_leaves_no_table(warehouse):
    Catalog.open(warehouse).close()
    code, out, err = _run("""
        from catalog import Table, Column, MANAGED
        t = Table("default", "c", MANAGED, (Column("x", "bigint"),), location=cat.default_location("default", "c"))
        def rows():
            yield pa.record_batch({"x": pa.array([1, 2], pa.int64())})
            os._exit(9)  # killed half way through the query
        cat.create_table_as(t, rows())
    """, warehouse)
    assert code == 9, err
    with Catalog.open(warehouse) as cat:
        assert not cat.table_exists("default", "c")
        assert cat.metastore.list_writes() == []
        assert _hidden(warehouse, "c") == []


def test_ctas_registers_table_with_its_rows(cat):
    t = Table("default", "c", MANAGED, (Column("x", "bigint"),), (Column("p", "string"),))
    r = cat.create_table_as(t, pa.table({"x": pa.array([1, 2, 3], pa.int64()), "p": ["a", "b", "a"]}))
    assert r.rows == 3 and r.partitions == ("p=a", "p=b")
    assert sorted(read_all(cat.scan_source("default", "c")).column("x").to_pylist()) == [1, 2, 3]
    assert cat.statistics("default", "c").row_count == 3
    from catalog.errors import TableExists

    with pytest.raises(TableExists):
        cat.create_table_as(t, pa.table({"x": pa.array([1], pa.int64()), "p": ["z"]}))


def test_scan_listed_before_an_overwrite_still_reads_its_snapshot(cat, warehouse):
    from catalog.writer import collect_trash

    _make(cat, partitioned=True)
    before = _old_contents(cat, partitioned=True)
    snapshot = cat.scan_source("default", "t")  # planned...
    cat.write("default", "t", pa.table({"x": pa.array([50], pa.int64()), "p": pa.array([1], pa.int32())}),
              overwrite=True)  # ...then the table is overwritten before the tasks run
    assert read_all(snapshot).sort_by("x").equals(before)  # the old snapshot, whole
    assert read_all(cat.scan_source("default", "t")).column("x").to_pylist() == [0, 2, 4, 6, 8, 50]
    root = os.path.join(warehouse, "default.db", "t")
    assert collect_trash(root, retention_seconds=600) == 0
    assert collect_trash(root, retention_seconds=0) == 1
    from catalog.errors import DataFormatError

    with pytest.raises(DataFormatError, match="vanished"):
        read_all(snapshot)


def test_trash_retention_zero_deletes_at_once(cat, warehouse):
    cat.create_table(Table("default", "t", MANAGED, (Column("x", "bigint"),),
                           properties=(("lamna.trash.retention.seconds", "0"),)))
    cat.write("default", "t", pa.table({"x": pa.array([1], pa.int64())}))
    cat.write("default", "t", pa.table({"x": pa.array([2], pa.int64())}), overwrite=True)
    assert [n for n in os.listdir(os.path.join(warehouse, "default.db", "t")) if n.startswith(".")] == []


def _scan_task(source, split):
    """A scan task body: the source and split arrive pickled, as in a worker process."""
    return [b.num_rows for b in source.read_split(split)]


def test_write_and_scan_tasks_run_in_worker_processes(cat, warehouse):
    from rdd import Context

    _make(cat, partitioned=True)
    ctx = Context("local-cluster[2]")
    try:
        batches = [pa.record_batch({"x": pa.array(range(i * 5, i * 5 + 5), pa.int64()),
                                    "p": pa.array([i % 2] * 5, pa.int32())}) for i in range(4)]
        result = cat.write("default", "t", ctx.parallelize(batches, 4))
        assert result.rows == 20
        src = cat.scan_source("default", "t")
        import functools

        counts = ctx.parallelize(src.splits(), 2).map(functools.partial(_scan_task, src)).collect()
    finally:
        ctx.stop()
    assert sum(sum(c) for c in counts) == 20
    assert sorted(read_all(cat.scan_source("default", "t")).column("x").to_pylist()) == list(range(20))
