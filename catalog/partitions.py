"""Partition operations of the catalog: specs, ADD/DROP/RENAME PARTITION, SET LOCATION,
MSCK REPAIR. A mixin of ``Catalog`` (kept apart so each module has one job).
"""

from __future__ import annotations

import logging
import posixpath
import time
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from catalog.errors import (
    PartitionExists,
    PartitionNotFound,
    PartitionSpecError,
)
from catalog.files import delete_dir, join, list_subdirs, resolve
from catalog.metastore import Metastore
from catalog.model import (
    DEFAULT_PARTITION,
    MANAGED,
    Partition,
    Table,
    partition_spec_path,
    unescape_path_value,
)
from catalog.source import typed_partition_values
from catalog.validation import PartitionSpec, check_partition_value
from catalog.writer import (
    execute_plan,
    new_write_id,
    staging_location,
    trash_location,
)

log = logging.getLogger(__name__)


class PartitionOps:
    """Partition DDL; expects ``metastore``, ``get_table`` and ``_require_table`` on self."""

    metastore: Metastore

    def list_partitions(self, db: str, name: str, spec: PartitionSpec = ()) -> list[Partition]:
        t = self.get_table(db, name)
        parts = self.metastore.list_partitions(t.db, t.name)
        if spec:
            want = {k: v for k, v in self.check_partition_spec(t, spec, full=False)}
            parts = [p for p in parts if all(p.value_dict.get(k) == v for k, v in want.items())]
        return parts

    def check_partition_spec(
        self, t: Table, spec: PartitionSpec, *, full: bool, allow_dynamic: bool = False
    ) -> tuple[tuple[str, str | None], ...]:
        """Validate ``spec`` against ``t``'s partition columns; returns it in column order.

        ``full``: every partition column must appear. ``allow_dynamic``: values may be
        ``None`` (dynamic), but no static value may follow a dynamic one (Hive's rule).
        """
        if not t.partition_columns:
            if spec:
                raise PartitionSpecError(f"Table {t.qualified_name} is not partitioned")
            return ()
        given: dict[str, str | None] = {}
        for k, v in spec:
            key = k.lower()
            if t.column(key) is None or key not in t.partition_names:
                raise PartitionSpecError(
                    f"{k} is not a partition column of {t.qualified_name} "
                    f"(partition columns: {', '.join(t.partition_names)})"
                )
            if key in given:
                raise PartitionSpecError(f"Partition column {k} appears twice in the spec for {t.qualified_name}")
            if v is None and not allow_dynamic:
                raise PartitionSpecError(f"Partition column {k} of {t.qualified_name} needs a value")
            given[key] = v
        out = []
        seen_dynamic = False
        for c in t.partition_columns:
            if c.name not in given:
                if full:
                    raise PartitionSpecError(
                        f"Partition spec for {t.qualified_name} is missing column {c.name} "
                        f"(partition columns: {', '.join(t.partition_names)})"
                    )
                continue
            v = given[c.name]
            if v is None:
                seen_dynamic = True
            elif seen_dynamic:
                raise PartitionSpecError(
                    f"Dynamic partition cannot be the parent of a static partition: {c.name} of "
                    f"{t.qualified_name} is given a value after a dynamic partition column"
                )
            else:
                v = check_partition_value(t, c, v)
            out.append((c.name, v))
        return tuple(out)

    def add_partition(
        self, db: str, name: str, spec: PartitionSpec, *, location: str | None = None, if_not_exists: bool = False
    ) -> bool:
        t = self._require_table(db, name)
        values = self.check_partition_spec(t, spec, full=True)
        loc = location or join(t.location, partition_spec_path(values))  # type: ignore[arg-type]
        with self.metastore.transaction() as tx:
            added = self.metastore.add_partition(tx, t.db, t.name, Partition(values, loc, time.time()), if_not_exists)
            self.metastore.bump_data_version(tx, t.db, t.name)
        if added and location is None:
            fs, path = resolve(loc)
            fs.create_dir(path, recursive=True)
        return added

    def drop_partitions(self, db: str, name: str, spec: PartitionSpec, *, if_exists: bool = False, purge: bool = False) -> list[Partition]:
        """Drop every partition matching a (possibly partial) spec; managed data deleted."""
        t = self._require_table(db, name)
        matching = self.list_partitions(t.db, t.name, spec)
        if not matching and not if_exists:
            raise PartitionNotFound(f"No partition of {t.qualified_name} matches {partition_spec_path(list(spec))}")
        return self._drop(t, matching)

    def _drop(self, t: Table, matching: list[Partition]) -> list[Partition]:
        with self.metastore.transaction() as tx:
            for p in matching:
                self.metastore.drop_partition(tx, t.db, t.name, p.spec)
            self.metastore.bump_data_version(tx, t.db, t.name)
        if t.kind == MANAGED:
            _, root = resolve(t.location)  # type: ignore[arg-type]
            for p in matching:
                fs, path = resolve(p.location)
                delete_dir(fs, path)
                # and the key=value parents it leaves empty (y=2019/ after y=2019/m=a/), as Hive
                parent = posixpath.dirname(path)
                while parent.startswith(root.rstrip("/") + "/") and not fs.get_file_info(
                        pafs.FileSelector(parent, allow_not_found=True)):
                    delete_dir(fs, parent)
                    parent = posixpath.dirname(parent)
        return matching

    def drop_partitions_where(self, db: str, name: str, predicate: Any, *, if_exists: bool = False) -> list[Partition]:
        """ALTER TABLE ... DROP PARTITION (dt < '2020', ...): every partition whose typed
        values satisfy ``predicate`` (a ``pyarrow.compute.Expression`` over partition
        columns only, evaluated exactly on a table of one row per partition)."""
        t = self._require_table(db, name)
        parts = self.metastore.list_partitions(t.db, t.name)
        if not parts:
            matching: list[Partition] = []
        else:
            typed = [dict(typed_partition_values(t.partition_columns, p.values)) for p in parts]
            schema = pa.schema([pa.field(c.name, c.arrow_type) for c in t.partition_columns])
            values = pa.Table.from_pylist(typed, schema=schema).append_column("__i", pa.array(range(len(parts))))
            keep = values.filter(predicate).column("__i").to_pylist()
            matching = [parts[i] for i in keep]
        if not matching and not if_exists:
            raise PartitionNotFound(f"No partition of {t.qualified_name} matches {predicate}")
        return self._drop(t, matching)

    def rename_partition(self, db: str, name: str, old_spec: PartitionSpec, new_spec: PartitionSpec) -> None:
        """ALTER TABLE ... PARTITION (old) RENAME TO PARTITION (new): for a managed table
        whose partition lives in its default directory the directory moves too,
        journaled like a table rename."""
        t = self._require_table(db, name)
        old_values = self.check_partition_spec(t, old_spec, full=True)
        new_values = self.check_partition_spec(t, new_spec, full=True)
        parts = {p.spec: p for p in self.metastore.list_partitions(t.db, t.name)}
        old_key, new_key = partition_spec_path(old_values), partition_spec_path(new_values)
        if old_key not in parts:
            raise PartitionNotFound(f"Partition {old_key} of {t.qualified_name} does not exist")
        if new_key in parts:
            raise PartitionExists(f"Partition {new_key} already exists in {t.qualified_name}")
        old = parts[old_key]
        default_old = join(t.location, old_key)  # type: ignore[arg-type]
        moving = t.kind == MANAGED and old.location == default_old
        new_location = join(t.location, new_key) if moving else old.location  # type: ignore[arg-type]
        write_id = new_write_id()
        plan = {"dir_moves": [[old.location, new_location]] if moving else [], "moves": [], "remove": [],
                "trash": trash_location(t.location, write_id),  # type: ignore[arg-type]
                "staging": staging_location(t.location, write_id)}  # type: ignore[arg-type]
        self.metastore.begin_write(write_id, t.db, t.name, plan["staging"], self._host, *self._me())
        try:
            with self.metastore.transaction() as tx:
                self.metastore.drop_partition(tx, t.db, t.name, old_key)
                self.metastore.add_partition(tx, t.db, t.name, Partition(new_values, new_location, time.time()))
                self.metastore.mark_committing(tx, write_id, plan)
        except BaseException:
            self.metastore.end_write(write_id)
            raise
        execute_plan(plan)
        self.metastore.end_write(write_id)

    def set_location(self, db: str, name: str, location: str, spec: PartitionSpec = ()) -> None:
        t = self._require_table(db, name)
        if spec:
            values = self.check_partition_spec(t, spec, full=True)
            key = partition_spec_path(values)
            if key not in {p.spec for p in self.metastore.list_partitions(t.db, t.name)}:
                raise PartitionNotFound(f"Partition {key} of {t.qualified_name} does not exist")
            with self.metastore.transaction() as tx:
                self.metastore.set_partition_location(tx, t.db, t.name, key, location)
                self.metastore.clear_statistics(tx, t.db, t.name, key)
                self.metastore.bump_data_version(tx, t.db, t.name)
            return
        with self.metastore.transaction() as tx:
            self.metastore.update_table(tx, t.db, t.name, replace(t, location=location))
            self.metastore.clear_statistics(tx, t.db, t.name)
            self.metastore.bump_data_version(tx, t.db, t.name)

    def repair_table(self, db: str, name: str) -> list[str]:
        """MSCK REPAIR TABLE: register ``key=value`` directories not yet in the metastore."""
        t = self._require_table(db, name)
        if not t.partition_columns:
            return []
        fs, root = resolve(t.location)  # type: ignore[arg-type]
        found: list[tuple[tuple[str, str | None], ...]] = []

        def walk(path: str, depth: int, acc: tuple[tuple[str, str | None], ...]) -> None:
            if depth == len(t.partition_columns):
                found.append(acc)
                return
            col = t.partition_columns[depth]
            for d in list_subdirs(fs, path):
                k, sep, v = d.partition("=")
                if not sep or k.lower() != col.name:
                    continue
                value = None if v == DEFAULT_PARTITION else unescape_path_value(v)
                if value is not None:
                    try:
                        check_partition_value(t, col, value)
                    except PartitionSpecError:
                        log.warning("MSCK: skipping %s/%s (not a %s)", path, d, col.type)
                        continue
                walk(f"{path}/{d}", depth + 1, acc + ((col.name, value),))

        walk(root, 0, ())
        existing = {p.spec for p in self.metastore.list_partitions(t.db, t.name)}
        added = []
        with self.metastore.transaction() as tx:
            for values in found:
                spec = partition_spec_path(values)
                if spec in existing:
                    continue
                self.metastore.add_partition(tx, t.db, t.name, Partition(values, join(t.location, spec), time.time()))  # type: ignore[arg-type]
                added.append(spec)
            self.metastore.bump_data_version(tx, t.db, t.name)
        return added
