"""The engines a benchmark runs on, each built into a SparkContext-shaped object."""

from __future__ import annotations

import os
import sys

ENGINES = ("lamna-threads", "lamna-processes", "pyspark")
REFERENCE = "pyspark"


def pyspark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except Exception:
        return False
    return True


def versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for mod in ("pyarrow", "numpy", "cloudpickle", "pyspark"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:
            out[mod] = None
    return out


def make_context(engine: str, parallelism: int = 2):
    if engine == "lamna-threads":
        from rdd import Context

        return Context(f"local[{parallelism}]", "lamna-bench")
    if engine == "lamna-processes":
        from rdd import Context

        return Context(f"local-cluster[{parallelism}]", "lamna-bench")
    if engine == "pyspark":
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault(
            "PYSPARK_SUBMIT_ARGS",
            f"--driver-memory {os.environ.get('BENCH_SPARK_MEMORY', '3g')} pyspark-shell",
        )
        if not os.environ.get("JAVA_HOME"):
            for cand in ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/default-java"):
                if os.path.isdir(cand):
                    os.environ["JAVA_HOME"] = cand
                    break
        from pyspark import SparkConf, SparkContext

        conf = (
            SparkConf()
            .setMaster(f"local[{parallelism}]")
            .setAppName("lamna-bench")
            .set("spark.ui.enabled", "false")
            .set("spark.ui.showConsoleProgress", "false")
        )
        sc = SparkContext(conf=conf)
        sc.setLogLevel("ERROR")
        return sc
    raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
