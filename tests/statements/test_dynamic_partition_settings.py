"""hive.exec.dynamic.partition and hive.exec.dynamic.partition.mode: defaults (Hive 4's:
enabled, nonstrict), Hive's refusals and their messages, and that a refused insert
writes nothing."""

import pytest

from sql.statements import StatementError


@pytest.fixture
def parted(session):
    session.execute("CREATE TABLE src (a INT, country STRING, city STRING)")
    session.execute("INSERT INTO src VALUES (1, 'fr', 'paris'), (2, 'us', 'nyc')")
    session.execute("CREATE TABLE t (a INT) PARTITIONED BY (country STRING, city STRING)")
    return session


def test_defaults_allow_fully_dynamic_inserts(parted):
    parted.execute("INSERT INTO t PARTITION (country, city) SELECT a, country, city FROM src")
    assert parted.rows("SHOW PARTITIONS t") == [("country=fr/city=paris",), ("country=us/city=nyc",)]


def test_strict_mode_needs_a_static_column_and_names_the_setting(parted):
    parted.execute("SET hive.exec.dynamic.partition.mode=strict")
    with pytest.raises(StatementError) as e:
        parted.execute("INSERT INTO t PARTITION (country, city) SELECT a, country, city FROM src")
    assert "Dynamic partition strict mode requires at least one static partition column. " \
           "To turn this off set hive.exec.dynamic.partition.mode=nonstrict" in str(e.value)
    assert "default.t" in str(e.value) and e.value.line == 1 and e.value.column == 13
    # an insert without PARTITION counts as fully dynamic too
    with pytest.raises(StatementError, match="strict mode"):
        parted.execute("INSERT INTO t SELECT a, country, city FROM src")
    assert parted.rows("SHOW PARTITIONS t") == []
    # one static column is enough; fully static needs no dynamic partitions at all
    parted.execute("INSERT INTO t PARTITION (country='fr', city) SELECT a, city FROM src WHERE country = 'fr'")
    parted.execute("INSERT INTO t PARTITION (country='x', city='y') SELECT 5")
    assert parted.rows("SHOW PARTITIONS t") == [("country=fr/city=paris",), ("country=x/city=y",)]
    parted.execute("SET hive.exec.dynamic.partition.mode=NonStrict")
    parted.execute("INSERT INTO t PARTITION (country, city) SELECT a, country, city FROM src WHERE a = 2")
    assert ("country=us/city=nyc",) in parted.rows("SHOW PARTITIONS t")


def test_disabled_dynamic_partitions_refuse_any_dynamic_column(parted):
    parted.execute("SET hive.exec.dynamic.partition=false")
    for sql in ("INSERT INTO t PARTITION (country='fr', city) SELECT a, city FROM src",
                "INSERT OVERWRITE TABLE t PARTITION (country, city) SELECT a, country, city FROM src"):
        with pytest.raises(StatementError) as e:
            parted.execute(sql)
        assert "Dynamic partition is disabled. Either enable it by setting hive.exec.dynamic.partition=true " \
               "or specify partition column values" in str(e.value)
    parted.execute("INSERT INTO t PARTITION (country='fr', city='lyon') SELECT 3")
    assert parted.rows("SHOW PARTITIONS t") == [("country=fr/city=lyon",)]


def test_multi_insert_branches_are_checked_before_anything_is_written(parted):
    parted.execute("CREATE TABLE plain (a INT)")
    parted.execute("SET hive.exec.dynamic.partition.mode=strict")
    with pytest.raises(StatementError, match="strict mode"):
        parted.execute("FROM src INSERT INTO TABLE plain SELECT a "
                       "INSERT INTO TABLE t PARTITION (country, city) SELECT a, country, city")
    assert parted.rows("SELECT * FROM plain") == []


def test_bad_setting_values_are_errors(parted):
    parted.execute("SET hive.exec.dynamic.partition.mode=lenient")
    with pytest.raises(StatementError, match="hive.exec.dynamic.partition.mode must be strict or nonstrict, not 'lenient'"):
        parted.execute("INSERT INTO t PARTITION (country, city) SELECT a, country, city FROM src")
    parted.execute("RESET hive.exec.dynamic.partition.mode")
    parted.execute("SET hive.exec.dynamic.partition=maybe")
    with pytest.raises(StatementError, match="hive.exec.dynamic.partition must be true or false"):
        parted.execute("INSERT INTO t PARTITION (country, city) SELECT a, country, city FROM src")


def test_static_value_after_a_dynamic_one_is_refused_with_hives_message(parted):
    with pytest.raises(StatementError, match="Dynamic partition cannot be the parent of a static partition"):
        parted.execute("INSERT INTO t PARTITION (country, city='paris') SELECT a, country FROM src")
