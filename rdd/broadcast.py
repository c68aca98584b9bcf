"""Broadcast variables: a read-only value shipped once per executor, not once per task.

The driver writes the value to a file once; a task carries only the broadcast's id and
path, and each executor loads the file the first time one of its tasks reads ``value``.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import cloudpickle

from rdd.task_context import TaskContext

_UNSET = object()


def _restore(broadcast_id: int, path: str) -> Broadcast:
    restored = Broadcast.__new__(Broadcast)
    restored._id, restored._path, restored._value = broadcast_id, path, _UNSET
    return restored


class Broadcast:
    def __init__(self, broadcast_id: int, value: Any, directory: str) -> None:
        self._id = broadcast_id
        self._value = value
        self._path = os.path.join(directory, f"broadcast_{broadcast_id}.pickle")
        self._written = False

    @property
    def id(self) -> int:
        return self._id

    @property
    def value(self) -> Any:
        if getattr(self, "_destroyed", False):
            raise RuntimeError(f"Attempted to use broadcast {self._id} after it was destroyed")
        if self._value is _UNSET:
            context = TaskContext.get()
            if context is None:
                with open(self._path, "rb") as source:
                    self._value = pickle.load(source)
            else:
                return context.env.broadcast_value(self._id, self._path)
        return self._value

    def __reduce__(self) -> Any:
        # Pickling happens on the driver when a task is sent to a worker process.
        if getattr(self, "_destroyed", False):
            raise RuntimeError(f"Attempted to use broadcast {self._id} after it was destroyed")
        if not getattr(self, "_written", True):
            tmp = self._path + ".tmp"
            with open(tmp, "wb") as sink:
                cloudpickle.dump(self._value, sink, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._path)
            self._written = True
        return (_restore, (self._id, self._path))

    def unpersist(self, blocking: bool = False) -> None:
        """Executors drop their copy; the value is read again if used later."""
        context = TaskContext.get()
        if context is not None:
            context.env.forget_broadcast(self._id)

    def destroy(self, blocking: bool = False) -> None:
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass
        self._value = _UNSET
        self._destroyed = True

    def __repr__(self) -> str:
        return f"<Broadcast {self._id}>"
