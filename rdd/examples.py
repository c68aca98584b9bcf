"""The RDD papers' two opening examples over generated data: ``python -m rdd.examples``.

Word count (a shuffle with map-side combining) and log mining (filter once, cache the
errors, then ask ten questions of the cached RDD, as in the RDD paper's section 2.2.1).
It prints the answers and the time of each query, so the effect of the cache is visible.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from operator import add

from rdd import Context

_WORDS = ("spark shark hive lamna arrow rdd cache shuffle stage task join scan filter "
          "query table column batch worker driver partition").split()
_SERVICES = ("mysql", "hdfs", "kafka", "nginx", "auth", "scheduler", "cache", "billing",
             "search", "mailer")


def generate_text(path: str, lines: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w") as sink:
        for _ in range(lines):
            sink.write(" ".join(rng.choices(_WORDS, k=rng.randint(4, 12))) + "\n")


def generate_logs(path: str, lines: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    levels = ("INFO", "INFO", "INFO", "WARN", "ERROR")
    with open(path, "w") as sink:
        for i in range(lines):
            level, service = rng.choice(levels), rng.choice(_SERVICES)
            sink.write(f"{level}\t{i}\t{service}\t{service} request {rng.randint(1, 999)} took "
                       f"{rng.randint(1, 5000)} ms\n")


def word_count(ctx: Context, path: str) -> list[tuple[str, int]]:
    counts = ctx.textFile(path).flatMap(str.split).map(lambda word: (word, 1)).reduceByKey(add)
    return counts.takeOrdered(5, key=lambda kv: -kv[1])


def log_mining(ctx: Context, path: str) -> list[tuple[str, int, float]]:
    errors = ctx.textFile(path).filter(lambda line: line.startswith("ERROR")).cache()
    answers = []
    for service in _SERVICES:
        start = time.perf_counter()
        count = errors.filter(lambda line, s=service: f"\t{s}\t" in line).count()
        answers.append((service, count, time.perf_counter() - start))
    errors.unpersist()
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lamna demo", description=__doc__.splitlines()[0])
    parser.add_argument("--master", default="local[*]", help="local[N] (threads) or local-cluster[N] (processes)")
    parser.add_argument("--lines", type=int, default=400_000, help="lines of generated text and logs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lamna-demo-") as directory, Context(args.master) as ctx:
        text, logs = os.path.join(directory, "text.txt"), os.path.join(directory, "logs.txt")
        generate_text(text, args.lines)
        generate_logs(logs, args.lines)
        print(f"Lamna RDD demo on {args.master} ({ctx.defaultParallelism} executors' worth of parallelism)")
        start = time.perf_counter()
        print(f"\nWord count over {args.lines:,} lines — top five:")
        for word, count in word_count(ctx, text):
            print(f"  {word:<10} {count:>9,}")
        print(f"  ({time.perf_counter() - start:.2f} s)")
        print("\nLog mining: errors cached once, then ten queries on the cache:")
        for service, count, seconds in log_mining(ctx, logs):
            print(f"  errors mentioning {service:<10} {count:>7,}   {seconds * 1000:7.1f} ms")
        print("\nThe first query reads the file and fills the cache; the rest read memory.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
