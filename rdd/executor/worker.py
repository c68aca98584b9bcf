"""A worker process of ``local-cluster[N]``: receives pickled tasks, runs them, replies.

Started by ``ProcessBackend`` as ``python -m rdd.executor.worker``; it connects back to
the driver over a Unix socket authenticated with a key passed in its environment, and
exits when that connection closes.
"""

from __future__ import annotations

import os
import pickle
import queue
import sys
import threading
import traceback
from multiprocessing.connection import Client

import pyarrow as pa

from rdd.executor.environment import ExecutorEnv
from rdd.executor.serialization import TaskUnpickler, dumps_outcome
from rdd.scheduler.task import TaskFailed, run_task
from rdd.task_context import TaskContext


def main(argv: list[str]) -> None:
    address, executor_id, local_dir, files_dir, budget = argv
    authkey = bytes.fromhex(os.environ.pop("LAMNA_WORKER_AUTHKEY"))
    # Below the driver's priority when asked: the driver's short queries get the cores first.
    if nice := int(os.environ.pop("LAMNA_WORKER_NICE", "0") or 0):
        os.nice(nice)
    connection = Client(address, family="AF_UNIX", authkey=authkey)
    env = ExecutorEnv.create(executor_id, local_dir, files_dir, int(budget))
    send_lock = threading.Lock()
    flags: dict[int, threading.Event] = {}
    tasks: queue.Queue[tuple[int, bytes] | None] = queue.Queue()

    def send(message: tuple) -> None:
        with send_lock:
            connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    unpickler = TaskUnpickler()

    def run_tasks() -> None:
        while (item := tasks.get()) is not None:
            task_id, payload = item
            flag = flags.setdefault(task_id, threading.Event())
            try:
                task = unpickler.loads(payload)
            except Exception as error:  # noqa: BLE001 - reported as the task's failure; the loop goes on
                flags.pop(task_id, None)
                failure = TaskFailed(RuntimeError(f"the task could not be unpickled on executor {executor_id}: "
                                                  f"{type(error).__name__}: {error}"),
                                     traceback.format_exc(), executor_id)
                send(("done", task_id, dumps_outcome(failure)))
                continue
            identity = task.identity
            context = TaskContext(
                stage_id=identity.stage_id,
                partition_id=task.split.index,
                attempt_number=identity.attempt,
                task_attempt_id=task_id,
                env=env,
                kill_flag=flag,
                shuffle_statuses=task.shuffle_statuses,
                properties=task.properties,
            )
            outcome = run_task(task, context)
            flags.pop(task_id, None)
            send(("done", task_id, dumps_outcome(outcome)))
            del task, outcome, context
            # A worker lives as long as its driver, and one task's peak (a join's tables)
            # would otherwise stay resident in Arrow's allocator until the next peak.
            pa.default_memory_pool().release_unused()

    runner = threading.Thread(target=run_tasks, name="lamna-worker-task", daemon=True)
    runner.start()
    send(("hello", executor_id, os.getpid()))
    while True:
        try:
            message = pickle.loads(connection.recv_bytes())
        except (EOFError, OSError):
            break
        kind = message[0]
        if kind == "task":
            tasks.put((message[1], message[2]))
        elif kind == "kill":
            flags.setdefault(message[1], threading.Event()).set()
        elif kind == "remove_rdd":
            env.block_manager.remove_rdd(message[1])
        elif kind == "blocks":
            manager = env.block_manager
            summary = {b: manager.block_sizes(b) for b in manager.block_ids()}
            send(("blocks", message[1], summary))
        elif kind == "stop":
            break
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
