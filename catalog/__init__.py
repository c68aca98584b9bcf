"""The warehouse: metastore, tables, storage formats, partitions, statistics.

Public surface (what ``sql/`` and ``planner/`` use):

* ``Catalog.open(warehouse=None)`` — the facade (``catalog.catalog``).
* ``Catalog.scan_source(db, table)`` — a ``catalog.scan.ScanSource`` snapshot.
* ``Catalog.write(db, table, data, overwrite=, partition=)`` — atomic writes.
* ``catalog.errors`` — typed errors naming the object.
* ``catalog.types`` — Hive type text <-> Arrow.
* ``catalog.model`` — plain-data records (``Table``, ``Column``, ``StorageFormat``, ...).

Layout: see README.md beside this file.
"""

from catalog.catalog import DEFAULT_DATABASE, Catalog
from catalog.commit import PendingWrite, WriteResult
from catalog.model import (
    EXTERNAL,
    MANAGED,
    VIEW,
    Column,
    Database,
    Partition,
    StorageFormat,
    Table,
)

__all__ = [
    "DEFAULT_DATABASE",
    "EXTERNAL",
    "MANAGED",
    "VIEW",
    "Catalog",
    "Column",
    "Database",
    "Partition",
    "PendingWrite",
    "StorageFormat",
    "Table",
    "WriteResult",
]
