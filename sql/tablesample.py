"""``FROM t TABLESAMPLE (…)`` bound to plans: ``n ROWS``, ``n PERCENT``, ``BUCKET x OUT OF y
[ON col | rand()]`` (semantics in ``planner.sampling``).

``n ROWS`` is a LIMIT on the scan; ``n PERCENT`` scans a ``SampledSource`` choosing whole
splits from ``hive.sample.seednumber``; a bucket sample is a filter on the bucket hash
right above the scan (and, for a table bucketed on the same columns into a multiple of y
buckets, a source that skips the other bucket files).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from catalog.scan import ScanSource
from planner import logical as L
from planner import types as T
from planner.expressions import Call, Expr
from planner.sampling import (
    SampledSource,
    bucket_mask,
    bucketing_of,
    random_bucket_mask,
)

if TYPE_CHECKING:
    from sql.binder import Rel


def _err(msg: str, node: exp.Expression | None) -> Exception:
    from sql.binder import err
    return err(msg, node)


def bind_tablesample(sample: exp.TableSample, source: ScanSource, table: str,
                     scan: Callable[[ScanSource], Rel], bind_column: Callable[[exp.Expression, Rel], Expr],
                     settings: Mapping[str, str]) -> Rel:
    """The relation ``table TABLESAMPLE (…)`` reads; ``scan`` binds a scan of a source,
    ``bind_column`` an expression over the scan's columns."""
    from sql.binder import Rel

    numerator = sample.args.get("bucket_numerator")
    if numerator is not None:
        return _bucket_sample(sample, source, table, scan, bind_column)
    percent = sample.args.get("percent")
    if percent is not None:
        value = _number(percent, "TABLESAMPLE PERCENT")
        if not 0 <= value <= 100:
            raise _err(f"TABLESAMPLE ({value} PERCENT): the percentage must be between 0 and 100", percent)
        seed_text = settings.get("hive.sample.seednumber", "0")
        try:
            seed = int(seed_text)
        except ValueError:
            raise _err(f"hive.sample.seednumber must be an integer, not {seed_text!r}", sample) from None
        return scan(SampledSource(source, percent=float(value), seed=seed))
    size = sample.args.get("size") or sample.args.get("rows")
    if size is None:
        raise _err(f"unsupported TABLESAMPLE: {sample.sql(dialect='hive')}", sample)
    rows = _number(size, "TABLESAMPLE ROWS")
    if rows < 0 or rows != int(rows):
        raise _err(f"TABLESAMPLE ({size.sql()} ROWS): the row count must be a whole number", size)
    rel = scan(source)
    return Rel(L.Limit(input=rel.plan, limit=int(rows)), rel.scope)


def _bucket_sample(sample: exp.TableSample, source: ScanSource, table: str,
                   scan: Callable[[ScanSource], Rel], bind_column: Callable[[exp.Expression, Rel], Expr]) -> Rel:
    from sql.binder import Rel

    x = _number(sample.args["bucket_numerator"], "BUCKET")
    y = _number(sample.args.get("bucket_denominator"), "OUT OF")
    if x != int(x) or y != int(y) or not 1 <= x <= y:
        raise _err(f"TABLESAMPLE (BUCKET {x} OUT OF {y}): need whole numbers with 1 <= x <= y", sample)
    x, y = int(x), int(y)
    on = sample.args.get("bucket_field")
    bucketing = bucketing_of(source)
    if on is None:
        if bucketing is None:
            raise _err(f"TABLESAMPLE (BUCKET {x} OUT OF {y}) of {table}, which is not bucketed, "
                       "needs ON <column> or ON rand()", sample)
        names: tuple[str, ...] = bucketing[0]
        fields: list[exp.Expression] = [exp.column(n) for n in names]
    elif isinstance(on, exp.Rand):
        rel = scan(source)
        first = rel.plan.schema[0]
        test = Call(f"tablesample_random_bucket_{x}_of_{y}", (first.ref(),), T.BOOL,
                    udf=functools.partial(random_bucket_mask, y, x - 1))
        return Rel(L.Filter(input=rel.plan, condition=test), rel.scope)
    else:
        fields = [exp.Column(this=on) if isinstance(on, exp.Identifier) else on]
        names = tuple(f.name.lower() for f in fields if isinstance(f, exp.Column))
    if bucketing is not None and names == tuple(c.lower() for c in bucketing[0]) and bucketing[1] % y == 0:
        source = SampledSource(source, bucket=(x - 1, y))  # only the bucket files that can match
    rel = scan(source)
    args = tuple(bind_column(f, rel) for f in fields)
    for a, f in zip(args, fields):
        if pa.types.is_nested(a.type):
            raise _err(f"TABLESAMPLE cannot bucket on {T.type_name(a.type)} {f.sql()}", f)
    test = Call(f"tablesample_bucket_{x}_of_{y}", args, T.BOOL, udf=functools.partial(bucket_mask, y, x - 1))
    return Rel(L.Filter(input=rel.plan, condition=test), rel.scope)


def _number(node: Any, what: str) -> Decimal:
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return Decimal(str(node.this))
        except InvalidOperation:
            pass
    raise _err(f"{what} must be a constant number, not {node.sql() if isinstance(node, exp.Expression) else node}",
               node if isinstance(node, exp.Expression) else None)
