"""The TPC-H schema: eight tables with their exact types, and the DDL that creates them.

One definition of the columns serves every engine (Lamna's HiveQL DDL, DuckDB's reference
views, PySpark's read schema), so a type can never differ between the engine under test
and the engine that produces the reference answers.

Types follow the specification (clause 1.4): identifiers are BIGINT (they must hold any
key at any scale factor; tpchgen-cli writes them as int64 in Parquet), integers INT,
decimals DECIMAL(15,2), fixed text CHAR(n), variable text VARCHAR(n), dates DATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Column:
    """A column: name and SQL type (spelled the way both HiveQL and DuckDB accept it)."""

    name: str
    type: str


@dataclass(frozen=True)
class Table:
    """A TPC-H table and how many rows it has at scale factor 1.

    `fixed_rows` is true for nation and region, whose size does not scale. Lineitem's
    count is only approximately proportional (1 to 7 lines per order), so it is checked
    within a tolerance rather than exactly.
    """

    name: str
    columns: tuple[Column, ...]
    rows_sf1: int
    fixed_rows: bool = False

    def expected_rows(self, sf: float) -> int:
        """Rows at scale factor `sf` (exact except for lineitem)."""
        if self.fixed_rows:
            return self.rows_sf1
        return int(round(self.rows_sf1 * sf))

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _cols(spec: str) -> tuple[Column, ...]:
    """Parse 'name TYPE, name TYPE' (types may contain commas inside parentheses)."""
    out: list[Column] = []
    depth = 0
    current = ""
    for ch in spec + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            name, typ = current.strip().split(None, 1)
            out.append(Column(name, typ.strip()))
            current = ""
        else:
            current += ch
    return tuple(out)


TABLES: tuple[Table, ...] = (
    Table(
        "region",
        _cols("r_regionkey BIGINT, r_name CHAR(25), r_comment VARCHAR(152)"),
        5,
        fixed_rows=True,
    ),
    Table(
        "nation",
        _cols("n_nationkey BIGINT, n_name CHAR(25), n_regionkey BIGINT, n_comment VARCHAR(152)"),
        25,
        fixed_rows=True,
    ),
    Table(
        "supplier",
        _cols(
            "s_suppkey BIGINT, s_name CHAR(25), s_address VARCHAR(40), s_nationkey BIGINT, "
            "s_phone CHAR(15), s_acctbal DECIMAL(15,2), s_comment VARCHAR(101)"
        ),
        10_000,
    ),
    Table(
        "customer",
        _cols(
            "c_custkey BIGINT, c_name VARCHAR(25), c_address VARCHAR(40), "
            "c_nationkey BIGINT, c_phone CHAR(15), c_acctbal DECIMAL(15,2), "
            "c_mktsegment CHAR(10), c_comment VARCHAR(117)"
        ),
        150_000,
    ),
    Table(
        "part",
        _cols(
            "p_partkey BIGINT, p_name VARCHAR(55), p_mfgr CHAR(25), p_brand CHAR(10), "
            "p_type VARCHAR(25), p_size INT, p_container CHAR(10), "
            "p_retailprice DECIMAL(15,2), p_comment VARCHAR(23)"
        ),
        200_000,
    ),
    Table(
        "partsupp",
        _cols(
            "ps_partkey BIGINT, ps_suppkey BIGINT, ps_availqty INT, "
            "ps_supplycost DECIMAL(15,2), ps_comment VARCHAR(199)"
        ),
        800_000,
    ),
    Table(
        "orders",
        _cols(
            "o_orderkey BIGINT, o_custkey BIGINT, o_orderstatus CHAR(1), "
            "o_totalprice DECIMAL(15,2), o_orderdate DATE, o_orderpriority CHAR(15), "
            "o_clerk CHAR(15), o_shippriority INT, o_comment VARCHAR(79)"
        ),
        1_500_000,
    ),
    Table(
        "lineitem",
        _cols(
            "l_orderkey BIGINT, l_partkey BIGINT, l_suppkey BIGINT, l_linenumber INT, "
            "l_quantity DECIMAL(15,2), l_extendedprice DECIMAL(15,2), "
            "l_discount DECIMAL(15,2), l_tax DECIMAL(15,2), l_returnflag CHAR(1), "
            "l_linestatus CHAR(1), l_shipdate DATE, l_commitdate DATE, "
            "l_receiptdate DATE, l_shipinstruct CHAR(25), l_shipmode CHAR(10), "
            "l_comment VARCHAR(44)"
        ),
        6_001_215,
    ),
)

TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)


def table(name: str) -> Table:
    """The table called `name` (KeyError if there is none)."""
    for t in TABLES:
        if t.name == name:
            return t
    raise KeyError(name)


def _quote(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def column_list(t: Table) -> str:
    return ",\n".join(f"    {c.name} {c.type}" for c in t.columns)


def external_tbl_ddl(t: Table, location: Path, name: str | None = None) -> str:
    """Hive external table over a directory of pipe-delimited .tbl files.

    The way Shark's paper loaded TPC-H. Each .tbl line ends with a trailing '|'; Hive's
    delimited SerDe ignores fields past the declared columns, so no dummy column.
    """
    return (
        f"CREATE EXTERNAL TABLE {name or t.name} (\n{column_list(t)}\n)\n"
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY '|'\n"
        "STORED AS TEXTFILE\n"
        f"LOCATION {_quote(str(location))}"
    )


def external_parquet_ddl(t: Table, location: Path, name: str | None = None) -> str:
    """Hive external table over a directory of Parquet files (tpchgen-cli's parquet)."""
    return (
        f"CREATE EXTERNAL TABLE {name or t.name} (\n{column_list(t)}\n)\n"
        "STORED AS PARQUET\n"
        f"LOCATION {_quote(str(location))}"
    )


def parquet_ctas(t: Table, source: str) -> str:
    """A managed Parquet table copied from `source` with CTAS (types carried over)."""
    return f"CREATE TABLE {t.name} STORED AS PARQUET AS SELECT * FROM {source}"


def analyze(t: Table) -> str:
    """Table-level statistics for the planner (row count, size)."""
    return f"ANALYZE TABLE {t.name} COMPUTE STATISTICS"


def cache(t: Table) -> str:
    """Cache the table in Lamna's columnar memory store for the life of the process (one
    parallel job builds all its blocks)."""
    return f"CACHE TABLE {t.name}"


def drop(name: str) -> str:
    return f"DROP TABLE IF EXISTS {name}"
