"""The driver side of a write: ``PendingWrite`` (abort, the commit point, the renames)
and the statistics a commit keeps exact. See ``catalog.writer`` for the protocol."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs

from catalog.buckets import empty_buckets, merge_conflicts
from catalog.errors import (
    MetastoreLocked,
    TableNotFound,
    WriteError,
)
from catalog.files import delete_dir, join, list_data_files, resolve
from catalog.metastore import Metastore
from catalog.model import (
    Partition,
    Table,
    partition_spec_path,
)
from catalog.writer import (
    DEFAULT_TRASH_RETENTION,
    WriteSpec,
    WrittenFile,
    execute_plan,
    trash_location,
    write_task,
)

log = logging.getLogger(__name__)


if TYPE_CHECKING:
    from catalog.catalog import Catalog


@dataclass(frozen=True, slots=True)
class WriteResult:
    rows: int
    files: int
    partitions: tuple[str, ...]


class _CommitInFlight(Exception):
    """Raised inside a commit transaction to roll it back and wait for another commit."""


class PendingWrite:
    """A write between ``Catalog.start_write`` and ``commit``/``abort``."""

    def __init__(self, catalog: Catalog, spec: WriteSpec, overwrite: bool, create: Table | None = None,
                 max_partitions: int | None = None) -> None:
        self.catalog = catalog
        self.spec = spec
        self.overwrite = overwrite
        self.create = create  # CTAS: register this table at the commit point
        self.max_partitions = max_partitions
        self._done = False

    def run_task(self, index: int, batches: Iterable[pa.RecordBatch]) -> list[WrittenFile]:
        return write_task(self.spec, index, batches)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        fs, path = resolve(self.spec.staging)
        try:
            delete_dir(fs, path)
        finally:
            self.catalog.metastore.end_write(self.spec.write_id)

    def commit(
        self, results: Iterable[Iterable[WrittenFile]], *, truncate_spec: tuple[tuple[str, str | None], ...] | None = None,
        delete_after: Sequence[str] = (), unique_names: bool = False,
    ) -> WriteResult:
        """The commit point (one metastore transaction) followed by the renames."""
        files = [f for group in results for f in group]
        plan, affected = self.prepare(files, truncate_spec=truncate_spec, delete_after=delete_after,
                                      unique_names=unique_names)
        self.finish(plan)
        rows = sum(f.rows - f.replaced_rows for f in files if f.rows >= 0)
        return WriteResult(rows, len(plan["moves"]), tuple(sorted(r for r in affected if r)))

    def prepare(
        self, files: list[WrittenFile], *, truncate_spec: tuple[tuple[str, str | None], ...] | None = None,
        delete_after: Sequence[str] = (), unique_names: bool = False,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Phase 2, the commit point: one transaction records the rename plan, registers
        new partitions and updates statistics. After it returns the write is durable:
        if this process dies, the next open finishes the renames."""
        deadline = time.monotonic() + self.catalog.metastore.busy_timeout * 4
        while True:
            try:
                return self._prepare_once(files, truncate_spec, delete_after, unique_names)
            except _CommitInFlight:
                # another write to this table is between its commit point and the end of its
                # renames: its file list is not final yet, so ours (what OVERWRITE removes)
                # would not be either. Wait for it (or finish it, if its process died).
                if time.monotonic() > deadline:
                    raise MetastoreLocked(
                        f"Table {self.spec.table.qualified_name} is being committed by another writer; try again"
                    ) from None
                self.catalog.recover()
                time.sleep(0.02)

    def _prepare_once(
        self, files: list[WrittenFile], truncate_spec: tuple[tuple[str, str | None], ...] | None,
        delete_after: Sequence[str], unique_names: bool,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        ms, spec = self.catalog.metastore, self.spec
        t = spec.table
        root = t.location
        assert root is not None
        with ms.transaction() as tx:
            busy = tx.execute(
                "SELECT count(*) FROM writes WHERE db = ? AND table_name = ? AND state = 'committing' AND id != ?",
                (t.db, t.name, spec.write_id),
            ).fetchone()[0]
            if busy:
                raise _CommitInFlight()
            if self.create is not None:
                ms.create_table(tx, replace(self.create, created=time.time()))  # TableExists if raced
            current = ms._get_table(tx, t.db, t.name)
            if current is None:
                raise TableNotFound(t.qualified_name)
            existing = {p.spec: p for p in ms.list_partitions(t.db, t.name, tx)}
            affected: dict[str, tuple[tuple[str, str | None], ...]] = {}
            for f in files:
                affected[f.rel_dir] = f.partition
            if self.max_partitions is not None and len(affected) > self.max_partitions:
                raise WriteError(
                    f"Write into {t.qualified_name} would touch {len(affected)} partitions, more than "
                    f"hive.exec.max.dynamic.partitions={self.max_partitions}; nothing was written"
                )
            if t.partition_columns and len(spec.static_partition) == len(t.partition_columns):
                vals = tuple(spec.static_partition)
                affected.setdefault(partition_spec_path(vals), vals)
            if not t.partition_columns:
                affected.setdefault("", ())
            if truncate_spec is not None:
                affected = {p.spec: p.values for p in existing.values()
                            if all(p.value_dict.get(k) == v for k, v in truncate_spec)}
                if not t.partition_columns:
                    affected = {"": ()}
            locations = {
                rel: (existing[rel].location if rel in existing else (join(root, rel) if rel else current.location))
                for rel in affected
            }
            bucketed = bool(t.num_buckets) and truncate_spec is None
            if bucketed:  # every touched partition ends with exactly one file per bucket
                files = files + empty_buckets(spec, files, affected, locations, self.overwrite)
            taken: dict[str, set[str]] = {}
            moves = []
            for f in files:
                dst_dir = locations[f.rel_dir]
                name = f.name
                if unique_names:
                    name = free_name(dst_dir, name, taken.setdefault(dst_dir, set()), self.overwrite)
                src = join(spec.staging, f.rel_dir, f.name) if f.rel_dir else join(spec.staging, f.name)
                moves.append([src, join(dst_dir, name)])
            remove = []
            if self.overwrite or truncate_spec is not None:
                for rel, loc in locations.items():
                    fs, path = resolve(loc)
                    remove += [uri_like(loc, d.path) for d in list_data_files(
                        fs, path, recursive=not t.partition_columns, include_empty=True)]
            elif bucketed:  # INSERT INTO merged buckets: their old files go, if still theirs
                remove = merge_conflicts(spec, files, locations)
            plan = {
                "moves": moves, "remove": remove, "trash": trash_location(root, spec.write_id), "root": root,
                "trash_retention": float(current.props.get("lamna.trash.retention.seconds", DEFAULT_TRASH_RETENTION)),
                "staging": spec.staging, "create_dirs": list(locations.values()),
                "delete_after": list(delete_after),
            }
            ms.mark_committing(tx, spec.write_id, plan)
            for rel, vals in affected.items():
                if rel and rel not in existing:
                    ms.add_partition(tx, t.db, t.name, Partition(vals, locations[rel], time.time()), True)
            empty_before = {rel for rel in affected if rel and rel not in existing}
            if not t.partition_columns and not remove and not self.overwrite:
                fs, path = resolve(current.location)  # type: ignore[arg-type]
                if not list_data_files(fs, path):
                    empty_before.add("")
            if t.partition_columns and not existing:
                empty_before.add("")
            _update_row_stats(ms, tx, t, affected, files, self.overwrite or truncate_spec is not None, empty_before)
        self._done = True
        return plan, affected

    def finish(self, plan: dict[str, Any]) -> None:
        """Phase 3: the renames (idempotent), then the journal entry goes."""
        execute_plan(plan)
        self.catalog.metastore.end_write(self.spec.write_id)


def _update_row_stats(ms: Metastore, tx: sqlite3.Connection, t: Table, affected: dict[str, Any],
                      files: list[WrittenFile], replaced: bool, empty_before: set[str]) -> None:
    """Keep row counts exact where cheap (Hive's autogather); column stats go stale.

    Replaced partitions get the new counts; appended ones add to known counts; a
    partition that did not exist starts from zero; anything unknown is forgotten.
    """
    known_rows = all(f.rows >= 0 for f in files)
    levels = list(affected) + ([""] if t.partition_columns else [])
    for rel in levels:
        mine = [f for f in files if f.rel_dir == rel or (rel == "" and t.partition_columns)]
        # a merged bucket file replaces older ones: count only what the write added
        rows = sum(f.rows - f.replaced_rows for f in mine)
        nbytes = sum(f.size - f.replaced_bytes for f in mine)
        nfiles = sum(1 - len(f.replaces) for f in mine)
        old, _ = ms.get_statistics(t.db, t.name, rel)
        tx.execute(
            "DELETE FROM column_stats WHERE spec = ? AND table_id = (SELECT id FROM tables WHERE db = ? AND name = ?)",
            (rel, t.db, t.name))
        tx.execute(
            "DELETE FROM table_stats WHERE spec = ? AND table_id = (SELECT id FROM tables WHERE db = ? AND name = ?)",
            (rel, t.db, t.name))
        if not known_rows:
            continue
        whole_table_replaced = replaced and not (rel == "" and t.partition_columns)
        if whole_table_replaced or rel in empty_before:
            ms.set_statistics(tx, t.db, t.name, rel, rows, nbytes, nfiles)
        elif not replaced and old is not None and old[0] is not None:
            ms.set_statistics(tx, t.db, t.name, rel, old[0] + rows, (old[1] or 0) + nbytes, (old[2] or 0) + nfiles)


def free_name(directory: str, name: str, taken: set[str], overwrite: bool) -> str:
    """Hive's ``name_copy_N`` when a loaded file's name is already used."""
    fs, path = resolve(directory)
    existing = set() if overwrite else {
        e.base_name for e in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    }
    stem, dot, ext = name.partition(".")
    candidate, n = name, 0
    while candidate in existing or candidate in taken:
        n += 1
        candidate = f"{stem}_copy_{n}{dot}{ext}"
    taken.add(candidate)
    return candidate


def uri_like(location: str, path: str) -> str:
    """A listed path in the same URI form as the location it was listed under."""
    if "://" in location and "://" not in path:
        return location.split("://", 1)[0] + "://" + path
    return path


def as_batches(data: Any) -> Iterable[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        return data.to_batches()
    if isinstance(data, pa.RecordBatch):
        return [data]
    out = []
    for item in data:
        if isinstance(item, pa.Table):
            out.extend(item.to_batches())
        else:
            out.append(item)
    return out
