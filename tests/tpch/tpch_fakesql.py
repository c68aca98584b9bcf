"""A stand-in for Lamna's `sql` module, backed by DuckDB, for testing the harness.

It speaks just enough of the HiveQL the harness sends (external tables, CTAS, USE,
ANALYZE, CACHE TABLE) to check that `load` issues a coherent sequence of statements and
that `run`, `quickstart` and reports work through a PEP 249 connection with
`fetch_arrow()`. It is never the engine under test: the real one is exercised by
test_tpch_lamna_e2e.py.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tpch.datadir import DataSet
from tpch.duck import _source
from tpch.load import STAGE_SUFFIX
from tpch.schema import table


class FakeCursor:
    def __init__(self, conn: "FakeConnection") -> None:
        self.conn = conn
        self._result: pa.Table | None = None
        self.description: list[tuple] | None = None

    def execute(self, statement: str) -> None:
        self.conn.log.append(statement)
        self._result = self.conn.run(statement)
        if self._result is not None:
            self.description = [
                (n, None, None, None, None, None, None) for n in self._result.schema.names
            ]

    def fetch_arrow(self) -> pa.Table:
        assert self._result is not None, "no result set"
        return self._result

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, warehouse: str | None) -> None:
        self.warehouse = warehouse
        self.db = duckdb.connect()
        self.log: list[str] = []
        self.cached: set[str] = set()

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.db.close()

    def _drop(self, name: str) -> None:
        for kind in ("VIEW", "TABLE"):
            try:
                self.db.execute(f"DROP {kind} IF EXISTS {name}")
            except duckdb.Error:
                pass

    def run(self, statement: str) -> pa.Table | None:
        s = statement.strip()
        low = s.lower()
        if re.match(r"(create database|use|analyze table)\b", low):
            return None
        if m := re.match(r"cache table (\w+)", low):
            self.cached.add(m.group(1))
            return None
        if m := re.match(r"drop table if exists (\w+)", low):
            self._drop(m.group(1))
            return None
        if m := re.match(r"create external table (\w+)", low):
            name = m.group(1)
            location = Path(re.search(r"location '([^']*)'", s, re.IGNORECASE).group(1))
            fmt = "parquet" if "stored as parquet" in low else "tbl"
            t = table(name.removesuffix(STAGE_SUFFIX))
            ds = DataSet(location.parent, 0.0, fmt)
            self.db.execute(f"CREATE VIEW {name} AS SELECT * FROM {_source(ds, t)}")
            return None
        if m := re.match(r"create table (\w+) stored as parquet as (select .*)", low, re.S):
            self.db.execute(f"CREATE TABLE {m.group(1)} AS {s[m.start(2) :]}")
            return None
        if low.startswith(("select", "with")):
            return self.db.sql(s).to_arrow_table()
        self.db.execute(s)
        return None


def module() -> types.ModuleType:
    """A module object to put in sys.modules['sql']; remembers its connections."""
    mod = types.ModuleType("sql")
    mod.connections = []  # type: ignore[attr-defined]
    state: dict[str, Any] = {}

    def connect(warehouse: str | None = None) -> FakeConnection:
        # One DuckDB per warehouse so that what `load` creates is there for `run`.
        key = warehouse or "<default>"
        conn = state.get(key)
        if conn is None or conn.db is None:
            conn = FakeConnection(warehouse)
            state[key] = conn
        mod.connections.append(conn)  # type: ignore[attr-defined]
        return _Shared(conn)

    mod.connect = connect  # type: ignore[attr-defined]
    return mod


class _Shared:
    """A handle on a shared FakeConnection whose close() leaves it open for the next."""

    def __init__(self, conn: FakeConnection) -> None:
        self._conn = conn

    def cursor(self) -> FakeCursor:
        return self._conn.cursor()

    def close(self) -> None:
        pass
