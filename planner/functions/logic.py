"""Comparison, boolean logic, IN lists, LIKE/RLIKE and conditional functions."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    common_all,
    fixed,
    register,
)


def _cmp(fn: Any) -> Any:
    def compare(a: Value, b: Value) -> Value:
        # NULL = NULL (both untyped) has no Arrow kernel; its answer is NULL anyway
        if pa.types.is_null(a.type) or pa.types.is_null(b.type):
            if isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar):
                return pa.scalar(None, T.BOOL)
            return pa.nulls(len(b if isinstance(a, pa.Scalar) else a), T.BOOL)
        return fn(a, b)
    return compare


for _n, _f in (("eq", pc.equal), ("ne", pc.not_equal), ("lt", pc.less), ("le", pc.less_equal),
               ("gt", pc.greater), ("ge", pc.greater_equal)):
    register(_n, common_all(result_bool=True), _cmp(_f))


def _eq_null_safe(a: Value, b: Value) -> Value:
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    eq = pc.fill_null(_cmp(pc.equal)(a, b), False)
    return pc.or_(both_null, eq)


register("eq_null_safe", common_all(result_bool=True), _eq_null_safe)
register("and", fixed([T.BOOL, T.BOOL], T.BOOL), lambda a, b: pc.and_kleene(a, b))
register("or", fixed([T.BOOL, T.BOOL], T.BOOL), lambda a, b: pc.or_kleene(a, b))
register("not", fixed([T.BOOL], T.BOOL), lambda a: pc.invert(a))
register("is_null", fixed([None], T.BOOL), lambda a: pc.is_null(a))
register("is_not_null", fixed([None], T.BOOL), lambda a: pc.is_valid(a))
register("is_true", fixed([T.BOOL], T.BOOL), lambda a: pc.fill_null(a, False))
register("is_false", fixed([T.BOOL], T.BOOL), lambda a: pc.fill_null(pc.invert(a), False))


def _in_list(a: Value, *vals: Value) -> Value:
    """SQL IN: true if equal to one; NULL if not found and a NULL was in the list."""
    values = [v.as_py() for v in vals]
    non_null = [v for v in values if v is not None]
    vs = pa.array(non_null, type=a.type) if non_null else pa.array([], type=a.type)
    hit = pc.is_in(a, value_set=vs, skip_nulls=True)
    hit = pc.if_else(pc.is_null(a), pa.scalar(None, T.BOOL), hit)
    if len(non_null) != len(values):
        hit = pc.if_else(hit, True, pa.scalar(None, T.BOOL))
    return hit


register("in_list", common_all(result_bool=True), _in_list)


def like_to_regex(pattern: str, escape: str = "\\") -> str:
    """A LIKE pattern with an escape character as an anchored RE2 expression.

    ``pc.match_like`` knows only backslash escapes; ``LIKE … ESCAPE c`` goes through
    this and ``rlike`` instead. ``(?s)``: ``%`` and ``_`` match newlines too.
    """
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return "(?s)^" + "".join(out) + "$"


def _like(a: Value, p: Value) -> Value:
    if isinstance(p, pa.Scalar):
        if not p.is_valid:
            return pa.scalar(None, T.BOOL) if isinstance(a, pa.Scalar) else pa.nulls(len(a), T.BOOL)
        return pc.match_like(a, p.as_py())
    raise FunctionError("LIKE pattern must be a constant")


def _rlike(a: Value, p: Value) -> Value:
    if isinstance(p, pa.Scalar):
        return pc.match_substring_regex(a, p.as_py())
    raise FunctionError("RLIKE pattern must be a constant")


register("like", fixed([T.STRING, T.STRING], T.BOOL), _like)
register("rlike regexp", fixed([T.STRING, T.STRING], T.BOOL), _rlike)

# ---------------------------------------------------------------- conditional


def _coalesce(*args: Value) -> Value:
    return pc.coalesce(*args)


register("coalesce nvl", common_all(), _coalesce)


def _if_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 3:
        raise FunctionError(f"if expects 3 arguments, got {len(args)}")
    t = T.common_type(args[1], args[2])
    return [T.BOOL, t, t], t


register("if", _if_resolve, lambda c, a, b: pc.if_else(pc.fill_null(c, False), a, b))


def _nullif(a: Value, b: Value) -> Value:
    return pc.if_else(pc.fill_null(pc.equal(a, b), False), pa.scalar(None, a.type), a)


def _nullif_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = T.common_type(args[0], args[1])
    return [t, t], t


register("nullif", _nullif_resolve, _nullif)


def _greatest(fn: Any) -> Any:
    return lambda *a: fn(*a, skip_nulls=True)


register("greatest", common_all(), _greatest(pc.max_element_wise))
register("least", common_all(), _greatest(pc.min_element_wise))
