"""PEP 249 (DB-API 2.0) over a Lamna session.

paramstyle is ``pyformat``: ``%s`` positional and ``%(name)s`` named parameters, bound
client-side as SQL literals (strings quoted and escaped); write ``%%`` for a literal ``%``.
Results stream: rows are fetched a partition at a time from the query's RDD.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa

from planner import types as T
from sql import errors as E

apilevel = "2.0"
threadsafety = 1
paramstyle = "pyformat"


class DBAPITypeObject:
    def __init__(self, *values: str) -> None:
        self.values = values

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            base = other.split("(")[0].split("<")[0]
            return base in self.values
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.values)


STRING = DBAPITypeObject("string", "varchar", "char")
BINARY = DBAPITypeObject("binary")
NUMBER = DBAPITypeObject("tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "boolean")
DATETIME = DBAPITypeObject("date", "timestamp")
ROWID = DBAPITypeObject()

Date = dt.date
Time = dt.time
Timestamp = dt.datetime
Binary = bytes


def DateFromTicks(t: float) -> dt.date:
    return dt.date.fromtimestamp(t)


def TimeFromTicks(t: float) -> dt.time:
    return dt.datetime.fromtimestamp(t).time()


def TimestampFromTicks(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t)


def sql_literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v) if -(2 ** 31) <= v < 2 ** 31 else f"{v}L"
    if isinstance(v, float):
        return repr(v) if v == v else "CAST('NaN' AS DOUBLE)"
    if isinstance(v, decimal.Decimal):
        return f"{v}BD"
    if isinstance(v, dt.datetime):
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if isinstance(v, dt.date):
        return f"DATE '{v.isoformat()}'"
    if isinstance(v, (bytes, bytearray)):
        return "X'" + bytes(v).hex() + "'"
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(v, (list, tuple)):
        return "array(" + ", ".join(sql_literal(x) for x in v) + ")"
    raise E.ProgrammingError(f"cannot bind a parameter of type {type(v).__name__}")


def bind_parameters(sql: str, params: Sequence[Any] | Mapping[str, Any] | None) -> str:
    """Substitute pyformat placeholders outside quoted text."""
    if params is None:
        return sql
    out: list[str] = []
    i, n = 0, len(sql)
    pos = iter(params) if not isinstance(params, Mapping) else None
    used = 0
    while i < n:
        ch = sql[i]
        if ch in ("'", '"', "`"):
            j = i + 1
            while j < n and sql[j] != ch:
                j += 2 if sql[j] == "\\" else 1
            out.append(sql[i:j + 1].replace("%%", "%"))  # %% is a literal % everywhere
            i = j + 1
            continue
        if ch == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j])
            i = j
            continue
        if ch == "%" and i + 1 < n:
            nxt = sql[i + 1]
            if nxt == "%":
                out.append("%")
                i += 2
                continue
            if nxt == "s":
                if pos is None:
                    raise E.ProgrammingError("positional %s with a mapping of parameters")
                try:
                    out.append(sql_literal(next(pos)))
                except StopIteration:
                    raise E.ProgrammingError("not enough parameters for the SQL statement") from None
                used += 1
                i += 2
                continue
            if nxt == "(":
                j = sql.find(")s", i)
                if j < 0:
                    raise E.ProgrammingError("bad %(name)s placeholder")
                name = sql[i + 2:j]
                if not isinstance(params, Mapping) or name not in params:
                    raise E.ProgrammingError(f"missing parameter {name!r}")
                out.append(sql_literal(params[name]))
                i = j + 2
                continue
        out.append(ch)
        i += 1
    if pos is not None and used != len(params):  # type: ignore[arg-type]
        raise E.ProgrammingError(f"{len(params)} parameters given, {used} placeholders")  # type: ignore[arg-type]
    return "".join(out)


def _column_to_py(col: pa.Array) -> list[Any]:
    t = col.type
    if pa.types.is_map(t):
        return [None if v is None else dict(v) for v in col.to_pylist()]
    if pa.types.is_list(t) and pa.types.is_map(t.value_type):
        return [None if v is None else [dict(m) if m is not None else None for m in v] for v in col.to_pylist()]
    return col.to_pylist()


def batch_rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    cols = [_column_to_py(c) for c in batch.columns]
    if not cols:
        return [()] * batch.num_rows
    return list(zip(*cols))


class Connection:
    Warning = E.Warning
    Error = E.Error
    InterfaceError = E.InterfaceError
    DatabaseError = E.DatabaseError
    DataError = E.DataError
    OperationalError = E.OperationalError
    IntegrityError = E.IntegrityError
    InternalError = E.InternalError
    ProgrammingError = E.ProgrammingError
    NotSupportedError = E.NotSupportedError

    def __init__(self, session: Any) -> None:
        self.session = session
        self._closed = False

    def cursor(self) -> Cursor:
        self._check()
        return Cursor(self)

    def _check(self) -> None:
        if self._closed:
            raise E.InterfaceError("connection is closed")

    def commit(self) -> None:
        self._check()  # every statement commits on its own (auto-commit)

    def rollback(self) -> None:
        self._check()
        raise E.NotSupportedError("transactions are not supported; every statement commits")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.session.close()

    def execute(self, sql: str, parameters: Any = None) -> Cursor:
        cur = self.cursor()
        cur.execute(sql, parameters)
        return cur

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self._check()
        self.session.register_arrow(name, table)

    def register_udf(self, name: str, fn: Any, return_type: Any) -> None:
        """A scalar UDF: ``fn(*arrays) -> array`` over whole Arrow arrays."""
        self._check()
        self.session.register_udf(name, fn, return_type)

    def register_udaf(self, name: str, fn: Any, return_type: Any) -> None:
        """An aggregate UDF: ``fn(values: pyarrow.Array) -> value``, once per group."""
        self._check()
        self.session.register_udaf(name, fn, return_type)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Cursor:
    arraysize = 1000

    def __init__(self, conn: Connection) -> None:
        self.connection = conn
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self._schema: pa.Schema | None = None
        self._batches: Iterator[pa.RecordBatch] | None = None
        self._buffer: list[tuple[Any, ...]] = []
        self._pending: list[pa.RecordBatch] = []
        self._closed = False
        self.rownumber: int | None = None
        #: PEP 249's optional ``messages``: (Warning, text) pairs from the last statement,
        #: added once its rows have all been read (e.g. text fields read as NULL)
        self.messages: list[tuple[type, str]] = []
        self._warnings: Any = None

    # -- execution
    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        self._check()
        sql = bind_parameters(operation, parameters)
        self._reset()
        result = self.connection.session.execute(sql)
        self._schema = result.schema
        if result.schema is not None:
            self.description = [
                (f.name, T.type_name(f.type), None, None,
                 f.type.precision if pa.types.is_decimal(f.type) else None,
                 f.type.scale if pa.types.is_decimal(f.type) else None, True)
                for f in result.schema]
            self._batches = result.batches()
            self._warnings = result.warnings
            self.rowcount = -1
            self.rownumber = 0
        else:
            self.description = None
            self._batches = None
            self.rowcount = result.rowcount if result.rowcount is not None else -1
        return self

    def executemany(self, operation: str, seq_of_parameters: Any) -> Cursor:
        total = 0
        for p in seq_of_parameters:
            self.execute(operation, p)
            if self.rowcount > 0:
                total += self.rowcount
        self.rowcount = total
        return self

    def _reset(self) -> None:
        self.messages = []
        self._warnings = None
        self._buffer = []
        self._pending = []
        self._batches = None
        self.description = None
        self._schema = None

    def _check(self) -> None:
        if self._closed:
            raise E.InterfaceError("cursor is closed")
        self.connection._check()

    def _need_result(self) -> None:
        self._check()
        if self._schema is None:
            raise E.ProgrammingError("no result set: the last statement returned no rows")

    def _fill(self, n: int | None) -> None:
        while (n is None or len(self._buffer) < n) and self._batches is not None:
            try:
                b = next(self._batches)
            except StopIteration:
                self._batches = None
                self._result_read()
                break
            except E.Error:
                raise
            except Exception as ex:  # execution failures surface as DB-API errors
                self._batches = None
                raise E.OperationalError(f"{type(ex).__name__}: {ex}") from ex
            self._buffer.extend(batch_rows(b))

    def _result_read(self) -> None:
        if self._warnings is not None:
            self.messages.extend((E.Warning, text) for text in self._warnings())
            self._warnings = None

    # -- fetching
    def fetchone(self) -> tuple[Any, ...] | None:
        self._need_result()
        self._fill(1)
        if not self._buffer:
            return None
        self.rownumber = (self.rownumber or 0) + 1
        return self._buffer.pop(0)

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        self._need_result()
        n = self.arraysize if size is None else size
        self._fill(n)
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        self.rownumber = (self.rownumber or 0) + len(out)
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        self._need_result()
        self._fill(None)
        out, self._buffer = self._buffer, []
        self.rownumber = (self.rownumber or 0) + len(out)
        self.rowcount = self.rownumber
        return out

    def fetch_arrow(self) -> pa.Table:
        """The rest of the result as a ``pyarrow.Table`` (no per-row conversion)."""
        self._need_result()
        assert self._schema is not None
        batches = []
        if self._buffer:
            rows = self._buffer
            self._buffer = []
            batches.append(pa.RecordBatch.from_pylist(
                [dict(zip(self._schema.names, r)) for r in rows], schema=self._schema))
        if self._batches is not None:
            try:
                batches.extend(self._batches)
            except Exception as ex:
                raise E.OperationalError(f"{type(ex).__name__}: {ex}") from ex
            self._batches = None
            self._result_read()
        return pa.Table.from_batches(batches, schema=self._schema)

    def fetch_arrow_batches(self) -> Iterator[pa.RecordBatch]:
        self._need_result()
        if self._batches is not None:
            yield from self._batches
            self._batches = None
            self._result_read()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while True:
            r = self.fetchone()
            if r is None:
                return
            yield r

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self._closed = True
        self._batches = None
        self._buffer = []

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
