"""Single operations of the examples, timed alone on every engine — to say *which* step
of an example is slower than PySpark, not only that the example is.

    python -m bench.micro [--engines ...] [--runs 3] [--scale 1] [--examples op1,op2]

Same machinery, data and report as ``bench.rdd_examples`` (each op runs in a fresh child
per engine); each op is a program ``op(sc, data, params) -> (answer, timing)``.
"""

from __future__ import annotations

import sys
from operator import add

from bench.programs import _Clock, _parse_link


def _timed(f):
    def op(sc, data, params):
        clock = _Clock()
        answer = f(sc, data, params)
        clock.lap()
        return answer, clock.timing()

    op.__name__ = f.__name__
    return op


@_timed
def job_overhead(sc, data, params):
    """20 tiny jobs of 8 one-element partitions: scheduling and task round-trips."""
    r = sc.parallelize(list(range(8)), 8)
    return sum(r.count() for _ in range(20))


def cached_count(sc, data, params):
    """A count that fills the cache of an 8-partition RDD of 1M ints, then 10 counts
    from the cache: per-element cost of reading cached partitions."""
    clock = _Clock()
    r = sc.parallelize(range(1_000_000), 8).map(lambda x: x).cache()
    n = []
    for _ in range(11):
        n.append(r.count())
        clock.lap()
    r.unpersist()
    return n, clock.timing()


@_timed
def text_count(sc, data, params):
    """Read the 200 MB text and count lines: the input path alone."""
    return sc.textFile(data["paths"]["text"], params["partitions"]).count()


@_timed
def text_split_count(sc, data, params):
    """Read, split into words, count: the word-count map side without the shuffle."""
    return sc.textFile(data["paths"]["text"], params["partitions"]).flatMap(lambda l: l.split()).count()


@_timed
def graph_parse(sc, data, params):
    return sc.textFile(data["paths"]["graph"], params["partitions"]).map(_parse_link).count()


@_timed
def graph_distinct(sc, data, params):
    p = params["partitions"]
    return sc.textFile(data["paths"]["graph"], p).map(_parse_link).distinct(p).count()


@_timed
def graph_group(sc, data, params):
    p = params["partitions"]
    return sc.textFile(data["paths"]["graph"], p).map(_parse_link).groupByKey(p).count()


@_timed
def graph_reduce(sc, data, params):
    """reduceByKey over ~500 000 (page, 1.0) pairs: a PageRank iteration's shuffle."""
    p = params["partitions"]
    return (sc.textFile(data["paths"]["graph"], p).map(_parse_link)
            .map(lambda kv: (kv[1], 1.0)).reduceByKey(add, p).count())


@_timed
def pairs_shuffle(sc, data, params):
    """partitionBy of 1M (int, int) pairs: a shuffle with no combining."""
    p = params["partitions"]
    return sc.parallelize(list(range(1_000_000)), p).map(lambda x: (x, x)).partitionBy(p).count()


CACHED_LOOPS = ("cached_count",)

OPS = {
    "job_overhead": job_overhead,
    "cached_count": cached_count,
    "text_count": text_count,
    "text_split_count": text_split_count,
    "graph_parse": graph_parse,
    "graph_distinct": graph_distinct,
    "graph_group": graph_group,
    "graph_reduce": graph_reduce,
    "pairs_shuffle": pairs_shuffle,
}


def main(argv=None) -> int:
    from bench import rdd_examples

    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--examples" or a.startswith("--examples=") for a in argv):
        argv += ["--examples", ",".join(OPS)]
    return rdd_examples.main(argv)


if __name__ == "__main__":
    sys.exit(main())
