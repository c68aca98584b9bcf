"""Serializing tasks for worker processes, with errors that name what could not be pickled."""

from __future__ import annotations

import copyreg
import dataclasses
import pickle
import threading
from collections import OrderedDict
from typing import Any

import cloudpickle
import pyarrow as pa


def _month_day_nano(months: int, days: int, nanoseconds: int) -> Any:
    return pa.MonthDayNano([months, days, nanoseconds])


# pyarrow's interval value (a struct sequence whose class claims to live in builtins)
# pickles by neither pickle nor cloudpickle; tasks carry it whenever a query has an
# INTERVAL literal, so teach both picklers to send it as its three numbers.
copyreg.pickle(type(pa.MonthDayNano([0, 0, 0])),
               lambda v: (_month_day_nano, (v.months, v.days, v.nanoseconds)))


class TaskNotSerializable(TypeError):
    """A task's closure holds an object that cannot be sent to a worker process."""


def _find_unpicklable(value: Any, path: str, depth: int = 0) -> str | None:
    """A dotted path to the innermost object that fails to pickle, if one can be found."""
    if depth > 6:
        return None
    try:
        cloudpickle.dumps(value)
        return None
    except Exception:
        pass
    children: list[tuple[str, Any]] = []
    closure = getattr(value, "__closure__", None)
    code = getattr(value, "__code__", None)
    if closure and code is not None:
        children += [(f"{path} closure variable '{name}'", cell.cell_contents)
                     for name, cell in zip(code.co_freevars, closure)]
    if code is not None:
        module_globals = getattr(value, "__globals__", {})
        children += [(f"{path} global '{name}'", module_globals[name])
                     for name in code.co_names if name in module_globals]
    if isinstance(value, (list, tuple, set, frozenset)):
        children += [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    elif isinstance(value, dict):
        children += [(f"{path}[{key!r}]", item) for key, item in value.items()]
    elif not isinstance(value, type) and hasattr(value, "__getstate__"):
        children += [(f"{path}.{name}", item) for name, item in _pickled_state(value)]
    for child_path, child in children:
        found = _find_unpicklable(child, child_path, depth + 1)
        if found is not None:
            return found
    return f"{path} ({type(value).__name__}: {value!r:.80})"


def _pickled_state(value: Any) -> list[tuple[str, Any]]:
    """The attributes pickling would actually serialize (honouring ``__getstate__``)."""
    try:
        state = value.__getstate__()
    except Exception:
        return []
    if isinstance(state, tuple) and len(state) == 2:
        merged = {**(state[0] or {}), **(state[1] or {})}
        return list(merged.items())
    if isinstance(state, dict):
        return list(state.items())
    slots = getattr(type(value), "__slots__", ())
    if isinstance(state, (list, tuple)) and len(state) == len(slots):
        return list(zip(slots, state))
    return []


#: The fields of a task its whole stage shares: pickled once per stage, not per task.
_STAGE_FIELDS = ("rdd", "func", "spec")
#: Stages whose pickled part a driver (or worker) keeps for their next tasks.
_STAGES_KEPT = 64


class TaskPickler:
    """Pickles tasks for worker processes, the stage's part once per stage.

    Every task of a stage carries the same RDD chain and function, and pickling that
    chain (plans, expressions, sources) is most of a task's pickling time, spent on the
    driver under its interpreter lock. As Spark's ``taskBinary``, the chain is pickled
    once per stage (stage ids are never reused, and a stage's chain never changes) and
    each task adds only its own fields: identity, partition, shuffle statuses.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stages: OrderedDict[int, bytes] = OrderedDict()

    def dumps(self, task: Any) -> bytes:
        stage_id = task.identity.stage_id
        with self._lock:
            stage = self._stages.get(stage_id)
            if stage is not None:
                self._stages.move_to_end(stage_id)
        shared = {name: getattr(task, name) for name in _STAGE_FIELDS if hasattr(task, name)}
        try:
            if stage is None:
                stage = cloudpickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
                with self._lock:
                    self._stages[stage_id] = stage
                    while len(self._stages) > _STAGES_KEPT:
                        self._stages.popitem(last=False)
            own = cloudpickle.dumps(dataclasses.replace(task, **dict.fromkeys(shared)),
                                    protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            culprit = _find_unpicklable(task, "task") or "task"
            raise TaskNotSerializable(
                f"Task not serializable: could not pickle {culprit}: {error}. Functions passed to "
                "RDD operations run in worker processes, so everything they reference must be "
                "picklable (create connections, locks and files inside the function)."
            ) from error
        return pickle.dumps((stage_id, stage, own), protocol=pickle.HIGHEST_PROTOCOL)


class TaskUnpickler:
    """A worker's side of ``TaskPickler``: a stage's part is unpickled once, and its
    tasks share the objects, as tasks on threads share the driver's."""

    def __init__(self) -> None:
        self._stages: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def loads(self, payload: bytes) -> Any:
        stage_id, stage, own = pickle.loads(payload)
        shared = self._stages.get(stage_id)
        if shared is None:
            shared = self._stages[stage_id] = pickle.loads(stage)
            while len(self._stages) > _STAGES_KEPT:
                self._stages.popitem(last=False)
        else:
            self._stages.move_to_end(stage_id)
        return dataclasses.replace(pickle.loads(own), **shared)


def dumps_outcome(outcome: Any) -> bytes:
    """Pickle a task outcome so that the driver can always read it back.

    A user exception that pickles but cannot be rebuilt (an ``__init__`` with other
    arguments than ``args``) or a result that cannot be pickled becomes a
    ``RuntimeError`` carrying its type, message and the executor's traceback.
    """
    from rdd.scheduler.task import TaskFailed

    try:
        payload = cloudpickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        if isinstance(outcome, TaskFailed):
            pickle.loads(payload)
        return payload
    except Exception as error:
        original = getattr(outcome, "error", None)
        if original is not None:
            message = f"{type(original).__name__}: {original} (the exception could not be sent to the driver: {error})"
        else:
            message = f"the task's result could not be sent back to the driver: {error}"
        replacement = TaskFailed(
            RuntimeError(message),
            getattr(outcome, "traceback_text", ""),
            getattr(outcome, "executor_id", "?"),
        )
        return cloudpickle.dumps(replacement)
