"""Fixtures for the rdd tests.

``sc`` is a Context on each executor backend: threads (``local[2]``) and worker processes
(``local-cluster[2]``). ``master`` is session-scoped and parametrized so pytest groups the
tests per backend; one Context per backend is alive at a time (``_POOL``). Tests that need their own
Context (special conf, fault injection) use ``make_context``; with RDD_TESTS_ONE_CONTEXT=1
it stops the pooled one first, for engines that allow a single live Context (PySpark).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cloudpickle
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

import rddtestlib  # noqa: E402

cloudpickle.register_pickle_by_value(rddtestlib)

BACKENDS = {"threads": "local[2]", "processes": "local-cluster[2]"}


class _Pool:
    """Long-lived Contexts keyed by (master, memory budget), created on first use."""

    def __init__(self) -> None:
        self.contexts: dict[tuple[str, str | None], object] = {}

    def get(self, master: str, memory: str | None = None):
        from rdd import Context

        key = (master, memory)
        if key not in self.contexts:
            if os.environ.get("RDD_TESTS_ONE_CONTEXT"):
                self.release()
            conf = {"lamna.storage.memory": memory} if memory else None
            self.contexts[key] = Context(master, appName="lamna-rdd-tests", conf=conf)
        return self.contexts[key]

    def release(self) -> None:
        contexts, self.contexts = self.contexts, {}
        for ctx in contexts.values():
            ctx.stop()


_POOL = _Pool()
_BY_VALUE: set[str] = set()


@pytest.fixture(autouse=True)
def _test_module_pickled_by_value(request):
    """Worker processes cannot import test modules: ship their functions/classes by value."""
    module = request.module
    if module is not None and module.__name__ not in _BY_VALUE and module.__name__ in sys.modules:
        cloudpickle.register_pickle_by_value(module)
        _BY_VALUE.add(module.__name__)
    yield


@pytest.fixture(scope="session", autouse=True)
def _stop_pool_at_end():
    yield
    _POOL.release()


@pytest.fixture(scope="session", params=list(BACKENDS.values()), ids=list(BACKENDS))
def master(request):
    return request.param


@pytest.fixture
def sc(master):
    return _POOL.get(master)


@pytest.fixture
def thread_sc():
    return _POOL.get(BACKENDS["threads"])


@pytest.fixture
def cluster_sc():
    return _POOL.get(BACKENDS["processes"])


#: the memory budget of ``small_memory_sc``: one 40 KiB partition fits three times, a
#: 160 KiB partition never.
SMALL_MEMORY = "128k"


@pytest.fixture
def small_memory_sc(master):
    """A Context whose executors each have a 128 KiB block-manager budget."""
    return _POOL.get(master, SMALL_MEMORY)


@pytest.fixture
def make_context():
    """Factory for a private Context; stops it (and frees the pooled one) around the test."""
    from rdd import Context

    if os.environ.get("RDD_TESTS_ONE_CONTEXT"):  # for engines that allow one live Context
        _POOL.release()
    made = []

    def make(master: str = "local[2]", **kwargs):
        ctx = Context(master, **kwargs)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        try:
            ctx.stop()
        except Exception:  # noqa: BLE001 - a second stop must not mask the test's result
            pass


@pytest.fixture
def log(tmp_path):
    return rddtestlib.CallLog(tmp_path / "calls.log")
