"""Binding of Hive's built-in functions where the generic path of the binder does not
fit: sqlglot nodes whose names differ from Hive's, arguments that must be constants
(formats, fractions, bucket counts), functions of the session (current_database,
current_user), LATERAL VIEW json_tuple, and the aggregates added for issue #4.

The binder asks this module first for these cases; everything here returns our own
typed expressions, so nothing of sqlglot leaves ``sql/``.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from sqlglot import exp

from planner import types as T
from planner.expressions import AggCall, Call, Expr, Literal
from sql.errors import NotSupportedError

#: sqlglot function names (``node.sql_name()``) → the registry's (planner.functions).
NODE_NAMES = {
    "to_base64": "base64", "from_base64": "unbase64", "sha": "sha1",
    "json_extract_scalar": "get_json_object", "array_to_string": "array_join",
    "generate_series": "sequence", "str_to_map": "str_to_map", "array_intersect": "array_intersect",
}

#: sqlglot aggregate nodes → aggregate names.
AGGREGATE_NODES: dict[type, str] = {
    exp.Corr: "corr", exp.CovarPop: "covar_pop", exp.CovarSamp: "covar_samp", exp.CountIf: "count_if",
    exp.LogicalAnd: "bool_and", exp.LogicalOr: "bool_or", exp.Kurtosis: "kurtosis",
    exp.Skewness: "skewness", exp.Median: "median", exp.Mode: "mode", exp.ArgMax: "max_by",
    exp.ArgMin: "min_by",
}

#: Aggregates of two value arguments (the node's ``this`` and ``expression``).
TWO_ARGUMENTS = frozenset({"corr", "covar_pop", "covar_samp", "max_by", "min_by"})
#: Aggregates whose second argument is a constant fraction (or an array of them).
QUANTILES = frozenset({"percentile", "percentile_approx"})
#: Aggregates this module binds (``aggregate``).
AGGREGATES = frozenset({"corr", "covar_pop", "covar_samp", "count_if", "kurtosis", "skewness", "median",
                        "mode", "max_by", "min_by", "histogram_numeric", "std", "approx_count_distinct"}
                       | QUANTILES)

Fail = Callable[[str], Exception]


def _constant(e: Expr, what: str, fail: Fail) -> Any:
    """The value of a constant argument (after folding), or a BindError naming it."""
    from planner.rules.fold_constants import fold_expr
    folded = fold_expr(e)
    if isinstance(folded, Call) and folded.name == "array" and all(isinstance(a, Literal) for a in folded.args):
        return [a.value for a in folded.args]  # array(0.25, 0.5): an array of constants
    if not isinstance(folded, Literal):
        raise fail(f"{what} must be a constant")
    return folded.value


def _numeric(e: Expr, position: int, name: str, fail: Fail) -> Expr:
    from sql.binder import coerce
    if not (T.is_numeric(e.type) or T.is_string(e.type) or e.type == T.NULL):
        raise fail(f"{name}: argument {position} must be a number, got {T.type_name(e.type)}")
    return coerce(e, T.FLOAT64)


def _fractions(value: Any, name: str, fail: Fail) -> tuple[float, ...] | float:
    """A percentile fraction or an array of them, each in [0, 1] (Hive)."""
    many = isinstance(value, (list, tuple))
    values = list(value) if many else [value]
    if any(v is None for v in values):
        raise fail(f"{name}: the percentile must not be NULL")
    out = tuple(float(v) for v in values)
    if any(not 0.0 <= v <= 1.0 for v in out):
        raise fail(f"{name}: the percentile must be between 0 and 1, got {value}")
    return out if many else out[0]


def aggregate(name: str, args: list[Expr], distinct: bool, fail: Fail) -> Expr:
    """The AggCall for one of ``AGGREGATES`` (``fail(message)`` builds the positioned
    BindError). Some are other aggregates by definition: std is stddev_pop (Hive),
    median is percentile(x, 0.5) (Spark), count_if(c) counts c's TRUE values,
    approx_count_distinct is counted exactly (count(DISTINCT x))."""
    def arity(*counts: int) -> None:
        if len(args) not in counts:
            plural = "" if counts == (1,) else "s"
            raise fail(f"{name} expects {' or '.join(map(str, counts))} argument{plural}, got {len(args)}")
    if distinct and name in TWO_ARGUMENTS | {"kurtosis", "skewness"}:
        raise NotSupportedError(f"DISTINCT is not supported in {name}()")
    if name in ("corr", "covar_pop", "covar_samp"):
        arity(2)
        xs = tuple(_numeric(a, i + 1, name, fail) for i, a in enumerate(args))
        return AggCall(name, xs, distinct, T.FLOAT64)
    if name in ("kurtosis", "skewness", "std"):
        arity(1)
        return AggCall("stddev_pop" if name == "std" else name, (_numeric(args[0], 1, name, fail),),
                       distinct, T.FLOAT64)
    if name == "count_if":
        arity(1)
        if args[0].type not in (T.BOOL, T.NULL):
            raise fail(f"count_if: argument 1 must be a boolean, got {T.type_name(args[0].type)}")
        true_or_null = Call("if", (args[0], Literal(True, T.BOOL), Literal(None, T.BOOL)), T.BOOL)
        return AggCall("count", (true_or_null,), distinct, T.INT64)
    if name == "approx_count_distinct":
        arity(1, 2)  # the relative error (Spark's second argument) does not matter when exact
        return AggCall("count", (args[0],), True, T.INT64)
    if name in ("median", "percentile", "percentile_approx"):
        arity(1) if name == "median" else arity(2, 3)
        fractions = 0.5 if name == "median" else _fractions(_constant(args[1], f"{name}: the percentile", fail),
                                                             name, fail)
        x = _numeric(args[0], 1, name, fail)
        result = pa.list_(T.FLOAT64) if isinstance(fractions, tuple) else T.FLOAT64
        return AggCall("percentile_approx" if name == "percentile_approx" else "percentile", (x,), distinct,
                       result, params=(fractions,))
    if name == "mode":
        arity(1)
        if not (T.is_numeric(args[0].type) or T.is_string(args[0].type) or T.is_temporal(args[0].type)
                or args[0].type in (T.BOOL, T.NULL)):
            raise fail(f"mode: argument 1 must be a primitive value, got {T.type_name(args[0].type)}")
        return AggCall(name, (args[0],), distinct, args[0].type)
    if name in ("max_by", "min_by"):
        arity(2)
        if pa.types.is_map(args[1].type) or pa.types.is_struct(args[1].type) or pa.types.is_list(args[1].type):
            raise fail(f"{name}: argument 2 must be orderable, got {T.type_name(args[1].type)}")
        return AggCall(name, tuple(args), False, args[0].type)
    if name == "histogram_numeric":
        arity(2)
        bins = _constant(args[1], "histogram_numeric: the number of bins", fail)
        if not isinstance(bins, int) or bins < 2:
            raise fail(f"histogram_numeric: the number of bins must be an integer of at least 2, got {bins}")
        entry = pa.struct([pa.field("x", T.FLOAT64), pa.field("y", T.FLOAT64)])
        return AggCall(name, (_numeric(args[0], 1, name, fail),), distinct, pa.list_(entry), params=(bins,))
    raise AssertionError(name)


def node_arguments(name: str, node: exp.Expression) -> list[exp.Expression]:
    """The value arguments of an aggregate node after its first: the second value of
    two-argument aggregates, the fraction (and accuracy) of the percentiles."""
    if name in TWO_ARGUMENTS and node.args.get("expression") is not None:
        return [node.args["expression"]]
    if name in QUANTILES and isinstance(node, exp.Quantile):
        q = node.args.get("quantile")
        return ([q] if q is not None else [exp.Literal.number(0.5)]) + (
            [node.args["accuracy"]] if node.args.get("accuracy") is not None else [])
    return []


def _unit_text(unit: exp.Expression) -> exp.Expression:
    """trunc's format as sqlglot leaves it (a Var such as MM or QUARTER) as a string."""
    if isinstance(unit, exp.Var):
        return exp.Literal.string(unit.name)
    return unit


def bind_special(node: exp.Func, bind: Callable[[exp.Expression], Expr], function: Callable[..., Expr],
                 settings: Any, current_database: str) -> Expr | None:
    """A function node the generic path cannot bind, bound; None for every other node."""
    if isinstance(node, exp.CurrentDatabase):
        return Literal(current_database, T.STRING)
    if isinstance(node, exp.CurrentUser):
        user = settings.get("lamna.user") or settings.get("session_authorization") or getpass.getuser()
        return Literal(user, T.STRING)
    if isinstance(node, exp.JSONExtractScalar):
        path = node.expression
        # sqlglot parses a constant path into its own JSONPath tree; its Hive text is the path
        path_expr = (Literal(path.sql(dialect="hive")[1:-1].replace("\\'", "'"), T.STRING)
                     if isinstance(path, exp.JSONPath) else bind(path))
        return function("get_json_object", [bind(node.this), path_expr], node)
    if isinstance(node, exp.TimestampTrunc):
        unit = node.args.get("unit")
        if isinstance(unit, exp.Var) and unit.name.lstrip("-").isdigit():  # trunc(number, digits)
            return function("trunc_number", [bind(node.this), Literal(int(unit.name), T.INT32)], node)
        if isinstance(unit, exp.Neg) or (isinstance(unit, exp.Literal) and not unit.is_string):
            return function("trunc_number", [bind(node.this), bind(unit)], node)
        return function("trunc", [bind(node.this), bind(_unit_text(unit))], node)
    return None


def lateral_rewrite(fn: exp.Expression) -> exp.Expression:
    """``json_tuple(j, k1, k2...)`` in a LATERAL VIEW as ``inline(array(json_tuple(...)))``:
    the scalar json_tuple gives one struct<c0, c1...> per row, which inline turns into
    the columns c0, c1... of one generated row (Hive's UDTF makes exactly one)."""
    if isinstance(fn, exp.Anonymous) and fn.name.lower() == "json_tuple":
        return exp.Anonymous(this="inline", expressions=[exp.Array(expressions=[fn.copy()])])
    return fn
