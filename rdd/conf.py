"""Configuration of a Context: a small typed view over string settings, PySpark-style."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str | int) -> int:
    """Bytes in a size like ``512``, ``64k``, ``1.5g`` or ``4GiB``."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if match is None:
        raise ValueError(f"not a size: {text!r} (expected e.g. 512, 64k, 10m, 4g)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.lower()])


def _count(conf: Conf, key: str, low: int, high: int) -> int:
    """A whole number setting within ``[low, high]`` (absent or empty: ``low``)."""
    text = (conf.get(key) or "").strip()
    try:
        value = int(text) if text else low
    except ValueError:
        raise ValueError(f"{key} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{key} must be between {low} and {high}, got {value}")
    return value


def total_memory_bytes() -> int:
    """Physical memory of this machine (falls back to 4 GiB where it can't be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 << 30


class Conf:
    """Key/value settings with PySpark's ``SparkConf`` methods (``set``, ``get``, ``getAll``)."""

    def __init__(self, values: Mapping[str, object] | Iterable[tuple[str, object]] = ()) -> None:
        self._values: dict[str, str] = {}
        items = values.items() if isinstance(values, Mapping) else values
        for key, value in items:
            self.set(key, value)

    def set(self, key: str, value: object) -> Conf:
        self._values[key] = str(value)
        return self

    def setAll(self, pairs: Iterable[tuple[str, object]]) -> Conf:
        for key, value in pairs:
            self.set(key, value)
        return self

    def setMaster(self, master: str) -> Conf:
        return self.set("spark.master", master)

    def setAppName(self, name: str) -> Conf:
        return self.set("spark.app.name", name)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._values.get(key, default)

    def contains(self, key: str) -> bool:
        return key in self._values

    def getAll(self) -> list[tuple[str, str]]:
        return sorted(self._values.items())

    def settings(self) -> Settings:
        return Settings.from_conf(self)


@dataclass(frozen=True, slots=True)
class Settings:
    """The knobs the engine reads, parsed once; plain data so executors can receive it."""

    storage_memory: int
    max_task_failures: int
    max_stage_attempts: int
    local_dir: str | None
    default_parallelism: int | None
    #: worker processes beside a ``local[N]`` master's threads, for jobs that ask for them
    workers: int = 0
    #: how much lower the workers' operating-system priority is (``nice``, 0-19)
    workers_nice: int = 0

    @staticmethod
    def from_conf(conf: Conf) -> Settings:
        memory = conf.get("lamna.storage.memory")
        return Settings(
            storage_memory=parse_size(memory) if memory else int(total_memory_bytes() * 0.4),
            max_task_failures=int(conf.get("spark.task.maxFailures", "4") or 4),
            max_stage_attempts=int(conf.get("spark.stage.maxConsecutiveAttempts", "4") or 4),
            local_dir=conf.get("spark.local.dir"),
            default_parallelism=(
                int(conf.get("spark.default.parallelism") or 0) or None
            ),
            workers=_count(conf, "lamna.workers", 0, 1024),
            workers_nice=_count(conf, "lamna.workers.nice", 0, 19),
        )
