"""A small test-only session for statement tests.

``MiniSession`` implements ``sql.statements.StatementSession``: statements go to
``execute_statement``; queries run on DuckDB over Arrow tables read through our own
catalog (``TableSource``), so INSERT ... SELECT and CTAS are exercised end to end
before the real engine exists. Query output is offered as an RDD of batches (the
``rdd`` package, local threads), so writes run as parallel tasks.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import partial as _partial
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from catalog import Catalog  # noqa: E402
from catalog.source import read_all  # noqa: E402
from sql.statements import StatementResult, execute_statement  # noqa: E402


@dataclass
class Output:
    table: pa.Table
    rdd: Any = None

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    def batches(self):
        return iter(self.table.to_batches(max_chunksize=1000))


@dataclass
class MiniSession:
    catalog: Catalog
    rdd_context: Any = None
    current_database: str = "default"
    settings: dict[str, str] = field(default_factory=dict)
    bad_fields: list[int] = field(default_factory=list)
    #: make the query's RDD fail in its last partition, after the others wrote files
    inject_failure: bool = False

    def scan(self, db: str | None, name: str) -> pa.Table:
        strict = self.settings.get("lamna.text.strict", "false").lower() == "true"
        counter = _Counter(self.bad_fields)
        t = self.catalog.lookup(db, name, self.current_database)
        if t.is_view:
            return self.run_query(sqlglot.parse_one(t.view_sql, read="hive")).table
        return read_all(self.catalog.scan_source(t.db, t.name, strict=strict, bad_fields=counter))

    def run_query(self, query: exp.Expression) -> Output:
        query = query.copy()
        con = duckdb.connect()
        for i, t in enumerate(list(query.find_all(exp.Table))):
            if not t.name:
                continue
            alias = f"__t{i}"
            con.register(alias, self.scan(t.text("db") or None, t.name))
            t.replace(exp.Table(this=exp.to_identifier(alias), alias=t.args.get("alias") or exp.TableAlias(this=exp.to_identifier(t.name))))
        table = con.sql(query.sql(dialect="duckdb")).to_arrow_table()
        table = _plain_types(table)
        rdd = None
        if self.rdd_context is not None:
            batches = table.to_batches(max_chunksize=max(1, table.num_rows // 2 or 1))
            rdd = self.rdd_context.parallelize(batches, max(1, len(batches)))
            if self.inject_failure:
                rdd = rdd.mapPartitionsWithIndex(_partial(_fail_last, len(batches) - 1))
        return Output(table, rdd)

    def execute(self, sql: str) -> Any:
        parse_error = None
        try:
            stmt = sqlglot.parse_one(sql, read="hive")
        except sqlglot.errors.ParseError as e:
            stmt, parse_error = None, e
        result = execute_statement(stmt, sql, self)
        if result is None:
            if parse_error is not None:
                raise parse_error
            return self.run_query(stmt).table
        assert isinstance(result, StatementResult)
        return result

    def rows(self, sql: str) -> list[tuple]:
        out = self.execute(sql)
        table = out.table if isinstance(out, StatementResult) else out
        return [tuple(r.values()) for r in table.to_pylist()]


def _fail_last(last, index, it):
    yield from it
    if index == last:
        raise RuntimeError("injected failure in the last write task")


class _Counter:
    def __init__(self, sink: list[int]) -> None:
        self.sink = sink

    def add(self, n: int) -> None:
        self.sink.append(n)


def _plain_types(table: pa.Table) -> pa.Table:
    """DuckDB hands back large/view strings; the catalog writes plain Arrow types."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


@pytest.fixture
def warehouse(tmp_path):
    return str(tmp_path / "wh")


@pytest.fixture
def session(warehouse):
    from rdd import Context

    cat = Catalog.open(warehouse)
    ctx = Context("local[2]")
    s = MiniSession(cat, ctx)
    yield s
    ctx.stop()
    cat.close()


@pytest.fixture
def reopen(warehouse):
    """Open the same warehouse again, as a new session would."""
    opened = []

    def _open() -> MiniSession:
        cat = Catalog.open(warehouse)
        opened.append(cat)
        return MiniSession(cat)

    yield _open
    for c in opened:
        c.close()
