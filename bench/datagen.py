"""Deterministic generators for the RDD examples' input data.

Every data set is a plain text file (what `textFile` reads in both engines), generated
from a fixed seed, so two machines (or two runs) read byte-identical input. A data set
is generated once into ``bench/data/<scale>/`` and reused while its manifest (generator
version + parameters) matches.

Sizes at ``scale=1``:

- ``text.txt``   word count: >= 200 MB of Zipf-distributed words, 8-16 words a line;
- ``logs.txt``   log mining: 100 MB of tab-separated log lines, ~10 % ERROR;
- ``points.txt`` logistic regression: 500 000 labelled points, 10 dimensions;
- ``kmeans.txt`` k-means: 250 000 points, 4 dimensions, around 8 true centres;
- ``graph.txt``  PageRank: 50 000 pages, ~500 000 links (``src dst`` per line).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

GENERATOR_VERSION = 1
DEFAULT_DATA_ROOT = Path(__file__).resolve().parent / "data"

COMPONENTS = (
    "mysql", "hdfs", "kafka", "nginx", "auth", "scheduler", "cache", "billing",
    "search", "mailer", "gateway", "storage",
)
LEVELS = ("INFO", "WARN", "ERROR", "DEBUG")
LEVEL_P = (0.72, 0.13, 0.10, 0.05)


@dataclass(frozen=True)
class Sizes:
    text_bytes: int
    log_bytes: int
    lr_points: int
    lr_dims: int
    km_points: int
    km_dims: int
    km_k: int
    pr_pages: int
    pr_mean_degree: int

    @classmethod
    def for_scale(cls, scale: float) -> "Sizes":
        return cls(
            text_bytes=max(50_000, int(200 * 1024 * 1024 * scale)),
            log_bytes=max(50_000, int(100 * 1024 * 1024 * scale)),
            lr_points=max(1_000, int(500_000 * scale)),
            lr_dims=10,
            km_points=max(1_000, int(250_000 * scale)),
            km_dims=4,
            km_k=8,
            pr_pages=max(500, int(50_000 * scale)),
            pr_mean_degree=10,
        )


def scale_dir_name(scale: float) -> str:
    return "s" + format(scale, "g")


def _vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 11, size=size)
    words: set[str] = set()
    out: list[str] = []
    for n in lengths:
        w = "".join(rng.choice(letters, size=int(n)))
        while w in words:
            w += letters[rng.integers(0, 26)]
        words.add(w)
        out.append(w)
    return out


def gen_text(path: Path, target_bytes: int, seed: int = 1) -> None:
    """Zipf-ish words (50 000 distinct), 8-16 words a line, until ``target_bytes``."""
    rng = np.random.default_rng(seed)
    vocab = np.array(_vocabulary(rng, 50_000), dtype=object)
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    p = 1.0 / ranks**1.07
    p /= p.sum()
    written = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        while written < target_bytes:
            n = 1_000_000
            words = vocab[rng.choice(len(vocab), size=n, p=p)].tolist()
            lens = rng.integers(8, 17, size=n // 8)
            ends = np.cumsum(lens)
            ends = ends[ends <= n]
            starts = np.concatenate(([0], ends[:-1]))
            chunk = "\n".join(" ".join(words[a:b]) for a, b in zip(starts.tolist(), ends.tolist())) + "\n"
            if written + len(chunk) > target_bytes:
                cut = chunk.find("\n", target_bytes - written)
                chunk = chunk[: cut + 1] if cut >= 0 else chunk
            f.write(chunk)
            written += len(chunk)
    os.replace(tmp, path)


def gen_logs(path: Path, target_bytes: int, seed: int = 2) -> None:
    """``LEVEL<TAB>timestamp<TAB>component<TAB>message`` lines, as in the RDD paper's
    log-mining example (``lines.filter(_.startsWith("ERROR")).map(_.split('\\t')(3))``)."""
    rng = np.random.default_rng(seed)
    msg_words = np.array(_vocabulary(rng, 400), dtype=object)
    written = 0
    t = 1_795_000_000  # seconds, a fixed epoch
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        while written < target_bytes:
            n = 200_000
            levels = rng.choice(len(LEVELS), size=n, p=LEVEL_P).tolist()
            comps = rng.integers(0, len(COMPONENTS), size=n).tolist()
            ms = rng.integers(0, 1000, size=n).tolist()
            w = msg_words[rng.integers(0, len(msg_words), size=(n, 6))].tolist()
            req = rng.integers(0, 10**9, size=n).tolist()
            lines = []
            for i in range(n):
                sec = t + i // 40
                lines.append(
                    f"{LEVELS[levels[i]]}\t{sec}.{ms[i]:03d}\t{COMPONENTS[comps[i]]}\t"
                    f"request {req[i]} {' '.join(w[i])}\n"
                )
            t += n // 40
            chunk = "".join(lines)
            if written + len(chunk) > target_bytes:
                cut = chunk.find("\n", target_bytes - written)
                chunk = chunk[: cut + 1] if cut >= 0 else chunk
            f.write(chunk)
            written += len(chunk)
    os.replace(tmp, path)


def gen_lr_points(path: Path, n: int, dims: int, seed: int = 3) -> None:
    """``y x1 .. xD`` with y in {-1, 1}; x drawn around y * 0.7 (nearly separable)."""
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        done = 0
        while done < n:
            m = min(100_000, n - done)
            y = rng.integers(0, 2, size=m) * 2 - 1
            x = rng.normal(size=(m, dims)) + (y[:, None] * 0.7)
            np.savetxt(f, np.column_stack([y, x]), fmt=["%d"] + ["%.5f"] * dims)
            done += m
    os.replace(tmp, path)


def gen_kmeans_points(path: Path, n: int, dims: int, k: int, seed: int = 4) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(k, dims))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        done = 0
        while done < n:
            m = min(100_000, n - done)
            c = rng.integers(0, k, size=m)
            x = centres[c] + rng.normal(scale=1.5, size=(m, dims))
            np.savetxt(f, x, fmt="%.4f")
            done += m
    os.replace(tmp, path)


def gen_graph(path: Path, pages: int, mean_degree: int, seed: int = 5) -> None:
    """Directed links ``src dst``; out-degrees geometric, targets skewed to hub pages;
    duplicates and self-links occur (the program's ``distinct`` removes duplicates)."""
    rng = np.random.default_rng(seed)
    deg = rng.geometric(1.0 / mean_degree, size=pages)
    src = np.repeat(np.arange(pages), deg)
    # Skewed targets: a power of a uniform concentrates links on low page ids.
    dst = np.minimum((rng.random(size=len(src)) ** 2.0 * pages).astype(np.int64), pages - 1)
    perm = rng.permutation(len(src))
    src, dst = src[perm], dst[perm]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        np.savetxt(f, np.column_stack([src, dst]), fmt="%d")
    os.replace(tmp, path)


FILES = {
    "text": "text.txt",
    "logs": "logs.txt",
    "points": "points.txt",
    "kmeans": "kmeans.txt",
    "graph": "graph.txt",
}


def ensure_data(scale: float, root: Path = DEFAULT_DATA_ROOT, log=print) -> dict:
    """Generate (once) the data sets for ``scale``; return paths and sizes."""
    sizes = Sizes.for_scale(scale)
    d = root / scale_dir_name(scale)
    d.mkdir(parents=True, exist_ok=True)
    manifest_path = d / "manifest.json"
    want = {"version": GENERATOR_VERSION, "sizes": asdict(sizes)}
    have = None
    if manifest_path.exists():
        try:
            have = json.loads(manifest_path.read_text())
        except ValueError:
            have = None
    paths = {k: str(d / v) for k, v in FILES.items()}
    if have != want or not all(Path(p).exists() for p in paths.values()):
        t0 = time.perf_counter()
        log(f"generating benchmark data (scale {scale:g}) into {d} ...")
        manifest_path.unlink(missing_ok=True)
        gen_text(d / FILES["text"], sizes.text_bytes)
        gen_logs(d / FILES["logs"], sizes.log_bytes)
        gen_lr_points(d / FILES["points"], sizes.lr_points, sizes.lr_dims)
        gen_kmeans_points(d / FILES["kmeans"], sizes.km_points, sizes.km_dims, sizes.km_k)
        gen_graph(d / FILES["graph"], sizes.pr_pages, sizes.pr_mean_degree)
        manifest_path.write_text(json.dumps(want, indent=2))
        log(f"generated in {time.perf_counter() - t0:.1f}s")
    info = {"dir": str(d), "paths": paths, "sizes": asdict(sizes)}
    info["bytes"] = {k: os.path.getsize(p) for k, p in paths.items()}
    return info
