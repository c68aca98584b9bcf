"""The process's cache directory: which tables and queries are cached, their block
layout and what is known of each block. One per process (``REGISTRY``), shared by every
catalog and session of the process, as Shark's memory store was shared by every
session of its server.

The rows themselves are never here: they are blocks of the ``rdd`` block manager of
whichever executor built them. An entry only names its blocks (``cache_<entry>_<split>``)
and remembers, per block, its ``BlockInfo`` (statistics) and how often scans skipped
it, plus the block managers it was seen in (weakly), so that dropping an entry frees
its blocks there.

An entry describes one version of its input: a table's definition fingerprint and
data version, or the inputs of a cached query. Readers compare that with the
metastore before every use (``catalog.Catalog.scan_source``); nothing stale is ever
handed out.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field, replace
from typing import Any

from catalog.cache.blocks import BlockInfo
from catalog.cache.policy import CACHE_PROPERTY, LEGACY_PROPERTY
from catalog.model import Table
from catalog.scan import ScanSource, ScanSplit

#: ("table", warehouse, db, name), ("view", warehouse, db, name) or ("temp", scope, name)
Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BlockRef:
    """One block of a cached table: its block id and the split it is computed from."""

    block_id: str
    split: ScanSplit


@dataclass(eq=False)
class CacheEntry:
    """One cached table or query result (mutable state guarded by the registry's lock)."""

    id: str
    key: Key
    label: str  # what SHOW CACHE calls it
    level: str  # rdd StorageLevel name
    fingerprint: str
    version: Any  # the table's data version, or the inputs of a cached query
    storage: ScanSource
    blocks: tuple[BlockRef, ...]
    partitioned: bool = False
    files_dir: str | None = None  # a cached query's materialized result
    infos: dict[str, BlockInfo] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    managers: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)


def fingerprint(table: Table) -> str:
    """What identifies a table's definition for its cached blocks: everything that
    decides what its files mean (columns, types, format, location, serde and reading
    properties, creation time, so a dropped and recreated table never matches), but
    not its comment or cache properties."""
    props = tuple((k, v) for k, v in table.properties if k.lower() not in (CACHE_PROPERTY, LEGACY_PROPERTY))
    basis = replace(table, properties=props, comment=None)
    return hashlib.sha1(repr(basis).encode()).hexdigest()[:16]


def split_digest(split: ScanSplit) -> str:
    """A block's name within its entry: the split's identity. Files are written once
    under fresh names, so an unchanged split holds unchanged rows: after an INSERT only
    the new files' blocks are built (write-through without rereading the old ones)."""
    ident = (split.path, split.format, split.start, split.length, split.row_groups,
             split.partition_values, split.size_bytes)
    return hashlib.sha1(repr(ident).encode()).hexdigest()[:16]


class CacheRegistry:
    """The cached tables and queries of this process (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[Key, CacheEntry] = {}
        self._by_id: dict[str, CacheEntry] = {}
        self._marks: dict[Key, str] = {}  # CACHE TABLE in this process: key -> level
        self._files_root: str | None = None

    # -- CACHE TABLE marks (process lifetime) -----------------------------------------------

    def mark(self, key: Key, level: str) -> None:
        with self._lock:
            self._marks[key] = level

    def unmark(self, key: Key) -> bool:
        with self._lock:
            return self._marks.pop(key, None) is not None

    def mark_of(self, key: Key) -> str | None:
        with self._lock:
            return self._marks.get(key)

    def marks(self) -> list[Key]:
        with self._lock:
            return list(self._marks)

    # -- entries ----------------------------------------------------------------------------

    def get(self, key: Key) -> CacheEntry | None:
        with self._lock:
            return self._entries.get(key)

    def by_id(self, entry_id: str) -> CacheEntry | None:
        with self._lock:
            return self._by_id.get(entry_id)

    def entries(self) -> list[CacheEntry]:
        with self._lock:
            return list(self._entries.values())

    def install(self, entry: CacheEntry) -> CacheEntry:
        """Make ``entry`` the one for its key; an older one's blocks are freed, except
        those the new layout keeps (same entry id and split)."""
        with self._lock:
            old = self._entries.get(entry.key)
            if old is not None and old is not entry:
                keep = {b.block_id for b in entry.blocks} if old.id == entry.id else set()
                if old.id == entry.id:
                    entry.infos.update({k: v for k, v in old.infos.items() if k in keep})
                    entry.skipped.update({k: v for k, v in old.skipped.items() if k in keep})
                    for m in old.managers:
                        entry.managers.add(m)
                self._free(old, keep)
            self._entries[entry.key] = entry
            self._by_id[entry.id] = entry
            return entry

    def drop(self, key: Key) -> bool:
        """Forget the entry of ``key`` and free its blocks."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None:
                return False
            self._free(entry, set())
            return True

    def _free(self, entry: CacheEntry, keep: set[str]) -> None:
        if self._by_id.get(entry.id) is entry:
            del self._by_id[entry.id]
        for manager in list(entry.managers):
            for ref in entry.blocks:
                if ref.block_id not in keep:
                    manager.remove(ref.block_id)
        if entry.files_dir is not None:
            shutil.rmtree(entry.files_dir, ignore_errors=True)

    # -- what tasks and scans report ----------------------------------------------------------

    def note_block(self, entry_id: str, block_id: str, manager: Any, info: BlockInfo) -> None:
        """A task of this process read or built ``block_id`` in ``manager``."""
        with self._lock:
            entry = self._by_id.get(entry_id)
            if entry is None:
                return
            entry.managers.add(manager)
            entry.infos.setdefault(block_id, info)

    def noted(self, entry_id: str, block_id: str, manager: Any) -> bool:
        """Whether ``note_block`` has nothing to add (every scan of a cached table asks:
        decoding a block's statistics to note them again would cost more than the scan)."""
        with self._lock:
            entry = self._by_id.get(entry_id)
            return entry is None or (manager in entry.managers and block_id in entry.infos)

    def note_infos(self, entry_id: str, infos: dict[str, BlockInfo]) -> None:
        with self._lock:
            entry = self._by_id.get(entry_id)
            if entry is not None:
                entry.infos.update(infos)

    def count_skipped(self, entry_id: str, block_ids: list[str]) -> None:
        with self._lock:
            entry = self._by_id.get(entry_id)
            if entry is None:
                return
            for b in block_ids:
                entry.skipped[b] = entry.skipped.get(b, 0) + 1

    def skipped(self, entry: CacheEntry, block_ids: list[str]) -> int:
        """How many times scans skipped these blocks of ``entry`` by their statistics."""
        with self._lock:
            return sum(entry.skipped.get(b, 0) for b in block_ids)

    def infos(self, entry: CacheEntry) -> tuple[BlockInfo | None, ...]:
        with self._lock:
            return tuple(entry.infos.get(b.block_id) for b in entry.blocks)

    def add_manager(self, entry: CacheEntry, manager: Any) -> None:
        with self._lock:
            entry.managers.add(manager)

    # -- the directory of cached query results ------------------------------------------------

    def new_files_dir(self) -> str:
        """A fresh directory for one cached query's result, removed at exit at the latest."""
        with self._lock:
            if self._files_root is None:
                self._files_root = tempfile.mkdtemp(prefix="lamna-cache-")
                atexit.register(shutil.rmtree, self._files_root, True)
            return tempfile.mkdtemp(dir=self._files_root)


REGISTRY = CacheRegistry()
