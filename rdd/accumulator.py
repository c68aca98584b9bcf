"""Accumulators: add-only variables whose task updates reach the driver once per task.

Inside a task, ``add`` records into that task's context; the driver merges a task's
updates only when the task succeeds, and only once per partition of a stage per job,
so retried or re-run tasks never double count.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

from rdd.task_context import TaskContext

T = TypeVar("T")


class AccumulatorParam(Generic[T]):
    """How to combine values: PySpark's ``zero`` and ``addInPlace``."""

    def zero(self, value: T) -> T:
        raise NotImplementedError

    def addInPlace(self, value1: T, value2: T) -> T:
        raise NotImplementedError


class _NumberParam(AccumulatorParam[Any]):
    def zero(self, value: Any) -> Any:
        return type(value)(0) if not isinstance(value, bool) else 0

    def addInPlace(self, value1: Any, value2: Any) -> Any:
        return value1 + value2


class _ListParam(AccumulatorParam[list]):
    def zero(self, value: list) -> list:
        return []

    def addInPlace(self, value1: list, value2: list) -> list:
        value1.extend(value2)
        return value1


def default_param(value: Any) -> AccumulatorParam[Any]:
    if isinstance(value, (int, float, complex)):
        return _NumberParam()
    if isinstance(value, list):
        return _ListParam()
    raise TypeError(
        f"no default AccumulatorParam for {type(value).__name__}; pass accum_param"
    )


def _restore(accumulator_id: int, zero: Any, param: AccumulatorParam[Any]) -> Accumulator[Any]:
    restored = Accumulator.__new__(Accumulator)
    restored.aid, restored.accum_param = accumulator_id, param
    restored._value, restored._zero, restored._on_driver = zero, zero, False
    restored._lock = threading.Lock()
    return restored


class Accumulator(Generic[T]):
    def __init__(self, aid: int, value: T, accum_param: AccumulatorParam[T]) -> None:
        self.aid = aid
        self.accum_param = accum_param
        self._value = value
        self._zero = accum_param.zero(value)
        self._on_driver = True
        self._lock = threading.Lock()

    def add(self, term: T) -> None:
        context = TaskContext.get()
        if context is None:
            with self._lock:
                self._value = self.accum_param.addInPlace(self._value, term)
            return
        updates = context.accumulator_updates
        current = updates.get(self.aid, self.accum_param.zero(self._zero))
        updates[self.aid] = self.accum_param.addInPlace(current, term)

    def __iadd__(self, term: T) -> Accumulator[T]:
        self.add(term)
        return self

    @property
    def value(self) -> T:
        if TaskContext.get() is not None or not self._on_driver:
            raise RuntimeError("Accumulator.value cannot be accessed inside tasks")
        return self._value

    @value.setter
    def value(self, value: T) -> None:
        if TaskContext.get() is not None:
            raise RuntimeError("Accumulator.value cannot be set inside tasks")
        self._value = value

    def _merge(self, update: T) -> None:
        with self._lock:
            self._value = self.accum_param.addInPlace(self._value, update)

    def __reduce__(self) -> Any:
        return (_restore, (self.aid, self._zero, self.accum_param))

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        return f"Accumulator<id={self.aid}, value={self._value}>"
