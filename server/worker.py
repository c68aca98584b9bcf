"""A session's one worker thread.

Every engine call of a session runs on the same thread, so the RDD job group set for a
statement applies to all its jobs. The thread is a daemon: at shutdown the server has
already cancelled the running statement and told the client, and the process must not
wait at exit for an engine call that is still unwinding.

``run`` hands a call over and resumes the coroutine with its outcome through the event
loop's own future: every statement makes this round trip, so it goes without a
``concurrent.futures.Future`` (a lock and a condition) chained to an asyncio one.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
#: a call, and the loop and future awaiting it (None, None: nobody waits)
_Item = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop | None, asyncio.Future[Any] | None]


class Worker:
    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args, loop, future = item
            if future is not None and future.cancelled():
                continue  # its caller stopped waiting (a statement queued when the server shut down)
            try:
                result, error = fn(*args), None
            except BaseException as ex:  # handed to whoever waits for the call
                result, error = None, ex
            if loop is not None and future is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(_settle, future, error, result)
                except RuntimeError:  # closed meanwhile: the server is gone, nobody waits
                    pass

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the thread, after what is queued; nobody waits for it."""
        self._queue.put((fn, args, None, None))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` run on the thread; its result or exception, here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, args, loop, future))
        return await future

    def stop(self) -> None:
        """Finish what is queued, then end the thread (without waiting for it)."""
        self._queue.put(None)


def _settle(future: asyncio.Future[Any], error: BaseException | None, result: Any) -> None:
    if future.cancelled():  # the awaiting coroutine was cancelled (server shutting down)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
