"""Every bad statement fails with a PEP 249 error naming the object and the position."""

import pytest

from sql import errors as pep
from sql.statements import StatementError


@pytest.fixture
def s(session):
    session.execute("CREATE TABLE t (a INT, b STRING) PARTITIONED BY (dt STRING)")
    session.execute("CREATE TABLE u (a INT)")
    session.execute("CREATE VIEW v AS SELECT a FROM u")
    return session


CASES = [
    ("DROP TABLE nope", "Table or view not found: default.nope", (1, 12)),
    ("CREATE TABLE t (a INT)", "Table already exists: default.t", (1, 14)),
    ("CREATE TABLE x (a DECIMAL(50,2))", "decimal precision 50 is outside 1..38", (1, 17)),
    ("CREATE TABLE x (a INT, a STRING)", "Duplicate column a in default.x", (1, 14)),
    ("CREATE TABLE x (a INT) PARTITIONED BY (a STRING)", "Partition column a of default.x repeats", (1, 40)),
    ("CREATE EXTERNAL TABLE e (a INT)", "External table default.e needs a LOCATION", (1, 23)),
    ("CREATE TABLE x (a INT) STORED AS SEQUENCEFILE", "STORED AS SEQUENCEFILE is not supported", (1, 34)),
    ("INSERT INTO\n  nope VALUES (1)", "Table or view not found: default.nope", (2, 3)),
    ("INSERT INTO t PARTITION (x='1') SELECT 1, 'a'", "x is not a partition column of default.t", (1, 26)),
    ("INSERT INTO t PARTITION (dt='1', dt='2') SELECT 1, 'a'", "Partition column dt appears twice", (1, 26)),
    ("INSERT INTO t PARTITION (dt='1') SELECT 1",
     "target expects 2 column(s) (a, b) but the query returns 1", (1, 41)),
    ("INSERT INTO u SELECT map('a', 1)", "Type mismatch in INSERT into default.u: column a is int", (1, 22)),
    ("INSERT INTO u VALUES (1, 2)", "VALUES row has 2 value(s) but the target expects 1 (a)", (1, 23)),
    ("INSERT INTO t (zz) VALUES (1)", "Column zz is not an insertable column of default.t", (1, 13)),
    ("INSERT INTO v VALUES (1)", "Cannot insert into view default.v", (1, 13)),
    ("ALTER TABLE t ADD PARTITION (dt='1', q='2')", "q is not a partition column of default.t", (1, 19)),
    ("ALTER TABLE u ADD PARTITION (dt='1')", "Table default.u is not partitioned", (1, 19)),
    ("ALTER TABLE nope ADD PARTITION (dt='1')", "Table or view not found: default.nope", (1, 13)),
    ("ALTER TABLE t DROP PARTITION (dt='zz')", "No partition of default.t matches dt=zz", (1, 31)),
    ("ALTER TABLE t RENAME TO u", "Table already exists: default.u", (1, 25)),
    ("ALTER TABLE t CHANGE COLUMN zz yy INT", "Column zz not found in default.t", (1, 29)),
    ("ALTER TABLE t CHANGE COLUMN a b NOTATYPE", "unknown type 'NOTATYPE'", (1, 33)),
    ("SHOW PARTITIONS u", "Table default.u is not partitioned", (1, 17)),
    ("SHOW PARTITIONS nope", "Table or view not found: default.nope", (1, 17)),
    ("SHOW TABLES IN nodb", "Database not found: nodb", (1, 16)),
    ("SHOW FOO", "Unsupported SHOW FOO", (1, 6)),
    ("DESCRIBE nope", "Table or view not found: default.nope", (1, 10)),
    ("DESCRIBE t PARTITION (dt='none')", "does not exist", (1, 10)),
    ("USE nodb", "Database not found: nodb", (1, 5)),
    ("DROP DATABASE nodb", "Database not found: nodb", (1, 15)),
    ("DROP DATABASE default", "Cannot drop the default database", (1, 15)),
    ("CREATE DATABASE default", "Database already exists: default", (1, 17)),
    ("DROP VIEW t", "default.t is a table, not a view; use DROP TABLE", (1, 11)),
    ("DROP TABLE v", "default.v is a view, not a table; use DROP VIEW", (1, 12)),
    ("LOAD DATA INPATH '/nonexistent/x' INTO TABLE u", "path /nonexistent/x does not exist", (1, 46)),
    ("ANALYZE TABLE nope COMPUTE STATISTICS", "Table or view not found: default.nope", (1, 15)),
    ("TRUNCATE TABLE nope", "Table or view not found: default.nope", (1, 16)),
    ("TRUNCATE TABLE t PARTITION (nope='1')", "nope is not a partition column of default.t", (1, 16)),
    ("MSCK REPAIR TABLE nope", "Table or view not found: default.nope", (1, 19)),
    ("ALTER TABLE t ADD PARTITION (dt='1'", "Expected ',', found end of statement", (1, 36)),
]


@pytest.mark.parametrize("sql,message,position", CASES, ids=[c[0][:40] for c in CASES])
def test_bad_statement(s, sql, message, position):
    with pytest.raises(StatementError) as e:
        s.execute(sql)
    err = e.value
    assert message in err.bare
    assert (err.line, err.column) == position, str(err)
    assert str(err).endswith(f"(line {position[0]}:{position[1]})")
    assert isinstance(err, pep.ProgrammingError) and isinstance(err, pep.DatabaseError)


def test_locked_metastore_is_an_operational_error(s, warehouse):
    import os
    import sqlite3

    from catalog.metastore import METASTORE_FILE
    from sql.statements import StatementOperationalError

    s.catalog.metastore.busy_timeout = 0.2
    s.catalog.metastore._conn.execute("PRAGMA busy_timeout = 200")
    holder = sqlite3.connect(os.path.join(warehouse, METASTORE_FILE), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StatementOperationalError, match="locked by another process") as e:
            s.execute("CREATE TABLE z (a INT)")
        assert isinstance(e.value, pep.OperationalError) and e.value.line == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    s.execute("CREATE TABLE z (a INT)")


def test_strict_text_error_is_a_data_error(s, tmp_path):
    d = tmp_path / "e"
    d.mkdir()
    (d / "f").write_text("x\n")
    s.execute(f"CREATE EXTERNAL TABLE e (a INT) LOCATION '{d}'")
    s.execute("CREATE TABLE sink (a INT)")
    s.execute("SET lamna.text.strict=true")
    with pytest.raises(Exception, match=r"value 'x' is not a valid int .*f, line 1, column a"):
        s.execute("INSERT INTO sink SELECT a FROM e")
