"""Function registry (``SCALARS``) and the argument-type resolvers the families share.

A resolver maps the argument types the binder found to the types the kernel wants
(the binder inserts the casts) and the result type. Every kernel takes Arrow arrays or
scalars of those types and returns an array or scalar computed with ``pyarrow.compute``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from planner import types as T

Value = pa.Array | pa.ChunkedArray | pa.Scalar


class FunctionError(Exception):
    """Unknown function or bad arguments; the binder adds the source position."""


@dataclass(frozen=True, slots=True)
class Scalar:
    name: str
    resolve: Callable[[list[pa.DataType]], tuple[list[pa.DataType], pa.DataType]]
    impl: Callable[..., Value]
    deterministic: bool = True
    #: the kernel takes the resolved result type as ``result=`` (arithmetic, whose exact
    #: decimal result type cannot be read off its operands alone)
    takes_result: bool = False
    #: the kernel takes the batch's row count as ``rows=`` (functions of no column that
    #: still give one value per row: ``rand()``, ``uuid()``)
    takes_rows: bool = False


SCALARS: dict[str, Scalar] = {}


def register(names: str, resolve: Any, impl: Any, deterministic: bool = True, takes_result: bool = False,
             takes_rows: bool = False) -> None:
    for n in names.split():
        SCALARS[n] = Scalar(n, resolve, impl, deterministic, takes_result, takes_rows)


# ---------------------------------------------------------------- resolvers

def fixed(arg_types: Sequence[pa.DataType | None], result: pa.DataType, variadic: bool = False) -> Any:
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        if variadic:
            want = [arg_types[0] if arg_types[0] is not None else a for a in args]
        else:
            if len(args) != len(arg_types) and (
                    len(args) > len(arg_types) or any(t is not None and t != "opt" for t in arg_types[len(args):])):
                raise FunctionError(f"expects {len(arg_types)} arguments, got {len(args)}")
            want = [t if t is not None and t != "opt" else a for t, a in zip(arg_types, args)]
        return list(want), result
    return r


def same_as_first(n: int | None = None, numeric: bool = False) -> Any:
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        if n is not None and len(args) != n:
            raise FunctionError(f"expects {n} arguments, got {len(args)}")
        t = args[0]
        if numeric and T.is_string(t):
            t = T.FLOAT64
        if t == T.NULL:
            t = T.FLOAT64 if numeric else T.STRING
        return [t] + args[1:], t
    return r


def common_all(result_bool: bool = False) -> Any:
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        t = args[0]
        for a in args[1:]:
            t = T.common_type(t, a)
        return [t] * len(args), (T.BOOL if result_bool else t)
    return r


def _is_primitive(t: pa.DataType) -> bool:
    return T.is_string(t) or T.is_numeric(t) or T.is_temporal(t) or t in (T.BOOL, T.NULL)


def is_binary(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t)


#: What each argument kind of ``sig`` accepts: its name in errors, a predicate on the
#: argument's type, and the type the kernel receives (``None``: the argument's own). Hive
#: converts any primitive to a string implicitly, and strings to numbers and dates;
#: complex types never convert.
_KINDS: dict[str, tuple[str, Callable[[pa.DataType], bool], pa.DataType | None]] = {
    "string": ("a string", _is_primitive, T.STRING),
    "bytes": ("a string or binary", lambda t: _is_primitive(t) or is_binary(t), None),
    "int": ("an integer", lambda t: T.is_numeric(t) or T.is_string(t) or t == T.NULL, T.INT64),
    "int32": ("an integer", lambda t: T.is_numeric(t) or T.is_string(t) or t == T.NULL, T.INT32),
    "double": ("a number", lambda t: T.is_numeric(t) or T.is_string(t) or t == T.NULL, T.FLOAT64),
    "date": ("a date", lambda t: T.is_temporal(t) or T.is_string(t) or t == T.NULL, T.DATE),
    "timestamp": ("a timestamp", lambda t: T.is_temporal(t) or T.is_string(t) or t == T.NULL, T.TIMESTAMP),
    "array": ("an array", lambda t: pa.types.is_list(t) or t == T.NULL, None),
    "map": ("a map", lambda t: pa.types.is_map(t) or t == T.NULL, None),
    "any": ("any value", lambda t: True, None),
}


def check_argument(i: int, kind: str, t: pa.DataType) -> pa.DataType:
    """The type argument ``i`` (0-based) of kind ``kind`` is given to the kernel as, or a
    FunctionError naming its position and what was expected."""
    what, ok, want = _KINDS[kind]
    if not ok(t):
        raise FunctionError(f"argument {i + 1} must be {what}, got {T.type_name(t)}")
    if want is not None:
        return want
    if t == T.NULL and kind in ("array", "map"):  # an untyped NULL: the kind's plainest type
        return pa.list_(T.STRING) if kind == "array" else pa.map_(T.STRING, T.STRING)
    if is_binary(t):
        return pa.binary()
    return T.STRING if kind == "bytes" else t


def sig(*kinds: str, result: pa.DataType | Callable[[list[pa.DataType]], pa.DataType],
        optional: int = 0, variadic: bool = False) -> Any:
    """A resolver from argument kinds (keys of ``_KINDS``): the last ``optional`` may be
    left out; ``variadic``: the last kind repeats. ``result`` is a type or a function of
    the kernel's argument types."""
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        low, high = len(kinds) - optional, (None if variadic else len(kinds))
        if len(args) < low or (high is not None and len(args) > high):
            want = f"{low}" if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
            raise FunctionError(f"expects {want} argument{'' if want == '1' else 's'}, got {len(args)}")
        want = [check_argument(i, kinds[min(i, len(kinds) - 1)], t) for i, t in enumerate(args)]
        return want, (result(want) if callable(result) else result)
    return r


def resolve(name: str, arg_types: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    f = SCALARS.get(name)
    if f is None:
        raise FunctionError(f"unknown function '{name}'")
    return f.resolve(arg_types)


def closest(name: str, candidates: Sequence[str]) -> list[str]:
    import difflib
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
