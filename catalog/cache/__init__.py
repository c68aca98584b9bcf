"""Shark's memory store: columnar cached tables in the ``rdd`` block manager.

A cached table is a set of blocks, one per storage split, each the split's rows as an
Arrow record batch (low-cardinality strings dictionary-encoded) with its column
statistics beside it. Scans prune blocks by those statistics, then read each block from
the executor's block manager, which computes it from its split when it is missing
(never built, or evicted and recomputed from lineage) or reads it back from its spill
file. Correct by construction: an entry records the definition and data version of its
input and is compared with the metastore before every use.

Modules, one job each:

| module | owns |
|---|---|
| ``policy`` | which tables are cached and at what level (properties, ``_cached`` names, levels, budget) |
| ``blocks`` | one block: encoding, statistics (``BlockInfo``), zero-copy reads |
| ``prune`` | map pruning of blocks by statistics, with Arrow's guarantee machinery |
| ``registry`` | the process's directory of cache entries (``REGISTRY``) |
| ``source`` | ``CachedTableSource`` (the ``ScanSource``), ``ResultFiles`` of cached queries |
| ``build`` | parallel build jobs: CACHE TABLE, warm-up, write-through, query results |
| ``report`` | SHOW CACHE rows |
| ``ops`` | ``CacheOps``, the cache side of ``Catalog`` |
"""

from catalog.cache.blocks import BlockInfo, ColumnSummary
from catalog.cache.ops import CacheOps
from catalog.cache.policy import (
    CACHE_PROPERTY,
    LEGACY_PROPERTY,
    MEMORY_SETTING,
    WARM_SETTING,
)
from catalog.cache.registry import REGISTRY
from catalog.cache.source import CachedTableSource

__all__ = [
    "CACHE_PROPERTY",
    "LEGACY_PROPERTY",
    "MEMORY_SETTING",
    "REGISTRY",
    "WARM_SETTING",
    "BlockInfo",
    "CacheOps",
    "CachedTableSource",
    "ColumnSummary",
]
