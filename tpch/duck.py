"""DuckDB over a generated data set: the reference engine and a compared engine.

The same column types as Lamna's DDL (from tpch.schema), read from the same files, so a
difference in an answer is a difference in the engine, not in the data.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tpch.datadir import DataSet
from tpch.errors import TpchError
from tpch.queries import Query
from tpch.schema import TABLES, Table


def available() -> bool:
    """True when the duckdb package can be imported."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def _source(ds: DataSet, t: Table) -> str:
    glob = ds.glob(t.name).replace("'", "''")
    if ds.format == "parquet":
        return f"read_parquet('{glob}')"
    # .tbl: no header, no quoting; the trailing '|' on each line is ignored by DuckDB
    # once the columns are given explicitly.
    cols = ", ".join(f"'{c.name}': '{c.type}'" for c in t.columns)
    return f"read_csv('{glob}', delim='|', header=false, quote='', escape='', columns={{{cols}}})"


def connect(ds: DataSet, *, materialize: bool = False, threads: int | None = None) -> Any:
    """A DuckDB connection with the eight tables as views (or tables) over `ds`.

    Views read the files on every query (what a benchmark from files measures); with
    `materialize` the data is loaded once, which is faster for computing references.
    """
    try:
        import duckdb
    except ImportError:
        raise TpchError("DuckDB is not installed: pip install duckdb") from None
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    kind = "TABLE" if materialize else "VIEW"
    for t in TABLES:
        con.execute(f"CREATE {kind} {t.name} AS SELECT * FROM {_source(ds, t)}")
    return con


def _to_arrow(result: Any) -> pa.Table:
    for method in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        fn = getattr(result, method, None)
        if fn is not None:
            table = fn()
            return table if isinstance(table, pa.Table) else table.read_all()
    raise TpchError("this DuckDB version cannot return Arrow tables: pip install -U duckdb")


def run(con: Any, query: Query) -> pa.Table:
    """Execute every statement of `query`; return the answer statement's rows."""
    answer: pa.Table | None = None
    for i, statement in enumerate(query.statements):
        if i == query.result_index:
            answer = _to_arrow(con.sql(statement))
        else:
            con.execute(statement)
    assert answer is not None
    return answer
