"""`lamna tpch load`: the TPC-H schema in a Lamna warehouse, three ways.

- external-tbl: Hive external tables over the pipe-delimited .tbl directories (how the
  Shark paper loaded TPC-H): no copy, the engine parses text on every scan;
- parquet: managed Parquet tables made with CTAS from external tables over the generated
  files (the staging tables are dropped afterwards; the files stay where they are);
- cached: the parquet tables. CACHE TABLE lasts as long as the process that runs it, so
  the caching is the run's job (`run --mode cached`, `bench --as cached`), which times
  the cache build apart from the queries.

Each way ends with ANALYZE TABLE ... COMPUTE STATISTICS so the planner has row counts.
The statements are built by `plan` (pure, tested on its text) and run by `load`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tpch import lamna, schema
from tpch.datadir import DataSet, sf_ident
from tpch.errors import TpchError
from tpch.progress import Progress

LOAD_AS = ("external-tbl", "parquet", "cached")
STAGE_SUFFIX = "_tpch_stage"


@dataclass(frozen=True)
class Step:
    """One statement of a load and what it is for (shown in the progress line)."""

    label: str
    sql: str
    optional: bool = False


def default_database(sf: float) -> str:
    """tpch_sf1, tpch_sf0_01: one database per scale factor."""
    return f"tpch_sf{sf_ident(sf)}"


def _drop(label: str, name: str) -> Step:
    # Only clears the way for a reload: if the engine cannot run it, the CREATE that
    # follows still succeeds on a fresh warehouse and says "exists" on an old one.
    return Step(label, schema.drop(name), optional=True)


def plan(ds: DataSet, how: str, database: str) -> list[Step]:
    """The statements that load `ds` into `database` the way `how` says."""
    if how not in LOAD_AS:
        raise TpchError(f"unknown --as {how!r}: use one of {', '.join(LOAD_AS)}")
    if how == "external-tbl" and ds.format != "tbl":
        raise TpchError(
            f"--as external-tbl needs .tbl files but {ds.root} holds .{ds.format}: "
            "generate with `lamna tpch gen --format tbl` or load --as parquet"
        )
    steps = [
        Step("database", f"CREATE DATABASE IF NOT EXISTS {database}"),
        Step("database", f"USE {database}"),
    ]
    for t in schema.TABLES:
        location = ds.table_dir(t.name)
        steps.append(_drop(t.name, t.name))
        if how == "external-tbl":
            steps.append(Step(t.name, schema.external_tbl_ddl(t, location)))
        else:
            stage = t.name + STAGE_SUFFIX
            ddl = schema.external_tbl_ddl if ds.format == "tbl" else schema.external_parquet_ddl
            steps += [
                _drop(t.name, stage),
                Step(t.name, ddl(t, location, name=stage)),
                Step(t.name, schema.parquet_ctas(t, stage)),
                _drop(t.name, stage),
            ]
        steps.append(Step(t.name, schema.analyze(t)))
    return steps


@dataclass(frozen=True)
class LoadResult:
    database: str
    how: str
    seconds: float
    statements: int


def load(
    ds: DataSet,
    how: str,
    *,
    database: str | None = None,
    warehouse: Path | None = None,
    show: bool = True,
    connect: Callable[[Path | None], Any] = lamna.connect,
) -> LoadResult:
    """Run the plan through sql.connect; a failing statement is a one-line TpchError."""
    database = database or default_database(ds.sf)
    steps = plan(ds, how, database)
    conn = connect(warehouse)
    bar = Progress(len(steps), f"load {how}", enabled=show)
    started = time.perf_counter()
    try:
        for step in steps:
            bar.update(bar.done, step.label)
            try:
                lamna.execute(conn, step.sql)
            except Exception as e:
                if step.optional:
                    bar.advance(1, step.label)
                    continue
                head = step.sql.splitlines()[0]
                raise TpchError(
                    f"Lamna rejected `{head}` ({lamna.first_line(e)}): "
                    "check the engine supports it, or try another --as"
                ) from None
            bar.advance(1, step.label)
    finally:
        bar.close()
        close = getattr(conn, "close", None)
        if close:
            close()
    return LoadResult(database, how, time.perf_counter() - started, len(steps))
