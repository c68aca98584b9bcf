"""A session: settings, registered tables and UDFs, and statement dispatch.

``execute(sql)`` parses each statement with sqlglot (hive dialect). Non-queries go to
``sql.statements.execute_statement`` (DDL/DML, owned by the catalog side) when that
module is present; queries (and anything it returns ``None`` for) are bound, optimized,
planned and compiled here. The session implements the ``StatementSession`` protocol:
``catalog``, ``current_database``, ``settings``, ``rdd_context``, ``run_query``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError as SqlglotParseError

from catalog.errors import CatalogError
from catalog.scan import ScanSource
from planner import logical as L
from planner import types as T
from planner.optimizer import optimize
from planner.physical.compile import Compiler
from planner.physical.placement import reads_only_memory
from planner.physical.plan import Planner, PlannerConfig
from planner.physical.plan import explain as explain_physical
from planner.rules.decorrelate import DecorrelationError
from planner.sources import ArrowTableSource
from rdd import EXECUTOR_PROPERTY, EXECUTOR_WORKERS
from sql import errors as E
from sql.binder import Binder, Udf, ViewDef, sql_type
from sql.plan_cache import NOT_A_TEMPLATE, PlanCache, Template, shape_of, template

# sqlglot logs a warning for every statement it parses as a generic Command (SHOW, …)
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.Values)


@dataclass
class QueryOutput:
    """A planned query: result schema (user names), its RDD, and a streaming reader."""

    schema: pa.Schema
    rdd: Any
    logical: L.LogicalPlan | None = None
    optimized: L.LogicalPlan | None = None
    physical: Any = None
    release: Any = None  # frees cached shared scans once the result is consumed
    bad_fields: Any = None  # accumulator of text fields read as NULL (see Session.text_strict)
    executor: str | None = None  # where its jobs run: rdd's EXECUTOR_PROPERTY (None: threads)

    def warnings(self) -> list[str]:
        """What the user should hear once the result has been read: fields of text
        files that did not parse as their column's type and were read as NULL."""
        n = self.bad_fields.value if self.bad_fields is not None else 0
        if not n:
            return []
        return [f"{n} field(s) did not parse as their column's type and were read as NULL "
                "(SET lamna.text.strict=true to make that an error)"]

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._batches()
        finally:
            if self.release is not None:
                self.release()

    def _batches(self) -> Iterator[pa.RecordBatch]:
        names = self.schema.names
        for b in self.rdd.toLocalIterator():
            if b.num_rows == 0:
                continue
            if b.num_columns != len(names):
                raise E.InternalError(f"result batch has {b.num_columns} columns, expected {len(names)}")
            cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(b.columns, self.schema)]
            yield pa.RecordBatch.from_arrays(cols, schema=self.schema)


@dataclass
class Result:
    """What ``Session.execute`` returns: a row source (``schema`` set) or a row count."""

    schema: pa.Schema | None
    _batches: Any = None
    rowcount: int | None = None
    #: called once the rows have been read: messages for the user (PEP 249 ``messages``)
    warnings: Callable[[], list[str]] = lambda: []

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._batches is None:
            return iter(())
        return iter(self._batches()) if callable(self._batches) else iter(self._batches)


def _import_statements() -> Any:
    try:
        from sql import statements
    except ImportError:
        return None
    return statements if hasattr(statements, "execute_statement") else None


class _Tables:
    """Name resolution: temporary views and registered Arrow tables, then the catalog."""

    def __init__(self, session: Session) -> None:
        self.s = session

    @property
    def current_database(self) -> str:
        """The session's database (``USE db``), for current_database()."""
        return self.s.current_database

    def lookup(self, parts: tuple[str, ...]) -> ScanSource | ViewDef | None:
        s = self.s
        if len(parts) == 1 and parts[0] in s.temp_views:
            return s.temp_views[parts[0]]
        if len(parts) == 1 and parts[0] in s.registered:
            return s.registered[parts[0]]
        cat = s.catalog_if_open()
        if cat is None:
            return None
        db, name = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[-1])
        try:
            t = cat.lookup(db, name, s.current_database)
        except Exception:
            return None
        if t.is_view:
            cached = cat.cached_view_source(t)  # CACHE TABLE v / CACHE TABLE v AS SELECT
            if cached is not None:
                return cached
            q = sqlglot.parse_one(t.view_sql, read="hive")
            return ViewDef(t.qualified_name, q, tuple(c.name for c in t.columns) or None)
        try:
            return cat.scan_source(t.db, t.name, strict=s.text_strict, bad_fields=s.planning_bad_fields)
        except CatalogError as ex:  # its storage cannot be listed (a missing bucket, a lock held too long)
            raise E.OperationalError(f"{type(ex).__name__}: {ex}") from ex

    def _convert(self, found: Any, name: str) -> ScanSource | ViewDef | None:
        if isinstance(found, (ViewDef,)) or isinstance(found, ScanSource):
            return found
        text = getattr(found, "view_text", None) or getattr(found, "sql", None)
        if isinstance(text, str):
            q = sqlglot.parse_one(text, read="hive")
            cols = getattr(found, "column_names", None)
            return ViewDef(name, q, tuple(cols) if cols else None)
        return found

    def names(self) -> list[str]:
        out = list(self.s.registered) + list(self.s.temp_views)
        cat = self.s.catalog_if_open()
        if cat is not None:
            try:
                out += list(cat.list_tables(self.s.current_database)) + list(cat.temp_views())
            except Exception:
                pass
        return out


_SESSION_IDS = itertools.count(1)
#: Session settings that configure the RDD Context a session creates.
CONTEXT_SETTINGS = frozenset({"lamna.workers", "lamna.workers.nice"})
_GROUP_KEYS = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")
DEFAULT_MASTER = "local[2]"


class Session:
    """One connection's state. Sessions of a process share one RDD Context (PySpark's
    ``SparkContext.getOrCreate``) and so one block manager and one table cache; each
    runs its jobs in a job group of its own, so ``cancel`` stops only its queries. A
    session asking for another master than the shared Context's gets a private one."""

    def __init__(self, warehouse: str | None = None, master: str | None = None,
                 settings: dict[str, str] | None = None, catalog: Any = None,
                 rdd_context: Any = None, plans: PlanCache | None = None) -> None:
        self.settings: dict[str, str] = {k: str(v) for k, v in (settings or {}).items()}
        self.current_database = "default"
        self.registered: dict[str, ScanSource] = {}
        self.temp_views: dict[str, ViewDef] = {}
        self.udfs: dict[str, Udf] = {}
        self.udafs: dict[str, Udf] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        #: optimized plans of queries this session ran (``SET lamna.plan_cache=false``: off);
        #: sessions of one server share theirs (a key holds all a plan depends on)
        self.plans = plans if plans is not None else PlanCache()
        self._own_context = False  # True: a private Context, stopped by close()
        self._master = master
        self._ctx = rdd_context
        self._catalog = catalog
        self.warehouse = warehouse
        self._statements = _import_statements()
        #: while a query is bound: the accumulator its table scans count bad text fields into
        self.planning_bad_fields: Any = None
        self._group = f"lamna-session-{next(_SESSION_IDS)}"
        self._groups_running: dict[str, int] = {}  # job groups of statements in flight

    @property
    def catalog(self) -> Any:
        """The warehouse catalog, opened on first use (``warehouse=None``: Hive's default,
        ``$LAMNA_WAREHOUSE`` or ``./lamna-warehouse``)."""
        if self._catalog is None:
            self._catalog = _open_catalog(self.warehouse, self.flag("lamna.cache.enabled", default=True))
            if self.flag("lamna.cache.warm"):
                self._catalog.warm_cache(self.rdd_context)  # MEMORY tables, one job
        return self._catalog

    def catalog_if_open(self) -> Any:
        if self._catalog is None and self.warehouse is not None:
            return self.catalog
        return self._catalog

    # -- StatementSession protocol
    @property
    def rdd_context(self) -> Any:
        """The process's shared Context (created on first use), unless this session
        asked for another master (then a private one)."""
        if self._ctx is None or (not self._own_context and getattr(self._ctx, "_stopped", False)):
            from rdd import Context
            wanted = self._master or self.settings.get("lamna.master")
            shared = Context.getActive()
            # the Context's own settings (worker processes beside the threads)
            conf = {k: v for k, v in self.settings.items() if k in CONTEXT_SETTINGS}
            fits = shared is None or all(shared.getConf().get(k) == v for k, v in conf.items())
            if fits and (wanted in (None, DEFAULT_MASTER) or (shared is not None and shared.master == wanted)):
                self._ctx = Context.getOrCreate({"spark.master": wanted or DEFAULT_MASTER, "spark.app.name": "lamna",
                                                 **conf})
            else:
                # another master (or worker setting) is this session's own: it must not
                # become every later session's shared Context just because it came first
                self._ctx, self._own_context = Context(wanted or DEFAULT_MASTER, "lamna", conf), True
            memory = self.settings.get("lamna.cache.memory")
            if memory:
                from catalog.cache.ops import CacheOps
                CacheOps.set_cache_memory(self._ctx, memory)
        return self._ctx

    def run_query(self, query: exp.Expression) -> QueryOutput:
        return self.plan_query(query)

    # -- registration
    def register_arrow(self, name: str, table: pa.Table, rows_per_split: int = 1_000_000) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        self.registered[name.lower()] = ArrowTableSource(table, rows_per_split=rows_per_split, name=name)

    def register_source(self, name: str, source: ScanSource) -> None:
        self.registered[name.lower()] = source

    def register_udf(self, name: str, fn: Any, return_type: Any) -> None:
        t = return_type
        if isinstance(t, str):
            t = sql_type(exp.DataType.build(t, dialect="hive"))
        self.udfs[name.lower()] = Udf(name.lower(), fn, t)

    def cancel(self) -> None:
        """Cancel the running queries of this session, and only those (tasks stop at
        their next batch): the job groups its statements run in."""
        ctx = self._ctx
        if ctx is None:
            return
        with _GROUPS_LOCK:
            groups = list(self._groups_running)
        for group in groups:
            ctx.cancelJobGroup(group)

    @contextlib.contextmanager
    def _job_group(self) -> Iterator[None]:
        """Jobs started by the enclosed code belong to this session's job group, unless
        the calling thread already chose one (the server and the shell set theirs per
        statement, to cancel or follow it)."""
        ctx = self.rdd_context
        chosen = ctx.getLocalProperty("spark.jobGroup.id")
        saved = None
        if not chosen:
            saved = [(key, ctx.getLocalProperty(key)) for key in _GROUP_KEYS]
            ctx.setJobGroup(self._group, "lamna session")
        group = chosen or self._group
        with _GROUPS_LOCK:
            self._groups_running[group] = self._groups_running.get(group, 0) + 1
        try:
            yield
        finally:
            with _GROUPS_LOCK:
                left = self._groups_running.pop(group) - 1
                if left:
                    self._groups_running[group] = left
            for key, value in saved or ():
                ctx.setLocalProperty(key, value)

    def _grouped(self, batches: Iterator[pa.RecordBatch], executor: str | None) -> Iterator[pa.RecordBatch]:
        """``batches`` pulled under this session's job group, on the query's executor (a
        result's jobs run as its rows are fetched, maybe long after ``execute`` returned)."""
        it = iter(batches)
        while True:
            with self._job_group(), self._placed(executor):
                try:
                    batch = next(it)
                except StopIteration:
                    return
            yield batch

    @contextlib.contextmanager
    def _placed(self, executor: str | None) -> Iterator[None]:
        """Jobs the enclosed code starts on this thread run on ``executor`` (rdd's
        ``EXECUTOR_PROPERTY``: ``workers`` or None, the driver's threads); planning a
        query may change it for the rest of its statement (``Session._placement``)."""
        ctx = self.rdd_context
        saved = ctx.getLocalProperty(EXECUTOR_PROPERTY)
        ctx.setLocalProperty(EXECUTOR_PROPERTY, executor)
        try:
            yield
        finally:
            ctx.setLocalProperty(EXECUTOR_PROPERTY, saved)

    def _placement(self, physical: Any) -> str | None:
        """Where this query's jobs run, by ``lamna.executor``: ``threads``, ``workers``,
        or ``auto`` (the default): on the Context's worker processes (``lamna.workers``)
        when it has them and the query reads files, else on the driver's threads."""
        wanted = self.settings.get("lamna.executor", "auto").strip().lower()
        if wanted not in ("auto", "threads", "workers"):
            raise E.ProgrammingError(
                f"invalid value for lamna.executor: {wanted!r} (expected auto, threads or workers)")
        has_workers = getattr(getattr(self.rdd_context, "settings", None), "workers", 0) > 0
        if wanted == "threads" or not has_workers or (wanted == "auto" and reads_only_memory(physical)):
            return None
        return EXECUTOR_WORKERS

    def register_udaf(self, name: str, fn: Any, return_type: Any) -> None:
        """``fn(values: pyarrow.Array) -> scalar`` is called once per group."""
        t = return_type
        if isinstance(t, str):
            t = sql_type(exp.DataType.build(t, dialect="hive"))
        self.udafs[name.lower()] = Udf(name.lower(), fn, t)

    def close(self) -> None:
        if self._catalog is not None:
            try:
                self._catalog.close()
            except Exception:
                pass
        if self._own_context and self._ctx is not None:  # never the shared one
            try:
                self._ctx.stop()
            except Exception:
                pass
        self._ctx = None

    # -- execution
    def execute(self, sql: str) -> Result:
        """Run every statement in ``sql``; the last one's result is returned."""
        result = Result(schema=None, rowcount=-1)
        with self._job_group():
            for text in split_statements(sql):
                with self._placed(None):
                    result = self._execute_one(text)
        return result

    def _execute_one(self, text: str) -> Result:
        m = re.match(r"^\s*explain(\s+(extended|formatted|logical|codegen))?\s+(.*)$", text, re.I | re.S)
        if m:
            return self._explain(m.group(3), (m.group(2) or "").lower())
        cached = self._cached_query(text)
        if cached is not None:
            return self._output_result(cached)
        try:
            stmts = sqlglot.parse(text, read="hive")
        except SqlglotParseError as ex:
            # Hive forms sqlglot cannot parse (RESET a.b, DESCRIBE t col, ALTER TABLE …
            # RENAME TO PARTITION) are parsed by the statements package itself.
            if self._statements is not None:
                res = self._statements.execute_statement(None, text, self)
                if res is not None:
                    return _adapt_statement_result(res)
            raise E.ParseError(_parse_message(ex)) from None
        stmt = stmts[0] if stmts else None
        if stmt is None:
            return Result(schema=None, rowcount=-1)
        if isinstance(stmt, _QUERY_TYPES):
            return self._query_result(stmt)
        if self._catalog is None and self.warehouse is None and _session_local(stmt, text):
            return self._builtin_statement(stmt, text)
        if self._statements is not None:
            res = self._statements.execute_statement(stmt, text, self)
            if res is not None:
                return _adapt_statement_result(res)
        return self._builtin_statement(stmt, text)

    def _query_result(self, stmt: exp.Expression) -> Result:
        return self._output_result(self.plan_query(stmt))

    def _output_result(self, out: QueryOutput) -> Result:
        return Result(schema=out.schema, _batches=lambda: self._grouped(out.batches(), out.executor),
                      warnings=out.warnings)

    @property
    def check_plans(self) -> bool:
        """Check every rule's output plan (schema kept, no dangling column): a test-time
        net that triples optimizing time, so off unless ``SET
        lamna.optimizer.check_invariants=true`` or ``$LAMNA_CHECK_PLANS=1`` (the test
        suite sets it)."""
        return self.flag("lamna.optimizer.check_invariants", default=os.environ.get("LAMNA_CHECK_PLANS", "") == "1")

    @property
    def text_strict(self) -> bool:
        """``SET lamna.text.strict=true``: a text field that does not parse as its column's
        type is an error naming file, line and column, instead of a NULL that is counted."""
        return self.flag("lamna.text.strict")

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean setting: set means ``true`` (any case), anything else false."""
        value = self.settings.get(key)
        return default if value is None else value.strip().lower() == "true"

    def _set(self, body: str | None) -> Result:
        if not body:
            rows = sorted(self.settings.items())
            schema = pa.schema([("key", pa.string()), ("value", pa.string())])
            t = pa.table({"key": [k for k, _ in rows], "value": [v for _, v in rows]}, schema=schema)
            return Result(schema=schema, _batches=t.to_batches())
        if "=" in body:
            k, v = body.split("=", 1)
            self.settings[k.strip()] = v.strip().rstrip(";").strip()
            return Result(schema=None, rowcount=-1)
        k = body.strip()
        schema = pa.schema([("key", pa.string()), ("value", pa.string())])
        t = pa.table({"key": [k], "value": [self.settings.get(k, "<undefined>")]}, schema=schema)
        return Result(schema=schema, _batches=t.to_batches())

    def _builtin_statement(self, stmt: exp.Expression, text: str) -> Result:
        """Session-local statements that need no catalog: temporary views, USE, SET."""
        if isinstance(stmt, exp.Create) and (stmt.args.get("kind") or "").upper() == "VIEW":
            name = stmt.this.this.name.lower() if isinstance(stmt.this, exp.Schema) else stmt.this.name.lower()
            cols = None
            if isinstance(stmt.this, exp.Schema):
                cols = tuple(c.name for c in stmt.this.expressions)
            q = stmt.expression
            self.plan_query(q)  # validate now, as Hive does
            if name in self.temp_views and not stmt.args.get("replace"):
                raise E.ProgrammingError(f"view {name} already exists")
            self.temp_views[name] = ViewDef(name, q, cols)
            return Result(schema=None, rowcount=-1)
        if isinstance(stmt, exp.Drop) and (stmt.args.get("kind") or "").upper() == "VIEW":
            tables = stmt.args.get("tables") or [stmt.this]
            name = tables[0].name.lower()
            if name not in self.temp_views and not stmt.args.get("exists"):
                raise E.ProgrammingError(f"view {name} does not exist")
            self.temp_views.pop(name, None)
            return Result(schema=None, rowcount=-1)
        if isinstance(stmt, exp.Use):
            self.current_database = stmt.this.name.lower()
            return Result(schema=None, rowcount=-1)
        if isinstance(stmt, exp.Set) or text.strip().lower().startswith("set"):
            m = re.match(r"^\s*set(\s+(.*))?$", text, re.I | re.S)
            return self._set(m.group(2) if m else None)
        raise E.NotSupportedError(f"statement not supported without the catalog: {text.strip()[:60]}")

    # -- planning
    def bind(self, stmt: exp.Expression, tables: _Tables | None = None,
             ids: Iterator[int] | None = None) -> tuple[L.LogicalPlan, list[str]]:
        binder = Binder(tables or _Tables(self), self.udfs, ids or self._ids, self.udafs, self.settings)
        return binder.bind_query(stmt)

    def plan_query(self, stmt: exp.Expression, compile: bool = True) -> QueryOutput:
        with self._lock:
            with self._counting_bad_fields() as bad_fields:
                logical, names = self.bind(stmt)
            return self._physical(logical, self._optimize(logical), tuple(names), bad_fields, compile)

    @contextlib.contextmanager
    def _counting_bad_fields(self) -> Iterator[Any]:
        """While the enclosed code resolves tables, their scans count unparsable text
        fields into the accumulator yielded (the query's, for its warnings)."""
        self.planning_bad_fields = self.rdd_context.accumulator(0)
        try:
            yield self.planning_bad_fields
        finally:
            self.planning_bad_fields = None

    def _optimize(self, logical: L.LogicalPlan) -> L.LogicalPlan:
        disabled = frozenset(x.strip() for x in self.settings.get("lamna.optimizer.disabled_rules", "").split(",") if x.strip())
        try:
            return optimize(logical, disabled, check=self.check_plans)
        except DecorrelationError as ex:
            raise E.NotSupportedError(str(ex)) from None

    def _physical(self, logical: L.LogicalPlan, optimized: L.LogicalPlan, names: tuple[str, ...],
                  bad_fields: Any, compile: bool) -> QueryOutput:
        ctx = self.rdd_context
        config = PlannerConfig.from_settings(self.settings, int(getattr(ctx, "defaultParallelism", 2) or 2))
        physical = Planner(config).plan_query(optimized)
        executor = self._placement(physical)
        # The statement's jobs (compiling collects broadcast sides; writes of INSERT and
        # CTAS) run there too; ``execute`` restores the thread's choice after it.
        ctx.setLocalProperty(EXECUTOR_PROPERTY, executor)
        # Compiling runs the jobs that collect broadcast sides; plain EXPLAIN skips it.
        compiler = Compiler(ctx)
        rdd = compiler.compile(physical) if compile else None
        fields = [pa.field(n, c.type if c.type != T.NULL else pa.null()) for n, c in zip(names, optimized.schema)]
        return QueryOutput(schema=pa.schema(fields), rdd=rdd, logical=logical, optimized=optimized,
                           physical=physical, release=compiler.release, bad_fields=bad_fields,
                           executor=executor)

    # -- the plan cache (sql/plan_cache.py)
    def _cached_query(self, text: str) -> QueryOutput | None:
        """The query planned from a kept template, or planned afresh and its template
        kept; None when ``text`` is not a query whose plan can be kept."""
        if not self.flag("lamna.plan_cache", default=True):
            return None
        shape = shape_of(text)
        if shape is None:
            return None
        cat = self.catalog_if_open()
        token = cat.change_token() if cat is not None else None
        state = self._plan_cache_state()
        key = (shape.key, state)
        found = self.plans.get(key)
        parameterized = shape.probe is not None and found is not NOT_A_TEMPLATE
        if not parameterized:
            key = (shape.exact, state)
            found = self.plans.get(key)
        if isinstance(found, Template) and found.token == token:
            out = self._from_template(found, shape.values)
            if out is not None:
                self.plans.hits += 1
                return out
        self.plans.misses += 1
        try:
            stmts = sqlglot.parse(text, read="hive")
        except SqlglotParseError:
            return None  # the normal path reports it
        if len(stmts) != 1 or not isinstance(stmts[0], _QUERY_TYPES):
            return None
        with self._lock:
            tables = _RecordingTables(self)
            with self._counting_bad_fields() as bad_fields:
                logical, names = self.bind(stmts[0], tables, itertools.count(1))
            optimized = self._optimize(logical)
            lookups = tuple(tables.found)
            kept = None
            if parameterized:
                kept = self._probe_template(shape, optimized, tuple(names), lookups, token)
                if kept is None:
                    self.plans.put(key, NOT_A_TEMPLATE)
                    key = (shape.exact, state)
            if kept is None:
                kept = template(optimized, None, tuple(names), (), (), lookups, token)
            if kept is not None:
                self.plans.put(key, kept)
            return self._physical(logical, optimized, tuple(names), bad_fields, True)

    def _probe_template(self, shape: Any, optimized: L.LogicalPlan, names: tuple[str, ...],
                        lookups: tuple[Any, ...], token: Any) -> Template | None:
        """The template of a parameterized query, from planning it again with the probe."""
        try:
            probe_shape = shape_of(shape.probe)
            assert probe_shape is not None and probe_shape.key == shape.key
            probe_logical, _ = self.bind(sqlglot.parse_one(shape.probe, read="hive"), _Tables(self),
                                         itertools.count(1))
            probe = self._optimize(probe_logical)
        except Exception:
            return None
        return template(optimized, probe, names, shape.values, probe_shape.values, lookups, token)

    def _from_template(self, kept: Template, values: tuple[Any, ...]) -> QueryOutput | None:
        """``kept`` with ``values``, its tables resolved again; None if one changed kind."""
        with self._lock:
            tables = _Tables(self)
            sources: dict[int, Any] = {}
            with self._counting_bad_fields() as bad_fields:
                try:
                    for parts, old_id, kind in kept.lookups:
                        new = tables.lookup(parts)
                        if type(new) is not kind:
                            return None
                        sources[old_id] = new
                except Exception:  # noqa: BLE001 - planning afresh reports what went wrong
                    return None
            optimized = kept.instantiate(values, sources)
            return self._physical(optimized, optimized, kept.names, bad_fields, True)

    def _plan_cache_state(self) -> tuple[Any, ...]:
        """What of the session a plan depends on, besides its text and the catalog."""
        def held(d: dict[str, Any]) -> tuple[tuple[str, _Held], ...]:
            return tuple((k, _Held(v)) for k, v in d.items())
        return (self.current_database, tuple(sorted(self.settings.items())), held(self.temp_views),
                held(self.registered), held(self.udfs), held(self.udafs))

    def _explain(self, body: str, mode: str) -> Result:
        stmts = sqlglot.parse(body, read="hive")
        stmt = stmts[0]
        out = self.plan_query(stmt, compile=mode == "extended")
        parts = []
        if mode == "extended":
            parts += ["== Parsed Logical Plan ==", L.explain(out.logical), ""]
        parts += ["== Optimized Logical Plan ==", L.explain(out.optimized), "",
                  "== Physical Plan ==", explain_physical(out.physical)]
        if mode == "extended":
            parts += ["", "== RDD Stages ==", out.rdd.toDebugString()]
        text = "\n".join(parts)
        schema = pa.schema([("plan", pa.string())])
        return Result(schema=schema, _batches=[pa.record_batch([pa.array([text])], schema=schema)])


_GROUPS_LOCK = threading.Lock()


class _RecordingTables(_Tables):
    """Name resolution that remembers which names gave which table sources, so that a
    kept plan can resolve them again (views are part of the plan itself)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.found: list[tuple[tuple[str, ...], int, type]] = []

    def lookup(self, parts: tuple[str, ...]) -> ScanSource | ViewDef | None:
        found = super().lookup(parts)
        if found is not None and not isinstance(found, ViewDef):
            self.found.append((parts, id(found), type(found)))
        return found


class _Held:
    """A session object in a cache key: equal only to itself, and kept alive by the key
    (so its id cannot be reused by another object while the key exists)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Held) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def _parse_message(ex: SqlglotParseError) -> str:
    if ex.errors:
        e = ex.errors[0]
        return f"syntax error: {e.get('description')} (line {e.get('line')}:{e.get('col')})"
    return f"syntax error: {ex}"


def _adapt_statement_result(res: Any) -> Result:
    schema = getattr(res, "schema", None)
    if schema is not None:
        b = getattr(res, "batches", None)
        table = getattr(res, "table", None)
        if b is None and table is not None:
            return Result(schema=schema, _batches=table.to_batches())
        return Result(schema=schema, _batches=b)
    return Result(schema=None, rowcount=getattr(res, "rowcount", -1))


def _open_catalog(warehouse: str | None, caching: bool) -> Any:
    from catalog import Catalog
    return Catalog.open(warehouse, caching=caching)


def _session_local(stmt: exp.Expression, text: str) -> bool:
    """Statements an in-memory session (no warehouse opened) runs itself."""
    if isinstance(stmt, (exp.Create, exp.Drop)) and (stmt.args.get("kind") or "").upper() == "VIEW":
        return True
    return isinstance(stmt, exp.Set) or bool(re.match(r"^\s*set\b", text, re.I))


def split_statements(sql: str) -> list[str]:
    """Split on top-level semicolons (not inside quotes or comments)."""
    if ";" not in sql and "--" not in sql and "/*" not in sql:  # the common case, without a scan
        return [sql.strip()] if sql.strip() else []
    out, cur = [], []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"', "`"):
            j = i + 1
            while j < n and sql[j] != ch:
                j += 2 if sql[j] == "\\" else 1
            cur.append(sql[i:j + 1])
            i = j + 1
            continue
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            i = j
            continue
        if sql.startswith("/*", i) and not sql.startswith("/*+", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if ch == ";":
            s = "".join(cur).strip()
            if s:
                out.append(s)
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    s = "".join(cur).strip()
    if s:
        out.append(s)
    return out
