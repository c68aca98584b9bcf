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
_Item = tuple[Callable[..., Any], tuple[Any, ...], Callable[[BaseException | None, Any], None]] | None


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
            fn, args, done = item
            try:
                result = fn(*args)
            except BaseException as ex:  # handed to whoever waits for the call
                done(ex, None)
            else:
                done(None, result)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the thread, after what is queued; nobody waits for it."""
        self._queue.put((fn, args, _ignored))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` run on the thread; its result or exception, here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def done(ex: BaseException | None, result: Any) -> None:
            if not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(_settle, future, ex, result)
                except RuntimeError:  # closed meanwhile: the server is gone, nobody waits
                    pass

        self._queue.put((_unless_cancelled(future, fn), args, done))
        return await future

    def stop(self) -> None:
        """Finish what is queued, then end the thread (without waiting for it)."""
        self._queue.put(None)


def _settle(future: asyncio.Future[Any], ex: BaseException | None, result: Any) -> None:
    if future.cancelled():  # the awaiting coroutine was cancelled (server shutting down)
        return
    if ex is not None:
        future.set_exception(ex)
    else:
        future.set_result(result)


def _ignored(ex: BaseException | None, result: Any) -> None:
    pass


def _unless_cancelled(future: asyncio.Future[Any], fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, skipped if its caller stopped waiting before the thread reached it (a
    statement queued behind another when the server shut down must not start)."""
    def call(*args: Any) -> Any:
        return None if future.cancelled() else fn(*args)
    return call
