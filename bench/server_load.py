"""The query server under load (a benchmark, never a test).

    python -m bench.server_load [--sf 0.1] [--clients 4,16,64] [--duration 60]
        [--long-share 0.25] [--master local[2]] [--max-queries 8] [--queries 1,3,...]
        [--think-ms 0] [--workers N] [--query-processes N] [--client-processes 1]

Prepares TPC-H data once (``lamna tpch gen`` and ``lamna tpch load --as parquet`` into
``bench/data/server-load/``), starts ``lamna serve`` on it (trust, loopback), caches the
point-query table (``CACHE TABLE customer``), then for each client count N runs N
psycopg clients for ``--duration`` seconds: a share of them (``--long-share``) run TPC-H
queries one after another, the others short point queries on the cached table
(``SELECT … FROM customer WHERE c_custkey = <random>``). One server serves every level,
so its memory is followed across all of them.

With ``--think-ms 0`` (the default) every client sends its next query as soon as the
last one answered: a saturation test, where by Little's law a short query's latency is
the number of clients over the throughput. ``--think-ms T`` makes the point-query
clients pause a random time (exponential, mean T ms) between queries, as people and
dashboards do: the latency then measures how a short query fares beside TPC-H at a load
the server can carry, which is what fairness is about.

Reported per level: throughput; latency percentiles of the short queries, all of them
and those that ran while a TPC-H query was in flight at their start and at their end
(the fairness figure); TPC-H latencies; errors; the server's resident memory (sampled
every second), the load average and the CPU time of the server's own process. A JSON file with every figure goes to
``bench/results/``; the Markdown table printed at the end is what docs/benchmarks.md
quotes. Needs psycopg (a test dependency).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import queue
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "server-load"
RESULTS = ROOT / "bench" / "results"
#: TPC-H queries of one statement (q15 creates and drops a view: not safe across clients).
DEFAULT_QUERIES = tuple(n for n in range(1, 23) if n != 15)
SHORT = "SELECT c_name, c_acctbal, c_mktsegment FROM customer WHERE c_custkey = {key}"


@dataclass
class Level:
    """What one client count measured."""

    clients: int
    long_clients: int
    duration: float
    short: list[float] = field(default_factory=list)
    short_beside_long: list[float] = field(default_factory=list)
    #: when each short query started (seconds into the level): where slow ones cluster
    short_at: list[float] = field(default_factory=list)
    long: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    server_cpu_s: float = 0.0


def _rss_mb(pid: int) -> float | None:
    """Resident memory of the server and its worker and query processes (its descendants)."""
    total, found = 0.0, False
    for each in _tree(pid):
        try:
            with open(f"/proc/{each}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
                        found = True
        except OSError:
            continue
    return total if found else None


def _cpu_s(pid: int) -> float:
    """CPU seconds the server's own process has used (its interpreter: what short queries
    queue for), not its worker and query processes'."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        each = stack.pop()
        pids.append(each)
        try:
            for task in os.listdir(f"/proc/{each}/task"):
                with open(f"/proc/{each}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return pids


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- data and server


def _lamna(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, check=True)


def prepare(sf: float) -> tuple[Path, str]:
    """Generated and loaded TPC-H data (once): the warehouse and the database name."""
    data = DATA / f"sf{sf:g}-parquet"
    warehouse = DATA / f"warehouse-sf{sf:g}"
    database = "tpch_sf" + f"{sf:g}".replace(".", "_")
    if not data.exists():
        _lamna("tpch", "gen", "--sf", f"{sf:g}", "--format", "parquet", "--out", str(data))
    if not (warehouse / ".loaded").exists():
        _lamna("tpch", "load", "--sf", f"{sf:g}", "--as", "parquet", "--data", str(data),
               "--warehouse", str(warehouse), "--database", database)
        (warehouse / ".loaded").write_text(database)
    return warehouse, database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(warehouse: Path, master: str, max_queries: int, log: Path,
                 workers: int | None = None, query_processes: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.main", "--trust", "--port", str(port), "--warehouse", str(warehouse),
         "--master", master, "--max-queries", str(max_queries), "--max-connections", "200",
         "--log-level", "WARNING", *(["--workers", str(workers)] if workers is not None else []),
         *(["--query-processes", str(query_processes)] if query_processes is not None else [])],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start listening")


# ---------------------------------------------------------------- clients


def _client(dsn: str, database: str, long_role: bool, queries: list[str], customers: int, stop: float,
            level: Level, lock: threading.Lock, in_flight: _InFlight, seed: int, think: float) -> None:
    import psycopg

    rng = random.Random(seed)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"USE {database}")
            order = list(queries)
            rng.shuffle(order)
            turn = 0
            while time.monotonic() < stop:
                if long_role:
                    sql = order[turn % len(order)]
                    turn += 1
                    in_flight.add(1)
                else:
                    sql = SHORT.format(key=rng.randrange(1, customers + 1))
                beside = in_flight.count > 0
                started = time.monotonic()
                try:
                    conn.execute(sql).fetchall()
                except psycopg.Error as ex:
                    with lock:
                        level.errors.append(f"{type(ex).__name__}: {ex}"[:200])
                    continue
                finally:
                    if long_role:
                        in_flight.add(-1)
                elapsed = time.monotonic() - started
                with lock:
                    if long_role:
                        level.long.append(elapsed)
                    else:
                        level.short.append(elapsed)
                        level.short_at.append(round(started - level.started, 3))
                        if beside and in_flight.count > 0:
                            level.short_beside_long.append(elapsed)
                if think and not long_role:
                    time.sleep(min(rng.expovariate(1 / think), max(0.0, stop - time.monotonic())))
    except Exception as ex:  # noqa: BLE001 - a connection-level failure is a figure, the run goes on
        with lock:
            level.errors.append(f"connect: {ex}"[:200])


class _InFlight:
    """How many TPC-H queries are running right now, across client threads and
    processes (a counter in shared memory)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    @property
    def count(self) -> int:
        return int(self._value.value)

    def add(self, n: int) -> None:
        with self._value.get_lock():
            self._value.value += n


def _client_group(dsn: str, database: str, indices: list[int], long_clients: int, queries: list[str],
                  customers: int, stop: float, started: float, think: float, clients: int, in_flight: Any,
                  results: Any) -> None:
    """One group of clients (a client process, or the one thread that runs them all in
    this process), each a thread; what they measured goes back on ``results``."""
    level = Level(clients, long_clients, stop - started, started=started)
    lock, shared = threading.Lock(), _InFlight(in_flight)
    threads = [threading.Thread(target=_client, args=(dsn, database, i < long_clients, queries, customers, stop,
                                                     level, lock, shared, 1000 * clients + i, think))
               for i in indices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put({k: getattr(level, k) for k in ("short", "short_beside_long", "short_at", "long", "errors")})


def run_level(dsn: str, database: str, clients: int, long_share: float, duration: float, queries: list[str],
              customers: int, server_pid: int, think: float = 0.0, processes: int = 1) -> Level:
    """``clients`` clients for ``duration`` seconds, as threads of this process or spread
    over ``processes`` client processes (real clients do not share one interpreter lock:
    with 16 threads in one process, a client's own wait for the lock is in its figures)."""
    long_clients = max(1, round(clients * long_share)) if queries and long_share > 0 else 0
    level = Level(clients, long_clients, duration)
    stop = level.started + duration
    groups = max(1, min(processes, clients))
    if groups == 1:  # the clients as threads of this process
        counter, results, runner = multiprocessing.Value("i", 0), queue.Queue(), threading.Thread
    else:
        ctx = multiprocessing.get_context("spawn")
        counter, results, runner = ctx.Value("i", 0), ctx.Queue(), ctx.Process
    runners = [runner(target=_client_group, args=(
        dsn, database, list(range(clients))[k::groups], long_clients, queries, customers, stop, level.started,
        think, clients, counter, results)) for k in range(groups)]
    cpu_before = _cpu_s(server_pid)
    for r in runners:
        r.start()
    parts = []
    while any(r.is_alive() for r in runners) or len(parts) < len(runners):
        rss = _rss_mb(server_pid)
        if rss is not None:
            level.rss_mb.append(round(rss, 1))
        level.load.append(os.getloadavg()[0])
        with contextlib.suppress(queue.Empty):
            while True:
                parts.append(results.get_nowait())
        time.sleep(1)
    for r in runners:
        r.join()
    level.server_cpu_s = round(_cpu_s(server_pid) - cpu_before, 2)
    for part in parts:
        for key, values in part.items():
            getattr(level, key).extend(values)
    return level


# ---------------------------------------------------------------- report


def summary(level: Level) -> dict[str, object]:
    def ms(values: list[float], p: float) -> float:
        return round(_percentile(values, p) * 1000, 1)

    done = len(level.short) + len(level.long)
    return {
        "clients": level.clients, "tpch_clients": level.long_clients, "duration_s": level.duration,
        "queries_per_s": round(done / level.duration, 1),
        "short": len(level.short), "short_p50_ms": ms(level.short, 50), "short_p95_ms": ms(level.short, 95),
        "short_p99_ms": ms(level.short, 99),
        "beside_tpch": len(level.short_beside_long), "beside_p50_ms": ms(level.short_beside_long, 50),
        "beside_p95_ms": ms(level.short_beside_long, 95), "beside_p99_ms": ms(level.short_beside_long, 99),
        "tpch": len(level.long), "tpch_p50_s": round(_percentile(level.long, 50), 2),
        "tpch_max_s": round(max(level.long), 2) if level.long else None,
        "errors": len(level.errors),
        "rss_mb_start": level.rss_mb[0] if level.rss_mb else None,
        "rss_mb_max": max(level.rss_mb) if level.rss_mb else None,
        "rss_mb_end": level.rss_mb[-1] if level.rss_mb else None,
        "load_avg_mean": round(statistics.mean(level.load), 2) if level.load else None,
        "server_cpu_s": level.server_cpu_s,
    }


def markdown(rows: list[dict[str, object]]) -> str:
    head = ("| clients (TPC-H) | queries/s | short p50 / p95 / p99 ms | beside TPC-H p50 / p95 / p99 ms "
            "| TPC-H done, p50 s | errors | server RSS MB start → max → end | load avg | server CPU s |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['clients']} ({r['tpch_clients']}) | {r['queries_per_s']} "
            f"| {r['short_p50_ms']} / {r['short_p95_ms']} / {r['short_p99_ms']} "
            f"| {r['beside_p50_ms']} / {r['beside_p95_ms']} / {r['beside_p99_ms']} "
            f"| {r['tpch']}, {r['tpch_p50_s']} | {r['errors']} "
            f"| {r['rss_mb_start']} → {r['rss_mb_max']} → {r['rss_mb_end']} | {r['load_avg_mean']} "
            f"| {r['server_cpu_s']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.server_load", description=__doc__.split("\n\n")[0])
    p.add_argument("--sf", type=float, default=0.1)
    p.add_argument("--clients", default="4,16,64")
    p.add_argument("--duration", type=float, default=60, help="seconds per client count")
    p.add_argument("--long-share", type=float, default=0.25, help="share of clients running TPC-H queries")
    p.add_argument("--queries", default=",".join(map(str, DEFAULT_QUERIES)), help="TPC-H query numbers")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--workers", type=int, help="the server's worker processes (default: its own, one per core)")
    p.add_argument("--query-processes", type=int,
                   help="the server's query processes (default: its own, one per core)")
    p.add_argument("--max-queries", type=int, default=8, help="the server's cap on queries running at once")
    p.add_argument("--client-processes", type=int, default=1,
                   help="processes the clients are spread over (1: threads of this process)")
    p.add_argument("--think-ms", type=float, default=0.0,
                   help="mean pause of a point-query client between queries (0: closed loop, saturating)")
    args = p.parse_args(argv)

    from tpch import queries as Q
    warehouse, database = prepare(args.sf)
    tpch = [Q.load(int(n), args.sf) for n in args.queries.split(",") if n.strip()]
    texts = [q.statements[q.result_index] for q in tpch if len(q.statements) == 1]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    log = RESULTS / f"server-load-{stamp}.log"
    proc, port = start_server(warehouse, args.master, args.max_queries, log, args.workers, args.query_processes)
    dsn = f"host=127.0.0.1 port={port} user=bench dbname=lamna"
    rows: list[dict[str, object]] = []
    levels: list[Level] = []
    try:
        import psycopg
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"USE {database}")
            conn.execute("CACHE TABLE customer")
            customers = int(conn.execute("SELECT count(*) FROM customer").fetchone()[0])  # type: ignore[index]
        for n in (int(x) for x in args.clients.split(",")):
            level = run_level(dsn, database, n, args.long_share, args.duration, texts, customers, proc.pid,
                              args.think_ms / 1000, args.client_processes)
            levels.append(level)
            rows.append(summary(level))
            print(json.dumps(rows[-1]), flush=True)
            for e in sorted(set(level.errors))[:5]:
                print(f"  error: {e}", flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    out = RESULTS / f"server-load-{stamp}.json"
    out.write_text(json.dumps({"args": vars(args), "cpus": os.cpu_count(), "summary": rows,
                               "levels": [asdict(lv) for lv in levels]}, indent=1))
    print(markdown(rows))
    print(f"results: {out}  server log: {log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
