"""The shell with a slow table and UDF registered, for tests that must interrupt a query.

``python tests/shell/slow_shell.py ARGS…`` behaves as ``lamna ARGS…`` on the embedded
engine, plus ``slow`` (400 rows in 40 partitions, so 40 tasks) and ``sleepy(x)``, which
takes ``SLEEPY_SECONDS`` per batch and checks for cancellation while it sleeps, as a
long-running UDF should. Each task it finishes or starts is counted in the files named by
``SLEEPY_LOG`` so a test can see that tasks stopped after Ctrl-C.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import pyarrow as pa  # noqa: E402

import sql.shell  # noqa: E402
import sql.shell.backends as backends  # noqa: E402


def sleepy(x: pa.Array) -> pa.Array:
    from rdd.task_context import TaskContext

    log = os.environ.get("SLEEPY_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"start {time.time()}\n")
    deadline = time.monotonic() + float(os.environ.get("SLEEPY_SECONDS", "0.5"))
    context = TaskContext.get()
    while time.monotonic() < deadline:
        if context is not None:
            context.check_interrupted()
        time.sleep(0.02)
    if log:
        with open(log, "a") as f:
            f.write(f"end {time.time()}\n")
    return x


_original_init = backends.EmbeddedBackend.__init__


def _init(self: backends.EmbeddedBackend, *args: object, **kwargs: object) -> None:
    _original_init(self, *args, **kwargs)  # type: ignore[arg-type]
    table = pa.table({"x": pa.array(range(400), pa.int64())})
    self.conn.session.register_arrow("slow", table, rows_per_split=10)
    self.conn.register_udf("sleepy", sleepy, "bigint")


backends.EmbeddedBackend.__init__ = _init  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(sql.shell.main(sys.argv[1:]))
