"""The Context: entry point of the RDD API (PySpark's ``SparkContext``) and owner of the
engine's per-application state — ids, schedulers, the executor backend, shared variables.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rdd.accumulator import Accumulator, AccumulatorParam, default_param
from rdd.base import RDD, lineage
from rdd.broadcast import Broadcast
from rdd.conf import Conf, Settings
from rdd.executor.backend import ExecutorBackend
from rdd.executor.environment import ExecutorEnv
from rdd.executor.hybrid import HybridBackend
from rdd.executor.processes import ProcessBackend
from rdd.executor.threads import ThreadBackend
from rdd.files import SparkFiles
from rdd.narrow import UnionRDD
from rdd.scheduler.dag import DAGScheduler
from rdd.scheduler.events import ListenerEvent
from rdd.sources import (
    EmptyRDD,
    ParallelCollectionRDD,
    PickleFileRDD,
    TextFileRDD,
    WholeTextFilesRDD,
)
from rdd.status import StatusTracker
from rdd.storage import BlockLocations
from rdd.task_context import TaskContext

_LOCAL = re.compile(r"^local(?:\[(\*|\d+)\])?$")
_CLUSTER = re.compile(r"^local-cluster\[(\d+)(?:,\s*\d+(?:,\s*\d+)?)?\]$")


@dataclass(frozen=True, slots=True)
class RDDStorageInfo:
    """What ``storageInfo`` reports for one persisted RDD."""

    rdd_id: int
    name: str
    storage_level: str
    num_partitions: int
    num_cached_partitions: int
    memory_bytes: int
    disk_bytes: int


def _backend_for(master: str, settings: Settings, local_dir: str, files_dir: str,
                 budget: int, env: ExecutorEnv) -> ExecutorBackend:
    if (match := _LOCAL.match(master)) is not None:
        count = match.group(1)
        if count is None:
            threads = 1
        elif count == "*":
            threads = os.cpu_count() or 1
        else:
            threads = int(count)
        backend = ThreadBackend(settings.default_parallelism or threads, env)
        if not settings.workers:
            return backend
        workers, nice = settings.workers, settings.workers_nice
        return HybridBackend(backend, lambda: ProcessBackend(
            workers, local_dir, files_dir, max(1, budget // workers), nice))
    if (match := _CLUSTER.match(master)) is not None:
        return ProcessBackend(int(match.group(1)), local_dir, files_dir, budget, settings.workers_nice)
    raise ValueError(
        f"unknown master {master!r}: expected 'local', 'local[N]', 'local[*]' or 'local-cluster[N]'"
    )


class Context:
    """A connection to the engine: creates RDDs, shared variables, and runs jobs."""

    # The process-wide Context of ``getOrCreate`` (PySpark's ``_active_spark_context``).
    _shared: Context | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def getOrCreate(cls, conf: Conf | dict[str, Any] | None = None) -> Context:
        """PySpark's ``SparkContext.getOrCreate``: the Context this process shares, made
        from ``conf`` on the first call (or after the shared one was stopped); later
        calls return it whatever their ``conf`` says.

        Only Contexts made here are shared: one built with ``Context(...)`` stays its
        creator's.
        """
        with cls._shared_lock:
            shared = cls._shared
            if shared is None or shared._stopped:
                shared = cls._shared = cls(conf=conf)
                atexit.register(shared.stop)  # its spill files and threads go at exit
            return shared

    @classmethod
    def getActive(cls) -> Context | None:
        """The shared Context if one is running (``getOrCreate`` without creating)."""
        shared = cls._shared
        return shared if shared is not None and not shared._stopped else None

    def __init__(
        self,
        master: str | None = None,
        appName: str | None = None,
        conf: Conf | dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        self._conf = conf if isinstance(conf, Conf) else Conf(conf or {})
        self.master = master or self._conf.get("spark.master") or "local[*]"
        self.appName = appName or self._conf.get("spark.app.name") or "lamna"
        self._conf.set("spark.master", self.master).set("spark.app.name", self.appName)
        self.settings = self._conf.settings()
        self.local_dir = tempfile.mkdtemp(prefix="lamna-", dir=self.settings.local_dir)
        self._files_dir = os.path.join(self.local_dir, "files")
        os.makedirs(self._files_dir)
        self._rdd_ids = itertools.count()
        self._shuffle_ids = itertools.count()
        self._broadcast_ids = itertools.count()
        self._accumulator_ids = itertools.count()
        # weak, as Spark's AccumulatorContext: a long-lived Context (a server's) makes one
        # per query, and an accumulator nobody holds can have no reader of its value
        self._accumulators: weakref.WeakValueDictionary[int, Accumulator[Any]] = weakref.WeakValueDictionary()
        self._persisted: weakref.WeakValueDictionary[int, RDD] = weakref.WeakValueDictionary()
        self._checkpoint_dir: str | None = None
        self._listeners: list[Callable[[ListenerEvent], None]] = []
        self._status = StatusTracker()
        self._thread_state = threading.local()
        self._block_locations = BlockLocations()
        self.env = ExecutorEnv.create("driver", self.local_dir, self._files_dir, self.settings.storage_memory)
        self.backend = _backend_for(
            self.master,
            self.settings,
            self.local_dir,
            self._files_dir,
            self._executor_budget(),
            self.env,
        )
        self.scheduler = DAGScheduler(
            self.backend, self.settings, self._publish, self._block_locations, self._merge_accumulators
        )
        self._stopped = False
        SparkFiles._add_root(self._files_dir)

    def _executor_budget(self) -> int:
        match = _CLUSTER.match(self.master)
        workers = int(match.group(1)) if match else 1
        return max(1, self.settings.storage_memory // workers)

    # -- ids (used by RDD constructors) --------------------------------------------------

    def _new_rdd_id(self) -> int:
        return next(self._rdd_ids)

    def _new_shuffle_id(self) -> int:
        return next(self._shuffle_ids)

    # -- properties -------------------------------------------------------------------

    @property
    def defaultParallelism(self) -> int:
        return self.backend.default_parallelism

    @property
    def defaultMinPartitions(self) -> int:
        return min(self.defaultParallelism, 2)

    @property
    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("lamna")
        except PackageNotFoundError:
            return "0"

    def getConf(self) -> Conf:
        return Conf(self._conf.getAll())

    def setLogLevel(self, logLevel: str) -> None:
        import logging

        logging.getLogger("rdd").setLevel(logLevel.upper())

    # -- creating RDDs ----------------------------------------------------------------

    def parallelize(self, c: Iterable[Any], numSlices: int | None = None) -> RDD:
        data = c if isinstance(c, (range, list)) else list(c)
        return ParallelCollectionRDD(
            self, data, self.defaultParallelism if numSlices is None else numSlices
        )

    def range(self, start: int, end: int | None = None, step: int = 1, numSlices: int | None = None) -> RDD:
        if end is None:
            start, end = 0, start
        return self.parallelize(range(start, end, step), numSlices)

    def textFile(self, name: str, minPartitions: int | None = None, use_unicode: bool = True) -> RDD:
        return TextFileRDD(self, name, minPartitions or self.defaultMinPartitions)

    def wholeTextFiles(self, path: str, minPartitions: int | None = None, use_unicode: bool = True) -> RDD:
        return WholeTextFilesRDD(self, path, minPartitions or self.defaultMinPartitions)

    def pickleFile(self, name: str, minPartitions: int | None = None) -> RDD:
        return PickleFileRDD(self, name, minPartitions or self.defaultMinPartitions)

    def union(self, rdds: Sequence[RDD]) -> RDD:
        if not rdds:
            raise ValueError("union needs at least one RDD")
        return UnionRDD(self, list(rdds))

    def emptyRDD(self) -> RDD:
        return EmptyRDD(self)

    # -- shared variables and files ---------------------------------------------------

    def broadcast(self, value: Any) -> Broadcast:
        return Broadcast(next(self._broadcast_ids), value, self.local_dir)

    def accumulator(self, value: Any, accum_param: AccumulatorParam[Any] | None = None) -> Accumulator[Any]:
        accumulator = Accumulator(next(self._accumulator_ids), value, accum_param or default_param(value))
        self._accumulators[accumulator.aid] = accumulator
        return accumulator

    def _merge_accumulators(self, updates: dict[int, Any]) -> None:
        for aid, update in updates.items():
            accumulator = self._accumulators.get(aid)
            if accumulator is not None:
                accumulator._merge(update)

    def addFile(self, path: str, recursive: bool = False) -> None:
        local = path[len("file:"):].lstrip() if path.startswith("file:") else path
        if local.startswith("//"):
            local = local[2:]
        if not os.path.exists(local):
            raise FileNotFoundError(f"addFile: {path} does not exist")
        target = os.path.join(self._files_dir, os.path.basename(local.rstrip("/")))
        if os.path.isdir(local):
            if not recursive:
                raise ValueError(f"addFile: {path} is a directory; pass recursive=True")
            shutil.copytree(local, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(local, target)

    def setCheckpointDir(self, dirName: str) -> None:
        os.makedirs(dirName, exist_ok=True)
        self._checkpoint_dir = os.path.join(dirName, f"lamna-{os.getpid()}-{id(self):x}")
        os.makedirs(self._checkpoint_dir, exist_ok=True)

    def getCheckpointDir(self) -> str | None:
        return self._checkpoint_dir

    # -- jobs -------------------------------------------------------------------------

    def setJobGroup(self, groupId: str, description: str, interruptOnCancel: bool = False) -> None:
        """Jobs started from this thread belong to ``groupId`` (cancel them together).

        With ``interruptOnCancel`` a cancelled task that does not stop by itself is
        stopped (on ``local-cluster``, by ending its worker process).
        """
        properties = self._thread_properties()
        properties["spark.jobGroup.id"] = groupId
        properties["spark.job.description"] = description
        properties["spark.job.interruptOnCancel"] = "true" if interruptOnCancel else "false"
        # Spark's property: tasks read their job group with TaskContext.getLocalProperty
        self.setLocalProperty("spark.jobGroup.id", groupId)

    def setLocalProperty(self, key: str, value: str | None) -> None:
        properties = self._thread_properties()
        if value is None:
            properties.pop(key, None)
        else:
            properties[key] = value

    def getLocalProperty(self, key: str) -> str | None:
        return self._thread_properties().get(key)

    def _thread_properties(self) -> dict[str, str]:
        if not hasattr(self._thread_state, "properties"):
            self._thread_state.properties = {}
        return self._thread_state.properties

    def cancelJobGroup(self, groupId: str) -> None:
        self.scheduler.cancel_jobs(lambda job: job.group_id == groupId, f"job group {groupId!r} cancelled")

    def cancelAllJobs(self) -> None:
        self.scheduler.cancel_jobs(lambda job: True, "all jobs cancelled")

    def statusTracker(self) -> StatusTracker:
        return self._status

    def addListener(self, listener: Callable[[ListenerEvent], None]) -> None:
        self._listeners.append(listener)

    def removeListener(self, listener: Callable[[ListenerEvent], None]) -> None:
        self._listeners.remove(listener)

    def _publish(self, event: ListenerEvent) -> None:
        self._status.on_event(event)
        for listener in list(self._listeners):
            listener(event)

    def runJob(
        self,
        rdd: RDD,
        partitionFunc: Callable[[Iterator[Any]], Iterable[Any]],
        partitions: Sequence[int] | None = None,
        allowLocal: bool = False,
    ) -> list[Any]:
        """PySpark's ``runJob``: ``partitionFunc`` per partition, results flattened."""
        chunks = self._run_job(rdd, lambda it: list(partitionFunc(it)), partitions)
        return [x for chunk in chunks for x in chunk]

    def _run_job(
        self,
        rdd: RDD,
        func: Callable[[Iterator[Any]], Any],
        partitions: Sequence[int] | None = None,
    ) -> list[Any]:
        """``func`` applied to each partition's iterator; one result per partition."""
        if self._stopped:
            raise RuntimeError("cannot run a job: this Context has been stopped")
        if TaskContext.get() is not None:
            raise RuntimeError(
                "RDD operations cannot be called inside a task (an RDD action or transformation "
                "was used inside a function passed to another RDD operation)"
            )
        wanted = list(range(rdd.getNumPartitions())) if partitions is None else list(partitions)
        group = self.getLocalProperty("spark.jobGroup.id")
        interrupt = self.getLocalProperty("spark.job.interruptOnCancel") == "true"
        # Fair sharing between pools: a named pool, else the job group, else "default".
        pool = self.getLocalProperty("spark.scheduler.pool") or group or "default"
        properties = dict(self._thread_properties())
        results = self.scheduler.run_job(rdd, func, wanted, group, interrupt, pool, properties)
        self._write_checkpoints(rdd)
        return results

    # -- persistence and checkpoints ---------------------------------------------------

    def _register_persisted(self, rdd: RDD) -> None:
        self._persisted[rdd.id()] = rdd

    def _unpersist(self, rdd_id: int) -> None:
        self._persisted.pop(rdd_id, None)
        self._block_locations.forget_rdd(rdd_id)
        self.backend.remove_rdd(rdd_id)

    def getPersistentRDDs(self) -> dict[int, RDD]:
        return dict(self._persisted)

    def storageInfo(self) -> list[RDDStorageInfo]:
        """Cached partitions and bytes per persisted RDD, over all executors."""
        summary = self.backend.block_summary()
        infos = []
        for rdd_id, rdd in sorted(self._persisted.items()):
            prefix = f"rdd_{rdd_id}_"
            blocks = [sizes for block_id, sizes in summary.items() if block_id.startswith(prefix)]
            infos.append(RDDStorageInfo(
                rdd_id=rdd_id,
                name=rdd.name() or type(rdd).__name__,
                storage_level=str(rdd.getStorageLevel()),
                num_partitions=rdd.getNumPartitions(),
                num_cached_partitions=len(blocks),
                memory_bytes=sum(m for m, _ in blocks),
                disk_bytes=sum(d for _, d in blocks),
            ))
        return infos

    def _write_checkpoints(self, rdd: RDD) -> None:
        for marked in lineage(rdd):
            if marked._checkpoint_requested and marked._checkpoint_files is None:
                assert self._checkpoint_dir is not None
                directory = os.path.join(self._checkpoint_dir, f"rdd-{marked.id()}")
                os.makedirs(directory, exist_ok=True)
                files = self.scheduler.run_job(
                    marked, lambda it, d=directory: _write_checkpoint_part(d, it),
                    list(range(marked.getNumPartitions())),
                )
                marked.partitions()  # keep the partition list; lineage is cut below
                marked._checkpoint_files = files
                marked._dependencies = None

    # -- lifecycle --------------------------------------------------------------------

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.scheduler.cancel_jobs(lambda job: True, "the Context was stopped")
        self.backend.stop()
        shutil.rmtree(self.local_dir, ignore_errors=True)
        SparkFiles._forget_root(self._files_dir)

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:
        try:
            if not self._stopped:
                self.stop()
        except Exception:
            pass

    def __reduce__(self) -> Any:
        raise TypeError(
            "a Context cannot be used inside a task: it exists only on the driver "
            "(did a function passed to an RDD operation reference the Context or an RDD?)"
        )


def _write_checkpoint_part(directory: str, iterator: Iterator[Any]) -> str:
    context = TaskContext.get()
    assert context is not None
    path = os.path.join(directory, f"part-{context.partitionId():05d}")
    tmp = f"{path}.tmp-{context.taskAttemptId()}"
    with open(tmp, "wb") as sink:
        pickle.dump(list(iterator), sink, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return path

