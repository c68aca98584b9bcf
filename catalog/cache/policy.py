"""Which tables are cached, at what storage level: table properties, Shark's ``_cached``
names, ``CACHE TABLE`` options and the cache's memory budget setting.

A table is cached persistently by its definition (Shark's forms, in the metastore, so
every process and every restart sees them):

* ``TBLPROPERTIES ('lamna.cache' = 'MEMORY')``: write-through. The rows live in the
  table's storage as always and in memory as well; evicted blocks spill to local disk
  (storage level ``MEMORY_AND_DISK``); after a restart the cache is rebuilt on first
  use, or at start with ``SET lamna.cache.warm=true``.
* ``'lamna.cache' = 'MEMORY_ONLY'``: cached in memory only (level ``MEMORY_ONLY``: an
  evicted block is dropped and recomputed from storage, never spilled) and never
  rebuilt at start. Unlike Shark, whose ``MEMORY_ONLY`` tables were not written to
  storage and were empty after a restart, the rows are still written through: every
  Lamna write is atomic and durable, so a restart costs a rebuild, never data.
* ``'lamna.cache' = 'NONE'``: not cached, even if the name ends in ``_cached``.
* A table whose name ends in ``_cached`` (``CREATE TABLE x_cached AS SELECT ...``) is
  ``MEMORY`` unless its property says otherwise.
* The property ``lamna.cached = 'true'`` of earlier versions reads as ``MEMORY``.

``CACHE TABLE`` (Spark's form) caches for the life of the process only, at the level
its ``OPTIONS ('storageLevel' ...)`` name (default ``MEMORY_AND_DISK``, as Spark).
"""

from __future__ import annotations

from catalog.errors import CatalogError
from catalog.model import Table

CACHE_PROPERTY = "lamna.cache"
LEGACY_PROPERTY = "lamna.cached"
CACHED_SUFFIX = "_cached"

MEMORY = "MEMORY"
MEMORY_ONLY = "MEMORY_ONLY"
NONE = "NONE"
POLICIES = (MEMORY, MEMORY_ONLY, NONE)

#: the storage level of each persistent policy
POLICY_LEVELS = {MEMORY: "MEMORY_AND_DISK", MEMORY_ONLY: "MEMORY_ONLY"}
DEFAULT_LEVEL = "MEMORY_AND_DISK"

#: the rdd storage levels a cache may use (``rdd.StorageLevel`` attribute names)
LEVELS = (
    "MEMORY_ONLY", "MEMORY_ONLY_2", "MEMORY_AND_DISK", "MEMORY_AND_DISK_2", "MEMORY_AND_DISK_DESER",
    "DISK_ONLY", "DISK_ONLY_2", "DISK_ONLY_3", "OFF_HEAP",
)

MEMORY_SETTING = "lamna.cache.memory"
WARM_SETTING = "lamna.cache.warm"


def table_policy(table: Table) -> str:
    """MEMORY, MEMORY_ONLY or NONE: what the table's definition asks for."""
    props = {k.lower(): v for k, v in table.properties}
    value = props.get(CACHE_PROPERTY)
    if value is not None:
        return check_policy(value)
    if props.get(LEGACY_PROPERTY, "").strip().lower() == "true":
        return MEMORY
    if table.name.lower().endswith(CACHED_SUFFIX) and not table.is_view:
        return MEMORY
    return NONE


def check_policy(value: str) -> str:
    """A ``lamna.cache`` property value, normalized; a clear error for anything else."""
    v = value.strip().upper()
    if v not in POLICIES:
        raise CatalogError(
            f"Table property {CACHE_PROPERTY} must be one of {', '.join(POLICIES)} (got {value!r})"
        )
    return v


def check_table(table: Table) -> None:
    """Reject a definition whose cache property is not understood."""
    table_policy(table)


def storage_level(name: str) -> str:
    """A storage level name as ``CACHE TABLE ... OPTIONS ('storageLevel' ...)`` takes it."""
    v = name.strip().upper()
    if v not in LEVELS or v == "NONE":
        raise CatalogError(f"Unknown storage level {name!r}: expected one of {', '.join(LEVELS)}")
    return v


def rdd_level(name: str) -> object:
    """The ``rdd.StorageLevel`` of a level name."""
    from rdd import StorageLevel

    return getattr(StorageLevel, name)


def parse_memory(text: str) -> int:
    """Bytes in a ``lamna.cache.memory`` value: ``512m``, ``4g``, ``1.5g``, ``100k``, bytes."""
    from rdd.conf import parse_size

    try:
        size = parse_size(text)
    except ValueError:
        raise CatalogError(
            f"{MEMORY_SETTING} must be a size such as 512m or 4g (k, m, g suffixes), got {text!r}"
        ) from None
    if size <= 0:
        raise CatalogError(f"{MEMORY_SETTING} must be positive, got {text!r}")
    return size
