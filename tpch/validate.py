"""Compare an answer with the reference by the TPC-H answer rules.

Rules (TPC-H spec 2.1.3.5, tightened where we compare against an exact engine on the
same data rather than against printed answer files):

- integers and counts: exactly equal (an integral decimal or float counts as integer);
- strings: exactly equal, except trailing blanks (CHAR(n) padding is insignificant);
- dates: the same day (a timestamp at midnight or an ISO string is accepted);
- sums, money and other decimals: to the cent: less than one cent apart;
- averages and ratios (listed per query in `QuerySpec.approx`): the spec's rule, rounded
  to 1/100 and within 1% of the reference rounded the same way;
- row order: where the query has ORDER BY, rows must come in the reference's order, with
  rows that tie on every sort key compared as a multiset; otherwise the whole answer is
  compared as a multiset.

Columns are compared by position (engines name unnamed expressions differently).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Sequence

import pyarrow as pa

from tpch.queries import QuerySpec

CENT = Decimal("0.01")
_EPS = Decimal("1e-9")
GREEDY_LIMIT = 20_000


@dataclass(frozen=True)
class Verdict:
    """The outcome of one comparison; `message` names the first difference."""

    ok: bool
    message: str = ""

    @property
    def status(self) -> str:
        return "ok" if self.ok else "WRONG"


class _Mismatch(Exception):
    pass


# --- values --------------------------------------------------------------------------


def _kind(dtype: pa.DataType, approx: bool) -> str:
    if pa.types.is_integer(dtype) or pa.types.is_boolean(dtype):
        return "int"
    if pa.types.is_decimal(dtype) or pa.types.is_floating(dtype):
        return "approx" if approx else "money"
    if pa.types.is_date(dtype) or pa.types.is_timestamp(dtype):
        return "date"
    if (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    ):
        return "str"
    return "other"


def _num(v: Any) -> Decimal | None:
    if isinstance(v, bool):
        return Decimal(int(v))
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(v))
    try:
        return Decimal(str(v))
    except (InvalidOperation, ValueError):
        return None


def _day(v: Any) -> str | None:
    if isinstance(v, dt.datetime):
        if v.time() != dt.time(0):
            return None
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return v.strip()[:10]
    return None


def _round2(d: Decimal) -> Decimal:
    return d.quantize(CENT)


def _equal(kind: str, expected: Any, actual: Any) -> bool:
    """One value against the reference by the rule for its column's kind."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if kind == "str":
        return isinstance(actual, str) and actual.rstrip(" ") == str(expected).rstrip(" ")
    if kind == "date":
        return _day(actual) is not None and _day(actual) == _day(expected)
    if kind in ("int", "money", "approx"):
        e, a = _num(expected), _num(actual)
        if e is None or a is None:
            return False
        if kind == "int":
            return a == a.to_integral_value() and a == e
        if kind == "money":
            return abs(a - e) < CENT - _EPS
        if abs(a - e) <= _EPS * max(Decimal(1), abs(e)):
            return True
        ra, re_ = _round2(a), _round2(e)
        return abs(ra - re_) <= abs(re_) / 100
    return str(actual) == str(expected)


def _canon(kind: str, v: Any) -> tuple[int, Any]:
    """A sort key that puts equal values (by the rules) next to each other."""
    if v is None:
        return (0, "")
    if kind in ("int", "money", "approx"):
        n = _num(v)
        return (1, _round2(n)) if n is not None else (2, str(v))
    if kind == "date":
        return (1, _day(v) or "")
    if kind == "str":
        return (1, str(v).rstrip(" "))
    return (1, str(v))


# --- rows ----------------------------------------------------------------------------


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    cols = [c.to_pylist() for c in table.columns]
    return list(zip(*cols)) if cols else []


def _fmt(v: Any) -> str:
    return "NULL" if v is None else str(v)


def _row_diff(kinds: Sequence[str], names: Sequence[str], exp: tuple, act: tuple) -> str | None:
    for i, kind in enumerate(kinds):
        if not _equal(kind, exp[i], act[i]):
            return f"{names[i]} expected {_fmt(exp[i])}, got {_fmt(act[i])}"
    return None


def _match_multiset(
    kinds: Sequence[str],
    names: Sequence[str],
    expected: list[tuple],
    actual: list[tuple],
    where: str,
) -> None:
    """Raise _Mismatch unless `actual` equals `expected` as a multiset (by the rules)."""

    def key(row: tuple) -> tuple:
        return tuple(_canon(k, v) for k, v in zip(kinds, row))

    try:
        es, as_ = sorted(expected, key=key), sorted(actual, key=key)
    except TypeError:  # incomparable actual values: let greedy matching explain
        es, as_ = expected, actual
    if all(_row_diff(kinds, names, e, a) is None for e, a in zip(es, as_)):
        return
    # Sorting by rounded values can misalign rows that sit on a rounding boundary;
    # pair them up greedily before calling the answer wrong.
    if len(expected) > GREEDY_LIMIT:
        for e, a in zip(es, as_):
            diff = _row_diff(kinds, names, e, a)
            if diff:
                raise _Mismatch(f"{where}: {diff}")
    unmatched = list(actual)
    for e in expected:
        for j, a in enumerate(unmatched):
            if _row_diff(kinds, names, e, a) is None:
                del unmatched[j]
                break
        else:
            raise _Mismatch(f"{where}: {_explain(kinds, names, e, unmatched)}")


def _explain(kinds: Sequence[str], names: Sequence[str], e: tuple, candidates: list[tuple]) -> str:
    """Why `e` has no partner: the first difference from the closest candidate row."""
    shown = ", ".join(_fmt(v) for v in e)
    if not candidates:
        return f"expected row ({shown}) is missing"

    def distance(a: tuple) -> int:
        return sum(not _equal(k, x, y) for k, x, y in zip(kinds, e, a))

    closest = min(candidates, key=distance)
    return _row_diff(kinds, names, e, closest) or f"expected row ({shown}) is missing"


def _compare_ordered(
    spec: QuerySpec,
    kinds: Sequence[str],
    names: Sequence[str],
    expected: list[tuple],
    actual: list[tuple],
) -> None:
    keys = [k.column for k in spec.order]
    start = 0
    n = len(expected)
    while start < n:
        end = start + 1
        while end < n and all(expected[end][c] == expected[start][c] for c in keys):
            end += 1
        for i in range(start, end):
            for c in keys:
                if not _equal(kinds[c], expected[i][c], actual[i][c]):
                    raise _Mismatch(
                        f"row {i + 1}: {names[c]} expected {_fmt(expected[i][c])}, "
                        f"got {_fmt(actual[i][c])} (wrong value or wrong row order)"
                    )
        where = f"row {start + 1}" if end - start == 1 else f"rows {start + 1}-{end}"
        _match_multiset(kinds, names, expected[start:end], actual[start:end], where)
        start = end


def compare(spec: QuerySpec, expected: pa.Table, actual: pa.Table) -> Verdict:
    """Does `actual` answer the query the way `expected` (the reference) does?"""
    if actual.num_columns != expected.num_columns:
        return Verdict(
            False,
            f"expected {expected.num_columns} columns, got {actual.num_columns}",
        )
    if actual.num_rows != expected.num_rows:
        return Verdict(False, f"expected {expected.num_rows} rows, got {actual.num_rows}")
    kinds = [_kind(f.type, i in spec.approx) for i, f in enumerate(expected.schema)]
    names = list(expected.schema.names)
    exp_rows, act_rows = _rows(expected), _rows(actual)
    try:
        if spec.ordered:
            _compare_ordered(spec, kinds, names, exp_rows, act_rows)
        else:
            _match_multiset(kinds, names, exp_rows, act_rows, "answer")
    except _Mismatch as e:
        return Verdict(False, str(e))
    return Verdict(True)


Comparator = Callable[[QuerySpec, pa.Table, pa.Table], Verdict]
