"""Memoized plan properties, kept for one planning of one query and no longer.

Row estimates, distinct-value estimates and the column ids a subtree produces are
recursive over a plan and asked for again and again while one query is optimized (join
ordering tries many orders over the same subtrees). Process-wide LRU caches kept
thousands of plans of past queries alive instead, each holding its table sources and
metadata: in a long-running server, tens of thousands of objects that every full
garbage collection walks while every thread waits. Here the memo lives in a context
variable for the length of ``planning()`` (each thread or task has its own) and goes
with it; outside a planning, nothing is remembered.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_MEMO: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar("planner_memo", default=None)


@contextlib.contextmanager
def planning() -> Iterator[None]:
    """Memoize ``memoized`` functions until the outermost ``planning()`` ends."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def memoized(fn: F) -> F:
    """``fn``'s results by (``fn``, arguments) inside ``planning()``; computed each call
    outside one. Arguments are compared by value, as ``functools.lru_cache`` does."""
    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        memo = _MEMO.get()
        if memo is None:
            return fn(*args)
        key = (fn, *args)
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = fn(*args)
            return value
    return wrapper  # type: ignore[return-value]
