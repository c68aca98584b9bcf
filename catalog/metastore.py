"""The persistent metastore: SQLite (stdlib) in the warehouse directory.

One ``Metastore`` per open catalog. Every DDL runs inside one ``transaction()``
(``BEGIN IMMEDIATE``: the write lock is taken up front, so two processes never both
read-then-write and deadlock). WAL mode lets readers proceed while one process writes;
a busy timeout waits for the lock, then ``MetastoreLocked`` says who to blame.

Schema changes are numbered migrations applied in order; ``schema_version`` records the
last one, and a metastore newer than this code is refused rather than misread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, TypeVar

from catalog.errors import (
    DatabaseExists,
    DatabaseNotEmpty,
    DatabaseNotFound,
    MetastoreLocked,
    MetastoreVersionError,
    PartitionExists,
    TableExists,
    TableNotFound,
)
from catalog.model import Column, Database, Partition, StorageFormat, Table

METASTORE_FILE = "metastore.db"

_MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema
    """
    CREATE TABLE databases (
        name TEXT PRIMARY KEY,
        location TEXT NOT NULL,
        comment TEXT,
        properties TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE tables (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        db TEXT NOT NULL REFERENCES databases(name),
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        location TEXT,
        comment TEXT,
        storage TEXT NOT NULL,
        properties TEXT NOT NULL DEFAULT '[]',
        view_sql TEXT,
        bucketing TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        data_version INTEGER NOT NULL DEFAULT 0,
        UNIQUE (db, name)
    );
    CREATE TABLE columns (
        table_id INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        comment TEXT,
        is_partition INTEGER NOT NULL,
        PRIMARY KEY (table_id, is_partition, position)
    );
    CREATE TABLE partitions (
        table_id INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
        spec TEXT NOT NULL,
        vals TEXT NOT NULL,
        location TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (table_id, spec)
    );
    CREATE TABLE table_stats (
        table_id INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
        spec TEXT NOT NULL,
        row_count INTEGER,
        total_bytes INTEGER,
        file_count INTEGER,
        updated REAL NOT NULL,
        PRIMARY KEY (table_id, spec)
    );
    CREATE TABLE column_stats (
        table_id INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
        spec TEXT NOT NULL,
        column_name TEXT NOT NULL,
        min_value TEXT,
        max_value TEXT,
        null_count INTEGER,
        distinct_count INTEGER,
        updated REAL NOT NULL,
        PRIMARY KEY (table_id, spec, column_name)
    );
    CREATE TABLE writes (
        id TEXT PRIMARY KEY,
        db TEXT NOT NULL,
        table_name TEXT NOT NULL,
        staging TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        state TEXT NOT NULL,
        plan TEXT,
        started REAL NOT NULL
    );
    """,
    # 2: the start time of a writer's process, so a recycled pid is not taken for it
    """
    ALTER TABLE writes ADD COLUMN proc_start REAL;
    """,
)

SCHEMA_VERSION = len(_MIGRATIONS)


def _dumps_pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return json.dumps([list(p) for p in pairs])


def _loads_pairs(text: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in json.loads(text or "[]"))

_T = TypeVar("_T")
#: A bound on the memo of reads, which is cleared by every commit anyway.
_MEMO_ENTRIES = 4096


class Metastore:
    """Typed access to the SQLite metastore; all SQL of the catalog lives here."""

    def __init__(self, path: str, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        # The session may call from server threads; one connection guarded by a lock.
        self._lock = threading.RLock()
        # Reads served from memory while no commit happened since they were made: see
        # _remembered. The token is (SQLite's data_version, this object's own commits).
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._memo_token: tuple[int, int] | None = None
        self._own_commits = 0
        try:
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as e:
            raise self._translate(e) from e
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._migrate()

    # -- plumbing -------------------------------------------------------------------

    def _translate(self, e: sqlite3.OperationalError) -> Exception:
        text = str(e)
        if "locked" in text or "busy" in text:
            return MetastoreLocked(
                f"Metastore {self.path} is locked by another process "
                f"(waited {self.busy_timeout:g}s): {text}"
            )
        return MetastoreLocked(f"Metastore {self.path}: {text}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: commits on success, rolls back on any exception."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise self._translate(e) from e
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as e:
                self._conn.execute("ROLLBACK")
                raise self._translate(e) from e
            finally:
                self._own_commits += 1

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads (deferred transaction)."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def change_token(self) -> tuple[int, int]:
        """Changes whenever anything is committed to the metastore, by any process.

        What a cache of plans compares to know that no table, view or partition it
        depends on changed since the plan was made."""
        with self._lock:
            return self._change_token(self._conn)

    def _change_token(self, c: sqlite3.Connection) -> tuple[int, int]:
        # data_version: commits by other connections, from any process; ours are counted
        return c.execute("PRAGMA data_version").fetchone()[0], self._own_commits

    def _remembered(self, key: tuple[Any, ...], read: Callable[[sqlite3.Connection], _T]) -> _T:
        """``read`` in a snapshot, or its answer from the last time if nothing was committed since.

        Every statement looks its tables up again (another process may have changed them),
        and those look-ups were a quarter of a point query's time in the server. SQLite's
        ``PRAGMA data_version`` changes whenever another connection commits to the file,
        from any process; this connection's own commits are counted in ``_own_commits``.
        Inside a write transaction the memo is bypassed: what it reads may be rolled back.
        """
        with self._lock:
            if self._conn.in_transaction:
                return read(self._conn)
            with self.reading() as c:
                token = self._change_token(c)
                if token != self._memo_token or len(self._memo) > _MEMO_ENTRIES:
                    self._memo.clear()
                    self._memo_token = token
                if key in self._memo:
                    return self._memo[key]  # type: ignore[no-any-return]
                value = self._memo[key] = read(c)
                return value

    def _current_version(self) -> int | None:
        with self.reading() as c:
            exists = c.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            if not exists:
                return None
            row = c.execute("SELECT version FROM schema_version").fetchone()
            return row[0] if row else None

    def _migrate(self) -> None:
        """Bring the schema up to date; takes the write lock only when there is work."""
        current = self._current_version()
        if current is not None and current > SCHEMA_VERSION:
            raise MetastoreVersionError(
                f"Metastore {self.path} has schema version {current}, newer than this "
                f"Lamna understands ({SCHEMA_VERSION}); upgrade Lamna"
            )
        if current == SCHEMA_VERSION:
            return
        with self.transaction() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = tx.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise MetastoreVersionError(
                    f"Metastore {self.path} has schema version {version}, newer than this "
                    f"Lamna understands ({SCHEMA_VERSION}); upgrade Lamna"
                )
            for script in _MIGRATIONS[version:]:
                for stmt in script.split(";"):
                    if stmt.strip():
                        tx.execute(stmt)
            if row is None:
                tx.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            else:
                tx.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    def schema_version(self) -> int:
        with self.reading() as c:
            return c.execute("SELECT version FROM schema_version").fetchone()[0]

    # -- databases ------------------------------------------------------------------

    def create_database(self, tx: sqlite3.Connection, db: Database) -> None:
        if self._get_database(tx, db.name) is not None:
            raise DatabaseExists(db.name)
        tx.execute(
            "INSERT INTO databases VALUES (?, ?, ?, ?)",
            (db.name, db.location, db.comment, _dumps_pairs(db.properties)),
        )

    def _get_database(self, c: sqlite3.Connection, name: str) -> Database | None:
        row = c.execute(
            "SELECT name, location, comment, properties FROM databases WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        return Database(row[0], row[1], row[2], _loads_pairs(row[3]))

    def get_database(self, name: str, c: sqlite3.Connection | None = None) -> Database:
        if c is not None:
            db = self._get_database(c, name)
        else:
            with self.reading() as r:
                db = self._get_database(r, name)
        if db is None:
            raise DatabaseNotFound(name)
        return db

    def list_databases(self) -> list[Database]:
        with self.reading() as c:
            rows = c.execute("SELECT name FROM databases ORDER BY name").fetchall()
            return [self._get_database(c, r[0]) for r in rows]  # type: ignore[misc]

    def drop_database(self, tx: sqlite3.Connection, name: str, cascade: bool) -> list[Table]:
        """Remove a database; returns the tables it held (the caller deletes managed data)."""
        self.get_database(name, tx)
        tables = [self._get_table(tx, name, t) for t in self._table_names(tx, name)]
        if tables and not cascade:
            raise DatabaseNotEmpty(name, len(tables))
        for t in tables:
            assert t is not None
            self.drop_table(tx, t.db, t.name)
        tx.execute("DELETE FROM databases WHERE name = ?", (name,))
        return [t for t in tables if t is not None]

    # -- tables ---------------------------------------------------------------------

    def _table_id(self, c: sqlite3.Connection, db: str, name: str) -> int:
        row = c.execute("SELECT id FROM tables WHERE db = ? AND name = ?", (db, name)).fetchone()
        if row is None:
            raise TableNotFound(f"{db}.{name}")
        return row[0]

    def create_table(self, tx: sqlite3.Connection, t: Table) -> None:
        self.get_database(t.db, tx)
        if tx.execute("SELECT 1 FROM tables WHERE db = ? AND name = ?", (t.db, t.name)).fetchone():
            raise TableExists(t.qualified_name)
        cur = tx.execute(
            "INSERT INTO tables (db, name, kind, location, comment, storage, properties,"
            " view_sql, bucketing, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                t.db, t.name, t.kind, t.location, t.comment, self._storage_json(t.storage),
                _dumps_pairs(t.properties), t.view_sql, self._bucketing_json(t),
                t.created or time.time(),
            ),
        )
        self._insert_columns(tx, cur.lastrowid, t)  # type: ignore[arg-type]

    def update_table(self, tx: sqlite3.Connection, db: str, name: str, t: Table) -> None:
        """Replace the definition of ``db.name`` by ``t`` (which may carry a new name)."""
        table_id = self._table_id(tx, db, name)
        if (t.db, t.name) != (db, name):
            self.get_database(t.db, tx)
            if tx.execute(
                "SELECT 1 FROM tables WHERE db = ? AND name = ?", (t.db, t.name)
            ).fetchone():
                raise TableExists(t.qualified_name)
        tx.execute(
            "UPDATE tables SET db = ?, name = ?, kind = ?, location = ?, comment = ?, storage = ?,"
            " properties = ?, view_sql = ?, bucketing = ? WHERE id = ?",
            (
                t.db, t.name, t.kind, t.location, t.comment, self._storage_json(t.storage),
                _dumps_pairs(t.properties), t.view_sql, self._bucketing_json(t), table_id,
            ),
        )
        tx.execute("DELETE FROM columns WHERE table_id = ?", (table_id,))
        self._insert_columns(tx, table_id, t)

    def drop_table(self, tx: sqlite3.Connection, db: str, name: str) -> None:
        table_id = self._table_id(tx, db, name)
        tx.execute("DELETE FROM tables WHERE id = ?", (table_id,))

    def _insert_columns(self, tx: sqlite3.Connection, table_id: int, t: Table) -> None:
        rows = [(table_id, i, c.name, c.type, c.comment, 0) for i, c in enumerate(t.columns)]
        rows += [
            (table_id, i, c.name, c.type, c.comment, 1) for i, c in enumerate(t.partition_columns)
        ]
        tx.executemany("INSERT INTO columns VALUES (?, ?, ?, ?, ?, ?)", rows)

    @staticmethod
    def _storage_json(s: StorageFormat) -> str:
        d = asdict(s)
        d["serde_properties"] = [list(p) for p in s.serde_properties]
        return json.dumps(d)

    @staticmethod
    def _bucketing_json(t: Table) -> str:
        return json.dumps(
            {
                "columns": list(t.bucket_columns),
                "sort": [list(p) for p in t.sort_columns],
                "buckets": t.num_buckets,
            }
        )

    def _get_table(self, c: sqlite3.Connection, db: str, name: str) -> Table | None:
        row = c.execute(
            "SELECT id, db, name, kind, location, comment, storage, properties, view_sql,"
            " bucketing, created FROM tables WHERE db = ? AND name = ?",
            (db, name),
        ).fetchone()
        if row is None:
            return None
        cols = c.execute(
            "SELECT name, type, comment, is_partition FROM columns WHERE table_id = ?"
            " ORDER BY is_partition, position",
            (row[0],),
        ).fetchall()
        storage = json.loads(row[6])
        storage["serde_properties"] = tuple(tuple(p) for p in storage.get("serde_properties", []))
        bucketing = json.loads(row[9])
        return Table(
            db=row[1],
            name=row[2],
            kind=row[3],
            columns=tuple(Column(n, ty, cm) for n, ty, cm, p in cols if not p),
            partition_columns=tuple(Column(n, ty, cm) for n, ty, cm, p in cols if p),
            storage=StorageFormat(**storage),
            location=row[4],
            comment=row[5],
            properties=_loads_pairs(row[7]),
            view_sql=row[8],
            bucket_columns=tuple(bucketing.get("columns", ())),
            sort_columns=tuple(tuple(p) for p in bucketing.get("sort", ())),  # type: ignore[misc]
            num_buckets=bucketing.get("buckets"),
            created=row[10],
        )

    def get_table(self, db: str, name: str, c: sqlite3.Connection | None = None) -> Table:
        if c is not None:
            t = self._get_table(c, db, name)
        else:
            t = self._remembered(("table", db, name), lambda r: self._get_table(r, db, name))
        if t is None:
            raise TableNotFound(f"{db}.{name}")
        return t

    def find_table(self, db: str, name: str) -> Table | None:
        return self._remembered(("table", db, name), lambda r: self._get_table(r, db, name))

    def _table_names(self, c: sqlite3.Connection, db: str) -> list[str]:
        return [r[0] for r in c.execute("SELECT name FROM tables WHERE db = ? ORDER BY name", (db,))]

    def list_tables(self, db: str) -> list[str]:
        with self.reading() as c:
            self.get_database(db, c)
            return self._table_names(c, db)

    # -- partitions -----------------------------------------------------------------

    def add_partition(
        self, tx: sqlite3.Connection, db: str, name: str, p: Partition, if_not_exists: bool = False
    ) -> bool:
        """Register ``p``; returns False when it existed (and ``if_not_exists``)."""
        table_id = self._table_id(tx, db, name)
        exists = tx.execute(
            "SELECT 1 FROM partitions WHERE table_id = ? AND spec = ?", (table_id, p.spec)
        ).fetchone()
        if exists:
            if if_not_exists:
                return False
            raise PartitionExists(f"Partition {p.spec} already exists in {db}.{name}")
        tx.execute(
            "INSERT INTO partitions VALUES (?, ?, ?, ?, ?)",
            (table_id, p.spec, json.dumps([list(v) for v in p.values]), p.location,
             p.created or time.time()),
        )
        return True

    def drop_partition(self, tx: sqlite3.Connection, db: str, name: str, spec: str) -> None:
        table_id = self._table_id(tx, db, name)
        tx.execute("DELETE FROM partitions WHERE table_id = ? AND spec = ?", (table_id, spec))
        tx.execute("DELETE FROM table_stats WHERE table_id = ? AND spec = ?", (table_id, spec))
        tx.execute("DELETE FROM column_stats WHERE table_id = ? AND spec = ?", (table_id, spec))

    def set_partition_location(
        self, tx: sqlite3.Connection, db: str, name: str, spec: str, location: str
    ) -> None:
        table_id = self._table_id(tx, db, name)
        tx.execute(
            "UPDATE partitions SET location = ? WHERE table_id = ? AND spec = ?",
            (location, table_id, spec),
        )

    def list_partitions(self, db: str, name: str, c: sqlite3.Connection | None = None) -> list[Partition]:
        def run(conn: sqlite3.Connection) -> list[Partition]:
            table_id = self._table_id(conn, db, name)
            rows = conn.execute(
                "SELECT vals, location, created FROM partitions WHERE table_id = ? ORDER BY spec",
                (table_id,),
            ).fetchall()
            return [
                Partition(tuple((k, v) for k, v in json.loads(r[0])), r[1], r[2]) for r in rows
            ]

        if c is not None:
            return run(c)
        with self.reading() as r:
            return run(r)

    # -- statistics -----------------------------------------------------------------

    def set_statistics(
        self,
        tx: sqlite3.Connection,
        db: str,
        name: str,
        spec: str,
        row_count: int | None,
        total_bytes: int | None,
        file_count: int | None,
        columns: dict[str, tuple[Any, Any, int | None, int | None]] | None = None,
    ) -> None:
        """Record statistics for the table (``spec == ''``) or one partition."""
        table_id = self._table_id(tx, db, name)
        now = time.time()
        tx.execute(
            "INSERT OR REPLACE INTO table_stats VALUES (?, ?, ?, ?, ?, ?)",
            (table_id, spec, row_count, total_bytes, file_count, now),
        )
        for col, (mn, mx, nulls, distinct) in (columns or {}).items():
            tx.execute(
                "INSERT OR REPLACE INTO column_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (table_id, spec, col, json.dumps(mn), json.dumps(mx), nulls, distinct, now),
            )

    def clear_statistics(self, tx: sqlite3.Connection, db: str, name: str, spec: str | None = None) -> None:
        """Forget statistics a write made stale (all of them, or the table's and one partition's)."""
        table_id = self._table_id(tx, db, name)
        if spec is None:
            tx.execute("DELETE FROM table_stats WHERE table_id = ?", (table_id,))
            tx.execute("DELETE FROM column_stats WHERE table_id = ?", (table_id,))
        else:
            for s in {spec, ""}:
                tx.execute("DELETE FROM table_stats WHERE table_id = ? AND spec = ?", (table_id, s))
                tx.execute("DELETE FROM column_stats WHERE table_id = ? AND spec = ?", (table_id, s))

    def get_statistics(
        self, db: str, name: str, spec: str = ""
    ) -> tuple[tuple[int | None, int | None, int | None] | None, dict[str, tuple[Any, Any, int | None, int | None]]]:
        with self.reading() as c:
            table_id = self._table_id(c, db, name)
            row = c.execute(
                "SELECT row_count, total_bytes, file_count FROM table_stats"
                " WHERE table_id = ? AND spec = ?",
                (table_id, spec),
            ).fetchone()
            cols = c.execute(
                "SELECT column_name, min_value, max_value, null_count, distinct_count"
                " FROM column_stats WHERE table_id = ? AND spec = ?",
                (table_id, spec),
            ).fetchall()
        return (
            tuple(row) if row else None,  # type: ignore[return-value]
            {r[0]: (json.loads(r[1]), json.loads(r[2]), r[3], r[4]) for r in cols},
        )

    # -- the write journal ------------------------------------------------------------

    def begin_write(
        self, write_id: str, db: str, table: str, staging: str, host: str, pid: int,
        proc_start: float | None = None,
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO writes (id, db, table_name, staging, host, pid, state, plan, started, proc_start)"
                " VALUES (?, ?, ?, ?, ?, ?, 'writing', NULL, ?, ?)",
                (write_id, db, table, staging, host, pid, time.time(), proc_start),
            )

    def mark_committing(self, tx: sqlite3.Connection, write_id: str, plan: dict[str, Any]) -> None:
        cur = tx.execute(
            "UPDATE writes SET state = 'committing', plan = ? WHERE id = ? RETURNING db, table_name",
            (json.dumps(plan), write_id),
        )
        row = cur.fetchone()
        if row is not None:
            self.bump_data_version(tx, row[0], row[1])

    def end_write(self, write_id: str) -> None:
        with self.transaction() as tx:
            row = tx.execute("SELECT db, table_name FROM writes WHERE id = ?", (write_id,)).fetchone()
            tx.execute("DELETE FROM writes WHERE id = ?", (write_id,))
            if row is not None:
                self.bump_data_version(tx, row[0], row[1])

    def bump_data_version(self, tx: sqlite3.Connection, db: str, name: str) -> None:
        """Tell snapshot readers that the files of ``db.name`` changed."""
        tx.execute(
            "UPDATE tables SET data_version = data_version + 1 WHERE db = ? AND name = ?", (db, name)
        )

    def data_state(self, db: str, name: str) -> tuple[int, int]:
        """(data version, number of commits in flight) of a table, read atomically."""
        def read(c: sqlite3.Connection) -> tuple[int, int] | None:
            row = c.execute(
                "SELECT data_version FROM tables WHERE db = ? AND name = ?", (db, name)
            ).fetchone()
            if row is None:
                return None
            n = c.execute(
                "SELECT count(*) FROM writes WHERE db = ? AND table_name = ? AND state = 'committing'",
                (db, name),
            ).fetchone()[0]
            return row[0], n
        state = self._remembered(("data_state", db, name), read)
        if state is None:
            raise TableNotFound(f"{db}.{name}")
        return state

    def list_writes(self) -> list[dict[str, Any]]:
        with self.reading() as c:
            rows = c.execute(
                "SELECT id, db, table_name, staging, host, pid, state, plan, started, proc_start FROM writes"
            ).fetchall()
        keys = ("id", "db", "table", "staging", "host", "pid", "state", "plan", "started", "proc_start")
        out = []
        for r in rows:
            d = dict(zip(keys, r))
            d["plan"] = json.loads(d["plan"]) if d["plan"] else None
            out.append(d)
        return out

    def committing_writes(self, db: str, table: str) -> list[str]:
        with self.reading() as c:
            return [
                r[0]
                for r in c.execute(
                    "SELECT id FROM writes WHERE db = ? AND table_name = ? AND state = 'committing'",
                    (db, table),
                )
            ]
