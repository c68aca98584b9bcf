"""Clear errors and task serialization: every task on local-cluster ships via cloudpickle."""

from __future__ import annotations

import threading

import cloudpickle
import pytest

pytestmark = pytest.mark.timeout(60)


def test_unpicklable_closure_names_the_object(cluster_sc):
    my_lock_obj = threading.Lock()

    def uses_lock(x):
        with my_lock_obj:
            return x

    with pytest.raises(Exception) as err:
        cluster_sc.parallelize([1, 2], 2).map(uses_lock).collect()
    msg = str(err.value)
    assert "lock" in msg.lower(), msg
    assert "serializ" in msg.lower() or "pickl" in msg.lower(), msg
    # and the context is still fine
    assert cluster_sc.parallelize([1, 2], 2).sum() == 3


def test_referencing_context_inside_a_task_fails_clearly(cluster_sc):
    ctx = cluster_sc
    with pytest.raises(Exception) as err:
        ctx.parallelize([1, 2], 2).map(lambda x: ctx.parallelize([x]).count()).collect()
    assert "context" in str(err.value).lower(), str(err.value)


def test_local_cluster_pickles_every_task(cluster_sc):
    """Closures see a copy of their captured state, proving the task went through pickling."""
    box = {"n": 0}

    def bump(x):
        box["n"] += 1
        return id(box)

    ids = cluster_sc.parallelize(range(6), 3).map(bump).collect()
    assert box["n"] == 0
    assert id(box) not in ids


def test_rdd_lineage_does_not_pickle_the_context(sc):
    """Tasks carry lineage, never the driver's Context (threads, schedulers, sockets)."""
    r = sc.parallelize(range(100), 4).map(lambda x: (x % 3, x)).reduceByKey(lambda a, b: a + b).mapValues(str)
    try:
        payload = cloudpickle.dumps(r)
    except Exception as exc:  # RDDs may refuse pickling outright, as in PySpark (SPARK-5063)
        assert "rdd" in str(exc).lower() or "context" in str(exc).lower(), exc
    else:
        assert len(payload) < 20_000, len(payload)
        assert b"Context" not in payload or b"scheduler" not in payload.lower()
    assert sorted(r.collect()) == sorted((k, str(sum(x for x in range(100) if x % 3 == k))) for k in range(3))


def test_map_closure_pickles_small(sc):
    r = sc.parallelize(range(10), 2)
    offset = 5
    f = lambda x: x + offset  # noqa: E731
    payload = cloudpickle.dumps(f)
    assert len(payload) < 5_000
    assert r.map(f).collect() == [x + 5 for x in range(10)]


def test_user_error_type_preserved_for_builtin_exceptions(sc):
    with pytest.raises(ZeroDivisionError):
        sc.parallelize([1, 0], 2).map(lambda x: 1 / x).collect()
    with pytest.raises(TypeError):
        sc.parallelize(["a", 1], 1).reduce(lambda a, b: a + b)


def test_bad_arguments_are_rejected(sc):
    with pytest.raises(Exception):
        sc.parallelize([1, 2, 3], 0).collect()
    with pytest.raises(Exception):
        sc.parallelize([1, 2], 2).sample(False, -0.5).collect()
