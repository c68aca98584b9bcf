"""Map pruning: which blocks of a cached table a predicate may need, from their statistics.

Sound by construction, with Arrow's own machinery (as ``catalog.source`` prunes Hive
partitions): every block becomes a fragment of a ``pyarrow.dataset`` that is never
opened, whose partition expression is what every row of the block satisfies — the
Hive partition values, ``min <= c <= max`` (or null) for each column — and
``get_fragments(filter=predicate)`` keeps the blocks the predicate may match.

A small distinct set says more than a range (``c in ('A', 'R')`` rules out ``c = 'N'``
although ``'N'`` lies between): a block that survives its range test gets one
pseudo-fragment per distinct value ``v`` of such a column, guaranteeing ``c == v`` (plus
one guaranteeing ``c is null`` if it has nulls); when the predicate rules out every
pseudo-fragment of one column, no row of the block can match and it is skipped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from catalog.cache.blocks import BlockInfo, ColumnSummary
from catalog.files import resolve

log = logging.getLogger(__name__)


def prune(
    schema: pa.Schema,
    partition_values: Sequence[tuple[tuple[str, Any], ...]],
    infos: Sequence[BlockInfo | None],
    predicate: pc.Expression | None,
) -> list[int]:
    """Indices of the blocks ``predicate`` may match (all of them when it is None;
    a block whose statistics are unknown yet is always kept)."""
    n = len(partition_values)
    if predicate is None or n == 0:
        return list(range(n))
    text = str(predicate)
    # Only guarantees on columns the predicate names can decide it: a point query on a
    # wide table then builds one range term per block, not one per column.
    named = frozenset(f.name for f in schema if f.name in text)
    bases = [_base_guarantee(schema, pv, info, named) for pv, info in zip(partition_values, infos)]
    kept = _kept(schema, bases, predicate)
    if kept is None:
        return list(range(n))
    probes: list[pc.Expression] = []
    owners: list[tuple[int, str]] = []
    for i in sorted(kept):
        info = infos[i]
        if info is None:
            continue
        for name, summary in info.columns:
            if summary.values is None or name not in text:  # the predicate cannot mention it
                continue
            for term in _value_terms(schema.field(name), summary):
                probes.append(bases[i] & term)
                owners.append((i, name))
    if probes:
        hits = _kept(schema, probes, predicate)
        if hits is not None:
            alive = {owners[j] for j in hits}
            for i, name in set(owners):
                if (i, name) not in alive:
                    kept.discard(i)
    return sorted(kept)


def _kept(schema: pa.Schema, guarantees: list[pc.Expression], predicate: pc.Expression) -> set[int] | None:
    """Indices of the guarantees ``predicate`` may hold under (None: Arrow could not tell)."""
    try:
        dataset = ds.FileSystemDataset.from_paths(
            [f"/b/{i}" for i in range(len(guarantees))], schema=schema, format=ds.IpcFileFormat(),
            filesystem=resolve("/")[0], partitions=guarantees,
        )
        return {int(f.path.rsplit("/", 1)[1]) for f in dataset.get_fragments(filter=predicate)}
    except (pa.ArrowException, TypeError, ValueError) as e:
        log.debug("cache pruning skipped: %s", e)
        return None


def _base_guarantee(schema: pa.Schema, partition_values: tuple[tuple[str, Any], ...],
                    info: BlockInfo | None, named: frozenset[str]) -> pc.Expression:
    """What every row of a block satisfies: its partition values and the ranges of the
    ``named`` columns."""
    expr = pc.scalar(True)
    for name, value in partition_values:
        if name in named:
            expr = expr & _value_term(name, schema.field(name).type, value)
    for name, s in info.columns if info is not None else ():
        if name not in named:
            continue
        if s.min is None or s.max is None:
            if info is not None and s.null_count == info.rows and info.rows:
                expr = expr & pc.field(name).is_null()  # an all-null column
            continue
        expr = expr & _range_term(name, schema.field(name).type, s.min, s.max, bool(s.null_count))
    return expr


@functools.lru_cache(maxsize=4096)
def _value_term(name: str, t: pa.DataType, value: Any) -> pc.Expression:
    return pc.field(name).is_null() if value is None else pc.field(name) == pa.scalar(value, t)


@functools.lru_cache(maxsize=4096)
def _range_term(name: str, t: pa.DataType, low: Any, high: Any, nullable: bool) -> pc.Expression:
    """``low <= name <= high`` (or null): the same few per cached block, every query."""
    term = (pc.field(name) >= pa.scalar(low, t)) & (pc.field(name) <= pa.scalar(high, t))
    return term | pc.field(name).is_null() if nullable else term


def _value_terms(field: pa.Field, s: ColumnSummary) -> list[pc.Expression]:
    terms = [pc.field(field.name) == pa.scalar(v, field.type) for v in s.values or ()]
    if s.null_count:
        terms.append(pc.field(field.name).is_null())
    return terms
