"""The cache side of ``Catalog``: a mixin listed first among its bases. Besides its own
operations (CACHE/UNCACHE/REFRESH, cached queries, warm-up, SHOW CACHE) it overrides
the data writes of ``WriteOps`` (``write``, ``create_table_as``: run the write, then
load the new blocks) and offers ``_cache_*`` hooks that ``Catalog``'s DDL methods call.

Correctness does not depend on either: every scan of a cached table compares the cache
entry with the metastore (definition fingerprint, data version) and relays it out or
rebuilds what changed, so a write by any process is seen by the next scan. Overrides
and hooks only free memory early (DROP, UNCACHE, NONE), check ``lamna.cache`` values and
build a written table's new blocks right away (write-through).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa

from catalog.cache import policy
from catalog.cache.build import block_id_of, build, materialize, note_manager
from catalog.cache.registry import REGISTRY, BlockRef, CacheEntry, Key, fingerprint
from catalog.cache.report import entry_rows, report_table, usage
from catalog.cache.source import CachedTableSource, ResultFiles
from catalog.errors import CatalogError, TableNotFound
from catalog.metastore import Metastore
from catalog.model import Table

log = logging.getLogger(__name__)


class CacheOps:
    """Cached tables and queries; expects the rest of ``Catalog`` on self."""

    warehouse: str
    metastore: Metastore
    _temp_views: dict[str, Table]
    _cache_scope: str
    _inputs: threading.local
    caching: bool

    # -- names ----------------------------------------------------------------------------

    def _table_key(self, db: str, name: str) -> Key:
        return ("table", self.warehouse, db.lower(), name.lower())

    def _view_key(self, view: Table) -> Key:
        if view.temporary:
            return ("temp", self._cache_scope, view.name)
        return ("view", self.warehouse, view.db, view.name)

    def _owns(self, key: Key) -> bool:
        return key[1] in (self.warehouse, self._cache_scope)

    def cache_level(self, table: Table) -> str | None:
        """The storage level ``table`` is cached at in this process, or None."""
        if not self.caching:
            return None
        return REGISTRY.mark_of(self._table_key(table.db, table.name)) or policy.POLICY_LEVELS.get(
            policy.table_policy(table))

    # -- reading ----------------------------------------------------------------------------

    def _cached_source(self, t: Table, version: int) -> CachedTableSource | None:
        """The cached form of table ``t`` at data ``version``, if it is cached: the entry's
        layout, relaid out first when the table changed since (a listing; unchanged
        blocks are kept). None: not cached, or written meanwhile (read storage now)."""
        if t.is_view:
            return None
        key = self._table_key(t.db, t.name)
        level = self.cache_level(t)
        if level is None:
            REGISTRY.drop(key)  # uncached by another process: free ours
            return None
        fp = fingerprint(t)
        entry = REGISTRY.get(key)
        if entry is None or (entry.fingerprint, entry.version, entry.level) != (fp, version, level):
            storage = self._snapshot(t.db, t.name, False, None, self._split_bytes(), None)  # type: ignore[attr-defined]
            if self.metastore.data_state(t.db, t.name) != (version, 0):
                return None
            entry_id = hashlib.sha1(repr((key, fp, level)).encode()).hexdigest()[:12]
            blocks = tuple(BlockRef(block_id_of(entry_id, s), s) for s in storage.splits())
            entry = REGISTRY.install(CacheEntry(
                id=entry_id, key=key, label=t.qualified_name, level=level, fingerprint=fp, version=version,
                storage=storage, blocks=blocks, partitioned=bool(t.partition_columns)))
        return _source_of(entry)

    @staticmethod
    def _split_bytes() -> int:
        from catalog.source import DEFAULT_SPLIT_BYTES

        return DEFAULT_SPLIT_BYTES

    # -- CACHE / UNCACHE / CLEAR / REFRESH --------------------------------------------------

    def cache_table(self, db: str, name: str, *, lazy: bool = False, level: str = policy.DEFAULT_LEVEL,
                    rdd_context: Any = None) -> dict[str, int] | None:
        """CACHE [LAZY] TABLE: cache a table in this process (until UNCACHE, CLEAR CACHE
        or exit) at ``level``; unless lazy, build every block now with one parallel job.
        Returns what was built: blocks, rows and bytes in memory (None if lazy)."""
        t = self._require_table(db, name)  # type: ignore[attr-defined]
        level = policy.storage_level(level)
        REGISTRY.mark(self._table_key(t.db, t.name), level)
        if lazy or rdd_context is None:
            return None
        src = self.scan_source(t.db, t.name)  # type: ignore[attr-defined]
        if not isinstance(src, CachedTableSource):
            return None
        build(rdd_context, [src])
        return self._summary(src.entry_id, rdd_context)

    def _summary(self, entry_id: str, rdd_context: Any) -> dict[str, int]:
        entry = REGISTRY.by_id(entry_id)
        if entry is None:
            return {"blocks": 0, "rows": 0, "memory_bytes": 0, "disk_bytes": 0}
        u = usage(entry, rdd_context)
        infos = REGISTRY.infos(entry)
        return {"blocks": len(entry.blocks), "rows": sum(i.rows for i in infos if i is not None),
                "memory_bytes": sum(m for m, _ in u.values()), "disk_bytes": sum(d for _, d in u.values())}

    def uncache(self, t: Table) -> bool:
        """UNCACHE TABLE: free the cached blocks of a table or view. A table cached by its
        definition (``lamna.cache``, a ``_cached`` name) gets ``lamna.cache = 'NONE'``, so
        it stays uncached in every process and after restarts."""
        if t.is_view:
            return REGISTRY.drop(self._view_key(t))
        key = self._table_key(t.db, t.name)
        done = REGISTRY.unmark(key)
        done = REGISTRY.drop(key) or done
        if policy.table_policy(t) != policy.NONE:
            props = [(k, v) for k, v in t.properties if k.lower() not in (policy.CACHE_PROPERTY, policy.LEGACY_PROPERTY)]
            props.append((policy.CACHE_PROPERTY, policy.NONE))
            self.alter_table(t.db, t.name, replace(t, properties=tuple(props)))
            done = True
        return done

    def uncache_table(self, db: str, name: str, *, if_exists: bool = False) -> bool:
        t = self.metastore.find_table(db.lower(), name.lower())
        if t is None:
            if if_exists:
                return False
            raise TableNotFound(f"{db}.{name}")
        return self.uncache(t)

    def clear_cache(self) -> list[str]:
        """CLEAR CACHE: free every cached block of this warehouse (and this catalog's
        cached temporary views) and forget CACHE TABLE marks. Tables cached by their
        definition stay so, and are rebuilt on first use."""
        labels = []
        for key in REGISTRY.marks():
            if self._owns(key):
                REGISTRY.unmark(key)
                labels.append(f"{key[2]}.{key[3]}")
        for entry in REGISTRY.entries():
            if self._owns(entry.key) and REGISTRY.drop(entry.key) and entry.label not in labels:
                labels.append(entry.label)
        return sorted(labels)

    def refresh(self, t: Table) -> bool:
        """REFRESH TABLE: drop what is cached of ``t`` (its blocks and its file listing), so
        that files changed outside the engine are read again. A cached table is rebuilt
        on its next scan; a cached view's result is dropped (the view runs its query)."""
        return REGISTRY.drop(self._view_key(t) if t.is_view else self._table_key(t.db, t.name))

    # -- cached queries (CACHE TABLE t AS SELECT, CACHE TABLE view) --------------------------

    @contextlib.contextmanager
    def recording_inputs(self) -> Iterator[list[tuple[Any, ...]]]:
        """Record, on this thread, every table snapshot (with its data version) and view
        that lookups and scans hand out: the inputs of the query being planned."""
        seen: list[tuple[Any, ...]] = []
        outer = getattr(self._inputs, "seen", None)
        self._inputs.seen = seen
        try:
            yield seen
        finally:
            self._inputs.seen = outer

    def _record(self, item: tuple[Any, ...]) -> None:
        seen = getattr(self._inputs, "seen", None)
        if seen is not None and item not in seen:
            seen.append(item)

    def _record_table(self, t: Table, version: int) -> None:
        if getattr(self._inputs, "seen", None) is not None:  # only while recording
            self._record(("table", t.db, t.name, fingerprint(t), version))

    def _record_view(self, t: Table) -> None:
        if t.is_view:
            self._record(("temp", t.name, t.view_sql) if t.temporary else ("view", t.db, t.name, t.view_sql))

    def cache_query(self, view: Table, inputs: list[tuple[Any, ...]], schema: pa.Schema, rdd: Any,
                    level: str, rdd_context: Any) -> dict[str, int]:
        """Cache the result of ``view``'s query, computed by ``rdd`` (one job): each
        partition becomes a block, and a file in this process's cache directory that the
        block is recomputed from if evicted. The result stays valid while ``inputs``
        (what ``recording_inputs`` saw while the query was planned) and the view's
        definition are unchanged; it is dropped at the first use after either changed."""
        level = policy.storage_level(level)
        key = self._view_key(view)
        entry_id = uuid.uuid4().hex[:12]
        files_dir = REGISTRY.new_files_dir()
        files, blocks, infos = materialize(rdd, schema, entry_id, files_dir, level)
        entry = CacheEntry(id=entry_id, key=key, label=view.name if view.temporary else view.qualified_name,
                           level=level, fingerprint=view.view_sql or "", version=tuple(inputs),
                           storage=ResultFiles(files, schema), blocks=blocks, files_dir=files_dir, infos=infos)
        REGISTRY.install(entry)
        note_manager(rdd_context, entry_id)
        return self._summary(entry_id, rdd_context)

    def cached_view_source(self, view: Table) -> CachedTableSource | None:
        """The cached result of a view, if it is cached and still valid (else None, and
        a stale result is dropped)."""
        key = self._view_key(view)
        entry = REGISTRY.get(key)
        if entry is None:
            return None
        if entry.fingerprint != view.view_sql or not self._inputs_valid(entry.version):
            REGISTRY.drop(key)
            return None
        return _source_of(entry)

    def _inputs_valid(self, inputs: tuple[tuple[Any, ...], ...]) -> bool:
        for item in inputs:
            if item[0] == "table":
                _, db, name, fp, version = item
                t = self.metastore.find_table(db, name)
                if t is None or fingerprint(t) != fp or self.metastore.data_state(db, name)[0] != version:
                    return False
            elif item[0] == "view":
                t = self.metastore.find_table(item[1], item[2])
                if t is None or t.view_sql != item[3]:
                    return False
            else:
                temp = self._temp_views.get(item[1])
                if temp is None or temp.view_sql != item[2]:
                    return False
        return True

    # -- warm-up, budget, SHOW CACHE --------------------------------------------------------

    def declared_tables(self, policies: tuple[str, ...] = (policy.MEMORY, policy.MEMORY_ONLY)) -> list[Table]:
        """Tables whose definition caches them with one of ``policies``."""
        out = []
        for db in self.list_databases():  # type: ignore[attr-defined]
            for name in self.list_tables(db):  # type: ignore[attr-defined]
                t = self.metastore.find_table(db, name)
                if t is not None and not t.is_view and policy.table_policy(t) in policies:
                    out.append(t)
        return out

    def warm_cache(self, rdd_context: Any) -> list[str]:
        """``SET lamna.cache.warm=true``: build every MEMORY table's blocks now, with one
        job (MEMORY_ONLY tables are never rebuilt at start, only on use)."""
        sources = []
        for t in self.declared_tables((policy.MEMORY,)):
            src = self.scan_source(t.db, t.name)  # type: ignore[attr-defined]
            if isinstance(src, CachedTableSource):
                sources.append(src)
        build(rdd_context, sources)
        return [s.label for s in sources]

    @staticmethod
    def set_cache_memory(rdd_context: Any, text: str) -> int:
        """``SET lamna.cache.memory=4g``: the memory budget of this process's block
        manager (blocks beyond a smaller one are evicted now)."""
        size = policy.parse_memory(text)
        manager = getattr(getattr(rdd_context, "env", None), "block_manager", None)
        if manager is None:
            raise CatalogError(f"{policy.MEMORY_SETTING}: no block manager to apply it to")
        manager.set_budget(size)
        return size

    def cache_report(self, rdd_context: Any = None) -> pa.Table:
        """SHOW CACHE: one row per cached table or view of this catalog (and per Hive
        partition of a partitioned one); see ``catalog.cache.report``."""
        keys = [k for k in REGISTRY.marks() if self._owns(k)]
        keys += [self._table_key(t.db, t.name) for t in self.declared_tables()]
        for key in dict.fromkeys(keys):  # make sure each cached table has a current layout
            try:
                t = self.get_table(key[2], key[3])  # type: ignore[attr-defined]
                self._cached_source(t, self.metastore.data_state(t.db, t.name)[0])
            except TableNotFound:
                REGISTRY.unmark(key)
                REGISTRY.drop(key)
        rows = []
        for entry in sorted(REGISTRY.entries(), key=lambda e: e.label):
            if not self._owns(entry.key) or not self._entry_current(entry):
                continue
            rows += entry_rows(entry, rdd_context)
        return report_table(rows)

    def _entry_current(self, entry: CacheEntry) -> bool:
        """Whether an entry still describes its table or view (dropping it if not)."""
        kind = entry.key[0]
        if kind == "table":
            t = self.metastore.find_table(entry.key[2], entry.key[3])
            ok = t is not None and self.cache_level(t) is not None and fingerprint(t) == entry.fingerprint
        elif kind == "view":
            t = self.metastore.find_table(entry.key[2], entry.key[3])
            ok = t is not None and t.view_sql == entry.fingerprint and self._inputs_valid(entry.version)
        else:
            t = self._temp_views.get(entry.key[2])
            ok = t is not None and t.view_sql == entry.fingerprint and self._inputs_valid(entry.version)
        if not ok:
            REGISTRY.drop(entry.key)
        return ok

    # -- keeping the cache in step with DDL and writes ---------------------------------------

    def create_table_as(self, table: Table, data: Any, **kwargs: Any) -> Any:
        """CTAS; a cached result table (``x_cached``, ``lamna.cache``) is loaded into the
        cache right away when the rows came from a parallel job."""
        self._cache_check(table)
        result = super().create_table_as(table, data, **kwargs)  # type: ignore[misc]
        self._write_through(table.db, table.name, data)
        return result

    def write(self, db: str, name: str, data: Any, **kwargs: Any) -> Any:
        """INSERT [OVERWRITE]; then the new files of a cached table are loaded into the
        cache (write-through); blocks of untouched files stay as they are."""
        result = super().write(db, name, data, **kwargs)  # type: ignore[misc]
        self._write_through(db, name, data)
        return result

    def _write_through(self, db: str, name: str, data: Any) -> None:
        rdd_context = getattr(data, "ctx", None)
        if rdd_context is None or not hasattr(data, "mapPartitionsWithIndex"):
            return  # no job to build with: the next scan builds the new blocks
        try:
            src = self.scan_source(db, name)  # type: ignore[attr-defined]
            if isinstance(src, CachedTableSource):
                build(rdd_context, [src], missing_only=True)
        except Exception:  # the write is committed; the next scan builds what is missing
            log.warning("write-through to the cache of %s.%s failed", db, name, exc_info=True)

    # Hooks ``Catalog``'s own DDL methods call (they are defined on Catalog itself, so
    # these cannot be overrides).

    def _cache_check(self, table: Table) -> None:
        """Before a definition is stored: its ``lamna.cache`` value must be understood."""
        policy.check_table(table)

    def _cache_altered(self, db: str, name: str, result: Table) -> None:
        """After ALTER TABLE: a renamed table is cached under its new name (its blocks
        are rebuilt there); ``lamna.cache = 'NONE'`` frees the blocks."""
        old_key = self._table_key(db, name)
        new_key = self._table_key(result.db, result.name)
        if new_key != old_key:
            mark = REGISTRY.mark_of(old_key)
            REGISTRY.unmark(old_key)
            REGISTRY.drop(old_key)
            if mark is not None:
                REGISTRY.mark(new_key, mark)
        elif not result.is_view and self.cache_level(result) is None:
            REGISTRY.drop(new_key)

    def _cache_dropped(self, t: Table) -> None:
        """After DROP TABLE/VIEW: free what was cached of it."""
        key = self._view_key(t) if t.is_view else self._table_key(t.db, t.name)
        REGISTRY.unmark(key)
        REGISTRY.drop(key)

    def _cache_database_dropped(self, name: str) -> None:
        for key in REGISTRY.marks():
            if self._owns(key) and key[2] == name:
                REGISTRY.unmark(key)
        for entry in REGISTRY.entries():
            if entry.key[0] != "temp" and self._owns(entry.key) and entry.key[2] == name:
                REGISTRY.drop(entry.key)

    def _cache_temp_view_dropped(self, name: str) -> None:
        REGISTRY.drop(("temp", self._cache_scope, name.lower()))


def _source_of(entry: CacheEntry) -> CachedTableSource:
    return CachedTableSource(entry.id, entry.label, entry.level, entry.storage, entry.blocks, REGISTRY.infos(entry))

