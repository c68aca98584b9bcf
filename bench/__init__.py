"""Benchmarks (not tests): `python -m bench.rdd_examples` runs the Spark papers' examples
on Lamna's RDD core and, when it is importable, on PySpark, side by side."""
