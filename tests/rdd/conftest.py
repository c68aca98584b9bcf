"""Fixtures for the rdd tests.

``sc`` is a Context on each executor backend: threads (``local[2]``) and worker processes
(``local-cluster[2]``). ``master`` is session-scoped and parametrized so pytest groups the
tests per backend; one Context per backend is alive at a time (``_POOL``) so an engine that
allows a single active Context (like PySpark) still works. Tests that need their own
Context (special conf, fault injection) use ``make_context``, which stops the pooled one first.
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
    def __init__(self) -> None:
        self.ctx = None
        self.master = None

    def get(self, master: str):
        from rdd import Context

        if self.ctx is not None and self.master == master:
            return self.ctx
        self.release()
        self.ctx = Context(master, appName="lamna-rdd-tests")
        self.master = master
        return self.ctx

    def release(self) -> None:
        ctx, self.ctx, self.master = self.ctx, None, None
        if ctx is not None:
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


@pytest.fixture
def make_context():
    """Factory for a private Context; stops it (and frees the pooled one) around the test."""
    from rdd import Context

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
