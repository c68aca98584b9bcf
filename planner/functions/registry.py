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


SCALARS: dict[str, Scalar] = {}


def register(names: str, resolve: Any, impl: Any, deterministic: bool = True, takes_result: bool = False) -> None:
    for n in names.split():
        SCALARS[n] = Scalar(n, resolve, impl, deterministic, takes_result)


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


def resolve(name: str, arg_types: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    f = SCALARS.get(name)
    if f is None:
        raise FunctionError(f"unknown function '{name}'")
    return f.resolve(arg_types)


def closest(name: str, candidates: Sequence[str]) -> list[str]:
    import difflib
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
