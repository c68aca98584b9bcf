"""Tasks in worker processes on this machine: ``local-cluster[N]``.

Each worker is an executor with its own block manager and broadcast cache, running one
task at a time, so N workers use N cores for Python code the GIL would serialize. Tasks
travel cloudpickled; shuffle files are on the shared local disk. A worker that dies is
replaced, and the task it was running is reported as ``ExecutorLost`` (the scheduler
retries it elsewhere).

Tasks cannot be preempted, so as on threads (``ThreadBackend``), a pool with nothing
running whose task arrives while every worker is busy gets an extra worker (at most N):
a short query must not wait for another query's long tasks. Starting a process takes a
fraction of a second, so an extra worker, once started, stays, idle, for the next pool
that needs it; it only ever runs tasks of pools that have nothing else running.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Listener

from rdd.executor.fair_queue import FairQueue
from rdd.executor.serialization import TaskNotSerializable, TaskPickler
from rdd.scheduler.task import ExecutorLost, Task, TaskFailed, TaskOutcome, TaskWasKilled


#: How long a task waits for the worker holding its cached input before running
#: elsewhere and recomputing it (Spark's ``spark.locality.wait`` is 3 s).
LOCALITY_WAIT = 1.0
#: How long a force-killed task may take to stop by itself before its worker is ended.
KILL_GRACE = 0.5


@dataclass(eq=False)
class _Pending:
    task: Task
    preferred: str | None
    on_done: Callable[[TaskOutcome], None]
    payload: bytes
    pool: str = "default"
    queued_at: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class _Worker:
    executor_id: str
    process: subprocess.Popen
    connection: Connection
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    running: _Pending | None = None
    alive: bool = True
    extra: bool = False  # serves only pools with nothing running (see the module docstring)

    def send(self, message: tuple) -> None:
        with self.send_lock:
            self.connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


class ProcessBackend:
    """N worker processes, fed from one queue with a preference for cache locality."""

    def __init__(self, workers: int, local_dir: str, files_dir: str, memory_budget: int,
                 nice: int = 0) -> None:
        self.default_parallelism = workers
        self._nice = nice
        self._pickler = TaskPickler()
        self._local_dir = local_dir
        self._files_dir = files_dir
        self._budget = memory_budget
        self._authkey = secrets.token_bytes(16)
        self._listener = Listener(family="AF_UNIX", authkey=self._authkey)
        self._lock = threading.Lock()
        self._pending: FairQueue[_Pending] = FairQueue()
        self._workers: dict[str, _Worker] = {}
        self._ids = itertools.count()
        self._replies: dict[int, queue.Queue] = {}
        self._request_ids = itertools.count()
        self._stopped = False
        self._start_lock = threading.Lock()
        self._max_extra = workers
        self._extra_starting = 0  # extra workers whose process is starting
        for _ in range(workers):
            self._start_worker()

    # -- workers ----------------------------------------------------------------------

    def _start_worker(self, extra: bool = False) -> None:
        # One start at a time: the listener hands connections out in arrival order, so
        # two concurrent starts could each accept the other's worker.
        try:
            with self._start_lock:
                if self._stopped:
                    return
                self._start_one_worker(extra)
        finally:
            if extra:
                with self._lock:
                    self._extra_starting -= 1
        self._dispatch()

    def _start_one_worker(self, extra: bool) -> None:
        executor_id = f"worker-{next(self._ids)}"
        env = dict(os.environ)
        env["LAMNA_WORKER_AUTHKEY"] = self._authkey.hex()
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        # One string-hash seed for every worker: keys whose __hash__ hashes a str must
        # land in the same partition whichever worker maps them (PySpark requires the same).
        env["PYTHONHASHSEED"] = os.environ.get("PYTHONHASHSEED", "0")
        env["LAMNA_WORKER_NICE"] = str(self._nice)
        process = subprocess.Popen(
            [sys.executable, "-m", "rdd.executor.worker", str(self._listener.address),
             executor_id, self._local_dir, self._files_dir, str(self._budget)],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        connection = self._listener.accept()
        hello = pickle.loads(connection.recv_bytes())
        if hello[:2] != ("hello", executor_id):
            process.kill()
            raise RuntimeError(f"worker {executor_id} did not start: it sent {hello!r}")
        worker = _Worker(executor_id, process, connection, extra=extra)
        with self._lock:
            self._workers[executor_id] = worker
        threading.Thread(target=self._read, args=(worker,), name=f"lamna-{executor_id}", daemon=True).start()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers.values() if w.alive]

    def _read(self, worker: _Worker) -> None:
        while True:
            try:
                message = pickle.loads(worker.connection.recv_bytes())
            except (EOFError, OSError):
                self._worker_died(worker)
                return
            if message[0] == "done":
                with self._lock:
                    pending = self._take_running(worker)
                try:
                    outcome = pickle.loads(message[2])
                except Exception as error:  # never let one bad reply stop this reader
                    outcome = TaskFailed(
                        RuntimeError(f"the task's outcome could not be read: {error}"), "",
                        worker.executor_id,
                    )
                if pending is not None:
                    pending.on_done(outcome)
                self._dispatch()
            elif message[0] == "blocks":
                reply_queue = self._replies.get(message[1])
                if reply_queue is not None:
                    reply_queue.put(message[2])

    def _take_running(self, worker: _Worker) -> _Pending | None:
        """The task ``worker`` was running, now ended; frees its pool's slot (lock held)."""
        pending, worker.running = worker.running, None
        if pending is not None:
            self._pending.finished(pending.pool)
        return pending

    def _worker_died(self, worker: _Worker) -> None:
        with self._lock:
            if not worker.alive:
                return
            worker.alive = False
            self._workers.pop(worker.executor_id, None)
            pending = self._take_running(worker)
            stopped = self._stopped
            if worker.extra and not stopped:
                self._extra_starting += 1  # its replacement, counted like any extra start
        code = worker.process.wait()
        try:
            if not stopped:
                self._start_worker(worker.extra)  # before reporting, so the retry finds a full pool
        except Exception:
            logging.getLogger(__name__).exception("could not replace worker %s", worker.executor_id)
        finally:
            if pending is not None:
                pending.on_done(ExecutorLost(worker.executor_id, f"worker process exited with code {code}"))

    # -- scheduling -------------------------------------------------------------------

    def submit(self, task: Task, preferred: str | None, on_done: Callable[[TaskOutcome], None],
               pool: str = "default") -> None:
        if self._stopped:
            on_done(TaskFailed(RuntimeError("the Context was stopped"), "", "driver"))
            return
        try:
            payload = self._pickler.dumps(task)
        except TaskNotSerializable as error:
            on_done(TaskFailed(error, "", "driver"))
            return
        with self._lock:
            self._pending.put(pool, _Pending(task, preferred, on_done, payload, pool))
        self._dispatch()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    return
                idle = [w for w in self._workers.values() if w.alive and w.running is None]
                choice = self._choose([w for w in idle if not w.extra])
                if choice is None and (starving := self._pending.starving()) is not None:
                    spare = [w for w in idle if w.extra]
                    if spare:
                        choice = spare[0], starving[1]
                    elif not idle and self._may_start_extra():
                        self._extra_starting += 1
                        threading.Thread(target=self._start_extra_worker, daemon=True,
                                         name="lamna-extra-worker-start").start()
                if choice is None:
                    if any(not w.extra for w in idle):  # waiting for a cached input's worker
                        timer = threading.Timer(LOCALITY_WAIT / 4, self._dispatch)
                        timer.daemon = True
                        timer.start()
                    return
                worker, item = choice
                self._pending.remove(item.pool, item)
                self._pending.started(item.pool)
                worker.running = item
            try:
                worker.send(("task", item.task.identity.task_id, item.payload))
            except OSError:
                self._worker_died(worker)

    def _start_extra_worker(self) -> None:
        try:
            self._start_worker(extra=True)
        except Exception:  # the starving pool's task then waits for a regular worker
            logging.getLogger(__name__).exception("could not start an extra worker")

    def _may_start_extra(self) -> bool:
        """Under the lock: room for one more extra worker (and none already starting)."""
        extra = sum(1 for w in self._workers.values() if w.extra)
        return not self._stopped and not self._extra_starting and extra < self._max_extra

    def _choose(self, idle: list[_Worker]) -> tuple[_Worker, _Pending] | None:
        """Delay scheduling: a task whose cached input lives on a busy worker waits for it
        up to ``LOCALITY_WAIT``; tasks without a live preference run anywhere."""
        if not idle:
            return None
        idle_ids = {w.executor_id: w for w in idle}
        pending = [item for _, item in self._pending.in_fair_order()]
        for item in pending:
            if item.preferred in idle_ids:
                return idle_ids[item.preferred], item
        now = time.monotonic()
        for item in pending:
            if (item.preferred is None or item.preferred not in self._workers
                    or now - item.queued_at > LOCALITY_WAIT):
                return idle[0], item
        return None

    def kill(self, task_id: int, force: bool = False) -> None:
        """Ask the worker to stop the task; with ``force``, end the worker process if the
        task is still running after ``KILL_GRACE`` (it is replaced, as if it had died)."""
        with self._lock:
            for item in self._pending.remove_where(lambda item: item.task.identity.task_id == task_id):
                item.on_done(TaskWasKilled("driver"))
            workers = [w for w in self._workers.values()
                       if w.running is not None and w.running.task.identity.task_id == task_id]
        for worker in workers:
            try:
                worker.send(("kill", task_id))
            except OSError:
                pass
            if force:
                timer = threading.Timer(KILL_GRACE, self._force_kill, (worker, task_id))
                timer.daemon = True
                timer.start()

    def _force_kill(self, worker: _Worker, task_id: int) -> None:
        with self._lock:
            still_running = (worker.alive and worker.running is not None
                             and worker.running.task.identity.task_id == task_id)
        if still_running:
            worker.process.kill()

    def remove_rdd(self, rdd_id: int) -> None:
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            try:
                worker.send(("remove_rdd", rdd_id))
            except OSError:
                pass

    def block_summary(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            workers = list(self._workers.values())
        summary: dict[str, tuple[int, int]] = {}
        for worker in workers:
            request_id = next(self._request_ids)
            replies: queue.Queue = queue.Queue()
            self._replies[request_id] = replies
            try:
                worker.send(("blocks", request_id))
                summary.update(replies.get(timeout=10))
            except (OSError, queue.Empty):
                pass
            finally:
                self._replies.pop(request_id, None)
        return summary

    def worker_block_summary(self) -> dict[str, tuple[int, int]]:
        return self.block_summary()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            workers = list(self._workers.values())
            orphans = self._pending.drain()
        for item in orphans:
            item.on_done(TaskFailed(RuntimeError("the Context was stopped"), "", "driver"))
        for worker in workers:
            try:
                worker.send(("stop",))
            except OSError:
                pass
        for worker in workers:
            try:
                worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        self._listener.close()
