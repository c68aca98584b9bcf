"""A load script for the server (a benchmark, never a timed test).

    python -m server.loadtest --port 5433 --user alice --password … \\
        --clients 4,16,64 --duration 120 --short "SELECT * FROM t WHERE id = {i}" \\
        --long-file tpch_queries.sql [--server-pid PID]

For each client count, ``N`` connections run for ``--duration`` seconds: one in four runs
the long queries (statements of ``--long-file``, separated by ``;``, e.g. the TPC-H
queries), the others short point queries (``{i}`` replaced by a random integer). It
reports throughput, latency percentiles of the short queries while long ones run (the
fairness figure), errors, and the server's resident memory over time (``--server-pid``).
Needs psycopg (a test dependency).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Tally:
    short_latencies: list[float] = field(default_factory=list)
    long_latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _client(dsn: str, long_role: bool, short_sql: str, long_sql: list[str], stop: float, tally: Tally,
            seed: int) -> None:
    import psycopg
    rng = random.Random(seed)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.monotonic() < stop:
                sql = rng.choice(long_sql) if long_role and long_sql else short_sql.replace(
                    "{i}", str(rng.randrange(1, 1000)))
                started = time.monotonic()
                try:
                    conn.execute(sql).fetchall()
                except psycopg.Error as ex:
                    with tally.lock:
                        tally.errors.append(f"{type(ex).__name__}: {ex}"[:200])
                    continue
                elapsed = time.monotonic() - started
                with tally.lock:
                    (tally.long_latencies if long_role else tally.short_latencies).append(elapsed)
    except Exception as ex:  # connection-level failure: counted, the run goes on
        with tally.lock:
            tally.errors.append(f"connect: {ex}"[:200])


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run(dsn: str, clients: int, duration: float, short_sql: str, long_sql: list[str], pid: int | None) -> None:
    tally = Tally()
    stop = time.monotonic() + duration
    threads = [threading.Thread(target=_client, args=(dsn, i % 4 == 0, short_sql, long_sql, stop, tally, i))
               for i in range(clients)]
    for t in threads:
        t.start()
    memory = []
    while any(t.is_alive() for t in threads):
        rss = _rss_mb(pid)
        if rss is not None:
            memory.append(rss)
        time.sleep(1)
    for t in threads:
        t.join()
    s = tally.short_latencies
    print(f"clients={clients} duration={duration:.0f}s short={len(s)} long={len(tally.long_latencies)} "
          f"throughput={(len(s) + len(tally.long_latencies)) / duration:.1f}/s errors={len(tally.errors)}")
    if s:
        print(f"  short latency ms: p50={_percentile(s, 50) * 1000:.1f} p95={_percentile(s, 95) * 1000:.1f} "
              f"p99={_percentile(s, 99) * 1000:.1f} mean={statistics.mean(s) * 1000:.1f}")
    if tally.long_latencies:
        print(f"  long latency s: p50={_percentile(tally.long_latencies, 50):.2f} "
              f"max={max(tally.long_latencies):.2f}")
    if memory:
        print(f"  server RSS MB: start={memory[0]:.0f} max={max(memory):.0f} end={memory[-1]:.0f}")
    for e in sorted(set(tally.errors))[:5]:
        print(f"  error: {e}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m server.loadtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5433)
    p.add_argument("--user", required=True)
    p.add_argument("--password", default="")
    p.add_argument("--database", default="lamna")
    p.add_argument("--clients", default="4,16,64")
    p.add_argument("--duration", type=float, default=120)
    p.add_argument("--short", required=True, help="a point query; {i} becomes a random integer")
    p.add_argument("--long-file", help="long queries separated by ';'")
    p.add_argument("--server-pid", type=int)
    args = p.parse_args(argv)
    long_sql: list[str] = []
    if args.long_file:
        with open(args.long_file) as f:
            long_sql = [q.strip() for q in f.read().split(";") if q.strip()]
    dsn = f"host={args.host} port={args.port} user={args.user} password={args.password} dbname={args.database}"
    for n in (int(x) for x in args.clients.split(",")):
        run(dsn, n, args.duration, args.short, long_sql, args.server_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
