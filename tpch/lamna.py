"""The one door into Lamna: `sql.connect`, imported lazily.

tpch/ may use only sql's public API (DESIGN.md): `sql.connect(warehouse=...)` returning a
PEP 249 connection whose cursors also offer `fetch_arrow()` -> pyarrow.Table. Importing
it lazily keeps `gen`, the queries, validation and the reference usable while the engine
is missing, and turns its absence into an error that says what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from tpch.errors import TpchError


def connect(warehouse: Path | None = None) -> Any:
    """A PEP 249 connection to the embedded engine (default warehouse when None)."""
    try:
        import sql
    except ImportError as e:
        raise TpchError(f"the Lamna engine cannot be imported ({e}): reinstall lamna") from None
    fn = getattr(sql, "connect", None)
    if fn is None:
        raise TpchError(
            "this Lamna build has no sql.connect yet: the query engine is not ready; "
            "use `--compare duckdb` meanwhile"
        )
    try:
        if warehouse is None:
            return fn()
        return fn(warehouse=str(Path(warehouse).expanduser()))
    except TpchError:
        raise
    except Exception as e:  # the engine's own error type is not ours to import
        raise TpchError(f"cannot open the Lamna warehouse: {first_line(e)}") from None


def first_line(e: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def execute(conn: Any, statement: str) -> Any:
    """Run one statement on a fresh cursor; returns the cursor."""
    cur = conn.cursor()
    cur.execute(statement)
    return cur


def fetch_arrow(cur: Any) -> pa.Table:
    """The cursor's rows as Arrow; falls back to DB-API rows if fetch_arrow is absent."""
    fn = getattr(cur, "fetch_arrow", None)
    if fn is not None:
        table = fn()
        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
        return table
    rows = cur.fetchall()
    names = [d[0] for d in cur.description or []]
    return (
        pa.Table.from_pylist([dict(zip(names, r)) for r in rows])
        if rows
        else pa.table({n: pa.array([], pa.null()) for n in names})
    )
