"""HiveQL in: parsing, binding, statement execution, the PEP 249 API and the shell.

    import sql
    with sql.connect() as conn:            # embedded engine, local[2] RDD context
        conn.register_arrow("t", table)    # any pyarrow.Table as a queryable table
        cur = conn.cursor()
        cur.execute("SELECT k, count(*) FROM t WHERE x > %s GROUP BY k", (10,))
        cur.fetchall(); cur.fetch_arrow()
"""

from __future__ import annotations

from typing import Any

from sql.dbapi import (BINARY, DATETIME, NUMBER, ROWID, STRING, Binary, Connection, Cursor, Date,
                       DateFromTicks, Time, TimeFromTicks, Timestamp, TimestampFromTicks, apilevel,
                       paramstyle, threadsafety)
from sql.errors import (BindError, DatabaseError, DataError, Error, IntegrityError, InterfaceError,
                        InternalError, NotSupportedError, OperationalError, ParseError,
                        ProgrammingError, Warning)


def connect(warehouse: str | None = None, master: str | None = None, **settings: Any) -> Connection:
    """A PEP 249 connection to an embedded Lamna engine.

    ``warehouse``: directory of the metastore and managed tables (None: no catalog, only
    registered tables and temporary views). ``master``: the RDD master (``local[N]``,
    ``local-cluster[N]``); default ``local[2]``. Other keyword arguments are session
    settings, e.g. ``connect(**{"spark.sql.shuffle.partitions": "4"})``.
    """
    from sql.session import Session
    return Connection(Session(warehouse=warehouse, master=master, settings={k: str(v) for k, v in settings.items()}))


__all__ = [
    "connect", "Connection", "Cursor", "apilevel", "threadsafety", "paramstyle",
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError", "ParseError",
    "BindError", "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "Date", "Time", "Timestamp",
    "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary",
]
