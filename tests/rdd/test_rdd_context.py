"""Context: construction, masters, sources (parallelize, range, textFile, ...), files, jobs."""

from __future__ import annotations

import gzip
import os
import threading
import time

import pytest

import rdd
from rdd import Context, TaskContext
from rddtestlib import hadoop_lines, slices

pytestmark = pytest.mark.timeout(120)


# -- masters and lifecycle ------------------------------------------------------------------


@pytest.mark.parametrize(
    "master, expected",
    [("local", 1), ("local[2]", 2), ("local[3]", 3), ("local[*]", os.cpu_count()), ("local-cluster[2]", 2)],
)
def test_masters_default_parallelism_and_run(make_context, master, expected):
    ctx = make_context(master)
    assert ctx.defaultParallelism == expected
    data = list(range(50))
    r = ctx.parallelize(data)
    assert r.getNumPartitions() == expected
    assert r.map(lambda x: x * 2).collect() == [x * 2 for x in data]


def test_local_runs_tasks_in_driver_process(thread_sc):
    pids = thread_sc.parallelize(range(8), 4).mapPartitions(lambda it: [os.getpid()]).collect()
    assert set(pids) == {os.getpid()}


def test_local_cluster_runs_tasks_in_worker_processes(cluster_sc):
    pids = set(cluster_sc.parallelize(range(40), 8).mapPartitions(lambda it: [os.getpid()]).collect())
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2
    backend = getattr(cluster_sc, "backend", None)
    assert backend is not None and hasattr(backend, "worker_pids"), "hook missing: ctx.backend.worker_pids()"
    assert pids <= set(backend.worker_pids())


def test_invalid_master_is_rejected_naming_it():
    with pytest.raises(Exception) as err:
        Context("bogus-master[7]")
    assert "bogus-master[7]" in str(err.value)


def test_context_manager_stops_and_stopped_context_refuses_work(make_context):
    with Context("local[2]") as ctx:
        assert ctx.parallelize([1, 2, 3]).sum() == 6
    with pytest.raises(Exception):
        ctx.parallelize([1, 2, 3]).count()
    ctx.stop()  # idempotent, like SparkContext.stop()


def test_stop_terminates_worker_processes(make_context):
    ctx = make_context("local-cluster[2]")
    assert ctx.parallelize(range(4), 2).count() == 4
    pids = list(ctx.backend.worker_pids())
    assert len(pids) == 2
    ctx.stop()
    deadline = time.time() + 10
    alive = pids
    while alive and time.time() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.05)
    assert not alive, f"worker processes {alive} survived Context.stop()"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child counts as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_conf_dict_and_conf_object(make_context):
    conf = rdd.Conf().set("spark.default.parallelism", 3)
    assert conf.get("spark.default.parallelism") == "3"
    assert conf.get("missing", "dflt") == "dflt"
    ctx = make_context("local[2]", conf=conf)
    assert ctx.defaultParallelism == 3
    assert ctx.parallelize(range(9)).getNumPartitions() == 3


# -- parallelize / range / emptyRDD ------------------------------------------------------------


@pytest.mark.parametrize("n, slices_", [(0, 3), (1, 4), (5, 2), (10, 3), (7, 7), (17, 5), (3, 8)])
def test_parallelize_slices_like_spark(sc, n, slices_):
    data = [f"v{i}" for i in range(n)]
    r = sc.parallelize(data, slices_)
    assert r.getNumPartitions() == slices_
    assert r.glom().collect() == slices(data, slices_)


def test_parallelize_pyspark_doc_examples(sc):
    assert sc.parallelize([0, 2, 3, 4, 6], 5).glom().collect() == [[0], [2], [3], [4], [6]]
    assert sc.parallelize(range(0, 6, 2), 5).glom().collect() == [[], [0], [], [2], [4]]


def test_parallelize_generator_and_default_slices(sc):
    r = sc.parallelize(x * x for x in range(6))
    assert r.collect() == [0, 1, 4, 9, 16, 25]
    assert sc.parallelize([1, 2, 3]).getNumPartitions() == sc.defaultParallelism


def test_range(sc):
    assert sc.range(5).collect() == [0, 1, 2, 3, 4]
    assert sc.range(2, 4).collect() == [2, 3]
    assert sc.range(1, 7, 2).collect() == [1, 3, 5]
    assert sc.range(10, 0, -3).collect() == [10, 7, 4, 1]
    assert sc.range(0).collect() == []
    r = sc.range(0, 100, 1, 7)
    assert r.getNumPartitions() == 7
    assert r.glom().collect() == slices(range(100), 7)
    assert r.count() == 100


def test_empty_rdd(sc):
    e = sc.emptyRDD()
    assert e.getNumPartitions() == 0
    assert e.collect() == []
    assert e.count() == 0
    assert e.glom().collect() == []
    assert sc.parallelize([], 3).glom().collect() == [[], [], []]


def test_union_of_many(sc):
    a = sc.parallelize([1, 2], 2)
    b = sc.parallelize([3], 1)
    c = sc.parallelize(["x", "y", "z"], 3)
    u = sc.union([a, b, c])
    assert u.getNumPartitions() == 6
    assert u.collect() == [1, 2, 3, "x", "y", "z"]
    assert sc.union([a]).collect() == [1, 2]


# -- textFile ------------------------------------------------------------------------------------


def _lines_text(n_lines: int = 1500) -> str:
    words = ["alpha", "béta", "γάμμα", "中文字", "emoji🙂", "", "x" * 300, "tab\tsep", "z"]
    lines = [f"{i}:{words[(i * 7) % len(words)] * (1 + i % 3)}" for i in range(n_lines)]
    lines[100] = ""  # empty lines survive
    lines[101] = ""
    lines[500] = "y" * 5000  # a line longer than most splits
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def big_text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "big.txt"
    text = _lines_text()
    path.write_bytes(text.encode("utf-8"))
    return str(path), hadoop_lines(text)


@pytest.mark.parametrize("min_partitions", [1, 2, 3, 4, 5, 7, 8, 13, 16, 31, 64, 101])
def test_textfile_splits_lose_and_duplicate_no_line(thread_sc, big_text_file, min_partitions):
    path, expected = big_text_file
    r = thread_sc.textFile(path, min_partitions)
    n = r.getNumPartitions()
    assert min_partitions <= n <= min_partitions + 1, n  # Hadoop: goal size = total / minPartitions
    assert r.collect() == expected
    assert r.count() == len(expected)


def test_textfile_splits_on_worker_processes(cluster_sc, big_text_file):
    path, expected = big_text_file
    r = cluster_sc.textFile(path, 9)
    assert r.getNumPartitions() >= 9
    assert r.collect() == expected


def test_textfile_default_min_partitions(sc, big_text_file):
    path, expected = big_text_file
    r = sc.textFile(path)
    assert r.getNumPartitions() >= min(sc.defaultParallelism, 2)
    assert r.collect() == expected


@pytest.mark.parametrize(
    "content",
    [
        "a\nb\nc",  # no trailing newline
        "a\nb\nc\n",
        "\n\n\n",  # only empty lines
        "a\n\nb\n\n",  # empty lines, including the last one
        "",  # empty file
        "single",
        "crlf1\r\ncrlf2\r\n\r\nlast\r\n",  # CRLF terminators are stripped like Hadoop
        "mixed\r\nlf\ncr-lf-end\r\n",
    ],
    ids=["no-trailing-nl", "trailing-nl", "only-empty", "empty-lines", "empty-file", "single",
         "crlf", "mixed"],
)
@pytest.mark.parametrize("min_partitions", [1, 3, 7])
def test_textfile_line_edge_cases(thread_sc, tmp_path, content, min_partitions):
    path = tmp_path / "f.txt"
    path.write_bytes(content.encode())
    assert thread_sc.textFile(str(path), min_partitions).collect() == hadoop_lines(content)


def test_textfile_crlf_at_every_split_offset(thread_sc, tmp_path):
    # A CRLF file whose \r and \n may land on both sides of many split boundaries.
    lines = [("w" * (i % 11)) for i in range(400)]
    text = "\r\n".join(lines) + "\r\n"
    path = tmp_path / "crlf.txt"
    path.write_bytes(text.encode())
    for mp in (2, 5, 9, 17, 33):
        assert thread_sc.textFile(str(path), mp).collect() == lines, mp


def test_textfile_directory_skips_hidden_and_underscore_files(sc, tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    (d / "a.txt").write_text("a1\na2\n")
    (d / "b.txt").write_text("b1\n")
    (d / "c.log").write_text("c1\nc2")
    (d / "_SUCCESS").write_text("")
    (d / ".hidden.crc").write_text("junk\n")
    (d / "_temporary_marker").write_text("junk\n")
    assert sorted(sc.textFile(str(d)).collect()) == ["a1", "a2", "b1", "c1", "c2"]


def test_textfile_glob_and_comma_list(sc, tmp_path):
    for name, body in [("x1.txt", "1\n2\n"), ("x2.txt", "3\n"), ("y.csv", "no\n")]:
        (tmp_path / name).write_text(body)
    assert sorted(sc.textFile(str(tmp_path / "x*.txt")).collect()) == ["1", "2", "3"]
    both = f"{tmp_path / 'x1.txt'},{tmp_path / 'y.csv'}"
    assert sorted(sc.textFile(both).collect()) == ["1", "2", "no"]


def test_textfile_gzip(sc, tmp_path):
    lines = [f"line {i} ü" for i in range(2000)]
    path = tmp_path / "data.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    r = sc.textFile(str(path), 4)
    assert r.collect() == lines
    plain = tmp_path / "plain.txt"
    plain.write_text("p1\np2\n")
    assert sorted(sc.textFile(f"{tmp_path}/*").collect()) == sorted(lines + ["p1", "p2"])


def test_textfile_missing_path_names_it(sc, tmp_path):
    missing = str(tmp_path / "no" / "such" / "file.txt")
    with pytest.raises(Exception) as err:
        sc.textFile(missing).collect()
    assert missing in str(err.value)
    with pytest.raises(Exception) as err:
        sc.textFile(str(tmp_path / "nomatch*.txt")).collect()
    assert "nomatch" in str(err.value)


# -- wholeTextFiles -------------------------------------------------------------------------------


def _norm(path: str) -> str:
    if path.startswith("file://"):
        path = path[len("file://"):]
    elif path.startswith("file:"):
        path = path[len("file:"):]
    return os.path.realpath(path)


def test_whole_text_files(sc, tmp_path):
    files = {"one.txt": "1\n2\n", "two.txt": "two\r\nlines", "empty.txt": "", "uni.txt": "ü€🙂\n"}
    for name, body in files.items():
        (tmp_path / name).write_bytes(body.encode())
    (tmp_path / "_SUCCESS").write_text("")
    r = sc.wholeTextFiles(str(tmp_path), 2)
    got = {_norm(k): v for k, v in r.collect()}
    want = {os.path.realpath(tmp_path / n): b for n, b in files.items()}
    assert got == want


def test_whole_text_files_missing_path(sc, tmp_path):
    with pytest.raises(Exception) as err:
        sc.wholeTextFiles(str(tmp_path / "absent")).collect()
    assert "absent" in str(err.value)


# -- broadcast / accumulator (basics; guarantees in test_rdd_shared_variables.py) ------------------


def test_broadcast_basics(sc):
    b = sc.broadcast({"a": 1, "b": 2})
    assert b.value == {"a": 1, "b": 2}
    assert sorted(sc.parallelize(["a", "b", "a"], 2).map(lambda k: b.value[k]).collect()) == [1, 1, 2]
    b.unpersist()
    b.destroy()


def test_accumulator_basics(sc):
    acc = sc.accumulator(0)
    sc.parallelize(range(10), 3).foreach(lambda x: acc.add(x))
    assert acc.value == 45

    facc = sc.accumulator(1.5)
    def bump(x):
        a = facc
        a += 1.0  # PySpark programs use `acc += v` inside tasks
    sc.parallelize(range(4), 2).foreach(bump)
    assert facc.value == 5.5


# -- addFile / SparkFiles -----------------------------------------------------------------------


def test_add_file_and_sparkfiles_get_in_tasks(sc, tmp_path):
    src = tmp_path / "lookup.txt"
    src.write_text("100\n")
    sc.addFile(str(src))

    def use(x):
        from rdd import SparkFiles
        with open(SparkFiles.get(src.name)) as f:
            return x + int(f.read())

    assert sc.parallelize([1, 2, 3], 3).map(use).collect() == [101, 102, 103]


def test_sparkfiles_on_the_driver_follow_the_live_context(make_context, tmp_path):
    """The driver can read added files too; a second Context created and stopped meanwhile
    must not redirect SparkFiles of the first (Lamna allows several live Contexts)."""
    src = tmp_path / "driver-side.txt"
    src.write_text("7\n")
    a = make_context("local[2]")
    a.addFile(str(src))
    assert open(rdd.SparkFiles.get(src.name)).read() == "7\n"
    b = make_context("local[1]")
    b.stop()
    assert isinstance(rdd.SparkFiles.getRootDirectory(), str)
    assert open(rdd.SparkFiles.get(src.name)).read() == "7\n"


# -- runJob, TaskContext, job groups, statusTracker ---------------------------------------------


def test_run_job(sc):
    r = sc.parallelize(range(6), 3)
    assert sc.runJob(r, lambda it: [x * x for x in it]) == [0, 1, 4, 9, 16, 25]
    assert sc.runJob(r, lambda it: [sum(it)], partitions=[0, 2]) == [1, 9]


def test_task_context(sc):
    from rdd import TaskContext

    assert TaskContext.get() is None

    def info(index, it):
        tc = TaskContext.get()
        yield (index, tc.partitionId(), tc.attemptNumber(), isinstance(tc.stageId(), int))

    got = sc.parallelize(range(4), 4).mapPartitionsWithIndex(info).collect()
    assert got == [(i, i, 0, True) for i in range(4)]


def test_cancel_job_group(sc):
    from rdd import TaskContext

    outcome = {}

    def slow(it):
        tc = TaskContext.get()
        for _ in range(400):  # up to 20 s if never cancelled
            tc.check_interrupted()
            time.sleep(0.05)
        yield 1

    def run():
        sc.setJobGroup("cancel-me", "a job to cancel")
        t0 = time.time()
        try:
            sc.parallelize(range(2), 2).mapPartitions(slow).collect()
            outcome["result"] = "finished"
        except BaseException as exc:  # noqa: BLE001
            outcome["result"] = exc
        outcome["elapsed"] = time.time() - t0

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(1.0)
    sc.cancelJobGroup("cancel-me")
    t.join(15)
    assert not t.is_alive(), "cancelled job did not stop"
    assert isinstance(outcome["result"], Exception), outcome
    assert outcome["elapsed"] < 10
    # the context is still usable afterwards
    assert sc.parallelize(range(5), 2).sum() == 10


def test_status_tracker_reports_jobs_and_stages(sc):
    sc.setJobGroup("tracked", "a tracked job")
    sc.parallelize([(i % 3, i) for i in range(30)], 3).reduceByKey(lambda a, b: a + b).collect()
    st = sc.statusTracker()
    job_ids = st.getJobIdsForGroup("tracked")
    assert job_ids
    info = st.getJobInfo(job_ids[-1])
    assert str(info.status).upper().endswith("SUCCEEDED")
    assert len(info.stageIds) == 2  # one shuffle: map stage + result stage
    for sid in info.stageIds:
        stage = st.getStageInfo(sid)
        assert stage.numTasks == 3
        assert stage.numCompletedTasks == 3
        assert stage.currentAttemptId == 0


def _count_read(it):
    """A source that reports what it read, once per partition (as scans do per batch)."""
    items = list(it)
    TaskContext.get().taskMetrics().inc_records_read(len(items))
    return iter(items)


def test_status_tracker_sums_records_read_per_stage(sc):
    sc.setJobGroup("records", "records read")
    data = sc.parallelize(range(50), 5).mapPartitions(_count_read)
    data.map(lambda x: (x % 4, 1)).reduceByKey(lambda a, b: a + b).collect()
    st = sc.statusTracker()
    job = st.getJobInfo(st.getJobIdsForGroup("records")[-1])
    per_stage = [st.getStageInfo(sid).inputRecords for sid in job.stageIds]
    assert sorted(per_stage) == [0, 50]  # the map stage read 50 records; the reduce stage none


def test_textfile_of_an_empty_directory_is_empty(sc, tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    (d / "_SUCCESS").write_text("")
    assert sc.textFile(str(d)).collect() == []
    assert sc.wholeTextFiles(str(d)).collect() == []
