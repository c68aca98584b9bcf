"""Where does an example's time go?  Samples one example on one engine with py-spy
(every process: driver, worker processes, PySpark's Python workers) and prints the
functions with the largest self and inclusive share of the samples, as ``file:function``.

    python -m bench.profile --engine lamna-processes --example wordcount [--scale 0.25]
    python -m bench.profile --summarize bench/results/profile-....txt

Needs ``py-spy`` (``pip install py-spy``). Only on-CPU samples are counted (py-spy
drops idle threads), so the percentages are of CPU time, not of wall time.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _key(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("/site-packages/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3.":
                path = "stdlib/" + path.split("/", 1)[-1]
            break
    if path.startswith(str(REPO_ROOT) + "/"):
        path = path[len(str(REPO_ROOT)) + 1 :]
    return f"{path}:{m.group('func')}"


# Leaf frames that are a thread blocked in a system call, which py-spy may still sample.
_IDLE = (
    ":Connection._recv", ":Condition.wait", ":Popen._wait", ":socket.accept", ":Event.wait",
    ":Thread.join", ":_wait_for_tstate_lock", ":select", ":poll", ":BaseSelector.select",
    ":EpollSelector.select", ":socket.recv_into", ":socket.recv", ":SocketIO.readinto",
    ":_ConnectionBase.recv_bytes", ":Queue.get", ":SimpleQueue.get", ":_worker",
    ":FinalizerWorker.run", ":UpdateRequestHandler.handle.<locals>.poll",
    ":_PollLikeSelector.select", "daemon.py:manager", ":read_int", ":launch_gateway",
)


def _role(process_frame: str) -> str:
    cmd = process_frame.split(":", 1)[-1]
    if "bench.rdd_examples" in cmd and "--worker" not in cmd:
        return "orchestrator"  # data generation and bookkeeping, not the engine
    if "bench.rdd_examples" in cmd:
        return "driver"
    if "rdd.executor.worker" in cmd:
        return "lamna worker"
    if "pyspark" in cmd:
        return "pyspark python worker"
    return "other"


def summarize(raw_path: str, top: int = 25, rate: int = 50, out=sys.stdout) -> None:
    self_t: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    per_process: collections.Counter = collections.Counter()
    total = idle = 0
    with open(raw_path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            try:
                n = int(count)
            except ValueError:
                continue
            frames = stack.split(";")
            procs = [f for f in frames if f.startswith("process ")]
            frames = [f for f in frames if not f.startswith(("process ", "thread "))]
            role = _role(procs[-1] if procs else "")
            if not frames or role == "orchestrator":
                continue
            leaf = _key(frames[-1])
            if leaf.endswith(_IDLE):
                idle += n
                continue
            total += n
            per_process[role] += n
            self_t[leaf] += n
            for k in set(_key(fr) for fr in frames):
                incl[k] += n
    if not total:
        print("no samples", file=out)
        return
    print(f"{total} on-CPU samples = {total / rate:.1f} CPU-s at {rate} Hz ({idle} more in "
          "blocking waits, left out); by process: "
          + ", ".join(f"{k} {v / total:.0%}" for k, v in per_process.most_common()), file=out)
    print(f"\nself time (top {top}):", file=out)
    for k, v in self_t.most_common(top):
        print(f"  {v / total:6.1%} {v / rate:7.1f}s  {k}", file=out)
    print(f"\ninclusive time (top {top}, frames under {REPO_ROOT.name}/ or user code):", file=out)
    shown = 0
    for k, v in incl.most_common():
        if k.startswith(("stdlib/", "<frozen")):
            continue
        print(f"  {v / total:6.1%} {v / rate:7.1f}s  {k}", file=out)
        shown += 1
        if shown >= top:
            break


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="lamna-processes")
    ap.add_argument("--example", default="wordcount")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--rate", type=int, default=50, help="samples per second per process")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--summarize", help="only summarize an existing raw py-spy file")
    ap.add_argument("extra", nargs="*", help="further arguments for bench.rdd_examples (after --)")
    args = ap.parse_args(argv)
    if args.summarize:
        summarize(args.summarize, args.top, args.rate)
        return 0
    results = BENCH_DIR / "results"
    results.mkdir(parents=True, exist_ok=True)
    raw = results / f"profile-{args.example}-{args.engine}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.txt"
    pyspy = Path(sys.executable).with_name("py-spy")
    cmd = [
        str(pyspy if pyspy.exists() else "py-spy"), "record", "--subprocesses", "--format", "raw",
        "--rate", str(args.rate), "-o", str(raw), "--",
        sys.executable, "-m", "bench.rdd_examples", "--engines", args.engine,
        "--examples", args.example, "--runs", str(args.runs), "--scale", str(args.scale),
        *args.extra,
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    subprocess.run(cmd, cwd=str(REPO_ROOT), env=env, check=False)
    print(f"\nraw samples: {raw}\n")
    summarize(str(raw), args.top, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
