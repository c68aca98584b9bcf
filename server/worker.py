"""A session's one worker thread.

Every engine call of a session runs on the same thread, so the RDD job group set for a
statement applies to all its jobs. The thread is a daemon: at shutdown the server has
already cancelled the running statement and told the client, and the process must not
wait at exit for an engine call that is still unwinding.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_Item = tuple[Callable[..., Any], tuple[Any, ...], concurrent.futures.Future[Any]] | None


class Worker:
    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as ex:  # handed to the awaiting coroutine
                future.set_exception(ex)

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((fn, args, future))
        return future

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self.submit(fn, *args))

    def stop(self) -> None:
        """Finish what is queued, then end the thread (without waiting for it)."""
        self._queue.put(None)
