"""Random sampling of partitions, and the key sample behind range partitioning."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdd.base import RDD

#: Keys sampled per output partition to choose range bounds (Spark uses 20).
SAMPLES_PER_PARTITION = 20


def sample_partition(iterator: Iterator[Any], with_replacement: bool, fraction: float,
                     seed: int) -> Iterator[Any]:
    """Bernoulli sampling, or Poisson counts with replacement; deterministic for a seed."""
    rng = random.Random(seed)
    if with_replacement:
        import numpy as np

        poisson = np.random.default_rng(seed)
        for element in iterator:
            for _ in range(int(poisson.poisson(fraction))):
                yield element
    else:
        for element in iterator:
            if rng.random() < fraction:
                yield element


def split_partition(iterator: Iterator[Any], low: float, high: float, seed: int) -> Iterator[Any]:
    """The elements whose seeded draw falls in ``[low, high)``: disjoint random splits."""
    rng = random.Random(seed)
    for element in iterator:
        if low <= rng.random() < high:
            yield element


def reservoir(iterator: Iterator[Any], size: int, seed: int) -> tuple[int, list[Any]]:
    """A uniform sample of at most ``size`` elements, and how many were seen."""
    rng = random.Random(seed)
    sample: list[Any] = []
    seen = 0
    for seen, element in enumerate(iterator, 1):
        if len(sample) < size:
            sample.append(element)
        else:
            slot = rng.randrange(seen)
            if slot < size:
                sample[slot] = element
    return seen, sample


def range_bounds(rdd: RDD, partitions: int, keyfunc: Callable[[Any], Any]) -> list[Any]:
    """``partitions - 1`` ascending key bounds that cut the data into similar-sized ranges.

    Each input partition contributes a reservoir sample weighted by its size, so a skewed
    partition does not dominate the bounds.
    """
    per_input = max(1, SAMPLES_PER_PARTITION * partitions // max(1, rdd.getNumPartitions()) + 1)
    samples = rdd.ctx._run_job(
        rdd, lambda it: reservoir((keyfunc(kv[0]) for kv in it), per_input * 3, 17)
    )
    weighted: list[tuple[Any, float]] = []
    for seen, keys in samples:
        if keys:
            weight = seen / len(keys)
            weighted.extend((key, weight) for key in keys)
    if not weighted:
        return []
    weighted.sort(key=lambda kw: kw[0])
    total = sum(w for _, w in weighted)
    step = total / partitions
    bounds: list[Any] = []
    cumulative = 0.0
    target = step
    for key, weight in weighted:
        cumulative += weight
        if cumulative >= target and (not bounds or key > bounds[-1]):
            bounds.append(key)
            target += step
            if len(bounds) == partitions - 1:
                break
    return bounds
