"""A job of one task runs in the thread that submitted it (not the main thread), and
can still be cancelled; jobs of several tasks or stages keep using the task threads."""

from __future__ import annotations

import threading
import time

from rdd import TaskContext

INLINE = "lamna.task.inline"


def _in_thread(fn):
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as ex:
            out["error"] = ex
    t = threading.Thread(target=run, name="submitter")
    t.start()
    return t, out


def _thread_names(it):
    yield threading.current_thread().name


def test_one_task_job_runs_in_the_submitting_thread(thread_sc):
    t, out = _in_thread(lambda: thread_sc.parallelize([1, 2, 3], 1).mapPartitions(_thread_names).collect())
    t.join(30)
    assert out["value"] == ["submitter"]


def test_the_main_thread_and_bigger_jobs_use_task_threads(thread_sc):
    assert thread_sc.parallelize([1], 1).mapPartitions(_thread_names).collect()[0].startswith("lamna-task")
    t, out = _in_thread(lambda: thread_sc.parallelize(range(4), 2).mapPartitions(_thread_names).collect())
    t.join(30)
    assert all(name.startswith("lamna-task") for name in out["value"])  # type: ignore[union-attr]
    shuffled = lambda: (thread_sc.parallelize([(1, 1), (1, 2)], 1).reduceByKey(lambda a, b: a + b, 1)
                        .mapPartitions(_thread_names).collect())
    t, out = _in_thread(shuffled)
    t.join(30)
    assert out["value"][0].startswith("lamna-task")  # type: ignore[index]


def test_the_property_turns_it_off(thread_sc):
    def job():
        thread_sc.setLocalProperty(INLINE, "false")
        return thread_sc.parallelize([1], 1).mapPartitions(_thread_names).collect()
    t, out = _in_thread(job)
    t.join(30)
    assert out["value"][0].startswith("lamna-task")  # type: ignore[index]


def test_a_task_running_in_the_submitting_thread_is_cancelled(thread_sc):
    started = threading.Event()

    def slow(it):
        started.set()
        context = TaskContext.get()
        for _ in range(400):  # 20 s unless cancelled
            context.check_interrupted()
            time.sleep(0.05)
        yield threading.current_thread().name

    def job():
        thread_sc.setJobGroup("inline-cancel", "one slow task")
        return thread_sc.parallelize([1], 1).mapPartitions(slow).collect()
    t, out = _in_thread(job)
    assert started.wait(10)
    cancelled_at = time.monotonic()
    thread_sc.cancelJobGroup("inline-cancel")
    t.join(15)
    assert not t.is_alive()
    assert "error" in out and "cancel" in str(out["error"]).lower(), out
    assert time.monotonic() - cancelled_at < 5
    assert thread_sc.parallelize(range(5), 2).sum() == 10
