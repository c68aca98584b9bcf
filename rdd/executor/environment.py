"""The services one executor offers the tasks it runs."""

from __future__ import annotations

import os
import pickle
import threading
from dataclasses import dataclass, field
from typing import Any

from rdd.storage import BlockManager


@dataclass(slots=True)
class ExecutorEnv:
    """Block manager, broadcast cache and directories of one executor.

    With the thread backend the driver process is the single executor; each worker
    process of ``local-cluster`` has one of its own.
    """

    executor_id: str
    local_dir: str
    files_dir: str
    block_manager: BlockManager
    broadcast_loads: int = 0
    _broadcasts: dict[int, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def create(executor_id: str, local_dir: str, files_dir: str, memory_budget: int) -> ExecutorEnv:
        blocks = os.path.join(local_dir, f"blocks-{executor_id}")
        return ExecutorEnv(
            executor_id=executor_id,
            local_dir=local_dir,
            files_dir=files_dir,
            block_manager=BlockManager(budget=memory_budget, disk_dir=blocks),
        )

    @property
    def shuffle_dir(self) -> str:
        return os.path.join(self.local_dir, "shuffle")

    def broadcast_value(self, broadcast_id: int, path: str) -> Any:
        """A broadcast's value, read from its file at most once per executor."""
        with self._lock:
            if broadcast_id not in self._broadcasts:
                with open(path, "rb") as source:
                    self._broadcasts[broadcast_id] = pickle.load(source)
                self.broadcast_loads += 1
            return self._broadcasts[broadcast_id]

    def forget_broadcast(self, broadcast_id: int) -> None:
        with self._lock:
            self._broadcasts.pop(broadcast_id, None)
