"""The engines a benchmark runs the queries on, behind one small interface.

`prepare` does everything that must not be timed (connecting, registering tables,
filling a cache); `execute` runs one query's statements and returns the answer as Arrow.
Each engine only needs its own package, imported inside the engine, so a missing
PySpark never stops a Lamna or DuckDB run.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from tpch import duck, lamna
from tpch.datadir import DataSet
from tpch.errors import TpchError
from tpch.queries import Query
from tpch.schema import TABLES, cache

ENGINES = ("lamna", "duckdb", "pyspark")
MODES = ("files", "cached")


class Engine(Protocol):
    name: str

    def prepare(self) -> None: ...

    def execute(self, query: Query) -> pa.Table: ...

    def close(self) -> None: ...


def available(name: str) -> str | None:
    """None when engine `name` can run here; otherwise why not (one line)."""
    if name == "duckdb":
        return None if duck.available() else "duckdb is not installed (pip install duckdb)"
    if name == "pyspark":
        try:
            import pyspark  # noqa: F401
        except ImportError:
            return "pyspark is not installed (pip install 'lamna[bench]')"
        return None
    if name == "lamna":
        try:
            import sql
        except ImportError as e:
            return f"sql cannot be imported: {e}"
        return None if hasattr(sql, "connect") else "sql.connect is not implemented yet"
    return f"unknown engine {name!r}"


@dataclass
class LamnaEngine:
    """Lamna through sql.connect, on the database `lamna tpch load` created.

    In cached mode `prepare` caches the eight tables (one `CACHE TABLE` each, every one
    a parallel job that builds all of the table's blocks) and records how long that took
    (`cache_seconds`) and what the cache holds (`cache_stats`, from `SHOW CACHE` and the
    tables' Parquet sizes), so a report can show the build apart from the queries.
    """

    database: str
    warehouse: Path | None = None
    mode: str = "files"
    name: str = "lamna"
    cache_seconds: float | None = None
    cache_stats: dict[str, int] | None = None
    _conn: Any = field(default=None, repr=False)

    def prepare(self) -> None:
        self._conn = lamna.connect(self.warehouse)
        try:
            lamna.execute(self._conn, f"USE {self.database}")
        except Exception as e:
            raise TpchError(
                f"no TPC-H database {self.database} in the warehouse ({lamna.first_line(e)}): "
                "run `lamna tpch load` first"
            ) from None
        if self.mode == "cached":
            started = time.perf_counter()
            for t in TABLES:
                try:
                    lamna.execute(self._conn, cache(t))
                except Exception as e:
                    raise TpchError(
                        f"cannot cache {t.name} ({lamna.first_line(e)}): "
                        "run with --mode files or load the tables again"
                    ) from None
            self.cache_seconds = time.perf_counter() - started
            self.cache_stats = cache_stats(self._conn, [t.name for t in TABLES])

    def execute(self, query: Query) -> pa.Table:
        answer: pa.Table | None = None
        done = 0
        try:
            for i, statement in enumerate(query.statements):
                cur = lamna.execute(self._conn, statement)
                done = i + 1
                if i == query.result_index:
                    answer = lamna.fetch_arrow(cur)
        except Exception:
            self._undo(query, done)
            raise
        assert answer is not None
        return answer

    def _undo(self, query: Query, done: int) -> None:
        """After a failure, run the query's remaining DROPs (Q15's view) so that a
        half-run query leaves nothing behind in the warehouse to break the next run."""
        for statement in query.statements[done:]:
            if statement.lower().startswith("drop "):
                try:
                    lamna.execute(self._conn, statement)
                except Exception:
                    pass

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def cache_stats(conn: Any, tables: list[str]) -> dict[str, int]:
    """What Lamna's cache holds of `tables` (SHOW CACHE: bytes in memory and on disk,
    rows, raw Arrow bytes before compression) and their Parquet bytes on disk (the
    `totalSize` ANALYZE recorded)."""
    cur = lamna.execute(conn, "SHOW CACHE")
    names = [d[0] for d in cur.description]
    wanted = {t.lower() for t in tables}
    out = {"memory_bytes": 0, "disk_bytes": 0, "rows": 0, "raw_bytes": 0, "parquet_bytes": 0}
    for row in cur.fetchall():
        r = dict(zip(names, row))
        if r["partition"] is not None or r["table"].rsplit(".", 1)[-1] not in wanted:
            continue
        for key in ("memory_bytes", "disk_bytes", "rows", "raw_bytes"):
            out[key] += int(r[key] or 0)
    for t in tables:
        props = dict(lamna.execute(conn, f"SHOW TBLPROPERTIES {t}").fetchall())
        out["parquet_bytes"] += int(props.get("totalSize", 0) or 0)
    return out


@dataclass
class DuckDBEngine:
    """DuckDB over the same files (views: every query reads the files)."""

    ds: DataSet
    threads: int | None = None
    name: str = "duckdb"
    _con: Any = field(default=None, repr=False)

    def prepare(self) -> None:
        self._con = duck.connect(self.ds, threads=self.threads)

    def execute(self, query: Query) -> pa.Table:
        return duck.run(self._con, query)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


_CREATE_VIEW = re.compile(r"^\s*create\s+view\b", re.IGNORECASE)


def _spark_type(sql_type: str) -> str:
    """Spark reads CHAR/VARCHAR as STRING; everything else is spelled the same."""
    return re.sub(r"^(VAR)?CHAR\(\d+\)$", "STRING", sql_type, flags=re.IGNORECASE)


@dataclass
class PySparkEngine:
    """PySpark SQL over the same files, `local[N]` like Lamna's default executors."""

    ds: DataSet
    master: str = "local[2]"
    driver_memory: str = "4g"
    name: str = "pyspark"
    _spark: Any = field(default=None, repr=False)

    def prepare(self) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise TpchError("pyspark is not installed: pip install 'lamna[bench]'") from None
        self._spark = (
            SparkSession.builder.master(self.master)
            .appName("lamna-tpch")
            .config("spark.driver.memory", self.driver_memory)
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        self._spark.sparkContext.setLogLevel("ERROR")
        for t in TABLES:
            if self.ds.format == "parquet":
                df = self._spark.read.parquet(str(self.ds.table_dir(t.name)))
            else:
                cols = [f"{c.name} {_spark_type(c.type)}" for c in t.columns]
                schema = ", ".join(cols + ["_trailing STRING"])
                df = self._spark.read.csv(
                    str(self.ds.table_dir(t.name)), sep="|", schema=schema
                ).drop("_trailing")
            df.createOrReplaceTempView(t.name)

    def execute(self, query: Query) -> pa.Table:
        answer: pa.Table | None = None
        for i, statement in enumerate(query.statements):
            # A permanent view may not refer to temporary views in Spark: Q15's view
            # becomes a temporary one (same name, same columns, same scope).
            statement = _CREATE_VIEW.sub("create or replace temporary view", statement)
            df = self._spark.sql(statement)
            if i == query.result_index:
                answer = _spark_arrow(df)
        assert answer is not None
        return answer

    def close(self) -> None:
        if self._spark is None:
            return
        from pyspark import SparkContext

        gateway = getattr(SparkContext, "_gateway", None)
        self._spark.stop()
        self._spark = None
        # Let the JVM exit and be reaped so its peak memory counts as our child's.
        proc = getattr(gateway, "proc", None)
        if gateway is not None:
            try:
                gateway.shutdown()
            except Exception:
                pass
        if proc is not None:
            try:
                if proc.stdin:
                    proc.stdin.close()
                proc.wait(timeout=30)
            except Exception:
                pass


def _spark_arrow(df: Any) -> pa.Table:
    to_arrow = getattr(df, "toArrow", None)
    if to_arrow is not None:
        return to_arrow()
    batches = df._collect_as_arrow()
    if batches:
        return pa.Table.from_batches(batches)
    return pa.Table.from_pandas(df.toPandas(), preserve_index=False)


def make_engine(
    name: str,
    ds: DataSet | None,
    *,
    database: str = "",
    warehouse: Path | None = None,
    mode: str = "files",
) -> Engine:
    """The engine called `name`; TpchError if the name is unknown or data is missing."""
    if name == "lamna":
        return LamnaEngine(database=database, warehouse=warehouse, mode=mode)
    if ds is None:
        raise TpchError(f"{name} needs the generated data: pass --data DIR")
    if name == "duckdb":
        return DuckDBEngine(ds)
    if name == "pyspark":
        return PySparkEngine(ds)
    raise TpchError(f"unknown engine {name!r}: choose from {', '.join(ENGINES)}")
