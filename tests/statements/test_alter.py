"""ALTER TABLE/VIEW forms, TRUNCATE and MSCK REPAIR, checked after reopening too."""

import os

import pytest

from sql.statements import StatementError


@pytest.fixture
def part(session):
    session.execute("CREATE TABLE t (a INT, b STRING) PARTITIONED BY (dt STRING)")
    session.execute("INSERT INTO t PARTITION (dt) VALUES (1, 'x', 'd1'), (2, 'y', 'd2')")
    return session


def test_rename_moves_managed_data(part, reopen, warehouse):
    part.execute("ALTER TABLE t RENAME TO t2")
    assert not os.path.exists(os.path.join(warehouse, "default.db", "t"))
    s = reopen()
    assert sorted(s.rows("SELECT * FROM t2")) == [(1, "x", "d1"), (2, "y", "d2")]
    assert all(p.location.startswith(os.path.join(warehouse, "default.db", "t2")) for p in s.catalog.list_partitions("default", "t2"))
    part.execute("CREATE DATABASE other")
    part.execute("ALTER TABLE t2 RENAME TO other.t3")
    assert sorted(reopen().rows("SELECT a FROM other.t3")) == [(1,), (2,)]


def test_add_replace_change_columns(part, reopen):
    part.execute("ALTER TABLE t ADD COLUMNS (c DOUBLE COMMENT 'new', d ARRAY<INT>)")
    assert sorted(part.rows("SELECT a, c, d FROM t")) == [(1, None, None), (2, None, None)]
    part.execute("ALTER TABLE t CHANGE COLUMN b bee VARCHAR(10) COMMENT 'renamed' AFTER c")
    t = reopen().catalog.get_table("default", "t")
    assert [(c.name, c.type, c.comment) for c in t.columns] == [
        ("a", "int", None), ("c", "double", "new"), ("bee", "varchar(10)", "renamed"), ("d", "array<int>", None)]
    part.execute("ALTER TABLE t CHANGE a a BIGINT FIRST")
    part.execute("ALTER TABLE t REPLACE COLUMNS (a BIGINT, z STRING)")
    assert [c.name for c in reopen().catalog.get_table("default", "t").columns] == ["a", "z"]
    assert sorted(part.rows("SELECT a, z FROM t")) == [(1, None), (2, None)]


def test_properties(part, reopen):
    part.execute("ALTER TABLE t SET TBLPROPERTIES ('k1' = 'v1', 'k2' = 'v2')")
    part.execute("ALTER TABLE t UNSET TBLPROPERTIES ('k1')")
    assert reopen().catalog.get_table("default", "t").props == {"k2": "v2"}
    with pytest.raises(StatementError, match="'nope' is not set on default.t"):
        part.execute("ALTER TABLE t UNSET TBLPROPERTIES ('nope')")
    part.execute("ALTER TABLE t UNSET TBLPROPERTIES IF EXISTS ('nope')")
    part.execute("ALTER TABLE t SET TBLPROPERTIES ('EXTERNAL' = 'TRUE')")
    assert reopen().catalog.get_table("default", "t").kind == "EXTERNAL"


def test_serde_properties_change_how_text_is_read(session, tmp_path):
    d = tmp_path / "e"
    d.mkdir()
    (d / "f").write_text("1;a\n")
    session.execute(f"CREATE EXTERNAL TABLE e (a INT, b STRING) LOCATION '{d}'")
    assert session.rows("SELECT * FROM e") == [(None, None)]
    session.execute("ALTER TABLE e SET SERDEPROPERTIES ('field.delim' = ';')")
    assert session.rows("SELECT * FROM e") == [(1, "a")]


def test_add_and_drop_partitions(part, reopen, warehouse, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.parquet").write_bytes(
        open([os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(warehouse, "default.db", "t", "dt=d1"))
              for f in fs][0], "rb").read())
    part.execute(f"ALTER TABLE t ADD IF NOT EXISTS PARTITION (dt='d3') PARTITION (dt='d4') LOCATION '{elsewhere}'")
    part.execute("ALTER TABLE t ADD IF NOT EXISTS PARTITION (dt='d3')")
    assert reopen().rows("SHOW PARTITIONS t") == [("dt=d1",), ("dt=d2",), ("dt=d3",), ("dt=d4",)]
    assert sorted(part.rows("SELECT a, dt FROM t")) == [(1, "d1"), (1, "d4"), (2, "d2")]
    part.execute("ALTER TABLE t DROP IF EXISTS PARTITION (dt='d1'), PARTITION (dt='nope') PURGE")
    part.execute("ALTER TABLE t DROP PARTITION (dt='d2')")
    assert not os.path.exists(os.path.join(warehouse, "default.db", "t", "dt=d1"))
    assert reopen().rows("SHOW PARTITIONS t") == [("dt=d3",), ("dt=d4",)]
    with pytest.raises(StatementError, match="already exists"):
        part.execute("ALTER TABLE t ADD PARTITION (dt='d3')")


def test_set_location(part, tmp_path):
    loc = tmp_path / "newloc"
    loc.mkdir()
    part.execute(f"ALTER TABLE t PARTITION (dt='d1') SET LOCATION '{loc}'")
    assert sorted(part.rows("SELECT a FROM t")) == [(2,)]
    part.execute("CREATE TABLE u (a INT)")
    part.execute(f"ALTER TABLE u SET LOCATION '{loc}'")
    assert part.catalog.get_table("default", "u").location == str(loc)


def test_alter_view(session):
    session.execute("CREATE TABLE s (a INT, b STRING)")
    session.execute("INSERT INTO s VALUES (1, 'x')")
    session.execute("CREATE VIEW v AS SELECT a FROM s")
    session.execute("ALTER VIEW v AS SELECT b FROM s")
    assert session.rows("SELECT * FROM v") == [("x",)]
    with pytest.raises(StatementError, match="is a view"):
        session.execute("ALTER TABLE v SET TBLPROPERTIES ('a' = 'b')")


def test_truncate(part, reopen):
    part.execute("TRUNCATE TABLE t PARTITION (dt='d1')")
    assert part.rows("SELECT a FROM t") == [(2,)]
    part.execute("TRUNCATE TABLE t")
    assert reopen().rows("SELECT * FROM t") == []
    assert part.rows("SHOW PARTITIONS t") == [("dt=d1",), ("dt=d2",)]  # partitions stay, data goes
    part.execute(f"CREATE EXTERNAL TABLE e (a INT) LOCATION '{reopen().catalog.warehouse}/ext'")
    with pytest.raises(StatementError, match="non-managed"):
        part.execute("TRUNCATE TABLE e")


def test_msck_repair_discovers_partitions(session, tmp_path):
    root = tmp_path / "ext"
    for y, m in [("2020", "1"), ("2020", "2"), ("2021", "1")]:
        d = root / f"y={y}" / f"m={m}"
        d.mkdir(parents=True)
        (d / "f.txt").write_text(f"{y}{m}\n")
    (root / "y=bad").mkdir()
    (root / "_tmp").mkdir()
    session.execute(f"CREATE EXTERNAL TABLE e (v STRING) PARTITIONED BY (y INT, m INT) LOCATION '{root}'")
    assert session.rows("SELECT * FROM e") == []  # nothing registered yet
    r = session.execute("MSCK REPAIR TABLE e")
    assert "3 added" in r.message
    assert session.rows("SHOW PARTITIONS e") == [("y=2020/m=1",), ("y=2020/m=2",), ("y=2021/m=1",)]
    assert sorted(session.rows("SELECT v, y, m FROM e")) == [("20201", 2020, 1), ("20202", 2020, 2), ("20211", 2021, 1)]
    assert "0 added" in session.execute("MSCK TABLE e").message
    import shutil

    shutil.rmtree(root / "y=2021")
    assert "1 dropped" in session.execute("MSCK REPAIR TABLE e SYNC PARTITIONS").message
    assert len(session.rows("SHOW PARTITIONS e")) == 2


def test_rename_partition_moves_its_directory(part, reopen, warehouse):
    part.execute("ALTER TABLE t PARTITION (dt='d1') RENAME TO PARTITION (dt='d9')")
    assert sorted(os.listdir(os.path.join(warehouse, "default.db", "t"))) == ["dt=d2", "dt=d9"]
    s = reopen()
    assert s.rows("SHOW PARTITIONS t") == [("dt=d2",), ("dt=d9",)]
    assert sorted(s.rows("SELECT a, dt FROM t")) == [(1, "d9"), (2, "d2")]
    with pytest.raises(StatementError, match="already exists"):
        part.execute("ALTER TABLE t PARTITION (dt='d9') RENAME TO PARTITION (dt='d2')")


def test_recover_partitions_and_set_fileformat(part, warehouse):
    os.makedirs(os.path.join(warehouse, "default.db", "t", "dt=d7"))
    part.execute("ALTER TABLE t RECOVER PARTITIONS")
    assert ("dt=d7",) in part.rows("SHOW PARTITIONS t")
    part.execute("ALTER TABLE t SET FILEFORMAT ORC")
    assert part.catalog.get_table("default", "t").storage.format == "orc"


def test_drop_partitions_by_comparison(session, warehouse):
    session.execute("CREATE TABLE p (a INT) PARTITIONED BY (y INT, m STRING)")
    session.execute("INSERT INTO p PARTITION (y, m) VALUES (1, 2019, 'a'), (2, 2020, 'a'), (3, 2021, 'b'), (4, 2021, 'c')")
    session.execute("ALTER TABLE p DROP PARTITION (y < 2021)")
    assert session.rows("SHOW PARTITIONS p") == [("y=2021/m=b",), ("y=2021/m=c",)]
    session.execute("ALTER TABLE p DROP IF EXISTS PARTITION (y >= 2021, m > 'b')")
    assert session.rows("SHOW PARTITIONS p") == [("y=2021/m=b",)]
    assert not os.path.exists(os.path.join(warehouse, "default.db", "p", "y=2019"))
    with pytest.raises(StatementError, match="No partition of default.p matches"):
        session.execute("ALTER TABLE p DROP PARTITION (y > 3000)")


def test_comment_property_bucketing_and_touch(part, reopen):
    part.execute("ALTER TABLE t SET TBLPROPERTIES ('comment' = 'new comment')")
    part.execute("ALTER TABLE t CLUSTERED BY (a) SORTED BY (b DESC) INTO 16 BUCKETS")
    part.execute("ALTER TABLE t TOUCH")
    t = reopen().catalog.get_table("default", "t")
    assert t.comment == "new comment" and t.num_buckets == 16 and t.sort_columns == (("b", "DESC"),)
    part.execute("ALTER TABLE t NOT CLUSTERED")
    assert reopen().catalog.get_table("default", "t").num_buckets is None
