import os
import sqlite3

import pytest

from catalog import EXTERNAL, MANAGED, Catalog, Column, StorageFormat, Table
from catalog.errors import (
    DatabaseExists,
    DatabaseNotEmpty,
    DatabaseNotFound,
    MetastoreLocked,
    MetastoreVersionError,
    PartitionSpecError,
    TableExists,
    TableNotFound,
)
from catalog.metastore import METASTORE_FILE, SCHEMA_VERSION, Metastore


def _table(**kw):
    base = dict(
        db="default", name="t", kind=MANAGED,
        columns=(Column("a", "int", "first"), Column("m", "map<string,array<decimal(10,2)>>")),
        partition_columns=(Column("dt", "date"),),
        storage=StorageFormat(format="textfile", field_delim="|", null_format="NULL", escape="\\"),
        comment="a table", properties=(("k", "v"),), bucket_columns=("a",), sort_columns=(("a", "DESC"),),
        num_buckets=4,
    )
    base.update(kw)
    return Table(**base)


def test_schema_version_recorded_and_wal(cat, warehouse):
    assert cat.metastore.schema_version() == SCHEMA_VERSION
    conn = sqlite3.connect(os.path.join(warehouse, METASTORE_FILE))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_newer_metastore_is_refused(warehouse):
    Catalog.open(warehouse).close()
    conn = sqlite3.connect(os.path.join(warehouse, METASTORE_FILE))
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(MetastoreVersionError, match="newer"):
        Catalog.open(warehouse)


def test_table_definition_survives_reopen(warehouse):
    with Catalog.open(warehouse) as c:
        c.create_table(_table())
        before = c.get_table("default", "t")
    with Catalog.open(warehouse) as c:
        after = c.get_table("DEFAULT", "T")
    assert after == before
    assert after.columns[0].comment == "first"
    assert after.storage.field_delim == "|" and after.storage.null_format == "NULL"
    assert after.location.endswith(os.path.join("default.db", "t"))
    assert after.sort_columns == (("a", "DESC"),) and after.num_buckets == 4


def test_databases(cat):
    assert cat.list_databases() == ["default"]
    cat.create_database("Sales", comment="c", properties=[("owner", "me")])
    assert cat.create_database("sales", if_not_exists=True) is False
    with pytest.raises(DatabaseExists, match="sales"):
        cat.create_database("sales")
    assert cat.get_database("sales").properties == (("owner", "me"),)
    assert cat.list_databases("s*") == ["sales"]
    cat.create_table(_table(db="sales"))
    with pytest.raises(DatabaseNotEmpty, match="sales"):
        cat.drop_database("sales")
    assert cat.drop_database("sales", cascade=True)
    with pytest.raises(DatabaseNotFound, match="sales"):
        cat.get_database("sales")
    with pytest.raises(TableNotFound):
        cat.get_table("sales", "t")


def test_errors_name_the_object(cat):
    cat.create_table(_table())
    with pytest.raises(TableExists, match="default.t"):
        cat.create_table(_table())
    assert cat.create_table(_table(), if_not_exists=True) is False
    with pytest.raises(TableNotFound, match="default.nope"):
        cat.get_table("default", "nope")
    with pytest.raises(PartitionSpecError, match="x is not a partition column of default.t"):
        cat.add_partition("default", "t", [("x", "1")])
    with pytest.raises(PartitionSpecError, match="not a valid date"):
        cat.add_partition("default", "t", [("dt", "yesterday")])


def test_partitions_and_statistics_persist(warehouse):
    with Catalog.open(warehouse) as c:
        c.create_table(_table())
        c.add_partition("default", "t", [("dt", "2020-01-01")])
        c.add_partition("default", "t", [("dt", "2020-01-02")], location="/tmp/elsewhere")
        with c.metastore.transaction() as tx:
            c.metastore.set_statistics(tx, "default", "t", "", 10, 100, 2, {"a": (1, 9, 0, 5)})
    with Catalog.open(warehouse) as c:
        parts = c.list_partitions("default", "t")
        assert [p.spec for p in parts] == ["dt=2020-01-01", "dt=2020-01-02"]
        assert parts[1].location == "/tmp/elsewhere"
        s = c.statistics("default", "t")
        assert (s.row_count, s.total_bytes) == (10, 100)
        assert (s.columns["a"].min, s.columns["a"].max, s.columns["a"].distinct_count) == (1, 9, 5)


def test_ddl_is_one_transaction(cat):
    cat.create_table(_table())
    with pytest.raises(RuntimeError):
        with cat.metastore.transaction() as tx:
            cat.metastore.drop_table(tx, "default", "t")
            raise RuntimeError("crash half way")
    assert cat.get_table("default", "t").name == "t"


def test_locked_metastore_gives_clear_error(warehouse):
    Catalog.open(warehouse).close()
    holder = sqlite3.connect(os.path.join(warehouse, METASTORE_FILE), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        ms = Metastore(os.path.join(warehouse, METASTORE_FILE), busy_timeout=0.2)
        with pytest.raises(MetastoreLocked, match="locked by another process"):
            with ms.transaction():
                pass
        # readers are not blocked by a writer (WAL)
        assert ms.get_database("default").name == "default"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_external_table_needs_no_directory_and_keeps_location(cat, tmp_path):
    cat.create_table(_table(kind=EXTERNAL, location=str(tmp_path / "ext")))
    t = cat.get_table("default", "t")
    assert t.kind == EXTERNAL and t.location == str(tmp_path / "ext")
    cat.drop_table("default", "t")
    assert not cat.table_exists("default", "t")


def test_old_metastore_is_migrated_in_place(warehouse):
    """A warehouse written by schema version 1 opens with today's code, data intact."""
    from catalog import metastore as msmod

    os.makedirs(warehouse)
    conn = sqlite3.connect(os.path.join(warehouse, METASTORE_FILE))
    conn.executescript(msmod._MIGRATIONS[0])
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.execute("INSERT INTO databases VALUES ('default', ?, 'd', '[]')", (os.path.join(warehouse, "default.db"),))
    conn.execute("INSERT INTO writes (id, db, table_name, staging, host, pid, state, plan, started)"
                 " VALUES ('w1', 'default', 'gone', ?, 'elsewhere', 1, 'writing', NULL, 0)",
                 (os.path.join(warehouse, "nowhere"),))
    conn.commit()
    conn.close()
    with Catalog.open(warehouse) as c:
        assert c.metastore.schema_version() == SCHEMA_VERSION >= 2
        assert c.list_databases() == ["default"]
        assert c.metastore.list_writes() == []  # the ancient write from another host was recovered
        c.create_table(_table())
        assert c.get_table("default", "t").name == "t"


def test_recycled_pid_is_not_mistaken_for_the_writer(warehouse):
    from catalog.writer import process_alive, process_start_time

    me = os.getpid()
    start = process_start_time(me)
    assert process_alive(me, start)
    if start is not None:
        assert not process_alive(me, start + 1)
